"""The analysts' queries in warehouse/queries/: run with --param values and in the DuckDB CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from armswatch.warehouse import queries, store
from armswatch.warehouse.db import Warehouse

DAY = date(2024, 6, 3)

# Web text an attacker controls: a title, a speaker's name, a sentence.
HOSTILE = ("<script>alert(1)</script> ![x](javascript:alert(1)) [click](http://evil) "
           "**bold** `rm -rf` a|b")
HOSTILE_TITLE = "Leaked: <script>alert(1)</script> **bold** | `tick`"
HOSTILE_SPEAKER = "Mallory <img src=x onerror=alert(1)> **bold**"
HOSTILE_URL = "https://evil.example/x?a=\"><script>alert(1)</script>"
EVIL = f"Mallory demanded a halt: {HOSTILE}\nand more for $5 & up\x07\u202e."

S_KIM_EN = ("Kim Yo Jong, the sister of North Korean leader Kim Jong Un, dismissed the claims of "
            "arms exports to Russia as the most absurd paradox.")
S_KIM_DE = ("Kim Yo Jong, die Schwester von Machthaber Kim Jong Un, wies die Berichte über "
            "Waffenexporte nach Russland als absurd zurück.")
S_KIM_KO = ("김여정 부부장은 북한이 러시아에 무기를 수출했다는 주장을 "
            "가장 황당한 역설이라고 일축했다.")
S_KIM2_KO = "김여정 부부장은 북한이 어느 나라에도 무기를 수출할 의향이 없다고 밝혔다."
S_PESKOV_RU = ("Пресс-секретарь Кремля Дмитрий Песков назвал сообщения о поставках оружия из КНДР "
               "бездоказательными.")
S_PESKOV_EN = "Update: Kremlin spokesman Dmitry Peskov on Monday rejected the US allegations."
S_KIRBY_V1 = ("North Korea has delivered more than 100 containers of military equipment and "
              "munitions to Russia, White House spokesman John Kirby said.")
S_KIRBY_V2 = S_KIRBY_V1.replace("100 containers", "1,000 containers")
S_G7 = ("The G7 foreign ministers condemned North Korea's weapons shipments to Russia in the "
        "strongest terms.")
S_OUTLET_DE = ("Nach Angaben aus Seoul hat Nordkorea inzwischen rund 10.000 Container mit "
               "Artilleriegranaten nach Russland geschickt.")
S_SHIN = ("South Korea's defence minister Shin Won-sik said North Korea had shipped about 6,700 "
          "containers of artillery shells to Russia.")
S_FILLER = "The talks ended without a joint statement."


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# article_id, canonical_url, source, title, published_at, lang, first_seen_at
ARTICLES = [
    ("a_en1", "https://pacific-ledger.example/asia/kim-yo-jong-absurd-paradox", "pacific-ledger",
     "Kim Yo Jong calls arms deal claims 'most absurd paradox'", "2024-05-17 07:48", "en",
     "2024-06-01 09:00"),
    ("a_de1", "https://berliner-rundschau.example/politik/kim-dementi", "berliner-rundschau",
     "Kim Yo Jong bestreitet Waffenlieferungen an Russland", "2024-05-18 06:10", "de",
     "2024-06-02 10:00"),
    ("a_ko1", "https://hanbando-ilbo.example/nk/2024/kim-yo-jong", "hanbando-ilbo",
     "김여정, 북러 무기거래설 일축", "2024-05-17 01:35", "ko", "2024-06-02 11:00"),
    ("a_ko2", "https://hanbando-ilbo.example/nk/2024/kim-yo-jong-exports", "hanbando-ilbo",
     "김여정 \"무기 수출 의향 없다\"", "2024-05-20 02:00", "ko", "2024-06-03 10:00"),
    ("a_ru1", "https://vostok-vestnik.example/politika/peskov-kndr", "vostok-vestnik",
     "В Кремле назвали бездоказательными сообщения о поставках оружия из КНДР",
     "2024-06-02 12:40", "ru", "2024-06-03 08:00"),
    ("a_en2", "https://northern-dispatch.example/world/containers", "northern-dispatch",
     "North Korea has shipped more than 1,000 containers of arms to Russia, White House says",
     "2024-05-31 20:04", "en", "2024-06-01 09:00"),
    ("a_old", "https://hanbando-ilbo.example/en/shin-6700-containers", "hanbando-ilbo",
     "Shin Won-sik: North Korea sent 6,700 containers to Russia", "2024-02-27 02:20", "en",
     "2024-03-01 09:00"),
    ("a_evil", HOSTILE_URL, "evil|wire", HOSTILE_TITLE, "2024-06-02 13:00", "en",
     "2024-06-02 14:00"),
]

# article_id, version, fetched_at, sentences
VERSIONS = [
    ("a_en1", 1, "2024-06-01 09:00", [S_FILLER, S_FILLER, S_KIM_EN]),
    ("a_de1", 1, "2024-06-02 10:00", [S_KIM_DE, S_OUTLET_DE]),
    ("a_ko1", 1, "2024-06-02 11:00", [S_KIM_KO]),
    ("a_ko2", 1, "2024-06-03 10:00", [S_FILLER, S_KIM2_KO]),
    ("a_ru1", 1, "2024-06-03 08:00", [S_PESKOV_RU]),
    ("a_en2", 1, "2024-06-01 09:00", [S_KIRBY_V1, S_G7]),
    ("a_en2", 2, "2024-06-03 12:00", [S_KIRBY_V2, S_G7, S_FILLER, S_PESKOV_EN, EVIL]),
    ("a_old", 1, "2024-03-01 09:00", [S_SHIN]),
    ("a_evil", 1, "2024-06-02 14:00", [S_G7]),
    ("a_evil", 2, "2024-06-03 09:30", [S_G7, EVIL]),
    ("a_evil", 3, "2024-06-03 16:00", [S_G7]),
]

# article_id, from_version, to_version, detected_at, added, removed
DIFFS = [
    ("a_en2", 1, 2, "2024-06-03 12:00", [S_KIRBY_V2, S_FILLER, S_PESKOV_EN, EVIL], [S_KIRBY_V1]),
    ("a_evil", 1, 2, "2024-06-03 09:30", [EVIL], []),
    ("a_evil", 2, 3, "2024-06-03 16:00", [], [EVIL]),
]

# statement_id, first_seen_at, speaker, stance, text, lang, answers_statement_id
STATEMENTS = [
    ("st_kim", "2024-06-01 09:00", "Kim Yo Jong", "deny", S_KIM_EN, "en", "st_shin"),
    ("st_kim2", "2024-06-03 10:00", "Kim Yo Jong", "deny", S_KIM2_KO, "ko", None),
    ("st_peskov", "2024-06-03 08:00", "Dmitry Peskov", "deny", S_PESKOV_RU, "ru", "st_kirby"),
    ("st_kirby", "2024-06-01 09:00", "John Kirby", "assert", S_KIRBY_V1, "en", None),
    ("st_g7", "2024-06-01 09:00", "G7 foreign ministers", "condemn", S_G7, "en", None),
    ("st_evil", "2024-06-03 09:30", HOSTILE_SPEAKER, "demand", EVIL, "en", None),
    ("st_outlet", "2024-06-02 10:00", None, "assert", S_OUTLET_DE, "de", None),
    ("st_shin", "2024-03-01 09:00", "Shin Won-sik", "assert", S_SHIN, "en", None),
]

# statement_id, article_id, version, sentence_index, sentence, seen_at, lang
SIGHTINGS = [
    ("st_kim", "a_en1", 1, 2, S_KIM_EN, "2024-06-01 09:00", "en"),
    ("st_kim", "a_de1", 1, 0, S_KIM_DE, "2024-06-02 10:00", "de"),
    ("st_kim", "a_ko1", 1, 0, S_KIM_KO, "2024-06-02 11:00", "ko"),
    ("st_kim2", "a_ko2", 1, 1, S_KIM2_KO, "2024-06-03 10:00", "ko"),
    ("st_peskov", "a_ru1", 1, 0, S_PESKOV_RU, "2024-06-03 08:00", "ru"),
    ("st_peskov", "a_en2", 2, 3, S_PESKOV_EN, "2024-06-03 12:00", "en"),
    ("st_kirby", "a_en2", 1, 0, S_KIRBY_V1, "2024-06-01 09:00", "en"),
    ("st_kirby", "a_en2", 2, 0, S_KIRBY_V2, "2024-06-03 12:00", "en"),
    ("st_g7", "a_en2", 1, 1, S_G7, "2024-06-01 09:00", "en"),
    ("st_g7", "a_en2", 2, 1, S_G7, "2024-06-03 12:00", "en"),
    ("st_g7", "a_evil", 1, 0, S_G7, "2024-06-02 14:00", "en"),
    ("st_g7", "a_evil", 2, 0, S_G7, "2024-06-03 09:30", "en"),
    ("st_g7", "a_evil", 3, 0, S_G7, "2024-06-03 16:00", "en"),
    ("st_evil", "a_evil", 2, 1, EVIL, "2024-06-03 09:30", "en"),
    ("st_evil", "a_en2", 2, 4, EVIL, "2024-06-03 12:00", "en"),
    ("st_outlet", "a_de1", 1, 1, S_OUTLET_DE, "2024-06-02 10:00", "de"),
    ("st_shin", "a_old", 1, 0, S_SHIN, "2024-03-01 09:00", "en"),
]

# statement_id, fact_index, weapon, quantity, unit, direction, period
FACTS = [
    ("st_shin", 0, "artillery shells", 6700.0, "containers", "kp->ru", "since September"),
    ("st_outlet", 0, "artillery shells", 10000.0, "containers", "kp->ru", None),
    ("st_kirby", 0, "military equipment", 1000.0, "containers", "kp->ru", None),
    ("st_kirby", 1, "fighter aircraft", None, None, "ru->kp", None),
    ("st_g7", 0, "arms", None, None, "kp->ru", None),
]


def build_warehouse(path: Path) -> Path:
    """A migrated warehouse at `path` holding the small data set above."""
    wh = Warehouse(str(path))
    wh.migrate()
    speakers = {s[0]: s[2] for s in STATEMENTS}
    stances = {s[0]: s[3] for s in STATEMENTS}
    latest = {a: max(v[1] for v in VERSIONS if v[0] == a) for a, *_ in ARTICLES}
    with wh.transaction() as con:
        for article_id, url, source, title, published, lang, first_seen in ARTICLES:
            last = max(ts(v[2]) for v in VERSIONS if v[0] == article_id)
            con.execute(
                "INSERT INTO articles (article_id, canonical_url, source, title, published_at,"
                " lang, first_seen_at, last_seen_at, status, current_version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'ok', ?)",
                [article_id, url, source, title, ts(published), lang, ts(first_seen), last,
                 latest[article_id]],
            )
        for article_id, version, fetched, sentences in VERSIONS:
            text = " ".join(sentences)
            con.execute(
                "INSERT INTO article_versions (article_id, version, fetched_at, content_hash,"
                " text, method) VALUES (?, ?, ?, md5(?), ?, 'trafilatura')",
                [article_id, version, ts(fetched), text, text],
            )
        for article_id, before, after, detected, added, removed in DIFFS:
            unified = "\n".join([f"--- v{before}", f"+++ v{after}", *(f"-{s}" for s in removed),
                                 *(f"+{s}" for s in added)])
            con.execute(
                "INSERT INTO article_diffs (article_id, from_version, to_version, detected_at,"
                " added_sentences, removed_sentences, unified_diff) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [article_id, before, after, ts(detected), added, removed, unified],
            )
        for statement_id, first_seen, speaker, stance, text, lang, answers in STATEMENTS:
            con.execute(
                "INSERT INTO statements (statement_id, first_seen_at, speaker, stance, text, lang,"
                " score, profile, signature, answers_statement_id)"
                " VALUES (?, ?, ?, ?, ?, ?, 0.9, 'nk_russia', md5(?), ?)",
                [statement_id, ts(first_seen), speaker, stance, text, lang, text, answers],
            )
        for statement_id, article_id, version, index, sentence, seen, lang in SIGHTINGS:
            con.execute(
                "INSERT INTO statement_sightings (statement_id, article_id, version,"
                " sentence_index, sentence, seen_at, speaker, stance, score, lang)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0.9, ?)",
                [statement_id, article_id, version, index, sentence, ts(seen),
                 speakers[statement_id], stances[statement_id], lang],
            )
        con.executemany("INSERT INTO statement_facts (statement_id, fact_index, weapon, quantity,"
                        " unit, direction, period) VALUES (?, ?, ?, ?, ?, ?, ?)", FACTS)
        # Rows written by hand, not by the write path: derive their columns.
        store.refresh_derived(con)
    return path


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("queries") / "w.duckdb")


@pytest.fixture
def con(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with Warehouse(str(warehouse)).connect(read_only=True) as connection:
        yield connection


# ---------------------------------------------------------------------------
# Running a query as `armswatch sql --file F --param name=value` will: each
# --param becomes `SET VARIABLE name = ?` bound to its text, then the file
# runs. The DuckDB CLI path sets typed literals in SQL and reads the file.
# ---------------------------------------------------------------------------

VARIABLE = re.compile(r"getvariable\('([a-z_]+)'\)")
DOLLAR_PARAM = re.compile(r"\$([a-z_]+)\b")

# One value for each parameter a bundled query takes: as --param text, and as
# the typed literal a DuckDB CLI user would write.
PARAM_TEXT = {
    "since": "2024-05-01 00:00:00+00", "until": "2024-06-30 00:00:00+00", "day": "2024-06-03",
    "days": "30", "top": "5", "speaker": "kim", "weapon": "shell", "min_languages": "2",
}
PARAM_LITERAL = {
    "since": "TIMESTAMPTZ '2024-05-01 00:00:00+00'",
    "until": "TIMESTAMPTZ '2024-06-30 00:00:00+00'",
    "day": "DATE '2024-06-03'", "days": "30", "top": "5", "speaker": "'kim'",
    "weapon": "'shell'", "min_languages": "2",
}


def variables(name: str) -> list[str]:
    return sorted(set(VARIABLE.findall(queries.load(name))))


def rows(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def run_with_params(
    con: duckdb.DuckDBPyConnection, name: str, **params: str
) -> list[dict[str, Any]]:
    """What the CLI's --param does: SET VARIABLE name = ? for each, then the file."""
    # A cursor has its own variables, as each `armswatch sql` run has its own
    # connection: nothing set for one query is seen by the next.
    cursor = con.cursor()
    for key, value in params.items():
        cursor.execute(f"SET VARIABLE {key} = ?", [value])
    return rows(cursor.execute(queries.load(name)))


def run_as_cli(path: Path, name: str, literals: dict[str, str]) -> list[dict[str, Any]]:
    """What a DuckDB CLI session does: SET VARIABLE statements, then `.read` the file."""
    script = "".join(f"SET VARIABLE {k} = {v};\n" for k, v in literals.items())
    with duckdb.connect(str(path), read_only=True) as cli:
        return rows(cli.execute(script + queries.load(name)))


ANALYST_QUERIES = ["new_statements_since", "denials", "speaker_timeline",
                   "edited_after_publication", "restatements_across_languages",
                   "estimates_over_time"]
DIGEST_QUERIES = ["digest_statements_per_day", "digest_top_speakers", "digest_most_restated",
                  "digest_most_edited", "digest_new_statements"]
VARIABLE_QUERIES = ANALYST_QUERIES + DIGEST_QUERIES


def test_the_queries_are_bundled():
    assert set(VARIABLE_QUERIES) <= set(queries.names())


@pytest.mark.parametrize("name", VARIABLE_QUERIES)
def test_header_says_what_it_answers_and_how_to_set_each_parameter(name):
    sql = queries.load(name)
    header = "\n".join(line for line in sql.splitlines() if line.startswith("--"))
    assert sql.startswith(f"-- {name}: "), "the first line names the query and what it answers"
    assert "$" not in re.sub(r"--.*", "", sql), "no $name parameters: the DuckDB CLI lacks them"
    for variable in variables(name):
        assert re.search(rf"^--\s+{variable}\s+[A-Z]+\s", header, re.M), f"{variable} undocumented"
    assert "SET VARIABLE" in header
    assert f"armswatch sql --file warehouse/queries/{name}.sql" in header


@pytest.mark.parametrize("name", VARIABLE_QUERIES)
def test_runs_with_defaults_with_params_and_from_the_cli(name, warehouse, con):
    names = variables(name)
    assert set(names) <= set(PARAM_TEXT), "give the new parameter a test value"
    defaults = rows(con.execute(queries.load(name)))
    bound = run_with_params(con, name, **{n: PARAM_TEXT[n] for n in names})
    from_cli = run_as_cli(warehouse, name, {n: PARAM_LITERAL[n] for n in names})
    assert bound == from_cli
    assert isinstance(defaults, list)


@pytest.mark.parametrize("name", sorted(set(queries.names()) - set(VARIABLE_QUERIES)))
def test_older_queries_run_with_bound_parameters(name, con):
    # The run_* queries predate variables and take $since/$until: they run
    # bound from Python only, not from the DuckDB CLI.
    params = dict.fromkeys(DOLLAR_PARAM.findall(queries.load(name)))
    bounds = {"since": ts("2024-06-03 00:00"), "until": ts("2024-06-03 23:59")}
    assert set(params) <= set(bounds)
    found = rows(con.execute(queries.load(name), {k: bounds[k] for k in params}))
    assert isinstance(found, list)


# ---------------------------------------------------------------------------
# Each analyst question, answered from the data set above.
# ---------------------------------------------------------------------------


def test_new_statements_since(con):
    found = run_with_params(con, "new_statements_since", since="2024-06-02 00:00:00+00",
                            until="2024-06-04 00:00:00+00")
    assert [r["statement_id"] for r in found] == ["st_outlet", "st_peskov", "st_evil", "st_kim2"]
    peskov = found[1]
    assert peskov["url"] == "https://vostok-vestnik.example/politika/peskov-kndr"
    assert peskov["articles"] == 2 and peskov["lang"] == "ru"
    assert found[0]["speaker"] is None  # the outlet's own voice

    first_day = run_with_params(con, "new_statements_since", since="2024-06-02 00:00:00+00",
                                until="2024-06-03 00:00:00+00")
    assert [r["statement_id"] for r in first_day] == ["st_outlet"]


def test_new_statements_since_defaults_to_the_last_week(con):
    # The data set is from 2024; nothing in it is a week old.
    assert run_with_params(con, "new_statements_since") == []


def test_denials_and_who_made_them(con):
    found = run_with_params(con, "denials")
    assert [(r["speaker"], r["denials_by_speaker"], r["statement_id"]) for r in found] == [
        ("Kim Yo Jong", 2, "st_kim"),
        ("Kim Yo Jong", 2, "st_kim2"),
        ("Dmitry Peskov", 1, "st_peskov"),
    ]
    kim = found[0]
    assert kim["articles"] == 3 and kim["languages"] == ["de", "en", "ko"]
    assert kim["denies_speaker"] == "Shin Won-sik" and kim["denies_text"] == S_SHIN
    assert found[2]["denies_statement_id"] == "st_kirby"
    assert found[2]["languages"] == ["en", "ru"]

    assert [r["statement_id"] for r in run_with_params(con, "denials", speaker="PESKOV")] == [
        "st_peskov"
    ]
    since = run_with_params(con, "denials", since="2024-06-02 00:00:00+00")
    assert [(r["speaker"], r["statement_id"]) for r in since] == [
        ("Dmitry Peskov", "st_peskov"), ("Kim Yo Jong", "st_kim2"),
    ]


def test_speaker_timeline(con):
    found = run_with_params(con, "speaker_timeline", speaker="kim yo")
    assert [(r["url"].split("/")[2], r["lang"], r["statement_id"], r["first_sighting"])
            for r in found] == [
        ("hanbando-ilbo.example", "ko", "st_kim", False),
        ("pacific-ledger.example", "en", "st_kim", True),
        ("berliner-rundschau.example", "de", "st_kim", False),
        ("hanbando-ilbo.example", "ko", "st_kim2", True),
    ]
    assert [r["reported_at"] for r in found] == sorted(r["reported_at"] for r in found)
    assert found[0]["sentence"] == S_KIM_KO

    # An article sighted in two versions is one step of the timeline.
    kirby = run_with_params(con, "speaker_timeline", speaker="KIRBY")
    assert [(r["sentence"], r["first_sighting"]) for r in kirby] == [(S_KIRBY_V1, True)]

    later = run_with_params(con, "speaker_timeline", speaker="kim yo",
                            since="2024-05-18 00:00:00+00")
    assert [r["lang"] for r in later] == ["de", "ko"]


def test_statements_whose_article_was_edited_after_publication(con):
    found = run_with_params(con, "edited_after_publication")
    assert [(r["url"].split("/")[2], r["to_version"], r["effect"], r["statement_id"])
            for r in found] == [
        ("evil.example", 2, "added", "st_evil"),
        ("evil.example", 2, "unchanged", "st_g7"),
        ("northern-dispatch.example", 2, "reworded", "st_kirby"),
        ("northern-dispatch.example", 2, "added", "st_evil"),
        ("northern-dispatch.example", 2, "added", "st_peskov"),
        ("northern-dispatch.example", 2, "unchanged", "st_g7"),
        ("evil.example", 3, "removed", "st_evil"),
        ("evil.example", 3, "unchanged", "st_g7"),
    ]
    reworded = found[2]
    assert reworded["sentence_before"] == S_KIRBY_V1 and reworded["sentence_after"] == S_KIRBY_V2
    assert reworded["published_at"] == ts("2024-05-31 20:04")
    assert reworded["hours_after_publication"] == 64
    assert found[6]["sentence_after"] is None

    later = run_with_params(con, "edited_after_publication", since="2024-06-03 12:00:00+00")
    assert {r["to_version"] for r in later} == {3}


def test_restatements_across_languages(con):
    found = run_with_params(con, "restatements_across_languages")
    assert [(r["statement_id"], r["languages"], r["lang"], r["articles_in_lang"])
            for r in found] == [
        ("st_kim", 3, "en", 1), ("st_kim", 3, "de", 1), ("st_kim", 3, "ko", 1),
        ("st_peskov", 2, "ru", 1), ("st_peskov", 2, "en", 1),
    ]
    assert found[1]["sentence"] == S_KIM_DE and found[4]["sentence"] == S_PESKOV_EN
    # Restated in one language only, however often: not a restatement across languages.
    assert not {"st_g7", "st_evil"} & {r["statement_id"] for r in found}

    three = run_with_params(con, "restatements_across_languages", min_languages="3")
    assert {r["statement_id"] for r in three} == {"st_kim"}
    recent = run_with_params(con, "restatements_across_languages",
                             since="2024-06-03 00:00:00+00")
    assert [r["lang"] for r in recent] == ["ru", "en"]


def test_estimates_over_time(con):
    found = run_with_params(con, "estimates_over_time")
    assert [(r["weapon"], r["quantity"], r["previous_quantity"], r["change"], r["statement_id"])
            for r in found] == [
        ("artillery shells", 6700.0, None, None, "st_shin"),
        ("artillery shells", 10000.0, 6700.0, 3300.0, "st_outlet"),
        ("military equipment", 1000.0, None, None, "st_kirby"),
    ]
    assert found[0]["reported_at"] == ts("2024-02-27 02:20")  # when the article came out
    shells = run_with_params(con, "estimates_over_time", weapon="SHELL",
                             since="2024-03-01 00:00:00+00")
    # The estimate it replaced still shows, though it came before `since`.
    assert [(r["quantity"], r["previous_quantity"]) for r in shells] == [(10000.0, 6700.0)]


# ---------------------------------------------------------------------------
# The digest's own queries.
# ---------------------------------------------------------------------------


def digest_rows(con, name: str, **params: str) -> list[dict[str, Any]]:
    return run_with_params(con, name, day="2024-06-03", **params)


def test_digest_statements_per_day(con):
    found = digest_rows(con, "digest_statements_per_day")
    assert [(str(r["day"]), r["stance"], r["statements"]) for r in found] == [
        ("2024-06-01", "assert", 1), ("2024-06-01", "condemn", 1), ("2024-06-01", "deny", 1),
        ("2024-06-02", "assert", 1),
        ("2024-06-03", "demand", 1), ("2024-06-03", "deny", 2),
    ]
    # March is outside a 30-day window, inside a 100-day one.
    assert sum(r["statements"] for r in digest_rows(con, "digest_statements_per_day",
                                                     days="100")) == 8


def test_digest_top_speakers(con):
    found = digest_rows(con, "digest_top_speakers")
    assert [(r["speaker"], r["statements"], r["articles"]) for r in found] == [
        ("Kim Yo Jong", 2, 4),
        ("Dmitry Peskov", 1, 2),
        ("G7 foreign ministers", 1, 2),
        (HOSTILE_SPEAKER, 1, 2),
        ("John Kirby", 1, 1),
    ]
    assert len(digest_rows(con, "digest_top_speakers", top="2")) == 2


def test_digest_most_restated(con):
    found = digest_rows(con, "digest_most_restated")
    assert [(r["statement_id"], r["articles"], r["sightings"]) for r in found] == [
        ("st_kim", 3, 3), ("st_g7", 2, 5), ("st_peskov", 2, 2), ("st_evil", 2, 2),
        ("st_kirby", 1, 2), ("st_outlet", 1, 1), ("st_kim2", 1, 1),
    ]
    assert found[0]["languages"] == ["de", "en", "ko"]


def test_digest_most_edited(con):
    found = digest_rows(con, "digest_most_edited")
    assert [(r["url"], r["edits"], r["sentences_added"], r["sentences_removed"])
            for r in found] == [
        (HOSTILE_URL, 2, 1, 1),
        ("https://northern-dispatch.example/world/containers", 1, 4, 1),
    ]
    assert digest_rows(con, "digest_most_edited", days="1", top="1")[0]["edits"] == 2


def test_digest_new_statements(con):
    found = digest_rows(con, "digest_new_statements")
    assert [r["statement_id"] for r in found] == ["st_peskov", "st_evil", "st_kim2"]
    assert [r["statement_id"] for r in digest_rows(con, "digest_new_statements", top="1")] == [
        "st_peskov"
    ]


def test_variables_do_not_leak_between_connections(warehouse):
    wh = Warehouse(str(warehouse))
    with wh.connect(read_only=True) as first:
        run_with_params(first, "denials", speaker="peskov")
    with wh.connect(read_only=True) as second:
        assert len(rows(second.execute(queries.load("denials")))) == 3


# ---------------------------------------------------------------------------
# The queries read columns the write path derives (migration 0003): they must
# answer the same whether the data set was written by hand and then derived
# in one go, or batch by batch in any order, or rewritten by a reprocess.
# ---------------------------------------------------------------------------


def _detections() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    speakers = {s[0]: s[2] for s in STATEMENTS}
    stances = {s[0]: s[3] for s in STATEMENTS}
    statements = [
        {"statement_id": sid, "first_seen_at": ts(first), "speaker": speaker, "stance": stance,
         "text": text, "lang": lang, "score": 0.9, "profile": "nk_russia",
         "signature": f"sig {sid}", "answers_statement_id": answers}
        for sid, first, speaker, stance, text, lang, answers in STATEMENTS
    ]
    sightings = [
        {"statement_id": sid, "article_id": aid, "version": version, "sentence_index": index,
         "sentence": sentence, "seen_at": ts(seen), "speaker": speakers[sid],
         "stance": stances[sid], "score": 0.9, "lang": lang, "evidence": None}
        for sid, aid, version, index, sentence, seen, lang in SIGHTINGS
    ]
    facts = [dict(zip(("statement_id", "fact_index", "weapon", "quantity", "unit", "direction",
                       "period"), f, strict=True)) for f in FACTS]
    return statements, sightings, facts


@pytest.fixture(scope="module")
def written_backwards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same data set, its detections written through store.record_batch one fetch time
    at a time, newest first: every statement arrives with its latest sighting."""
    path = build_warehouse(tmp_path_factory.mktemp("backwards") / "w.duckdb")
    wh = Warehouse(str(path))
    with wh.transaction() as con:
        for table in ("statement_facts", "statement_sightings", "statements"):
            con.execute(f"DELETE FROM {table}")
    statements, sightings, facts = _detections()
    pending = {s["statement_id"]: s for s in statements}
    for seen in sorted({g["seen_at"] for g in sightings}, reverse=True):
        batch = [g for g in sightings if g["seen_at"] == seen]
        new = [pending.pop(g["statement_id"]) for g in batch if g["statement_id"] in pending]
        ids = {s["statement_id"] for s in new}
        with wh.transaction() as con:
            store.record_batch(con, [], [], [], new, batch,
                               [f for f in facts if f["statement_id"] in ids])
    return path


def _every_query(path: Path) -> dict[str, list]:
    found = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for name in queries.names():
            sql = queries.load(name)
            for case in ("defaults", "set"):
                if "$" in re.sub(r"--.*", "", sql):
                    bounds = {"since": ts("2024-06-02 00:00"), "until": ts("2024-06-03 23:59")}
                    found[f"{name} {case}"] = rows(con.execute(sql, bounds))
                    continue
                cursor = con.cursor()
                for key in VARIABLE.findall(sql):
                    if case == "set" or key == "day":
                        cursor.execute(f"SET VARIABLE {key} = ?", [PARAM_TEXT[key]])
                found[f"{name} {case}"] = rows(cursor.execute(sql))
        found["new_statements"] = rows(con.execute("SELECT * FROM new_statements ORDER BY ALL"))
    return found


def test_queries_answer_the_same_whatever_the_order_of_writes(warehouse, written_backwards):
    by_hand, backwards = _every_query(warehouse), _every_query(written_backwards)
    assert by_hand.keys() == backwards.keys()
    for name in by_hand:
        assert backwards[name] == by_hand[name], name
    assert any(by_hand.values())


def test_queries_answer_the_same_after_a_reprocess(warehouse, tmp_path):
    copy = tmp_path / "w.duckdb"
    copy.write_bytes(warehouse.read_bytes())
    before = _every_query(copy)
    statements, sightings, facts = _detections()
    with Warehouse(str(copy)).transaction() as con:
        store.replace_detections(con, "nk_russia", statements[::-1], sightings[::-1], facts)
    assert _every_query(copy) == before
