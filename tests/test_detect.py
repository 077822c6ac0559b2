"""Statement detection: relevance, speaker, stance, identity, facts, and the two-phase API."""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from armswatch.tasks.detect import Detector, DocumentAnalysis, Profile, detect_documents
from armswatch.tasks.models import Detection, KnownStatement

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = Path(__file__).resolve().parent / "data"
SEED_ID = "000_c6e63929b4a9c927.txt"


@pytest.fixture(scope="module")
def profile() -> Profile:
    # One profile per module: its compiled lexicons are shared, each test gets a
    # fresh identity index through its own Detector.
    return Profile.load("nk_russia")


@pytest.fixture
def detector(profile: Profile) -> Detector:
    return Detector(profile)


def _one(detector: Detector, text: str, lang: str):
    found = detector.detect("doc", text, lang)
    assert found, f"no statement found in {text!r}"
    return found[0]


def _score(gold: Path, rows: list[dict], tmp_path: Path, name: str) -> dict[str, float]:
    """Run the shared scorer on `rows` and read its figures back."""
    predicted = tmp_path / f"{name}.jsonl"
    predicted.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    result = subprocess.run(
        [sys.executable, str(SHARED / "eval/score_detect.py"), str(gold), str(predicted)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = result.stdout
    figures = {
        "f1": float(re.search(r"relevance\[all\]: .*F1=([\d.]+)", out).group(1)),
        "speaker": float(re.search(r"speaker accuracy .* = ([\d.]+)", out).group(1)),
        "stance": float(re.search(r"stance accuracy .* = ([\d.]+)", out).group(1)),
    }
    for kind in ("same-language", "cross-language"):
        figures[kind] = float(re.search(rf"identity \[{kind}\].*F1=([\d.]+)", out).group(1))
    return figures


needs_shared = pytest.mark.skipif(
    not (SHARED / "eval/score_detect.py").exists(),
    reason=f"the shared scorer and seed are not at {SHARED}",
)


# ---------------------------------------------------------------- scored sets


@needs_shared
def test_seed_article_scores_above_threshold(profile: Profile, tmp_path: Path):
    text = (SHARED / "seed" / SEED_ID).read_text(encoding="utf-8")
    rows = list(detect_documents([{"id": SEED_ID, "text": text}], Detector(profile)))
    figures = _score(SHARED / "eval/seed_statements.jsonl", rows, tmp_path, "seed")
    assert figures["f1"] >= 0.95
    assert figures["speaker"] >= 0.9
    assert figures["stance"] >= 0.9
    assert figures["same-language"] == 1.0


@needs_shared
@pytest.mark.parametrize(
    ("name", "floors"),
    [
        # dev is what the lexicon was tuned on. test and test2 were held out until
        # issue 3 opened them (bench/detect_results.md, section 5); their floors
        # guard against regressions and sit below the figures measured then.
        (
            "dev",
            {
                "f1": 0.95,
                "speaker": 0.95,
                "stance": 0.95,
                "same-language": 0.85,
                "cross-language": 0.85,
            },
        ),
        ("test", {"f1": 0.95, "speaker": 0.9, "stance": 0.9, "cross-language": 0.85}),
        (
            "test2",
            {
                "f1": 0.95,
                "speaker": 0.9,
                "stance": 0.9,
                "same-language": 0.85,
                "cross-language": 0.85,
            },
        ),
        # The blind sets, each scored once before it was opened (bench/detect_results.md);
        # now regression sets, held to floors below what they score today.
        ("test3", {"f1": 0.95, "speaker": 0.92, "stance": 0.95, "cross-language": 0.8}),
        ("test4", {"f1": 0.93, "speaker": 0.93, "stance": 0.95, "cross-language": 0.8}),
        (
            "test5",
            {
                "f1": 0.93,
                "speaker": 0.85,
                "stance": 0.93,
                "cross-language": 0.65,
                "same-language": 0.56,
            },
        ),
        (
            "test6",
            {
                "f1": 0.92,
                "speaker": 0.85,
                "stance": 0.87,
                "cross-language": 0.65,
                "same-language": 0.74,
            },
        ),
        (
            "test7",
            {
                "f1": 0.92,
                "speaker": 0.83,
                "stance": 0.93,
                "cross-language": 0.7,
                "same-language": 0.52,
            },
        ),
        (
            "test8",
            {
                "f1": 0.95,
                "speaker": 0.9,
                "stance": 0.94,
                "cross-language": 0.78,
                "same-language": 0.8,
            },
        ),
        (
            "test9",
            {
                "f1": 0.92,
                "speaker": 0.83,
                "stance": 0.92,
                "cross-language": 0.62,
                "same-language": 0.5,
            },
        ),
        (
            "test10",
            {
                "f1": 0.91,
                "speaker": 0.87,
                "stance": 0.91,
                "cross-language": 0.68,
                "same-language": 0.68,
            },
        ),
        (
            "test11",
            {
                "f1": 0.92,
                "speaker": 0.72,
                "stance": 0.86,
                "cross-language": 0.45,
                "same-language": 0.57,
            },
        ),
        (
            "test12",
            {
                "f1": 0.95,
                "speaker": 0.85,
                "stance": 0.92,
                "cross-language": 0.64,
                "same-language": 0.7,
            },
        ),
        (
            "test13",
            {
                "f1": 0.93,
                "speaker": 0.92,
                "stance": 0.92,
                "cross-language": 0.72,
                "same-language": 0.74,
            },
        ),
        (
            "test14",
            {
                "f1": 0.93,
                "speaker": 0.83,
                "stance": 0.88,
                "cross-language": 0.7,
                "same-language": 0.65,
            },
        ),
        (
            "test15",
            {
                "f1": 0.95,
                "speaker": 0.83,
                "stance": 0.87,
                "cross-language": 0.6,
                "same-language": 0.54,
            },
        ),
        (
            "test16",
            {
                "f1": 0.93,
                "speaker": 0.82,
                "stance": 0.94,
                "cross-language": 0.63,
                "same-language": 0.6,
            },
        ),
        (
            "test17",
            {
                "f1": 0.95,
                "speaker": 0.79,
                "stance": 0.93,
                "cross-language": 0.55,
                "same-language": 0.5,
            },
        ),
        (
            "test18",
            {
                "f1": 0.93,
                "speaker": 0.76,
                "stance": 0.93,
                "cross-language": 0.5,
                "same-language": 0.45,
            },
        ),
        (
            "test19",
            {
                "f1": 0.92,
                "speaker": 0.81,
                "stance": 0.88,
                "cross-language": 0.5,
                "same-language": 0.4,
            },
        ),
        (
            "test20",
            {
                "f1": 0.89,
                "speaker": 0.73,
                "stance": 0.95,
                "cross-language": 0.55,
                "same-language": 0.65,
            },
        ),
        (
            "test21",
            {
                "f1": 0.91,
                "speaker": 0.76,
                "stance": 0.89,
                "cross-language": 0.55,
                "same-language": 0.58,
            },
        ),
        (
            "test22",
            {
                "f1": 0.88,
                "speaker": 0.83,
                "stance": 0.95,
                "cross-language": 0.66,
                "same-language": 0.72,
            },
        ),
        (
            "test23",
            {
                "f1": 0.92,
                "speaker": 0.82,
                "stance": 0.89,
                "cross-language": 0.58,
                "same-language": 0.63,
            },
        ),
        (
            "test24",
            {
                "f1": 0.9,
                "speaker": 0.79,
                "stance": 0.88,
                "cross-language": 0.65,
                "same-language": 0.65,
            },
        ),
        (
            "test25",
            {
                "f1": 0.94,
                "speaker": 0.74,
                "stance": 0.9,
                "cross-language": 0.57,
                "same-language": 0.65,
            },
        ),
        (
            "test26",
            {
                "f1": 0.87,
                "speaker": 0.84,
                "stance": 0.92,
                "cross-language": 0.63,
                "same-language": 0.63,
            },
        ),
    ],
)
def test_labelled_sets_hold_their_scores(profile, tmp_path, name, floors):
    gold = DATA / f"detect_{name}.jsonl"
    docs = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()]
    rows = list(detect_documents(docs, Detector(profile)))
    figures = _score(gold, rows, tmp_path, name)
    for key, floor in floors.items():
        assert figures[key] >= floor, (key, figures)


@pytest.mark.parametrize(
    ("name", "rows", "per_language"), [("dev", 140, 25), ("test", 100, 15), ("test2", 120, 25)]
)
def test_labelled_sets_are_well_formed(name, rows, per_language):
    keys = {"id", "lang", "text", "relevant", "speaker", "aliases", "stance", "cluster"}
    ids = set()
    counts = {"en": 0, "de": 0, "ru": 0, "ko": 0}
    for line in (DATA / f"detect_{name}.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert keys <= row.keys() and "doc" not in row
        assert row["id"] not in ids
        ids.add(row["id"])
        counts[row["lang"]] += 1
        assert (row["stance"] is None) == (not row["relevant"])
        assert (row["cluster"] is None) == (not row["relevant"])
    assert sum(counts.values()) >= rows and min(counts.values()) >= per_language


def test_labelled_set_ids_are_unique_across_sets():
    ids = [
        json.loads(line)["id"]
        for name in (
            "dev", "test", "test2", "test3", "test4", "test5", "test6", "test7", "test8", "test9",
            "test10", "test11", "test12", "test13", "test14", "test15", "test16",
            "test17", "test18", "test19", "test20", "test21", "test22",
            "test23", "test24", "test25", "test26",
        )
        for line in (DATA / f"detect_{name}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------- relevance


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "North Korea fired a cruise missile on the same day Russia struck Kyiv."),
        (
            "en",
            "North Korea launched a Hwasong-18 intercontinental ballistic missile into the sea "
            "on Monday.",
        ),
        ("en", "Russian tourists returned to the Wonsan-Kalma beach resort in North Korea."),
        (
            "en",
            "Construction began on a road bridge across the Tumen River between Russia and North "
            "Korea.",
        ),
        (
            "en",
            "Putin sent Kim Jong Un birthday greetings, praising the friendship of the two "
            "countries.",
        ),
        (
            "en",
            "Iran has supplied Russia with hundreds of Shahed drones used against Ukrainian "
            "cities.",
        ),
        ("en", "The United States announced a new package of artillery shells for Ukraine."),
        ("en", "Q Is North Korea still supplying missiles to Russia?"),
        (
            "de",
            "Am selben Tag, an dem Russland Kiew angriff, testete Nordkorea einen "
            "Marschflugkörper.",
        ),
        ("de", "Iran hat Russland Hunderte Shahed-Drohnen geliefert."),
        ("ru", "КНДР провела испытание межконтинентальной баллистической ракеты."),
        ("ru", "Путин поздравил Ким Чен Ына с днем рождения."),
        ("ko", "합동참모본부는 북한이 동해상으로 탄도미사일 1발을 발사했다고 밝혔다."),
        ("ko", "북한과 러시아를 잇는 두만강 자동차 다리 건설이 시작됐다."),
    ],
)
def test_hard_negatives_are_not_statements(detector, lang, text):
    assert detector.detect("doc", text, lang) == []


def test_anaphoric_sentence_needs_its_document(detector):
    anaphoric = (
        "They emphasized that these arms shipments are only prolonging the suffering of "
        "the Ukrainian people."
    )
    assert detector.detect("alone", anaphoric, "en") == []
    text = "G7 foreign ministers condemned North Korea's arms shipments to Russia.\n" + anaphoric
    found = detector.detect("doc", text, "en")
    assert [d.sentence_index for d in found] == [0, 1]
    assert found[1].speaker == "G7 foreign ministers" and found[1].stance == "condemn"


def test_title_supplies_the_topic(detector):
    text = "They emphasized that these arms shipments are only prolonging the suffering."
    found = detector.detect(
        "doc", text, "en", title="G7 condemns North Korea's arms deliveries to Russia"
    )
    assert len(found) == 1


def test_call_to_denuclearise_is_not_about_transfers(detector):
    text = (
        "The G7 condemned North Korea's arms shipments to Russia.\n"
        'The G7 foreign ministers called on Pyongyang to "abandon all nuclear weapons, ballistic '
        "missiles, "
        'and related programs."'
    )
    assert [d.sentence_index for d in detector.detect("doc", text, "en")] == [0]


# ---------------------------------------------------------------- speaker


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        ("John Kirby said North Korea had delivered ballistic missiles to Russia.", "John Kirby"),
        ("North Korea has delivered ballistic missiles to Russia, John Kirby said.", "John Kirby"),
        ("North Korea has delivered ballistic missiles to Russia, said John Kirby.", "John Kirby"),
        (
            "According to the Pentagon's Defense Intelligence Agency, North Korean missiles were "
            "used in Ukraine.",
            "Defense Intelligence Agency",
        ),
        (
            "Previously, an investigation by the US Department of Defense discovered that Russia "
            "was using "
            "North Korean ballistic missiles in Ukraine.",
            "US Department of Defense",
        ),
        (
            "South Korea has accused North Korea of sending containers of ammunition to Russia.",
            "South Korea",
        ),
        (
            "The powerful sister of North Korean leader Kim Jong Un dismissed claims of arms "
            "exports to Russia "
            "as absurd.",
            "Kim Yo Jong",
        ),
        (
            "Kim Yo Jong, the sister of leader Kim Jong Un, denied that Pyongyang sells weapons "
            "to Russia.",
            "Kim Yo Jong",
        ),
        (
            "Both Moscow and Pyongyang have denied that North Korea is supplying weapons to "
            "Russia.",
            "North Korea and Russia",
        ),
        (
            '"We condemn the DPRK for providing Russia with this military equipment," Brian '
            "Nelson said.",
            "Brian Nelson",
        ),
        (
            "MR. KIRBY: We know that North Korea is providing artillery shells to Russia.",
            "John Kirby",
        ),
        ("North Korea has shipped millions of artillery shells to Russia by rail.", None),
    ],
)
def test_english_speaker_forms(detector, text, speaker):
    assert _one(detector, text, "en").speaker == speaker


@pytest.mark.parametrize(
    ("lang", "text", "speaker"),
    [
        (
            "de",
            "Nordkorea hat nach Angaben von John Kirby mehr als 1.000 Container an Russland "
            "geliefert.",
            "John Kirby",
        ),
        (
            "de",
            "Die Außenminister der G7 haben die Waffenlieferungen Nordkoreas an Russland "
            "verurteilt.",
            "G7 foreign ministers",
        ),
        (
            "ru",
            "КНДР передала России более 1000 контейнеров с боеприпасами, заявил Джон Кирби.",
            "John Kirby",
        ),
        (
            "ru",
            "По данным южнокорейской разведки, КНДР отправила в Россию миллион снарядов.",
            "National Intelligence Service",
        ),
        (
            "ko",
            "신원식 국방부 장관은 북한이 러시아에 컨테이너 6천700개 분량의 포탄을 보냈다고 밝혔다.",
            "Shin Won-sik",
        ),
        ("ko", "북한이 러시아에 포탄을 보냈다고 국정원이 밝혔다.", "National Intelligence Service"),
        ("ja", "北朝鮮はロシアに砲弾を送ったと米政府が明らかにした。", "United States"),
    ],
)
def test_speaker_forms_in_other_languages(detector, lang, text, speaker):
    assert _one(detector, text, lang).speaker == speaker


def test_pronouns_and_the_ministers_resolve_to_the_last_speaker(detector):
    text = (
        "The G7 foreign ministers condemned North Korea's weapons deliveries to Russia.\n"
        "They said these arms shipments prolong the war.\n"
        "The ministers also criticized Russia for using its veto to end the UN panel of experts "
        "on North Korea."
    )
    assert [d.speaker for d in detector.detect("doc", text, "en")] == ["G7 foreign ministers"] * 3


# ---------------------------------------------------------------- stance


@pytest.mark.parametrize(
    ("lang", "text", "stance"),
    [
        ("en", "The G7 condemned North Korea's arms transfers to Russia.", "condemn"),
        ("en", "Kim Yo Jong dismissed reports of arms exports to Russia as absurd.", "deny"),
        ("en", "The G7 urged North Korea to stop supplying weapons to Russia.", "demand"),
        ("en", "Experts believe North Korea is supplying artillery shells to Russia.", "assert"),
        (
            "en",
            "Kirby said the transfers of North Korean missiles to Russia are a clear violation "
            "of UN resolutions.",
            "condemn",
        ),
        (
            "en",
            "The US Treasury sanctioned Russian companies that facilitated arms transfers from "
            "North Korea "
            "to Russia.",
            "demand",
        ),
        ("de", "Die G7 verurteilten die Waffenlieferungen Nordkoreas an Russland.", "condemn"),
        (
            "de",
            "Peskow wies die Vorwürfe, Russland kaufe Munition in Nordkorea, als haltlos zurück.",
            "deny",
        ),
        (
            "de",
            "Die G7 forderten Nordkorea auf, die Waffenlieferungen an Russland einzustellen.",
            "demand",
        ),
        (
            "de",
            "Südkorea wirft Nordkorea vor, Munition nach Russland geschickt zu haben.",
            "assert",
        ),
        ("ru", "Министры G7 осудили поставки оружия из КНДР в Россию.", "condemn"),
        ("ru", "Песков опроверг сообщения о поставках северокорейского оружия в Россию.", "deny"),
        ("ru", "Министры G7 призвали КНДР прекратить поставки оружия в Россию.", "demand"),
        ("ru", "Эксперты считают, что КНДР поставляет России снаряды.", "assert"),
        ("ko", "정부는 북한의 대러시아 무기 수출을 규탄했다.", "condemn"),
        ("ko", "김여정은 러시아에 무기를 수출한다는 주장을 일축했다.", "deny"),
        ("ko", "G7 외교장관들은 북한에 러시아로의 무기 이전을 중단할 것을 촉구했다.", "demand"),
        ("ko", "국정원은 북한이 러시아에 포탄을 보냈다고 밝혔다.", "assert"),
    ],
)
def test_stances_in_each_language(detector, lang, text, stance):
    assert _one(detector, text, lang).stance == stance


def test_a_denial_answers_the_accusation_before_it(detector):
    text = (
        "South Korea has accused North Korea of sending containers of ammunition to Russia.\n"
        "Earlier this month, the powerful sister of North Korean leader Kim Jong Un dismissed "
        'these claims as "absurd."'
    )
    accusation, denial = detector.detect("doc", text, "en")
    assert denial.stance == "deny" and denial.answers_statement_id == accusation.statement_id


# ---------------------------------------------------------------- identity


def _ids(detector: Detector, docs: list[tuple[str, str]]) -> list[str]:
    return [_one(detector, text, lang).statement_id for lang, text in docs]


KIRBY_1000 = [
    (
        "en",
        "North Korea has delivered more than 1,000 containers of military equipment and "
        "munitions to Russia, John Kirby said.",
    ),
    (
        "en",
        "According to John Kirby, more than a thousand containers of munitions and military "
        "equipment have been shipped from North Korea to Russia.",
    ),
    (
        "de",
        "Nordkorea hat nach Angaben von John Kirby mehr als 1.000 Container mit "
        "Militärausrüstung und Munition an Russland geliefert.",
    ),
    (
        "ru",
        "КНДР передала России более 1000 контейнеров с военной техникой и боеприпасами, "
        "заявил Джон Кирби.",
    ),
    (
        "ko",
        "존 커비 조정관은 북한이 러시아에 1천 개가 넘는 컨테이너 분량의 군사 장비와 탄약을 "
        "보냈다고 밝혔다.",
    ),
]


def test_paraphrase_and_number_formats_share_one_identity(detector):
    assert len(set(_ids(detector, KIRBY_1000))) == 1


DISTINCT = [
    "John Kirby said North Korea had delivered more than 1,000 containers of munitions to Russia.",
    "John Kirby said North Korea had provided Russia with ballistic missile launchers and "
    "several dozen ballistic missiles.",
    "John Kirby said Russia fired a North Korean ballistic missile into the Zaporizhzhia region "
    "on December 30.",
    "South Korea's spy agency said North Korea had delivered more than 1,000 containers of "
    "munitions to Russia.",
    "Kirby later said the number of containers sent from North Korea to Russia had grown to "
    "more than 10,000.",
]


def test_distinct_claims_and_distinct_speakers_stay_apart(detector):
    assert len(set(_ids(detector, [("en", text) for text in DISTINCT]))) == len(DISTINCT)


def test_a_corrected_figure_keeps_the_identity(detector):
    # The same sentence with another figure is a correction of one claim (a new
    # version of the article), not a second claim.
    text = "North Korea has delivered more than {} containers of munitions to Russia, Kirby said."
    first, corrected = _ids(detector, [("en", text.format("100")), ("en", text.format("1,000"))])
    assert first == corrected


def test_identity_is_new_once_and_deterministic(profile):
    docs = [
        {
            "id": "a",
            "text": "Kim Yo Jong dismissed claims of North Korean arms exports to Russia as "
            "absurd.",
        },
        {
            "id": "b",
            "text": "Kim Yo Jong called reports of arms sales to Russia absurd.",
            "lang": "en",
        },
        {
            "id": "c",
            "text": "Ким Ё Чжон назвала абсурдными сообщения о поставках оружия в Россию.",
            "lang": "ru",
        },
    ]
    first = list(detect_documents(docs, Detector(profile)))
    second = list(detect_documents(docs, Detector(profile)))
    assert first == second
    assert [r["is_new"] for r in first] == [True, False, False]
    assert len({r["statement_id"] for r in first}) == 1
    assert re.fullmatch(r"st_[0-9a-f]{20}", first[0]["statement_id"])


def test_load_known_round_trip(profile):
    text = "Kim Yo Jong dismissed claims of North Korean arms exports to Russia as absurd."
    seen = Detector(profile).detect("old", text, "en")[0]
    known = KnownStatement(
        seen.statement_id, seen.speaker, seen.stance, seen.text, seen.lang, seen.signature
    )
    later = Detector(profile)
    later.load_known([known])
    again = later.detect(
        "new", "Kim Yo Jong called the reports of arms sales to Russia absurd.", "en"
    )[0]
    assert (again.statement_id, again.is_new) == (seen.statement_id, False)
    assert again.evidence["matched_statement_id"] == seen.statement_id
    assert again.evidence["method"] == "paraphrase"
    # A signature the detector cannot read is rebuilt from the stored text.
    rebuilt = Detector(profile)
    rebuilt.load_known(
        [KnownStatement(seen.statement_id, seen.speaker, seen.stance, text, "en", "{}")]
    )
    assert rebuilt.detect("new", text, "en")[0].statement_id == seen.statement_id


# ---------------------------------------------------------------- facts


def test_facts_weapons_quantities_direction_and_period(detector):
    found = _one(
        detector,
        "South Korean Defense Minister Shin Won-sik said North Korea has shipped about "
        "6,700 containers of munitions to Russia since September 2023.",
        "en",
    )
    assert [(f.weapon, f.quantity, f.unit, f.direction, f.period) for f in found.facts] == [
        ("ammunition", 6700.0, "containers", "kp->ru", "since 2023-09")
    ]
    found = _one(
        detector,
        "The MSMT said North Korea had sent Russia a million rounds of 152 mm shells "
        "and KN-23 missiles.",
        "en",
    )
    assert {(f.weapon, f.quantity, f.unit) for f in found.facts} == {
        ("152 mm shells", 1e6, "shells"),
        ("KN-23", None, None),
    }
    found = _one(
        detector,
        "Kirby said Russia had supplied North Korea with air defense systems in return.",
        "en",
    )
    assert found.facts[0].direction == "ru->kp"
    found = _one(detector, "국정원은 북한이 러시아에 100만 발 이상의 포탄을 보냈다고 밝혔다.", "ko")
    assert (found.facts[0].quantity, found.facts[0].unit) == (1e6, "shells")


def test_signature_is_json_and_evidence_explains_the_match(detector):
    found = _one(
        detector, "Experts believe North Korea is supplying artillery shells to Russia.", "en"
    )
    signature = json.loads(found.signature)
    assert signature["speaker"] == "experts" and "materiel.shells" in signature["features"]
    assert found.evidence["rule"] and found.evidence["matched_statement_id"] is None
    assert found.evidence["method"] == "new"


# ---------------------------------------------------------------- contract and profiles


def test_detect_documents_contract(profile):
    docs = [
        {"id": 1, "text": "Russian tourists visited Pyongyang."},
        {
            "id": "x",
            "text": "Experts believe North Korea is supplying artillery shells to Russia.",
            "lang": "en",
        },
    ]
    rows = list(detect_documents(docs, Detector(profile)))
    assert [set(r) for r in rows] == [
        {"doc_id", "text", "speaker", "stance", "score", "statement_id", "is_new"}
    ]
    assert rows[0]["doc_id"] == "x" and 0 < rows[0]["score"] < 1


# ---------------------------------------------------------------- known gaps, closed on dev


@pytest.mark.parametrize(
    ("lang", "text", "speaker", "stance"),
    [
        (
            "de",
            "Nordkorea hat Russland nach Angaben des Pentagons mehrere Dutzend ballistische "
            "Raketen überlassen.",
            "US Department of Defense",
            "assert",
        ),
        (
            "ru",
            "Госдеп обвинил КНДР и Россию в незаконной торговле оружием.",
            "US State Department",
            "assert",
        ),
        (
            "ru",
            "В МИД КНДР заявили, что Пхеньян не ведет и не собирается вести торговлю оружием "
            "с Москвой.",
            "North Korean Foreign Ministry",
            "deny",
        ),
        (
            "en",
            "Japan's foreign ministry expressed deep disappointment at Russia's veto, which "
            "ended the UN panel monitoring sanctions on North Korea.",
            "Japanese Foreign Ministry",
            "condemn",
        ),
        (
            "de",
            "Die Bundesregierung kritisierte die Lieferung nordkoreanischer Artilleriegranaten "
            "an Russland scharf.",
            "German government",
            "condemn",
        ),
        (
            "en",
            "PRESIDENT BIDEN: North Korea is supplying him with artillery shells and missiles.",
            "Joe Biden",
            "assert",
        ),
        (
            "en",
            "MR. KIRBY: He has had to turn to North Korea to buy artillery ammunition because "
            "his own factories cannot keep up.",
            "John Kirby",
            "assert",
        ),
    ],
)
def test_vocabulary_gaps_closed_on_dev(detector, lang, text, speaker, stance):
    found = _one(detector, text, lang)
    assert (found.speaker, found.stance) == (speaker, stance)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        (
            "en",
            "Thousands of North Korean workers have been sent to Russia in violation of UN "
            "sanctions, South Korean officials said.",
        ),
        ("ru", "КНДР продолжает отправлять в Россию рабочих в обход санкций ООН."),
        (
            "de",
            "Russland verhinderte mit seinem Veto die Verlängerung des Mandats der "
            "UN-Expertengruppe zu Nordkorea.",
        ),
        (
            "en",
            "Russia and China vetoed a 2022 US-drafted resolution that would have imposed new "
            "sanctions on North Korea over its missile launches.",
        ),
        ("de", "Neben Nordkorea bezieht Russland seit 2022 Kampfdrohnen aus Iran."),
    ],
)
def test_workers_bare_vetoes_and_other_suppliers_are_not_statements(detector, lang, text):
    assert detector.detect("doc", text, lang) == []


def test_workers_with_weapons_are_still_a_statement(detector):
    text = "North Korea has sent Russia workers, troops and millions of artillery shells."
    assert _one(detector, text, "en").stance == "assert"


# ---------------------------------------------------------------- issue 3: classes of error


ISSUE3_ROUND_TWO = [
        # speakers the profile does not list: bodies, titled names, a country's ministry
        ("en", "Latvian military intelligence said North Korea had shipped rockets to Russia.",
         "Latvian military intelligence", "assert"),
        ("en", "Russia has fired North Korean missiles at Odesa, Ukraine's air force said.",
         "Ukrainian Air Force", "assert"),
        ("en", "Interior Minister Jan Novak said North Korean shells were sent to Russia by rail.",
         "Jan Novak", "assert"),
        ("de", "Die finnische Regierung verurteilte die Lieferung nordkoreanischer Raketen an "
         "Russland.", "finnische Regierung", "condemn"),
        ("de", "Außenministerin Elina Valtonen sagte, Nordkorea liefere Russland Granaten.",
         "Elina Valtonen", "assert"),
        ("ru", "Финская военная разведка сообщила, что КНДР передала России ракеты.",
         "Финская военная разведка", "assert"),
        ("ko", "박진 외교부 장관은 북한이 러시아에 포탄을 보냈다고 말했다.", "박진", "assert"),
        ("ko", "핀란드 정부는 북한의 대러 미사일 수출을 규탄했다.", "핀란드 정부", "condemn"),
        # attribution at the end, in the genitive, through a spokesperson
        ("en", "North Korea has sent Russia more shells, according to the 11-nation monitoring "
         "team.", "MSMT", "assert"),
        ("de", "Nordkorea hat nach Angaben Peskows keine Waffen an Russland geliefert.",
         "Dmitry Peskov", "deny"),
        ("de", "Nordkorea liefert Russland Granaten, sagte eine Sprecherin des Pentagons.",
         "US Department of Defense", "assert"),
        ("ru", "По словам главы ГУР Кирилла Буданова, КНДР передала России снаряды.",
         "Kyrylo Budanov", "assert"),
        # claim verbs that carry a denial, negated purchases
        ("ko", "조선중앙통신은 북러 무기 거래설이 날조라고 주장했다.", "KCNA", "deny"),
        ("en", "Lavrov claimed reports of North Korean arms deliveries to Russia were fabricated.",
         "Sergei Lavrov", "deny"),
        ("ru", "Песков заявил, что Россия не покупает у КНДР снаряды.", "Dmitry Peskov", "deny"),
        ("de", "Russland kaufe keine Granaten in Nordkorea, sagte Peskow.", "Dmitry Peskov",
         "deny"),
        ("ko", "러시아는 북한으로부터 포탄을 구매하지 않았다고 라브로프 장관이 말했다.",
         "Sergei Lavrov", "deny"),
        ("en", "North Korea has not only sent shells but also missiles to Russia, Kirby said.",
         "John Kirby", "assert"),
        # concern, outrage and breach; a quoted condemnation; not-a-stance words
        ("en", "Blinken said Washington was gravely concerned about North Korean missiles sent "
         "to Russia.", "Antony Blinken", "condemn"),
        ("en", "Kirby said the shipments of North Korean shells to Russia breached UN "
         "resolutions.", "John Kirby", "condemn"),
        ("en", "G7 ministers said in a statement: “We condemn North Korea’s transfers of "
         "missiles to Russia and urge them to stop.”", "G7 foreign ministers", "condemn"),
        ("en", "MR. KIRBY: Pyongyang continues to falsely deny that it ships shells to Russia.",
         "John Kirby", "assert"),
        ("en", "MR. KIRBY: North Korea supplies Russia’s illegal war with shells and missiles.",
         "John Kirby", "assert"),
        ("en", "Remarks by President Biden\nTHE PRESIDENT: North Korea is sending Russia "
         "artillery shells.", "Joe Biden", "assert"),
        # other governments, organisations by name, denials of a monitors' report
        ("en", "Canada imposed sanctions on North Korean entities over arms transfers to Russia.",
         "Canada", "demand"),
        ("ru", "Великобритания ввела санкции против КНДР за поставки ракет России.",
         "United Kingdom", "demand"),
        ("en", "Analysts at the Center for Strategic and International Studies said imagery "
         "showed containers moving from North Korea to Russia.",
         "Center for Strategic and International Studies", "assert"),
        ("de", "Pjöngjang wies den MSMT-Bericht als Fälschung zurück.", "North Korea", "deny"),
        ("ko", "북한 외무성은 MSMT 보고서가 날조된 것이라고 비난했다.",
         "North Korean Foreign Ministry", "deny"),
        ("en", "Sikorski said Poland would push for sanctions over North Korean missiles sent "
         "to Russia.", "Sikorski", "demand"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("ru", "Россия заблокировала в Совбезе заявление, осуждающее запуск северокорейской "
         "ракеты."),
        ("ru", "КНДР провела пуски баллистических ракет, сообщили в Генштабе Южной Кореи."),
        ("de", "Nordkorea feuerte am Montag zwei Raketen ins Japanische Meer ab."),
        ("en", "Russia blocked a statement condemning North Korea's missile launches."),
        # conditions are not claims
        ("en", "If North Korea sends more missiles to Russia, Seoul could arm Ukraine, Yoon said."),
        ("ko", "북한이 러시아에 미사일을 더 보낼 경우 무기를 지원한다고 윤 대통령이 말했다."),
    ],
)  # fmt: skip
def test_issue3_negatives(detector, lang, text):
    assert detector.detect("doc", text, lang) == []


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "North Korean shells account for about half of the ammunition Russia fires in "
         "Ukraine."),
        ("en", "More than a million shells have left North Korea for Russia by sea."),
        ("de", "Rund die Hälfte der von Russland in der Ukraine verschossenen Munition stammt "
         "aus Nordkorea."),
        ("ru", "Половина снарядов, которыми стреляет российская армия, произведена в КНДР."),
        ("ko", "북한은 러시아에 포탄과 함께 방사포도 넘기고 있다."),
        ("en", "North Korean Koksan guns were seen on railway flatcars in Russia."),
    ],
)  # fmt: skip
def test_issue3_movement_use_and_share_are_statements(detector, lang, text):
    assert detector.detect("doc", text, lang)


def test_shares_and_korean_counters_in_identity(detector):
    first = _one(
        detector, "국정원은 북한이 10여 차례에 걸쳐 포탄 100만 발을 러시아에 보냈다고 밝혔다.", "ko"
    )
    again = _one(
        detector, "국정원에 따르면 북한은 러시아에 100만 발이 넘는 포탄을 해상으로 보냈다.", "ko"
    )
    assert again.statement_id == first.statement_id
    half = _one(
        detector, "About half of the shells Russia fires come from North Korea, Budanov said.", "en"
    )
    share = _one(
        detector, "Budanov said 60 percent of the shells Russia fires come from North Korea.", "en"
    )
    assert "quantity:share:50" in json.loads(half.signature)["features"]
    assert share.statement_id != half.statement_id


# ------------------------------------------- issue 3, third round: who speaks in longer forms


# Later rounds: who speaks in longer and rarer forms.
ISSUE3_LATER_ROUNDS = [
        # a person "of" a body speaks, not the body
        ("en", "North Korea has shipped artillery rockets to Russia, according to Anna Berg of "
         "the Swedish defence ministry.", "Anna Berg", "assert"),
        # the agent of a passive act
        ("en", "Two North Korean generals were among those sanctioned by Canada for arms "
         "transfers to Russia.", "Canada", "demand"),
        # after the verb: a body and then its spokesperson, a long title, "told reporters"
        ("ru", "Северная Корея передала России ракеты, заявил представитель военной разведки "
         "Эстонии Андрес Таммик.", "Андрес Таммик", "assert"),
        ("ru", "КНДР передала России снаряды, заявил заместитель директора департамента "
         "международной безопасности министерства иностранных дел Литвы Йонас Петраускас.",
         "Йонас Петраускас", "assert"),
        ("ru", "КНДР продолжает поставлять России снаряды, сказал журналистам Джон Кирби.",
         "John Kirby", "assert"),
        # a German name in apposition to its title
        ("de", "Der Sprecher des Außenministeriums, Martin Vogel, verurteilte die Lieferung "
         "nordkoreanischer Raketen an Russland.", "Martin Vogel", "condemn"),
        # a lone Russian surname before a strong verb; verbs of conclusion
        ("ru", "Бурмистров опроверг сообщения о закупках снарядов в КНДР.", "Бурмистров", "deny"),
        ("ru", "Группа экспертов ООН пришла к выводу, что КНДР передала России баллистические "
         "ракеты.", "UN Panel of Experts", "assert"),
        ("de", "Das Verteidigungsministerium in Tokio geht in seinem Bericht davon aus, dass "
         "Nordkorea Russland Granaten geliefert hat.", "Japanese Ministry of Defense", "assert"),
        # a title abbreviation does not end the sentence; a lone surname after the verb
        ("en", '"North Korea has sent Russia more shells," Pentagon press secretary Brig. Gen. '
         'Pat Ryder said.', "Pat Ryder", "assert"),
        ("ru", "КНДР не поставляла «Вагнеру» никакого оружия, заявил Пригожин.", "Пригожин",
         "deny"),
        # ministries and the Joint Chiefs are speakers of their own
        ("ko", "국방부는 북한이 러시아에 포탄을 보냈다고 밝혔다.",
         "South Korean Ministry of National Defense", "assert"),
        ("ko", "합참은 북한이 러시아에 240㎜ 방사포를 보냈다고 밝혔다.", "Joint Chiefs of Staff",
         "assert"),
        ("en", "North Korea's defence ministry denied selling shells to Russia.",
         "North Korean Ministry of National Defence", "deny"),
        ("en", "Pyongyang's defence ministry denied it had ever shipped arms to Russia.",
         "North Korean Ministry of National Defence", "deny"),
        # a long title before the name; a place after "on" is no surname
        ("en", "House Foreign Affairs Committee Chairman Michael McCaul condemned North Korea's "
         "arms shipments to Russia.", "Michael McCaul", "condemn"),
        ("en", "G7 foreign ministers meeting on Capri condemned North Korea's export of ballistic "
         "missiles to Russia.", "G7 foreign ministers", "condemn"),
        # "according to" with a surname in the genitive, read in the nominative
        ("ru", "По словам Умерова, Россия получила от Северной Кореи миллионы боеприпасов.",
         "Умеров", "assert"),
        # a foreign name in Hangul before its country and title
        ("ko", "드미트로 포노마렌코 주한 우크라이나 대사는 북한이 러시아에 포탄을 보냈다고 말했다.",
         "드미트로 포노마렌코", "assert"),
        ("ko", "리처드 말스 호주 부총리 겸 국방장관은 북한의 대러 미사일 제공을 규탄했다.",
         "리처드 말스", "condemn"),
        # German lone surnames where only a name can stand
        ("de", "Russland verschieße Granaten aus Nordkorea, erklärte Bundesverteidigungsminister "
         "Pistorius in Berlin.", "Pistorius", "assert"),
        ("de", "Nordkorea sei durch seine Waffenlieferungen an Moskau mitschuldig am Tod von "
         "Zivilisten, kritisierte Tsahkna.", "Tsahkna", "condemn"),
        ("de", "Ein großer Teil der russischen Artilleriegranaten stammt nach den Worten von "
         "Pistorius aus Nordkorea.", "Pistorius", "assert"),
        # a name in commas after a title and the body it holds
        ("de", "Eine Sprecherin des Auswärtigen Dienstes der EU, Nabila Massrali, verurteilte die "
         "Weitergabe nordkoreanischer Raketen an Russland.", "Nabila Massrali", "condemn"),
        # Korean researchers and lawmakers by title; a foreign surname is not a Korean name
        ("ko", "통일연구원 홍민 선임연구위원에 따르면 북한은 포탄 수백만 발을 러시아로 넘겼다.",
         "홍민", "assert"),
        ("ko", "짐 리시 미 상원의원은 북한과 러시아의 무기 거래에 관여한 기업을 제재해야 한다고 "
         "촉구했다.", "짐 리시", "demand"),
        # a name before its apposition (de); a particle inside a name (en)
        ("de", "Christophe Lemoine, Sprecher des französischen Außenministeriums, verurteilte die "
         "nordkoreanischen Waffenlieferungen an Russland.", "Christophe Lemoine", "condemn"),
        ("en", "French ambassador Nicolas de Rivière said Russia was firing North Korean missiles "
         "at Ukraine.", "Nicolas de Rivière", "assert"),
        # "unsubstantiated" denies; "must immediately halt" demands
        ("en", "The allegation that Moscow is using ballistic missiles from Pyongyang is "
         "unsubstantiated, Peskov told reporters.", "Dmitry Peskov", "deny"),
        ("en", "State Department spokesperson Tammy Bruce said North Korea and Russia must "
         "immediately halt the unlawful arms trade.", "Tammy Bruce", "demand"),
        # a demand in the passive
        ("en", "North Korea's deliveries of missiles to Moscow must be stopped, Kaja Kallas said.",
         "Kaja Kallas", "demand"),
        ("ru", "В министерстве национальной обороны КНДР опровергли сообщения о поставках "
         "оружия в Россию.", "North Korean Ministry of National Defence", "deny"),
        # the speaker closing the sentence reports what precedes it, whatever the verb
        # before; a place is no surname
        ("ru", "Поставки оружия из КНДР в МИД России считают выдумкой, заявила Мария Захарова.",
         "Maria Zakharova", "deny"),
        ("de", "Der estnische Militärgeheimdienst sehe nicht nur Granatenlieferungen aus "
         "Nordkorea an Russland, sondern auch Raketen, sagte Verteidigungsminister Hanno Pevkur "
         "im Parlament.", "Hanno Pevkur", "assert"),
        ("ru", "Лидеры Евросоюза на саммите в Брюсселе осудили поставки северокорейских ракет "
         "России.", "European Union", "condemn"),
        # Hangul names before their title; a closing subject reports the act before it
        ("ko", "데이비드 래미 영국 외무장관은 러시아가 북한이 보낸 무기의 대가를 석유로 "
         "치르고 있다고 말했다.", "데이비드 래미", "assert"),
        ("ko", "한국 정부는 북러 무기 거래에 가담한 러시아 선박에 독자 제재를 부과한다고 "
         "외교부가 밝혔다.", "South Korean Foreign Ministry", "demand"),
        # "nach Worten von"; holding the reports to be gossip denies them
        ("de", "Nordkorea hat Russland nach Worten von Präsident Wolodymyr Selenskyj 1,5 Millionen "
         "Granaten geliefert.", "Volodymyr Zelensky", "assert"),
        ("ru", "Поставки оружия из КНДР для «Вагнера» — не более чем сплетни и домыслы, считает "
         "Пригожин.", "Пригожин", "deny"),
        ("de", "US-Außenminister Antony Blinken sagte, Russland wolle Nordkorea Satellitentechnik "
         "zur Verfügung stellen.", "Antony Blinken", "assert"),
        # a lone surname before its apposition; a German politician by party or genitive title
        ("en", "Landsbergis, Lithuania's top diplomat, denounced the flow of North Korean "
         "munitions to Moscow.", "Landsbergis", "condemn"),
        ("de", "Strack-Zimmermann (FDP) kritisierte scharf, dass Pjöngjang Russland mit Raketen "
         "versorgt.", "Strack-Zimmermann", "condemn"),
        ("de", "Nordkorea hat Russland nach Worten des estnischen Verteidigungsministers Hanno "
         "Pevkur mehr Granaten geliefert.", "Hanno Pevkur", "assert"),
        # names with an inner capital; a rebuke from someone; a Korean title after the name
        ("en", "North Korean missiles shipped to Moscow give Pyongyang combat data, Gen. Paul "
         "LaCamera testified.", "Paul LaCamera", "assert"),
        ("en", "The arms pipeline from Pyongyang to Moscow drew a sharp rebuke from Gabrielius "
         "Landsbergis.", "Gabrielius Landsbergis", "condemn"),
        ("ko", "북러 간 무기 거래를 강력히 규탄한다고 조태열 장관이 말했다.", "조태열", "condemn"),
        # named people, not their office; a Korean name before its ministry; a German
        # compound title in the genitive; complicity is condemnation
        ("en", "EU foreign policy chief Josep Borrell condemned North Korea's supply of arms to "
         "Russia.", "Josep Borrell", "condemn"),
        ("ko", "북한이 러시아에 포탄을 보냈다고 신원식 국방부 장관이 밝혔다.", "Shin Won-sik",
         "assert"),
        ("de", "Nordkorea hat Russland nach Einschätzung des estnischen Militärgeheimdienstchefs "
         "Ants Kiviselg mehr als eine Million Granaten geliefert.", "Ants Kiviselg", "assert"),
        ("en", "By supplying Russia with missiles, North Korea has become complicit in its crimes, "
         "Kuleba said.", "Dmytro Kuleba", "condemn"),
        # a surname that looks plural; a surname after a time; the name after a German title
        # before a participle; Korean apposition with 인; wrong information is a denial
        ("en", "Peters said Wellington viewed the supply of North Korean weapons for Russia's "
         "war with grave concern.", "Peters", "condemn"),
        ("ru", "Никаких поставок оружия из КНДР не было, заявил в четверг Пригожин, отвергнув "
         "обвинения Вашингтона.", "Пригожин", "deny"),
        ("de", "Polens Außenminister Radosław Sikorski hat die Lieferung nordkoreanischer "
         "Granaten an Russland scharf verurteilt.", "Radosław Sikorski", "condemn"),
        ("ko", "일본 정부 대변인인 하야시 장관은 북러 무기 거래가 안보리 결의를 어기는 것이라고 "
         "지적했다.", "Yoshimasa Hayashi", "assert"),
        ("en", "Nebenzia told the Security Council that Washington was spreading wrong "
         "information about North Korean missiles for Russia.", "Vassily Nebenzia", "deny"),
        # denials by "no intention" and "no evidence", verb-final and after a neutral verb
        ("ko", "북한 외무성은 러시아에 무기를 수출할 의향은 없다고 주장했다.",
         "North Korean Foreign Ministry", "deny"),
        ("ru", "Захарова заявила, что Вашингтон не представил доказательств поставок оружия из "
         "КНДР.", "Maria Zakharova", "deny"),
        # round 15: a Korean surname before its title, foreign names before newer titles,
        # "X of the Y", German senators, investigators, "X zufolge" and a closing apposition
        ("ko", "러시아가 북한산 포탄을 전선에서 대량으로 쓰고 있다고 최 교수는 분석했다.",
         "최 교수", "assert"),
        ("ko", "북한은 러시아에 무기를 보내는 것을 즉각 중단해야 한다고 박 차관보는 말했다.",
         "박 차관보", "demand"),
        ("ko", "라스무센 대령은 북한제 곡산 자주포가 러시아군에 배치됐다고 밝혔다.", "라스무센",
         "assert"),
        ("ko", "존 스미스 미국 랜드연구소 선임연구원은 북한이 러시아에 보낸 미사일의 정확도가 "
         "높아졌다고 말했다.", "존 스미스", "assert"),
        ("ko", "세르히 키슬리차 우크라이나 외무차관은 북한의 대러 미사일 공급을 강하게 규탄했다.",
         "세르히 키슬리차", "condemn"),
        ("en", "Victor Hansen of the Royal Institute of International Affairs said North Korea had "
         "shipped millions of artillery shells to Russia.", "Victor Hansen", "assert"),
        ("de", "Der russische Senator Konstantin Kossatschow wies Berichte über nordkoreanische "
         "Waffenlieferungen an Russland als Erfindung zurück.", "Konstantin Kossatschow", "deny"),
        ("de", "Reinholt zufolge hat Nordkorea inzwischen mehrere Millionen Granaten an Russland "
         "geliefert.", "Reinholt", "assert"),
        ("de", "Angaben zufolge hat Nordkorea Millionen Granaten an Russland geliefert.", None,
         "assert"),
        ("de", "Nordkorea müsse seine Raketenlieferungen an Russland sofort einstellen, forderte "
         "die Vorsitzende des Verteidigungsausschusses, Marie Lindqvist.", "Marie Lindqvist",
         "demand"),
        ("de", "Die Raketentrümmer stammen nach Angaben des ukrainischen Ermittlers Petro "
         "Marchenko von einer nordkoreanischen KN-23.", "Petro Marchenko", "assert"),
        # North Korean arms that help Russia fight, come from its stocks, or are bought
        ("en", "North Korean shells have allowed Russia to keep up its barrage along the front, "
         "analyst Peter Lindgren said.", "Peter Lindgren", "assert"),
        ("de", "Munition aus Nordkorea helfe Russland, die Front zu halten, sagte der "
         "Militärexperte Jonas Weber.", "Jonas Weber", "assert"),
        ("ru", "Северокорейские снаряды помогают России удерживать фронт, заявил аналитик Иван "
         "Петренко.", "Иван Петренко", "assert"),
        ("ko", "러시아가 북한으로부터 포탄을 사들이고 있다고 김 교수는 말했다.", "김 교수",
         "assert"),
        ("de", "Jede dritte Granate, die Russland abfeuert, kommt aus nordkoreanischen Beständen, "
         "sagte Oberst Jonas Weber.", "Jonas Weber", "assert"),
        # round 16: more Korean titles, a country between a foreign name and its title,
        # German "nach Aussage von", "laut", political scientists and an opening surname
        ("ko", "이정훈 국가정보원 1차장은 북한이 러시아에 포탄 수백만 발을 보냈다고 말했다.",
         "이정훈", "assert"),
        ("ko", "르드리앙 프랑스 외무장관은 북한의 대러 무기 공급을 강하게 규탄했다.", "르드리앙",
         "condemn"),
        ("de", "Nordkorea hat Russland nach Aussage von Admiral Peter Lindqvist Millionen Granaten "
         "geliefert.", "Peter Lindqvist", "assert"),
        ("de", "Lindqvist bestritt, dass Russland Waffen aus Nordkorea erhält.", "Lindqvist",
         "deny"),
        ("de", "Nordkorea ist nach Einschätzung des Politologen Jonas Berger zum wichtigsten "
         "Munitionslieferanten Russlands geworden.", "Jonas Berger", "assert"),
        ("de", "Nordkoreanische Raketen treffen laut Berger inzwischen genauer, seit Russland sie "
         "in der Ukraine einsetzt.", "Berger", "assert"),
        # round 17: shipping between North Korean and Russian ports, turning to Pyongyang
        # for arms, selling old stocks
        ("en", "Cargo ships have made a dozen round trips between Najin and Vostochny carrying "
         "what appear to be munitions, analyst Mark Tolley said.", "Mark Tolley", "assert"),
        ("en", "Russia was forced to go to North Korea for shells, Defence Secretary Maria Olsen "
         "said.", "Maria Olsen", "assert"),
        ("ko", "북한이 오래된 포탄을 러시아에 팔아 재고를 정리하고 있다고 이민호 교수는 말했다.",
         "이민호", "assert"),
        # round 18: "X of the Y Z", "X also said", titles holding "of State", "voiced
        # concern", ", so X", a title's apposed name after a title alias, Korean names after
        # what the person is or a common noun, and demands by "must" in Korean and German
        ("en", "Anna Berg of the Nordic Institute for Security Studies said North Korea had sent "
         "Russia millions of artillery shells.", "Anna Berg", "assert"),
        ("en", "Lindqvist also said Russia was firing North Korean missiles at Ukrainian cities.",
         "Lindqvist", "assert"),
        ("en", "Secretary of State Daniel Moore voiced serious concern about North Korea's "
         "transfers of ballistic missiles to Russia.", "Daniel Moore", "condemn"),
        ("de", "Für die gelieferten Granaten bekomme Nordkorea russische Militärtechnik, so "
         "Lindqvist.", "Lindqvist", "assert"),
        ("de", "Etwa ein Drittel der russischen Artilleriemunition stammt nach Schätzung des "
         "Analysten Jonas Berger aus Nordkorea.", "Jonas Berger", "assert"),
        ("de", "Nordkorea müsse seine Waffenlieferungen an Russland sofort einstellen, forderte "
         "der Sprecher des Nationalen Sicherheitsrats, Daniel Moore.", "Daniel Moore", "demand"),
        ("ko", "독일의 한반도 전문가 요나스 베르거는 북한이 포탄 제공의 대가로 "
         "러시아의 군사 기술을 얻고 있다고 말했다.", "요나스 베르거", "assert"),
        ("ko", "국회 정보위원회 소속 이정민 의원은 북한이 러시아에 포탄을 보낸 것으로 보인다고 "
         "말했다.", "이정민", "assert"),
        ("ko", "러시아는 북한과의 무기 거래를 즉각 멈춰야 한다고 정민수 장관은 강조했다.", "정민수",
         "demand"),
        ("en", "Those who help Pyongyang ship arms to Moscow must face sanctions, said Senator "
         "Laura Finch.", "Laura Finch", "demand"),
        # round 19: whose analysis a Korean sentence is, a lone surname after "according to",
        # a demand to add names to the "next" sanctions list or to go after shippers, and
        # "seriously concerned"
        ("ko", "북한이 러시아에 넘긴 포탄 상당수가 불발탄이라는 게 최 교수의 분석이다.", "최 교수",
         "assert"),
        ("en", "Many of the North Korean shells sent to Russia are duds, according to Lindqvist.",
         "Lindqvist", "assert"),
        ("en", "According to Lindqvist, Pyongyang has sent Moscow several million artillery "
         "rounds.", "Lindqvist", "assert"),
        ("en", "Berger said the bloc should add those behind North Korea's weapons deliveries to "
         "Russia to its next sanctions list.", "Berger", "demand"),
        ("en", "The United States should go after every firm moving North Korean weapons to "
         "Russia, analyst Mark Tolley said.", "Mark Tolley", "demand"),
        ("en", "Foreign Minister Anna Berg said Oslo was seriously concerned by North Korea's "
         "missile deliveries to Russia.", "Anna Berg", "condemn"),
        # round 20: a chain of bodies after the person, a country inside the body's name,
        # "Analyst" as a title, missiles that struck a city, German separable "feuert … ab"
        # and dependence, a demand to stop "all arms trade", "should sanction"
        ("en", "Pavel Orlov of Moscow's Higher School of Economics said North Korean ammunition "
         "had helped the Russian army through the shell shortage.", "Pavel Orlov", "assert"),
        ("en", "Jin Park of the Center for a New American Security said Moscow was paying for "
         "North Korean munitions with oil.", "Jin Park", "assert"),
        ("en", "Analyst Mark Tolley said the missile that struck a residential district of Kyiv "
         "was a North Korean KN-23.", "Mark Tolley", "assert"),
        ("de", "Russland feuere inzwischen Granaten aus Nordkorea ab, weil die eigene Produktion "
         "nicht reiche, sagte die Ministerin Jana Weber.", "Jana Weber", "assert"),
        ("de", "Moskau hänge immer stärker von nordkoreanischen Granaten ab, so Lindqvist.",
         "Lindqvist", "assert"),
        ("ko", "김철수 캐나다 외무장관은 북한과 러시아에 모든 무기 거래를 즉각 중단하라고 "
         "촉구했다.", "김철수", "demand"),
        ("en", "Ramon Vidal of King's College London said the EU should sanction the ships "
         "carrying North Korean ammunition to Russia.", "Ramon Vidal", "demand"),
        # round 21: Korean names after a clause, titles the patterns lacked (대장, 직무대행,
        # 선임고문, 사무차관), a listed body inside a person's title, a foreign name of two
        # words before a country, and a body's finding passed on by a lawmaker
        ("ko", "북한이 러시아로 보낸 포탄은 대부분 오래된 구형일 것이라고 박지훈 교수는 설명했다.",
         "박지훈", "assert"),
        ("ko", "합참의장 최영수 대장은 북한제 미사일이 러시아군의 공격에 쓰이고 있다고 말했다.",
         "최영수", "assert"),
        ("ko", "한지원 직무대행은 북한이 러시아에 포탄을 제공한 대가로 방공 장비를 받았다고 "
         "밝혔다.", "한지원", "assert"),
        ("ko", "마이클 그린 CSIS 선임고문은 북한이 러시아에 무기를 팔아 외화를 벌고 있다고 "
         "말했다.", "마이클 그린", "assert"),
        ("ko", "다나카 겐지 일본 외무성 사무차관은 북러 간 무기 거래를 규탄했다.", "다나카 겐지",
         "condemn"),
        ("ko", "북한은 무기 제공의 대가로 러시아에서 석유를 받고 있다고 야마모토 교수는 "
         "지적했다.", "야마모토", "assert"),
        ("ko", "국정원에 따르면 북한이 러시아에 보낸 포탄은 200만 발이 넘는다고 정보위 간사인 "
         "한민수 의원이 전했다.", "National Intelligence Service", "assert"),
        # German names with no title after "sagte", "nach Angaben von" and "laut", advisers
        # as titles, "Dem … Abgeordneten X zufolge", and an analyst's title before the name
        ("de", "Russland verschießt inzwischen vor allem Granaten aus Nordkorea, sagte Jana "
         "Weber vom Kieler Institut.", "Jana Weber", "assert"),
        ("de", "Nordkorea hat Russland nach Angaben von Olaf Brand, Berater des Ministers, "
         "Millionen Granaten geliefert.", "Olaf Brand", "assert"),
        ("de", "Dem estnischen Abgeordneten Marko Tamm zufolge hat Nordkorea Russland "
         "Raketenwerfer überlassen.", "Marko Tamm", "assert"),
        ("de", "Kremlberater Pawel Orlow wies Berichte über nordkoreanische Waffenlieferungen an "
         "Russland zurück.", "Pawel Orlow", "deny"),
        ("de", "Nordkorea liefert Russland inzwischen mehr Munition als Iran, sagte der Grazer "
         "Politikwissenschaftler Lukas Gruber.", "Lukas Gruber", "assert"),
        # stance: alarm is condemnation, "never produced any evidence" and "никаких …
        # доказательств" deny, "is sanctioning" and "must be choked off" demand
        ("en", "North Korea's missile deliveries to Russia are deeply alarming, Defence Minister "
         "Anna Berg said.", "Anna Berg", "condemn"),
        ("en", "Washington has never produced any evidence that North Korea sends shells to "
         "Russia, Ambassador Pavel Orlov said.", "Pavel Orlov", "deny"),
        ("ru", "Никаких доказательств поставок северокорейского оружия в Россию в докладе нет, "
         "заявил политолог Павел Орлов.", "Павел Орлов", "deny"),
        ("en", "The supply line carrying North Korean shells to Russia must be choked off, Foreign "
         "Minister Anna Berg said.", "Anna Berg", "demand"),
        # round 22: whose account a Korean sentence is with the body and title between, a
        # name starting like a term ("위성"), "…의 분석에 따르면", a one-syllable country before
        # a title, Russian "по мнению" and "как подчеркнул", a body's name after "из Института",
        # a name that held "Кита", German "laut dem …", professors, a verb before a bare name
        ("ko", "러시아가 포탄을 받는 대가로 북한에 방공 장비를 넘기고 있다는 것이 박민호 국방부 "
         "장관의 설명이다.", "박민호", "assert"),
        ("ko", "위성호 국가안보실장은 북한과 러시아의 무기 거래에 심각한 우려를 "
         "표명했다.", "위성호", "condemn"),
        ("ko", "한국외대 김민수 교수의 분석에 따르면 러시아는 북한에 포탄의 대가로 방공 시스템을 "
         "제공했다.", "김민수", "assert"),
        ("ko", "로라 핀치 미 상원의원은 북한 무기를 러시아로 실어 나르는 해운사를 제재해야 한다고 "
         "촉구했다.", "로라 핀치", "demand"),
        ("ru", "По мнению Орлова, поставки снарядов из КНДР позволили России пережить нехватку "
         "боеприпасов.", "Орлов", "assert"),
        ("ru", "Как подчеркнул Павел Орлов, снаряды из КНДР поставляются в Россию по железной "
         "дороге.", "Павел Орлов", "assert"),
        ("ru", "Анна Берг из Института Джеймса Мартина отметила, что российские суда перевозят "
         "боеприпасы из КНДР в Россию.", "Анна Берг", "assert"),
        ("ru", "Официальный представитель МИД Японии Кэндзи Китано заявил, что Токио осуждает "
         "передачу Пхеньяном России баллистических ракет.", "Кэндзи Китано", "condemn"),
        ("de", "Russische Frachter bringen laut dem ukrainischen Marinesprecher Olaf Brand "
         "weiterhin Munition aus Nordkorea nach Russland.", "Olaf Brand", "assert"),
        ("de", "Jeder Einsatz einer KN-23 in der Ukraine liefert Nordkorea nach Einschätzung des "
         "MIT-Professors Lukas Gruber wertvolle Daten.", "Lukas Gruber", "assert"),
        ("de", "Als zynisches Geschäft kritisierte Jana Weber von den Grünen, dass Pjöngjang "
         "Moskau mit Granaten beliefert.", "Jana Weber", "condemn"),
        # news outlets and open-source investigators the profile now lists
        ("en", "North Korean shells are moved to Russia by night trains, Radio Free Asia "
         "reported.", "Radio Free Asia", "assert"),
        ("ko", "데일리NK는 북한 군수공장이 러시아로 보낼 포탄을 밤낮으로 생산하고 있다고 보도했다.",
         "Daily NK", "assert"),
        ("ru", "По данным Би-би-си, российские суда перевозят северокорейские боеприпасы из "
         "Раджина.", "BBC", "assert"),
        # a Russian name after "по словам" is reported in the nominative
        ("ru", "По словам военного эксперта Павла Фельгенгауэра, Россия получила из КНДР миллионы "
         "снарядов.", "Павел Фельгенгауэр", "assert"),
        ("ru", "По оценке аналитика Сергея Залужного, КНДР поставила России сотни ракет.",
         "Сергей Залужный", "assert"),
        # Korean: a university or party beside the name is not part of it, and "에 따르면"
        # reaches the name across the person's body and title
        ("ko", "봉민수 고려대 북한학과 교수에 따르면 북한은 비축 포탄을 꺼내 러시아로 보내고 있다.",
         "봉민수", "assert"),
        ("ko", "국민의힘 한민수 의원은 북한이 러시아에 포탄 수백만 발을 보냈다고 밝혔다.", "한민수",
         "assert"),
        # round 23: a country is a source only right after "data from", an outlet's name in
        # quotation marks, Korean names in Russian, "former" is no name, -shige, critics,
        # "경제상", "책임자", German heads of office and journalists, demands by "should face
        # U.S. sanctions" and "should impose", "an invention" and "증거는 전혀 없다" deny
        ("en", "Russia fires North Korean shells at Ukraine, according to data from field units "
         "in Ukraine, analyst Mark Tolley said.", "Mark Tolley", "assert"),
        ("ru", "По данным «Радио Свобода», КНДР отправляет в Россию старые снаряды.",
         "Radio Liberty", "assert"),
        ("ru", "КНДР поставляет России миллионы снарядов, заявил южнокорейский эксперт Пак Чон Хо.",
         "Пак Чон Хо", "assert"),
        ("ko", "이고르 페트로프 전 주한 러시아 대사는 북한의 대러 무기 공급에 대한 증거는 전혀 "
         "없다고 말했다.", "이고르 페트로프", "deny"),
        ("ko", "다나카 시게 일본 방위대학 교수는 북한이 러시아에 보낸 미사일로 실전 자료를 얻고 "
         "있다고 말했다.", "다나카 시게", "assert"),
        ("ko", "러시아 군사평론가 이반 소콜로프는 러시아가 북한 포탄을 들여오고 있다고 말했다.",
         "이반 소콜로프", "assert"),
        ("ko", "리철민 북한 대외경제상은 러시아와의 무기 거래설이 날조라고 주장했다.", "리철민",
         "deny"),
        ("de", "Der stellvertretende Leiter des Präsidialamts, Ihor Petrenko, verurteilte die "
         "nordkoreanischen Raketenlieferungen an Russland.", "Ihor Petrenko", "condemn"),
        ("en", "\"Anyone who helps ship North Korean shells to Russia should face U.S. "
         "sanctions,\" Senator Laura Finch said.", "Laura Finch", "demand"),
        ("en", "Moscow buys neither shells nor missiles from North Korea, and the reports are an "
         "invention, Senator Pavel Orlov said.", "Pavel Orlov", "deny"),
        # round 24: names with an apostrophe, newspapers and ship trackers the profile now
        # lists, "was sanctioning", "must be hit with sanctions", "should target", "no
        # convincing evidence", "keine überzeugenden Belege", a missile that "slammed into"
        # a city is no condemnation, a war crime named in Russian
        ("en", "North Korea has overtaken Iran as Russia's biggest foreign arms supplier, Sean "
         "O'Malley said.", "Sean O'Malley", "assert"),
        ("en", "Satellite imagery reviewed by The Wall Street Journal shows trains loaded with "
         "North Korean munitions crossing into Russia.", "The Wall Street Journal", "assert"),
        ("en", "Treasury official Mark Tolley said the department was sanctioning Russian firms "
         "that buy North Korean missiles.", "Mark Tolley", "demand"),
        ("en", "The ships ferrying North Korean shells to Russia must be hit with sanctions, "
         "Senator Laura Finch said.", "Laura Finch", "demand"),
        ("en", "Analyst Pavel Orlov said no convincing evidence showed that North Korea supplies "
         "Russia with missiles.", "Pavel Orlov", "deny"),
        ("en", "The missile that slammed into Kharkiv on Monday was a North Korean KN-23, the "
         "regional governor Oleh Brand said.", "Oleh Brand", "assert"),
        ("de", "Es gebe keine überzeugenden Belege dafür, dass Russland nordkoreanische Raketen "
         "einsetze, sagte der Moskauer Experte Pawel Orlow.", "Pawel Orlow", "deny"),
        ("ru", "Генпрокурор Павел Орлов назвал удары северокорейскими ракетами по украинским "
         "городам военным преступлением.", "Павел Орлов", "condemn"),
        # a listed surname inside an O' name is another person; German present-tense "sagt"
        ("en", "North Korean munitions are shipped to Russia aboard Russian vessels, the EU "
         "envoy Mark O'Sullivan said.", "Mark O'Sullivan", "assert"),
        ("de", "Nordkorea hat mit dem Verkauf von Munition an Russland Milliarden eingenommen, "
         "sagt Lukas Gruber vom Institut.", "Lukas Gruber", "assert"),
        ("ko", "마크 오설리번 EU 제재 특사는 북한 탄약을 러시아로 실어 나르는 선박을 제재하겠다고 "
         "밝혔다.", "마크 오설리번", "demand"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "text", "speaker", "stance"), ISSUE3_ROUND_TWO + ISSUE3_LATER_ROUNDS
)
def test_issue3_speaker_and_stance_classes(detector, lang, text, speaker, stance):
    found = _one(detector, text, lang)
    assert (found.speaker, found.stance) == (speaker, stance)


@pytest.mark.parametrize(
    ("lang", "text", "unit", "number"),
    [
        ("ru", "Зеленский заявил, что КНДР передала России около полутора миллионов снарядов.",
         "shells", 1_500_000),
        ("de", "Nordkorea hat Russland laut Selenskyj eineinhalb Millionen Granaten geliefert.",
         "shells", 1_500_000),
        ("ru", "Буданов оценил долю северокорейских снарядов, которые расходует российская армия, "
         "в сорок процентов.", "share", 40),
        ("en", "Budanov said about forty percent of the shells Russia fires come from North Korea.",
         "share", 40),
        # a ten and a unit before the multiplier
        ("en", "According to the JCS in Seoul, some twenty-eight thousand containers have gone "
         "from North Korea to Russia.", "containers", 28_000),
        ("ru", "По данным Сеула, КНДР отправила в Россию около двадцати восьми тысяч "
         "контейнеров.", "containers", 28_000),
        # "every second" is half, "one in three" a third
        ("ru", "По словам Буданова, почти каждый второй снаряд, которым стреляет российская "
         "армия, поступил из КНДР.", "share", 50),
        ("en", "One in three rounds Russia fires in Ukraine now comes from North Korea, Budanov "
         "said.", "share", 33),
    ],
)  # fmt: skip
def test_worded_numbers_and_shares(detector, lang, text, unit, number):
    quantities = json.loads(_one(detector, text, lang).signature)["quantities"]
    assert float(quantities[unit]) == number


def test_an_asset_freeze_is_a_sanction_and_training_is_not_rail(detector):
    freeze = _one(
        detector,
        "Japan has frozen the assets of 11 organisations involved in Russia's procurement of "
        "weapons from North Korea, Yoshimasa Hayashi announced.",
        "en",
    )
    assert freeze.stance == "demand"
    training = _one(
        detector,
        "Russia has been providing North Korea with military equipment and training, Blinken said.",
        "en",
    )
    assert "topic.rail" not in json.loads(training.signature)["features"]


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "Any arms deal between North Korea and Russia would violate Security Council "
         "resolutions, a State Department spokesman said."),
        ("de", "Jede Waffenlieferung Nordkoreas an Russland wäre ein Verstoß gegen "
         "UN-Resolutionen, sagte ein Sprecher des Auswärtigen Amts."),
        ("ko", "통일부는 북한과 러시아 간 어떤 무기 거래도 안보리 결의 위반이 될 것이라고 "
         "강조했다."),
    ],
)  # fmt: skip
def test_the_law_on_any_transfer_is_not_a_claim_whoever_states_it(detector, lang, text):
    assert detector.detect("doc", text, lang) == []


def test_denying_any_transfer_is_still_a_denial(detector):
    found = _one(detector, "Both Moscow and Pyongyang deny any arms transfers between them.", "en")
    assert found.stance == "deny"


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "The missile Russia fired at Kharkiv on January 2 was a North Korean KN-23, "
         "Chubenko said."),
        ("en", "The missile that hit the city on Jan. 30 was North Korean, prosecutors said, "
         "and Pyongyang had sent it to Russia."),
        ("ko", "국정원에 따르면 북한은 1·2차 선적에서 포탄을 러시아에 넘겼다."),
    ],
)  # fmt: skip
def test_days_and_rounds_are_not_counts(detector, lang, text):
    assert json.loads(_one(detector, text, lang).signature)["quantities"] == {}


# ---------------------------------------------------------------- two phases: analyse, resolve


def _documents(name: str) -> list[dict]:
    if name == "seed":
        return [{"id": SEED_ID, "text": (SHARED / "seed" / SEED_ID).read_text(encoding="utf-8")}]
    lines = (DATA / f"detect_{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [{"id": r["id"], "text": r["text"], "lang": r["lang"]} for r in map(json.loads, lines)]


def _same(a: list[Detection], b: list[Detection]) -> bool:
    # Detection leaves evidence out of ==; identity decisions must agree on it too.
    return a == b and [d.evidence for d in a] == [d.evidence for d in b]


@pytest.mark.parametrize("name", [pytest.param("seed", marks=needs_shared), "dev"])
def test_detect_is_resolve_of_analyse(profile, name):
    one, two = Detector(profile), Detector(profile)
    for doc in _documents(name):
        args = (doc["id"], doc["text"], doc.get("lang"))
        assert _same(one.detect(*args), two.resolve(two.analyse(*args)))
    assert len(one.index) == len(two.index) > 0


def test_analyse_reads_no_index(profile):
    docs = _documents("dev")
    busy = Detector(profile)
    for doc in docs:
        busy.detect(doc["id"], doc["text"], doc["lang"])
    known = len(busy.index)
    fresh = Detector(profile)
    for doc in docs:
        args = (doc["id"], doc["text"], doc["lang"])
        assert busy.analyse(*args) == fresh.analyse(*args)
    assert len(busy.index) == known and len(fresh.index) == 0


def test_analyses_resolved_in_arrival_order_match_detect(profile):
    # Analyses may be made in any order (on a cluster they finish out of order);
    # resolving them in arrival order gives what detect gives.
    docs = _documents("dev")
    analyses = {
        d["id"]: Detector(profile).analyse(d["id"], d["text"], d["lang"]) for d in docs[::-1]
    }
    serial, two_phase = Detector(profile), Detector(profile)
    for doc in docs:
        expected = serial.detect(doc["id"], doc["text"], doc["lang"])
        assert _same(expected, two_phase.resolve(analyses[doc["id"]]))


def test_detector_and_analysis_survive_pickling(profile):
    docs = _documents("dev")
    detector = Detector(profile)
    for doc in docs[:40]:
        detector.detect(doc["id"], doc["text"], doc["lang"])
    copy = pickle.loads(pickle.dumps(detector))
    assert copy.profile_name == detector.profile_name and len(copy.index) == len(detector.index)
    for doc in docs[40:]:
        analysis = detector.analyse(doc["id"], doc["text"], doc["lang"])
        travelled = pickle.loads(pickle.dumps(analysis))
        assert isinstance(travelled, DocumentAnalysis) and travelled == analysis
        assert _same(detector.resolve(analysis), copy.resolve(travelled))


def _analyse_elsewhere(detector: Detector, doc: dict) -> DocumentAnalysis:
    return detector.analyse(doc["id"], doc["text"], doc.get("lang"))


def test_analyse_runs_in_another_process(profile):
    docs = _documents("dev")[:30]
    with ProcessPoolExecutor(max_workers=2) as pool:
        analyses = list(pool.map(_analyse_elsewhere, [Detector(profile)] * len(docs), docs))
    serial, two_phase = Detector(profile), Detector(profile)
    for doc, analysis in zip(docs, analyses, strict=True):
        expected = serial.detect(doc["id"], doc["text"], doc["lang"])
        assert _same(expected, two_phase.resolve(analysis))


def test_resolve_refuses_another_profiles_analysis(profile):
    iran = Detector.from_profile("iran_russia")
    analysis = iran.analyse("doc", "Iran has supplied Russia with Shahed drones.", "en")
    with pytest.raises(ValueError, match="iran_russia"):
        Detector(profile).resolve(analysis)


# ---------------------------------------------------------------- issue 3, second round


@pytest.mark.parametrize(
    ("lang", "text", "speaker", "stance"),
    [
        # the most specific speaker: a ministry, an agency, a research body, a person
        ("en", "The State Department said North Korea had shipped rockets to Russia by sea.",
         "US State Department", "assert"),
        ("ko", "미 국무부는 북한이 러시아에 미사일을 보냈다고 밝혔다.", "US State Department",
         "assert"),
        ("en", "Washington has blacklisted two Russian freight firms that carried North Korean "
         "shells, the State Department said.", "US State Department", "demand"),
        ("de", "Nordkorea hat nach Schätzung des südkoreanischen Militärgeheimdienstes "
         "Granaten nach Russland verschifft.", "South Korean Defense Intelligence Agency",
         "assert"),
        ("ru", "Посол МИД России Игорь Карпов отверг сообщения о поставках северокорейских "
         "ракет.", "Игорь Карпов", "deny"),
        ("en", "North Korea sent Russia at least 500 containers of shells, according to IISS.",
         "IISS", "assert"),
        ("ko", "영국 국제전략문제연구소는 북한이 러시아에 미사일을 공급했다고 분석했다.",
         "영국 국제전략문제연구소", "assert"),
        ("de", "Russland setzte nordkoreanische Raketen gegen Lwiw ein, teilte die ukrainische "
         "Luftwaffe mit.", "Ukrainian Air Force", "assert"),
        ("en", "Russia is arming itself with North Korean shells, British Defence Secretary "
         "John Healey said.", "John Healey", "assert"),
        # answers to an accusation that deny it; designations as demands
        ("en", "Lavrov shrugged off claims that North Korea supplies Russia with missiles.",
         "Sergei Lavrov", "deny"),
        ("en", "Peskov refused to comment on allegations that Russia bought North Korean shells.",
         "Dmitry Peskov", "deny"),
        ("ru", "«Американцы всех обвиняют», — сказал Песков о снарядах, которые КНДР якобы "
         "поставила России.", "Dmitry Peskov", "deny"),
        ("en", "The Treasury designated three firms that shipped North Korean munitions to "
         "Russia.", "US Treasury Department", "demand"),
        ("de", "Das US-Finanzministerium hat zwei Reedereien wegen Munitionslieferungen aus "
         "Nordkorea an Russland mit Sanktionen belegt.", "US Treasury Department", "demand"),
        ("ru", "Минфин США ввёл санкции против компаний, поставлявших России северокорейские "
         "снаряды.", "US Treasury Department", "demand"),
    ],
)  # fmt: skip
def test_round2_speaker_and_stance_classes(detector, lang, text, speaker, stance):
    found = _one(detector, text, lang)
    assert (found.speaker, found.stance) == (speaker, stance)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        # Russia's side of the trade: technology, help, payment; requests for munitions
        ("en", "Russia is sharing missile technology with North Korea, Seoul's spy agency said."),
        ("en", "North Korea's spy satellite reached orbit with Russian help, the NIS said."),
        ("ko", "러시아가 북한에 정찰위성 기술을 공유하고 있다고 국정원이 밝혔다."),
        ("ru", "КНДР вывела разведывательный спутник на орбиту при помощи России, считает "
         "разведка Южной Кореи."),
        ("en", "Russian officials asked North Korea for more artillery shells, Kirby said."),
        ("de", "Moskau bat Pjöngjang um Artilleriemunition, sagte ein Sprecher des Pentagons."),
        ("de", "Russland bezahlt nordkoreanische Raketen mit Öl, sagte der britische "
         "Außenminister."),
        ("en", "Russia is paying North Korea with oil for the shells it fires in Ukraine."),
    ],
)  # fmt: skip
def test_round2_russian_side_of_the_trade_is_in_scope(detector, lang, text):
    assert detector.detect("doc", text, lang)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        # oil or food alone is trade; space cooperation without a transfer is a tie
        ("en", "Russia shipped refined oil to North Korea in March, exceeding the UN cap."),
        ("de", "Russland und Nordkorea vereinbarten eine Zusammenarbeit in der Raumfahrt."),
        ("ko", "러시아는 북한에 밀가루와 석유를 수출했다고 러시아 세관이 밝혔다."),
        ("ru", "Если поставки снарядов из КНДР подтвердятся, это будет нарушением резолюций."),
        ("ko", "북러 무기 거래가 사실이라면 안보리 결의 위반이다."),
        # a possibility, not a claim (round 17)
        ("en", "Putin said Russia did not rule out supplying weapons to North Korea."),
        ("en", "The minister warned that Seoul would respond if North Korea began supplying Russia "
         "with hypersonic missiles."),
    ],
)  # fmt: skip
def test_round2_negatives(detector, lang, text):
    assert detector.detect("doc", text, lang) == []


# Relevance forms later rounds added, each a fresh sentence of the class it closes.
LATER_RELEVANCE_FORMS = [
    # round 21: reliance and dependence, moving and trading arms, "thanks to", Tumangang
    # as the North Korean side, a missile that struck ("einschlug"), an attack with a
    # North Korean missile, and a denial of reports of North Korean arms in the war
    ("en", "Moscow's growing reliance on North Korean shells shows how short Russia is of "
     "ammunition, analyst Mark Tolley said."),
    ("en", "Senator Laura Finch called for sanctions on the companies moving North Korean "
     "missiles and shells to Russia."),
    ("en", "Canada's foreign minister condemned the illegal trade in missiles between "
     "Pyongyang and Moscow."),
    ("en", "Freight trains carrying ammunition cross from Tumangang into Russia every night, "
     "a monitoring group said."),
    ("de", "Bei der Rakete, die am Montag in Odessa einschlug, handelte es sich um eine "
     "nordkoreanische KN-23, sagte ein Ermittler."),
    ("de", "Der Minister verurteilte den Angriff auf Kiew mit einer nordkoreanischen Rakete."),
    ("ru", "Российская армия всё сильнее зависит от северокорейских снарядов, считает "
     "эксперт Павел Орлов."),
    ("ru", "Сенатор Павел Орлов назвал сообщения о северокорейских ракетах на Украине "
     "фейком."),
    # round 22: a KN-23 or KN-24 names its maker, a lifeline for the war, weapons seen on
    # the front, Moscow's orders, "does not need", Dnipro, the German transfer compounds,
    # arrivals and unloading in Russian, Korean sales ("판 적이 없다") and cargo
    ("en", "Russia received the solid-fuel KN-24 as well, a researcher said."),
    ("en", "North Korean shells have become a lifeline for Russia's war, Senator Laura Finch "
     "said."),
    ("en", "The missile that hit Dnipro overnight was a North Korean KN-23, the governor "
     "said."),
    ("en", "Pyongyang has expanded its missile lines to keep pace with Moscow's orders for "
     "ballistic missiles, analyst Mark Tolley said."),
    ("de", "Nordkoreanische Granaten seien zur Lebensader der russischen Armee geworden, "
     "sagte die Ministerin Jana Weber."),
    ("de", "Die EU müsse Firmen sanktionieren, die den Waffentransfer aus Nordkorea nach "
     "Russland abwickeln, verlangte Jana Weber."),
    ("ru", "Северокорейские снаряды поступали в Россию по железной дороге, сообщил эксперт "
     "Павел Орлов."),
    ("ko", "북한은 러시아에 무기를 판 적이 없다고 북한 외무성 대변인은 주장했다."),
    # round 25: shells reaching Russian units, "дошли до российских частей", "нужны
    # российской армии", superiority that "beruhte auf" North Korean shells, and North
    # Korea's own "조로 사이의 무기거래설" denied
    ("en", "Videos show North Korean shells reaching Russian units in the Kursk region, a "
     "historian said."),
    ("ru", "Северокорейские снаряды дошли до российских частей в Донбассе, считает историк "
     "Павел Орлов."),
    ("ru", "Северокорейские снаряды нужны российской армии, считает эксперт Павел Орлов."),
    ("de", "Russlands Vorsprung bei der Artillerie beruhte laut einem Experten vor allem auf "
     "nordkoreanischen Granaten."),
    ("ko", "북한 외무성은 조로 사이의 무기거래설은 날조에 불과하다고 일축했다."),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text"), LATER_RELEVANCE_FORMS)
def test_later_rounds_relevance_forms(detector, lang, text):
    assert detector.detect("later", text, lang), text


def test_a_coincidence_on_the_day_of_a_visit_is_no_statement(detector):
    text = (
        "라브로프 러시아 외무장관이 원산에 도착한 날 북한은 서해상으로 순항미사일 여러 발을 "
        "발사했다."
    )
    assert not detector.detect("coincidence", text, "ko")
