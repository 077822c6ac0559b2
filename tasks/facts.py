"""What a statement claims in numbers: weapons, quantities, units, direction and period."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from armswatch.tasks.models import Fact
from armswatch.tasks.profile import Concept, Profile
from armswatch.tasks.sentence import Sentence

MULTIPLIERS = {
    "thousand": 1e3, "million": 1e6, "millions": 1e6, "billion": 1e9, "k": 1e3,
    "tausend": 1e3, "million.": 1e6, "millionen": 1e6, "mio": 1e6, "mio.": 1e6,
    "milliarde": 1e9, "milliarden": 1e9, "mrd": 1e9, "mrd.": 1e9,
    "тыс": 1e3, "тыс.": 1e3, "тысяча": 1e3, "тысячи": 1e3, "тысяч": 1e3, "тысячу": 1e3,
    "млн": 1e6, "млн.": 1e6, "миллион": 1e6, "миллиона": 1e6, "миллионов": 1e6,
    "млрд": 1e9, "млрд.": 1e9, "миллиард": 1e9, "миллиарда": 1e9, "миллиардов": 1e9,
}  # fmt: skip
NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20,
    "ein": 1, "eine": 1, "einer": 1, "einem": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5,
    "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "zwölf": 12, "zwanzig": 20,
    "один": 1, "одна": 1, "одну": 1, "одного": 1, "два": 2, "две": 2, "двух": 2, "три": 3,
    "трех": 3, "трёх": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7, "восемь": 8,
    "девять": 9, "десять": 10,
    # tens, and one and a half ("полтора миллиона", "eineinhalb Millionen", "сорок процентов")
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "dreißig": 30, "vierzig": 40, "fünfzig": 50, "sechzig": 60, "siebzig": 70,
    "achtzig": 80, "neunzig": 90, "anderthalb": 1.5, "eineinhalb": 1.5,
    "двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50, "шестьдесят": 60,
    "семьдесят": 70, "восемьдесят": 80, "девяносто": 90, "полтора": 1.5, "полутора": 1.5,
    # the genitive after "около", "более" ("около двадцати восьми тысяч")
    "четырех": 4, "четырёх": 4, "пяти": 5, "шести": 6, "семи": 7, "восьми": 8, "девяти": 9,
    "десяти": 10, "двадцати": 20, "тридцати": 30, "сорока": 40, "пятидесяти": 50,
    "шестидесяти": 60, "семидесяти": 70, "восьмидесяти": 80, "девяноста": 90,
}  # fmt: skip
_DIGITS = r"\d{1,3}(?:(?:,|\.|\u00a0|\u202f| )\d{3})+(?![\d])|\d+"
_MULT_WORDS = "|".join(sorted((re.escape(k) for k in MULTIPLIERS), key=len, reverse=True))
_NUMERIC = re.compile(
    rf"(?<![\w.,\-‐])({_DIGITS})(?:([.,])(\d+))?(?:\s?({_MULT_WORDS})(?!\w))?", re.IGNORECASE
)
_TEN_WORDS = {k: v for k, v in NUMBER_WORDS.items() if v in (20, 30, 40, 50, 60, 70, 80, 90)}
_UNIT_WORDS = {k: v for k, v in NUMBER_WORDS.items() if v in range(1, 10) and k not in ("a", "an")}
# "twenty-eight thousand", "двадцать восемь тысяч": a ten and a unit before the multiplier.
_WORDED = re.compile(
    rf"(?<!\w)(?:(?:({'|'.join(_TEN_WORDS)})[\s\-‐]+({'|'.join(_UNIT_WORDS)})|"
    rf"({'|'.join(NUMBER_WORDS)}))\s+)?"
    rf"({_MULT_WORDS})(?!\w)",
    re.IGNORECASE,
)
_CJK_NUMBER = re.compile(r"(?<![\w\-‐])(?:(?:(\d[\d,.]*)?\s?([억만천億万千]))+\s?\d*|\d[\d,]*)")
_CJK_UNITS = {"억": 1e8, "億": 1e8, "만": 1e4, "万": 1e4, "천": 1e3, "千": 1e3}
_NOT_A_COUNT = re.compile(
    r"\s?-?\s?(?:mm\b|мм|㎜|밀리|ミリ|millimet|Millimeter|km\b|kilomet|Kilometer|км|킬로|"
    r"%|percent|per cent|Prozent|процент|퍼센트|년|年|월|月|일\b|日|"
    # Korean counters of occasions, rounds, countries, ships, hours: "10여 차례에
    # 걸쳐", "1·2차 발사" (but "차량", vehicles, is counted)
    r"(?:·\d+)*여?\s?(?:차례|차(?!량)|번|회|개국|척|시간|개월|주\b|곳))",
    re.IGNORECASE,
)
_UNIT_STOP = re.compile(
    r"(?<!\w)(?:of|with|filled|carrying|for|mit|von|für|с|со|для|из)(?!\w)", re.IGNORECASE
)
_DATE_WORD = re.compile(
    r"^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|januar|februar|märz|mai|juni|juli|"
    r"oktober|dezember|январ|феврал|март|апрел|ма[йяе]|июн|июл|август|сентябр|октябр|ноябр|декабр)",
    re.IGNORECASE,
)
# A day after its month is a date, not a count ("on January 2", "Jan. 30").
_MONTH_BEFORE = re.compile(
    r"(?<!\w)(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s$",
    re.IGNORECASE,
)
_VAGUE_BEFORE = re.compile(r"(?:^|\s)(?:более|свыше|около|почти|порядка|примерно|до)\s$")


def _parse_digits(digits: str, sep: str | None, decimals: str | None) -> float:
    value = float(re.sub(r"[^\d]", "", digits))
    if sep and decimals:
        value += float("0." + decimals)
    return value


def quantities_in(view: str, lang: str) -> list[tuple[float, int, int]]:
    """Numbers in a sentence that could count things: (value, start, end)."""
    found: list[tuple[float, int, int]] = []
    if lang in ("ko", "ja", "zh"):
        for m in _CJK_NUMBER.finditer(view):
            text = m.group(0).strip()
            if not text or _NOT_A_COUNT.match(view, m.end()):
                continue
            if text in _CJK_UNITS and not (m.start() == 0 or not view[m.start() - 1].isalnum()):
                continue
            value = _cjk_value(text)
            if value:
                found.append((value, m.start(), m.end()))
        return found
    for m in _NUMERIC.finditer(view):
        digits, sep, decimals, mult = m.groups()
        if not mult and _NOT_A_COUNT.match(view, m.end()):
            continue
        if not mult and len(digits) <= 2 and _MONTH_BEFORE.search(view, 0, m.start()):
            continue
        value = _parse_digits(digits, sep, decimals)
        if mult:
            value *= MULTIPLIERS[mult.lower()]
        found.append((value, m.start(), m.end()))
    taken = [(s, e) for _, s, e in found]
    for m in _WORDED.finditer(view):
        if any(s <= m.start() < e for s, e in taken):
            continue
        tens, unit, word, mult = m.group(1), m.group(2), m.group(3), m.group(4).lower()
        if tens:
            value = NUMBER_WORDS[tens.lower()] + NUMBER_WORDS[unit.lower()]
            found.append((value * MULTIPLIERS[mult], m.start(), m.end()))
            continue
        if word is None:
            # "thousands of", "тысячи контейнеров": a rough order, not a number,
            # unless a bound word makes the singular reading certain.
            if mult in ("тысяча", "тысячу", "миллион") or (
                mult in ("тысячи", "миллиона") and _VAGUE_BEFORE.search(view[: m.start()])
            ):
                found.append((MULTIPLIERS[mult], m.start(), m.end()))
            continue
        found.append((NUMBER_WORDS[word.lower()] * MULTIPLIERS[mult], m.start(), m.end()))
    return sorted(found, key=lambda q: q[1])


# Shares of a whole ("about half of the shells Russia fires", "60 Prozent",
# "절반"), in percent: a claim about proportions is its own quantity.
_HALF_EN = (
    r"(?<!irst )(?<!cond )(?<!atter )half(?! an? )"
    r"(?! of (?:the |this |last |next )?(?:year|month|\d))"
)
_FRACTIONS = {
    "en": [
        (r"two[\s-]thirds", 67), (r"three[\s-]quarters", 75), (r"(?:a|one)[\s-]third", 33),
        (r"(?:a|one)[\s-]quarter", 25), (_HALF_EN, 50),
        # "every second shell", "one in three rounds"
        (r"(?:every|one in) (?:second|two)", 50), (r"(?:every third|one in three)", 33),
        (r"(?:every fourth|one in four)", 25),
    ],
    "de": [
        (r"zwei Drittel\w*", 67), (r"drei Viertel\w*", 75), (r"(?:ein|einem|einen) Drittel", 33),
        (r"(?:ein|einem|einen) Viertel", 25),
        (r"(?<!rsten )(?<!eiten )(?<!rste )(?<!eite )Hälfte", 50),
        (r"jede[rsn]? zweite\w*", 50), (r"jede[rsn]? dritte\w*", 33), (r"jede[rsn]? vierte\w*", 25),
    ],
    "ru": [
        (r"две трети", 67), (r"три четверти", 75), (r"(?<!две )трет(?:ь|и|ью)(?!\w)", 33),
        (r"четверт(?:ь|и|ью)(?!\w)", 25), (r"(?<!первой )(?<!второй )половин\w*", 50),
        (r"кажд\w+ втор\w+", 50), (r"кажд\w+ трет\w+", 33), (r"кажд\w+ четв[её]рт\w+", 25),
    ],
    "ko": [
        (r"3분의\s?2", 67), (r"4분의\s?3", 75), (r"3분의\s?1", 33), (r"4분의\s?1", 25),
        (r"절반", 50),
    ],
    "ja": [(r"3分の2", 67), (r"4分の3", 75), (r"3分の1", 33), (r"4分の1", 25), (r"半分|半数", 50)],
}  # fmt: skip
_TENS = "|".join(w for w, n in NUMBER_WORDS.items() if n >= 10 and n == int(n))
_SHARE_PATTERNS = {
    lang: re.compile(
        "|".join(rf"(?<!\w)(?P<f{i}>{pattern})" for i, (pattern, _) in enumerate(items))
        + r"|(?<![\w.,])(?P<pct>\d{1,3}(?:[.,]\d+)?)\s?(?:%|percent\b|per cent\b|Prozent\b|"
        r"процент\w*|퍼센트|프로(?![가-힣]))"
        + rf"|(?<!\w)(?P<wpct>{_TENS})\s(?:percent\b|per cent\b|Prozent\b|процент\w*)",
        re.IGNORECASE,
    )
    for lang, items in _FRACTIONS.items()
}


def share_in(view: str, lang: str) -> float | None:
    """The first share of a whole a sentence states, in percent."""
    pattern = _SHARE_PATTERNS.get(lang)
    m = pattern.search(view) if pattern else None
    if m is None:
        return None
    if m.group("pct"):
        return float(m.group("pct").replace(",", "."))
    if m.group("wpct"):
        return float(NUMBER_WORDS[m.group("wpct").casefold()])
    index = int(
        next(k for k, v in m.groupdict().items() if v is not None and k not in ("pct", "wpct"))[1:]
    )
    return float(_FRACTIONS[lang][index][1])


def _cjk_value(text: str) -> float:
    total, section = 0.0, 0.0
    for number, unit in re.findall(r"(\d[\d,.]*)?\s?([억만천億万千])", text):
        n = float(number.replace(",", "")) if number else (0.0 if unit in "억만億万" else 1.0)
        if unit in ("천", "千"):
            section += n * 1e3
        else:
            total += (section + n) * _CJK_UNITS[unit]
            section = 0.0
    tail = re.search(r"(\d[\d,]*)\s*$", text)
    if tail and not re.search(r"[억만천億万千]\s*$", text):
        section += float(tail.group(1).replace(",", ""))
    return total + section


_MONTHS = {
    # The agencies' abbreviations, with their dot: "on Jan. 2", "in Sept. 2023".
    "en": [r"january|jan\.", r"february|feb\.", r"march|mar\.", r"april|apr\.", "may", "june",
           "july", r"august|aug\.", r"september|sept?\.", r"october|oct\.", r"november|nov\.",
           r"december|dec\."],
    "de": ["januar|jänner", "februar", "märz", "april", "mai", "juni", "juli", "august",
           "september", "oktober", "november", "dezember"],
    "ru": ["январ", "феврал", "март", "апрел", "ма[йяе]", "июн", "июл", "август",
           "сентябр", "октябр", "ноябр", "декабр"],
}  # fmt: skip
_MONTH_NAMES = [m.split("|")[0].capitalize() for m in _MONTHS["en"]]
_SINCE = re.compile(r"(?:since|seit|с|от)\s+$|^\s*(?:이후|부터|以降|から)", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")
_CJK_MONTH = re.compile(r"(?<!\d)(1[0-2]|0?[1-9])\s?[월月]")


def periods_in(view: str, lang: str) -> tuple[str | None, list[str]]:
    """The first period a sentence states, and all month/year identity features."""
    months: list[tuple[int, int, int]] = []  # (month, start, end)
    if lang in _MONTHS:
        for number, stem in enumerate(_MONTHS[lang], start=1):
            suffix = r"\w*" if lang == "ru" else ""
            pattern = rf"(?<!\w)(?:{stem}){suffix}(?!\w)"
            flags = re.IGNORECASE if lang != "en" or number != 5 else 0
            if lang == "en" and number == 5:
                pattern = r"(?<!\w)May(?!\w)"  # "may" the modal verb is not a month
            months += [(number, m.start(), m.end()) for m in re.finditer(pattern, view, flags)]
    else:
        months += [(int(m.group(1)), m.start(), m.end()) for m in _CJK_MONTH.finditer(view)]
    years = [(int(m.group(1)), m.start(), m.end()) for m in _YEAR.finditer(view)]
    since = None
    features = [f"month:{m:02d}" for m, _, _ in months] + [f"year:{y}" for y, _, _ in years]
    first = None
    if months:
        month, start, end = min(months, key=lambda m: m[1])
        year = next((y for y, s, _ in years if 0 <= s - end <= 8 or 0 <= start - s <= 8), None)
        first = f"{year}-{month:02d}" if year else _MONTH_NAMES[month - 1]
        since = _SINCE.search(view[max(0, start - 8) : start]) or _SINCE.search(view[end : end + 4])
    elif years:
        year, start, end = years[0]
        first = str(year)
        since = _SINCE.search(view[max(0, start - 8) : start]) or _SINCE.search(view[end : end + 4])
    if first and since:
        first = f"since {first}"
    return first, features


def number_key(value: float) -> str:
    """A number rounded to two significant digits: 6,700 and 6.700 and 6700 agree."""
    if value <= 0:
        return "0"
    magnitude = math.floor(math.log10(value))
    rounded = round(value, 1 - magnitude)
    return f"{rounded:.{max(0, 1 - magnitude)}f}"


@dataclass(frozen=True)
class Reading:
    """What a statement claims in numbers, and the identity features that follow."""

    facts: tuple[Fact, ...]
    quantities: dict[str, str]  # unit → number key
    periods: list[str]  # month:MM / year:YYYY features
    direction: str | None


def read_facts(s: Sentence, lang: str, profile: Profile) -> Reading:
    """The facts of a statement sentence and the quantities and periods identity compares."""
    concepts = profile.concepts
    votes: dict[str, int] = {}
    for hit in s.directions:
        votes[hit.label] = votes.get(hit.label, 0) + 1
    if votes:
        first = {h.label: h.start for h in reversed(s.directions)}
        direction = max(votes, key=lambda d: (votes[d], -first[d]))
    elif "source" in s.kinds and s.kinds & {"transfer", "materiel"}:
        direction = profile.forward
    else:
        direction = None
    period, period_features = periods_in(s.view, lang)
    # The most specific weapon names: drop a generic one its specific form implies.
    named = {
        cid
        for cid in s.concepts
        if concepts[cid].name and concepts[cid].kind in ("materiel", "personnel")
    }
    implied = {i for cid in named for i in _closure(concepts, cid) if i != cid}
    weapons = sorted(named - implied, key=lambda cid: s.concepts[cid][0][0])
    units = [
        (concepts[cid], start, end)
        for cid in s.concepts
        if concepts[cid].unit
        for start, end in s.concepts[cid]
    ]
    facts: list[Fact] = []
    quantities: dict[str, str] = {}
    used: set[str] = set()
    for value, start, end in quantities_in(s.view, lang):
        unit = _unit_near(s.view, units, start, end, lang)
        if unit is None:
            continue
        weapon = unit.name or _nearest_name(concepts, s, weapons, start)
        if unit.name and unit.id not in weapons:
            weapon = _nearest_name(concepts, s, weapons, start) or unit.name
        facts.append(Fact(weapon, value, unit.unit, direction, period))
        quantities.setdefault(unit.unit, number_key(value))
        if weapon:
            used.add(weapon)
    share = share_in(s.view, lang)
    if share is not None and (facts or weapons):
        quantities.setdefault("share", number_key(share))
    for cid in weapons:
        name = concepts[cid].name
        if name not in used and not (name == "arms" and (facts or len(weapons) > 1)):
            facts.append(Fact(name, None, None, direction, period))
    if not facts and direction and s.kinds & {"transfer", "materiel"}:
        facts.append(Fact(None, None, None, direction, period))
    return Reading(tuple(facts), quantities, period_features, direction)


def _closure(concepts: dict[str, Concept], cid: str) -> set[str]:
    seen, pending = set(), [cid]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(concepts[current].implies)
    return seen


def _unit_near(
    view: str, units: list[tuple[Concept, int, int]], start: int, end: int, lang: str
) -> Concept | None:
    """The counted noun of a number.

    A noun right after the number is it ("9 million rounds of …", "neun Millionen
    Schuss …"); otherwise the last noun of the phrase that follows ("nine million
    artillery and rocket rounds"). Korean and Japanese put the noun first
    ("포탄 100만 발", "컨테이너 약 6천700개").
    """
    if lang in ("ko", "ja", "zh"):
        before = [u for u in units if u[2] <= start and start - u[2] <= 8]
        if before:
            return max(before, key=lambda u: u[2])[0]
    chosen = None
    for concept, u_start, _ in sorted((u for u in units if u[1] >= end), key=lambda u: u[1]):
        gap = view[end:u_start]
        if len(gap) > 40 or len(gap.split()) > 4 or re.search(r"[\d.,;:()]", gap):
            break
        if _DATE_WORD.match(gap.strip()):
            return None
        if not gap.strip():
            return concept
        if chosen is not None and _UNIT_STOP.search(gap):
            break
        chosen = concept
    return chosen


def _nearest_name(
    concepts: dict[str, Concept], s: Sentence, weapons: list[str], at: int
) -> str | None:
    if not weapons:
        return None
    nearest = min(weapons, key=lambda cid: min(abs(a - at) for a, _ in s.concepts[cid]))
    return concepts[nearest].name
