"""Topic profiles: bundled and user profiles, their checks, compiled lexicons and pickling."""

from __future__ import annotations

import pickle

import pytest

from armswatch.tasks.detect import Detector
from armswatch.tasks.profile import Profile, ProfileError


def _one(detector: Detector, text: str, lang: str):
    found = detector.detect("doc", text, lang)
    assert found, f"no statement found in {text!r}"
    return found[0]


@pytest.mark.parametrize("name", ["nk_russia", "iran_russia"])
def test_bundled_profiles_compile_in_every_language(name):
    profile = Profile.load(name)
    for lang in profile.languages:
        lexicon = profile.lexicon(lang)
        assert lexicon.lang == lang and lexicon.kinds


def test_identity_settings_are_read_with_defaults(tmp_path):
    nk = Profile.load("nk_russia")
    assert nk.same_denial == 0.5 and "topic" in nk.distinct_kinds
    minimal = tmp_path / "minimal.toml"
    minimal.write_text(
        '[profile]\nname = "m"\n[[rule]]\nid = "r"\nscore = 0.9\nall = [["source"]]\n',
        encoding="utf-8",
    )
    profile = Profile.load(minimal)
    assert (profile.same_denial, profile.distinct_kinds) == (0.0, ("materiel", "topic"))


def test_a_pickled_profile_leaves_its_compiled_lexicons_behind():
    profile = Profile.load("nk_russia")
    profile.lexicon("en")
    copy = pickle.loads(pickle.dumps(profile))
    assert copy._lexicons == {} and copy.name == profile.name
    assert len(pickle.dumps(profile)) == len(pickle.dumps(copy))
    found = _one(Detector(copy), "North Korea has shipped artillery shells to Russia.", "en")
    assert found.stance == "assert"


def test_bundled_iran_profile():
    detector = Detector.from_profile("iran_russia")
    assert detector.profile_name == "iran_russia"
    found = _one(
        detector, "Iran has supplied Russia with hundreds of Shahed drones, John Kirby said.", "en"
    )
    assert (found.speaker, found.facts[0].weapon, found.facts[0].direction) == (
        "John Kirby",
        "Shahed drones",
        "ir->ru",
    )
    assert (
        detector.detect("doc", "North Korea has shipped millions of shells to Russia.", "en") == []
    )


USER_PROFILE = """
[profile]
name = "belarus_russia"
languages = ["en"]
forward = "by->ru"
backward = "ru->by"

[[concept]]
id = "by"
kind = "source"
en = ["Belarus*", "Minsk"]

[[concept]]
id = "ru"
kind = "partner"
en = ["Russia*", "Moscow"]

[[concept]]
id = "transfer"
kind = "transfer"
en = ["suppl*", "sent", "deliver*"]

[[concept]]
id = "tanks"
kind = "materiel"
name = "tanks"
unit = "tanks"
en = ["tank*", "T-72*"]

[[speaker]]
name = "Lukashenko"
en = ["Alexander Lukashenko", "Lukashenko"]

[stance.deny.verbs]
en = ["denied"]

[stance.assert.weak]
en = ["said"]

[[rule]]
id = "supply"
score = 0.9
all = [["source"], ["partner"], ["transfer"], ["materiel"]]
"""


def test_user_profile_from_a_path(tmp_path):
    path = tmp_path / "belarus_russia.toml"
    path.write_text(USER_PROFILE, encoding="utf-8")
    detector = Detector.from_profile(path)
    found = _one(detector, "Lukashenko said Belarus had sent 40 T-72 tanks to Russia.", "en")
    assert (detector.profile_name, found.speaker, found.stance) == (
        "belarus_russia",
        "Lukashenko",
        "assert",
    )
    assert (found.facts[0].weapon, found.facts[0].quantity, found.facts[0].direction) == (
        "tanks",
        40.0,
        "by->ru",
    )
    assert detector.detect("doc", "North Korea sent shells to Russia.", "en") == []


def test_bad_profiles_say_what_is_wrong(tmp_path):
    with pytest.raises(ProfileError, match="no bundled profile"):
        Profile.load("no_such_profile")
    broken = tmp_path / "broken.toml"
    broken.write_text("[profile]\nname = 'x'\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="rule"):
        Profile.load(broken)


def test_not_stance_terms_win_over_the_stance_inside_them(tmp_path):
    profile = Profile.load("nk_russia")
    kirby = "MR. KIRBY: North Korea supplies Russia's illegal war with shells and missiles."
    assert _one(Detector(profile), kirby, "en").stance == "assert"
    text = "Russia vetoed a statement, осуждающее"  # the participle is no verb
    lex = profile.lexicon("ru")
    assert all(h.label is None for h in lex.verbs.find(text) if "осужд" in text[h.start : h.end])


def test_german_names_match_in_the_genitive():
    profile = Profile.load("nk_russia")
    hits = profile.lexicon("de").speakers.find("nach Angaben Budanows")
    assert [(h.label[0], h.label[3]) for h in hits] == [("Kyrylo Budanov", True)]
    assert profile.lexicon("en").speakers.find("Budanovs") == []


def test_a_matcher_finds_each_kind_of_term_where_a_full_scan_would():
    from armswatch.tasks.profile import Matcher, Scanner

    terms = [
        ("transfer*", "transfer"),  # its first letters start every match
        ("*lieferung*", "delivery"),  # a word holding its letters
        ("North Korean-made", "made"),  # words apart
        ("re:(?:^|; )Russia buys", "buys"),  # found around its factor: no fixed start
        ("re:(?:shells|missiles) (?:\\w+ )?from (?:North Korea|Pyongyang)", "from"),
        ("re:\\bhand\\w*\\s+(?:Russia|Moscow)\\b", "hand"),
        ("re:(?<!в )Украине\\s+(?:оружи|снаряд)", "ua"),  # a lookbehind before its start
        ("re:[0-9]+ containers", "containers"),  # a factor after the start
        ("DPRK", "dprk"),  # an acronym keeps its case
    ]
    matcher = Matcher(terms, boundaries=True)
    text = (
        "Transfers of shells directly from Pyongyang; Russia buys Waffenlieferungen and North "
        "Korean made "
        "rockets; they handed Moscow 1000 containers. Передали Украине оружие, но не в Украине "
        "снаряды. The dprk and the DPRK."
    )
    hits = [(h.label, text[h.start : h.end]) for h in matcher.find(text)]
    assert hits == [
        ("transfer", "Transfers"),
        ("from", "shells directly from Pyongyang"),
        ("buys", "; Russia buys"),
        ("delivery", "Waffenlieferungen"),
        ("made", "North Korean made"),
        ("hand", "handed Moscow"),
        ("containers", "1000 containers"),
        ("ua", "Украине оружи"),
        ("dprk", "DPRK"),
    ]
    # One scanner's pass over several matchers gives each the hits its own pass gives.
    other = Matcher([("Pyongyang", "pyongyang"), ("re:hand(?:ed)?", "hand")], boundaries=True)
    scanner = Scanner([matcher, other])
    scan = scanner.scan(text)
    assert scan.find(matcher) == matcher.find(text) and scan.find(other) == other.find(text)
    assert [h.label for h in scan.find(other)] == ["pyongyang", "hand"]
    assert scan.may_find(matcher) and not scanner.scan("nothing here").may_find(matcher)
    # The automaton is rebuilt where the matcher is unpickled, as in a page worker.
    again = pickle.loads(pickle.dumps(matcher))
    assert [(h.label, h.start, h.end) for h in again.find(text)] == [
        (h.label, h.start, h.end) for h in matcher.find(text)
    ]
