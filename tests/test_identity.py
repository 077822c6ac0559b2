"""Statement identity: the evidence of each decision, denials, signatures and determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from armswatch.tasks.detect import Detector, Profile
from armswatch.tasks.identity import Signature, StatementIndex
from armswatch.tasks.load import detection_rows
from armswatch.tasks.models import KnownStatement, VersionRecord

DATA = Path(__file__).resolve().parent / "data"
EVIDENCE_KEYS = {"matched_statement_id", "similarity", "shared_features", "method"}


@pytest.fixture(scope="module")
def profile() -> Profile:
    return Profile.load("nk_russia")


def _first(detector: Detector, text: str, lang: str, doc_id: str = "doc"):
    found = detector.detect(doc_id, text, lang)
    assert found, f"no statement found in {text!r}"
    return found[0]


KIRBY_EN = (
    "North Korea has delivered more than 1,000 containers of military equipment and munitions "
    "to Russia, John Kirby said."
)
KIRBY_EN_AGAIN = (
    "According to John Kirby, more than a thousand containers of munitions and military "
    "equipment have been shipped from North Korea to Russia."
)
KIRBY_DE = (
    "Nordkorea hat nach Angaben von John Kirby mehr als 1.000 Container mit Militärausrüstung "
    "und Munition an Russland geliefert."
)


def test_each_method_of_identity_and_its_evidence(profile):
    detector = Detector(profile)
    new = _first(detector, KIRBY_EN, "en", "a")
    same = _first(detector, KIRBY_EN, "en", "b")
    paraphrase = _first(detector, KIRBY_EN_AGAIN, "en", "c")
    cross = _first(detector, KIRBY_DE, "de", "d")
    assert [d.evidence["method"] for d in (new, same, paraphrase, cross)] == [
        "new",
        "same-text",
        "paraphrase",
        "cross-language",
    ]
    assert new.evidence["matched_statement_id"] is None and new.is_new
    for later in (same, paraphrase, cross):
        assert later.evidence["matched_statement_id"] == new.statement_id == later.statement_id
        assert later.evidence["similarity"] >= later.evidence["threshold"]
        assert "quantity:containers:1000" in later.evidence["shared_features"]
    assert same.evidence["similarity"] == 1.0


def test_evidence_keys_are_always_there_and_stored_as_json(profile):
    detector = Detector(profile)
    lines = (DATA / "detect_dev.jsonl").read_text(encoding="utf-8").splitlines()
    found = []
    for row in map(json.loads, lines):
        found += detector.detect(row["id"], row["text"], row["lang"])
    methods = set()
    for d in found:
        assert d.evidence.keys() >= EVIDENCE_KEYS, d.evidence
        assert isinstance(d.evidence["shared_features"], list)
        assert isinstance(d.evidence["similarity"], float)
        assert (d.evidence["matched_statement_id"] is None) == (d.evidence["method"] == "new")
        methods.add(d.evidence["method"])
    assert {"new", "paraphrase", "cross-language"} <= methods
    versions = {
        d.doc_id: VersionRecord(d.doc_id, 1, datetime(2024, 1, 1, tzinfo=UTC), "h", "", "en", "x")
        for d in found
    }
    _, sightings, _ = detection_rows(found, versions, profile.name)
    stored = [json.loads(s["evidence"]) for s in sightings]
    assert all(e.keys() >= EVIDENCE_KEYS for e in stored)


def test_a_new_statement_names_its_nearest_miss(profile):
    detector = Detector(profile)
    _first(detector, KIRBY_EN, "en", "a")
    other = _first(
        detector,
        "Kirby later said the number of containers sent from North Korea to Russia had grown "
        "to more than 10,000.",
        "en",
        "b",
    )
    assert other.evidence["method"] == "new"
    assert other.evidence["nearest_statement_id"] is not None
    assert other.evidence["similarity"] < other.evidence["threshold"]


def test_same_text_from_a_drifted_stored_signature(profile):
    text = "Kim Yo Jong dismissed claims of North Korean arms exports to Russia as absurd."
    first = _first(Detector(profile), text, "en")
    drifted = Signature("kim yo jong", "deny", "en", {"stance:deny": 0.6}, frozenset(), {})
    later = Detector(profile)
    later.load_known(
        [KnownStatement(first.statement_id, first.speaker, "deny", text, "en", drifted.dumps())]
    )
    again = _first(later, text, "en")
    assert (again.statement_id, again.is_new) == (first.statement_id, False)
    assert again.evidence["method"] == "same-text"
    assert again.evidence["matched_statement_id"] == first.statement_id


def test_loose_restatements_of_one_denial_share_it(profile):
    detector = Detector(profile)
    text = (
        "Moscow and Pyongyang deny any arms trade.\n"
        "South Korea says North Korea has shipped millions of shells to Russia.\n"
        "Both Moscow and Pyongyang have denied the accusations."
    )
    found = detector.detect("doc", text, "en")
    denials = [d for d in found if d.stance == "deny"]
    assert len(denials) == 2 and denials[0].statement_id == denials[1].statement_id


def test_denials_that_say_different_things_stay_apart(profile):
    detector = Detector(profile)
    absurd = _first(
        detector,
        "Kim Yo Jong dismissed reports of North Korean arms exports to Russia as absurd.",
        "en",
        "a",
    )
    intention = _first(
        detector,
        "Kim Yo Jong denied the reports, saying North Korea has no intention of exporting "
        "weapons to Russia.",
        "en",
        "b",
    )
    assert absurd.statement_id != intention.statement_id


def test_index_settings_come_from_the_profile(profile):
    index = StatementIndex.for_profile(profile)
    assert (index.threshold, index.same_denial) == (
        profile.identity_threshold,
        profile.same_denial,
    )


def test_similarities_do_not_depend_on_the_hash_seed():
    # Sums over sets of feature names once varied in their last bits from run to
    # run; identity evidence (and a borderline decision) must not.
    script = (
        "import json, sys\n"
        "from armswatch.tasks.detect import Detector\n"
        "d = Detector.from_profile()\n"
        "out = []\n"
        f"for line in open({str(DATA / 'detect_dev.jsonl')!r}, encoding='utf-8'):\n"
        "    r = json.loads(line)\n"
        "    out += [(x.statement_id, x.evidence['similarity'])\n"
        "            for x in d.detect(r['id'], r['text'], r['lang'])]\n"
        "print(json.dumps(out))\n"
    )
    runs = []
    for seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        runs.append(done.stdout)
    assert runs[0] == runs[1]


def test_content_tokens_are_stems_without_a_dictionary():
    from armswatch.tasks.identity import content_tokens

    assert content_tokens("shipped shipments", "en") == content_tokens("shipping shipment", "en")
    assert content_tokens("поставила снаряды", "ru") == content_tokens("поставил снарядов", "ru")


def test_claim_tokens_leave_the_attribution_out(profile):
    said = _first(Detector(profile), "Kirby said North Korea sent shells to Russia.", "en")
    according = _first(
        Detector(profile), "North Korea sent shells to Russia, according to John Kirby.", "en"
    )
    tokens = [set(json.loads(d.signature)["tokens"]) for d in (said, according)]
    assert tokens[0] == tokens[1] and not {"kirbi", "said", "accord"} & tokens[0]


def test_a_name_in_another_script_is_one_speaker_block(profile):
    from armswatch.tasks.identity import romanised

    assert romanised("Радослав Сикорский") == "radoslav sikorskiy"
    assert romanised("조태열") == "cho tae yeol"
    detector = Detector(profile)
    en = _first(
        detector,
        "Foreign Minister Radosław Sikorski condemned North Korea's missile deliveries to Russia.",
        "en",
        "a",
    )
    ru = _first(
        detector,
        "Министр Радослав Сикорский осудил поставки северокорейских ракет в Россию.",
        "ru",
        "b",
    )
    assert (en.speaker, ru.speaker) == ("Radosław Sikorski", "Радослав Сикорский")
    assert ru.statement_id == en.statement_id and ru.evidence["method"] == "cross-language"
    other = _first(
        detector,
        "Foreign Minister Radek Kowalski condemned North Korea's missile deliveries to Russia.",
        "en",
        "c",
    )
    assert other.statement_id != en.statement_id


def test_a_name_spelt_by_sound_in_another_script_is_one_speaker_block(profile):
    detector = Detector(profile)
    ru = _first(
        detector, "Нед Прайс заявил, что Россия закупает у КНДР миллионы снарядов.", "ru", "a"
    )
    en = _first(
        detector, "Ned Price said Russia was buying millions of shells from North Korea.", "en", "b"
    )
    assert (ru.speaker, en.speaker) == ("Нед Прайс", "Ned Price")
    assert en.statement_id == ru.statement_id and en.evidence["method"] == "cross-language"
    index = StatementIndex(0.5)
    for name in ("robert wood", "adrienne watson", "park jin", "김 장관"):
        index.block(name)
    assert index.block("роберт вуд") == "robert wood"
    assert index.block("эдриенн уотсон") == "adrienne watson"
    # a foreign name in Hangul, word by word
    index.block("yevgeny prigozhin")
    assert index.block("예브게니 프리고진") == "yevgeny prigozhin"
    # alike in their consonants, but other names
    assert index.block("pak jong") == "pak jong"
    assert index.block("조 장관") == "조 장관"


def test_outlet_voice_stays_in_its_language(profile):
    detector = Detector(profile)
    en = _first(detector, "North Korea has shipped millions of shells to Russia.", "en", "a")
    de = _first(detector, "Nordkorea hat Millionen Granaten nach Russland verschifft.", "de", "b")
    assert en.speaker is de.speaker is None and de.statement_id != en.statement_id


@pytest.mark.parametrize(
    ("lang", "first", "again"),
    [
        (
            "en",
            "Blinken said Moscow was paying Pyongyang in oil for the shells it fires in Ukraine.",
            "According to Antony Blinken, North Korean artillery rounds used against Ukraine "
            "are being bought with Russian crude.",
        ),
        (
            "en",
            "The Treasury blacklisted a broker who arranged arms deals between Russia and "
            "North Korea.",
            "The US Treasury imposed sanctions on a middleman it accused of brokering weapons "
            "sales from Pyongyang to Moscow.",
        ),
        (
            "de",
            "Die ukrainische Luftwaffe meldete den Abschuss von zwei nordkoreanischen "
            "KN-23-Raketen über Kiew.",
            "Zwei von Russland abgefeuerte KN-23 aus Nordkorea seien über Kiew zerstört worden, "
            "teilte die ukrainische Luftwaffe mit.",
        ),
        # one denial of "shells" and of "munitions"
        (
            "en",
            "Lavrov denied that Russia had bought artillery shells from North Korea.",
            "Sergei Lavrov rejected reports of North Korean munitions supplies to Russia as lies.",
        ),
        # one restatement cites the imagery, the other not
        (
            "en",
            "Satellite images show North Korean containers moving by rail to Russia, the "
            "Royal United Services Institute said.",
            "North Korea is sending Russia munitions in containers by rail, according to RUSI.",
        ),
        # arms talks, in other words
        (
            "en",
            "Arms negotiations between Pyongyang and Moscow are moving ahead, Adrienne Watson "
            "said.",
            "According to Adrienne Watson, talks on North Korean weapons sales to Russia are "
            "advancing.",
        ),
        # a date given as "Jan. 2" and as "January 2"
        (
            "en",
            "The missile Russia fired at Zaporizhzhia on Jan. 6 was a North Korean KN-23, "
            "Yuriy Malashko said.",
            "Yuriy Malashko said a North Korean KN-23 had been fired by Russia at "
            "Zaporizhzhia on January 6.",
        ),
        # a lone surname and the full name it stands for
        (
            "en",
            "New Zealand is deeply concerned by North Korea's transfer of ballistic missiles "
            "to Russia, Foreign Minister Winston Peters said.",
            "Peters said Wellington viewed the supply of North Korean missiles for Russia's "
            "war with grave concern.",
        ),
        # sanctions named in passing are not a claim about sanctions
        (
            "en",
            "Russia is buying artillery shells from North Korea, State Department spokesman "
            "Vedant Patel said.",
            "According to Vedant Patel, Moscow has turned to Pyongyang for artillery shells "
            "because sanctions and export controls are biting.",
        ),
    ],
)
def test_one_speakers_restatement_with_few_shared_words_joins(profile, lang, first, again):
    detector = Detector(profile)
    a = _first(detector, first, lang, "a")
    b = _first(detector, again, lang, "b")
    assert b.statement_id == a.statement_id, b.evidence


@pytest.mark.parametrize(
    ("lang", "first", "other"),
    [
        # one weapon in common, but one claim dates and counts an event, the other not
        (
            "en",
            "Russia fired at least 20 North Korean missiles at Ukrainian cities in January, "
            "Ukraine's air force said.",
            "The Ukrainian Air Force said North Korean missiles had hit Kharkiv.",
        ),
        # other weapons are another claim
        (
            "en",
            "Kirby said North Korea had delivered infantry rockets and missiles to Wagner.",
            "Kirby said North Korea had sent Russia ballistic missile launchers.",
        ),
        # a supply claim and a sanctions claim of one speaker
        (
            "en",
            "The State Department said North Korea had shipped missiles to Russia.",
            "The State Department designated two firms over North Korean missiles shipped "
            "to Russia.",
        ),
    ],
)
def test_one_speakers_other_claims_stay_apart(profile, lang, first, other):
    detector = Detector(profile)
    a = _first(detector, first, lang, "a")
    b = _first(detector, other, lang, "b")
    assert b.statement_id != a.statement_id, b.evidence


def test_a_lone_surname_is_the_person_the_index_knows_by_full_name(profile):
    detector = Detector(profile)
    full = _first(
        detector, "Евгений Пригожин опроверг сообщения о поставках оружия из КНДР.", "ru", "a"
    )
    lone = _first(detector, "Пригожин опроверг сообщения о поставках оружия из КНДР.", "ru", "b")
    assert lone.speaker == "Евгений Пригожин" and lone.statement_id == full.statement_id
    assert lone.evidence["speaker_as_written"] == "Пригожин"
    # and the other way round, with another person
    detector = Detector(profile)
    lone = _first(detector, "Бурмистров опроверг сообщения о закупках снарядов в КНДР.", "ru")
    full = _first(
        detector, "Олег Бурмистров опроверг сообщения о закупках снарядов в КНДР.", "ru", "b"
    )
    assert full.statement_id == lone.statement_id
    # a surname of two known people is neither
    index = StatementIndex(0.5)
    index.block("yevgeny kimura")
    index.block("sergei kimura")
    assert index.block("kimura") == "kimura"


def test_a_lone_surname_is_reported_by_the_full_name_once_known(profile):
    detector = Detector(profile)
    full = _first(
        detector,
        "Foreign Minister Winston Peters said North Korea had sent ballistic missiles to Russia.",
        "en",
        "a",
    )
    lone = _first(
        detector, "Peters said Pyongyang had shipped ballistic missiles to Moscow.", "en", "b"
    )
    assert (full.speaker, lone.speaker) == ("Winston Peters", "Winston Peters")
    assert lone.evidence["speaker_as_written"] == "Peters"
    # A surname seen first stays as written: nothing yet names the person in full.
    detector = Detector(profile)
    first = _first(detector, "Peters said Pyongyang had shipped missiles to Moscow.", "en")
    assert first.speaker == "Peters" and "speaker_as_written" not in first.evidence


def test_same_facts_floor_comes_from_the_profile(profile):
    assert profile.same_facts == 0.5 and "materiel.containers" in profile.carriers
    assert "North Korea" in profile.coarse_speakers and "experts" in profile.coarse_speakers
    assert StatementIndex.for_profile(profile).same_facts == 0.5


def test_a_lone_surname_seen_first_joins_the_full_name_that_follows(profile):
    # "Сингх" before anyone named Singh in full; then the full name, in two scripts.
    detector = Detector(profile)
    lone = _first(
        detector,
        "Россия использовала поставленные Пхеньяном баллистические ракеты, сообщила Сингх.",
        "ru",
        "a",
    )
    _first(
        detector,
        "Pentagon deputy press secretary Sabrina Singh said Russia had used ballistic missiles "
        "supplied by North Korea.",
        "en",
        "b",
    )
    full = _first(
        detector,
        "Сабрина Сингх заявила, что Россия применила баллистические ракеты, поставленные КНДР.",
        "ru",
        "c",
    )
    assert lone.speaker == "Сингх" and full.statement_id == lone.statement_id, full.evidence


@pytest.mark.parametrize(
    ("known", "alone"),
    [
        ("조태열", "조 장관"),  # a Korean surname before a title: the minister named before
        ("조현동", "조 부차관보"),  # any title the sentence reader knows, prefixed or not
        ("알렉산드르 마체고라", "마체고라"),  # a foreign surname in Hangul is one word
        ("로버트 우드", "우드"),  # "드" writes a foreign consonant: not a Korean given name
        ("marie-agnes strack-zimmermann", "strack-zimmermann"),  # double-barrelled
        ("shin won-sik", "shin"),  # a Korean surname comes first; four letters stand alone
        ("david cameron", "lord cameron"),  # an honorific is not a name
    ],
)
def test_short_forms_of_a_name_are_its_speaker_block(known, alone):
    index = StatementIndex(0.5)
    index.block(known)
    assert index.block(alone) == known
    # in either order
    index = StatementIndex(0.5)
    index.block(alone)
    assert index.block(known) == index.block(alone)


def test_short_forms_too_common_or_shared_stay_apart():
    index = StatementIndex(0.5)
    for name in ("kim yo jong", "kim yong-hyun", "park jin"):
        index.block(name)
    assert index.block("김 장관") == "김 장관"  # two Kims known
    # one Kim known is still not every Kim with a title
    index = StatementIndex(0.5)
    index.block("김인애")
    assert index.block("김 교수") == "김 교수"
    # short surnames one letter apart are two families: 고 (Ko) is not 구 (Koo)
    index.block("koo byoung-sam")
    assert index.block("고 연구위원") == "고 연구위원"
    assert index.block("park") == "park"  # too common to stand alone
    assert index.block("gen nakatani") == "gen nakatani"  # "Gen" is his given name
    assert index.block("nakatani") == "gen nakatani"


def test_a_body_and_the_spokesperson_a_sentence_names_with_it_are_one_speaker(profile):
    detector = Detector(profile)
    person = _first(
        detector,
        "EU-Sprecher Peter Stano verurteilte die nordkoreanischen Munitionslieferungen an "
        "Russland als Verstoß gegen die UN-Sanktionen.",
        "de",
        "a",
    )
    body = _first(
        detector,
        "Die EU verurteilte die Munitionslieferungen aus Nordkorea an Russland als Bruch der "
        "UN-Sanktionen.",
        "de",
        "b",
    )
    assert (person.speaker, body.speaker) == ("Peter Stano", "European Union")
    assert json.loads(person.signature)["affiliates"] == ["european union"]
    assert body.statement_id == person.statement_id, body.evidence
    # another spokesperson of the same body is another speaker
    other = _first(
        detector,
        "EU-Sprecherin Nabila Massrali verurteilte die nordkoreanischen Munitionslieferungen an "
        "Russland als Verstoß gegen die UN-Sanktionen.",
        "de",
        "c",
    )
    assert other.statement_id != person.statement_id, other.evidence


def test_a_channel_that_carries_a_statement_is_not_its_speakers_body(profile):
    detector = Detector(profile)
    found = _first(
        detector,
        "In a statement carried by KCNA, Kim Yo Jong dismissed reports of arms exports to "
        "Russia as absurd.",
        "en",
    )
    assert found.speaker == "Kim Yo Jong" and json.loads(found.signature)["affiliates"] == []


def test_a_korean_surname_before_a_title_is_reported_by_the_full_name(profile):
    detector = Detector(profile)
    full = _first(
        detector,
        "조태열 외교부 장관은 북한과 러시아의 불법적인 무기 거래를 강력히 규탄했다.",
        "ko",
        "a",
    )
    titled = _first(
        detector, "조 장관은 북러 간 무기 거래가 안보리 결의 위반이라고 규탄했다.", "ko", "b"
    )
    assert full.speaker == "조태열" and titled.speaker == "조태열"
    assert titled.evidence["speaker_as_written"] == "조 장관"


def test_a_titled_common_surname_is_the_full_name_seen_with_that_title():
    index = StatementIndex(0.5)
    index.block("김강일", titles={"부상"})
    index.block("김인애", titles={"부대변인"})
    # "김 부상" is the Kim seen as a vice-minister, not every Kim the index knows
    assert index.block("김 부상") == "김강일"
    assert index.block("김 교수") == "김 교수"
    # a title seen later with the full name counts as well
    index.block("최강")
    index.block("최강", titles={"아산정책연구원장"})
    assert index.block("최 원장") == "최강"


def test_a_signature_keeps_the_titles_of_its_speaker(profile):
    detector = Detector(profile)
    found = detector.detect(
        "titles", "김강일 북한 국방성 부상은 대러 무기 수출설을 날조라고 일축했다.", "ko"
    )
    assert found and found[0].speaker == "김강일"
    later = detector.detect(
        "later", "김 부상은 북한이 러시아에 포탄을 수출한 적이 없다고 주장했다.", "ko"
    )
    assert later and later[0].speaker == "김강일"


def test_one_speakers_condemnation_reported_twice_is_one_reaction(profile):
    detector = Detector(profile)
    first = detector.detect(
        "a", "Foreign Minister Anna Berg condemned North Korea's arms deliveries to Russia.", "en"
    )
    second = detector.detect(
        "b",
        "Anna Berg said Pyongyang's shipments of missiles to Moscow were a flagrant breach of "
        "international law that she deplored.",
        "en",
    )
    assert first and second
    assert first[0].statement_id == second[0].statement_id
    assert second[0].evidence["method"] == "paraphrase"


def test_reactions_in_one_text_and_sanctions_stay_several(profile):
    detector = Detector(profile)
    both = detector.detect(
        "one",
        "Foreign Minister Anna Berg condemned North Korea's arms deliveries to Russia. "
        "Anna Berg also condemned Russia's use of North Korean missiles against Kyiv.",
        "en",
    )
    assert len(both) == 2 and both[0].statement_id != both[1].statement_id
    listed = detector.detect(
        "s1", "Foreign Minister Anna Berg announced sanctions on three North Korean firms "
        "shipping arms to Russia.", "en",
    )
    again = detector.detect(
        "s2", "Anna Berg imposed sanctions on two Russian banks paying for North Korean "
        "missiles.", "en",
    )
    assert listed and again and listed[0].statement_id != again[0].statement_id
