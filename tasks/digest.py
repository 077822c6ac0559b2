"""The daily digest: what the warehouse saw, as PNG charts, escaped Markdown and one HTML page."""

from __future__ import annotations

import base64
import html
import io
import re
import textwrap
import warnings
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from armswatch.tasks.escape import (
    clean_text,
    escape_html,
    escape_markdown,
    html_link,
    markdown_link,
)
from armswatch.warehouse import queries

# The digest's defaults, in one place: a month of context, ten bars a chart,
# and no more of the day's new statements than a reader will scroll through.
WINDOW_DAYS = 30
TOP = 10
NEW_STATEMENTS_SHOWN = 50

STANCES = ("assert", "condemn", "deny", "demand")
# Paul Tol's colour-blind-safe palette; the order follows STANCES.
STANCE_COLOURS = {"assert": "#4477AA", "condemn": "#EE6677", "deny": "#CCBB44",
                  "demand": "#AA3377"}
OTHER_COLOUR = "#BBBBBB"
BAR_COLOUR = "#4477AA"

CHARTS = {
    "statements-per-day": "Statements first seen per day, by stance",
    "top-speakers": "Top speakers",
    "most-restated": "Most-restated statements",
    "most-edited": "Articles with the most edits",
}

# Fonts that cover Hangul and CJK, tried after DejaVu Sans when installed.
_FALLBACK_FONTS = ("Noto Sans CJK KR", "Noto Sans KR", "NanumGothic", "Noto Sans CJK JP",
                   "Noto Sans CJK SC", "Droid Sans Fallback", "Noto Sans")
_VARIABLE = re.compile(r"^[a-z_][a-z0-9_]*$")


# --------------------------------------------------------------------------
# Reading: the digest's named queries, with their parameters set as DuckDB
# variables — the same path `armswatch sql --file … --param` takes.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestData:
    """The rows a digest is drawn from; each list holds the rows of one digest_*.sql query."""

    day: date
    window_days: int
    per_day: list[dict[str, Any]] = field(default_factory=list)
    speakers: list[dict[str, Any]] = field(default_factory=list)
    restated: list[dict[str, Any]] = field(default_factory=list)
    edited: list[dict[str, Any]] = field(default_factory=list)
    new_statements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first_day(self) -> date:
        return self.day - timedelta(days=self.window_days - 1)

    @property
    def new_on_day(self) -> int:
        """How many statements were first seen on the day; `new_statements` lists a few of them."""
        return sum(r["statements"] for r in self.per_day if r["day"] == self.day)


@dataclass(frozen=True)
class Digest:
    """A rendered digest: Markdown for a Prefect artifact, a self-contained HTML page, PNGs."""

    day: date
    markdown: str
    html: str
    charts: dict[str, bytes]
    counts: dict[str, int]


def query_rows(
    con: duckdb.DuckDBPyConnection, name: str, params: dict[str, object] | None = None
) -> list[dict[str, Any]]:
    """Run a bundled query with its parameters set as DuckDB variables; rows as dicts."""
    params = params or {}
    for key, value in params.items():
        if not _VARIABLE.match(key):
            raise ValueError(f"not a variable name: {key!r}")
        con.execute(f"SET VARIABLE {key} = ?", [value])
    try:
        cursor = con.execute(queries.load(name))
        columns = [d[0] for d in cursor.description or []]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        # Variables live as long as the connection: leave none behind for
        # the next query to pick up by accident.
        for key in params:
            con.execute(f"RESET VARIABLE {key}")


def read_digest(
    con: duckdb.DuckDBPyConnection, day: date, window_days: int = WINDOW_DAYS, top: int = TOP
) -> DigestData:
    """Everything a digest shows, read in one transaction so the charts agree with each other."""
    if window_days < 1 or top < 1:
        raise ValueError("window_days and top must be at least 1")
    window = {"day": day, "days": window_days}
    con.execute("BEGIN TRANSACTION")
    try:
        data = DigestData(
            day=day,
            window_days=window_days,
            per_day=query_rows(con, "digest_statements_per_day", window),
            speakers=query_rows(con, "digest_top_speakers", {**window, "top": top}),
            restated=query_rows(con, "digest_most_restated", {**window, "top": top}),
            edited=query_rows(con, "digest_most_edited", {**window, "top": top}),
            new_statements=query_rows(
                con, "digest_new_statements", {"day": day, "top": NEW_STATEMENTS_SHOWN}
            ),
        )
    finally:
        con.execute("ROLLBACK")
    return data


# --------------------------------------------------------------------------
# Charts: matplotlib's object API on an Agg canvas, so nothing touches a
# display or pyplot's global figure list, and rendering is safe off the
# main thread.
# --------------------------------------------------------------------------


def _label(text: object, width: int = 44, lines: int = 2) -> str:
    """Web text as a chart label: wrapped, cut with an ellipsis, `$` kept out of mathtext."""
    wrapped = textwrap.wrap(clean_text(text), width=width, max_lines=lines, placeholder=" …")
    return "\n".join(wrapped).replace("$", r"\$") or "—"


def _font_families() -> list[str]:
    from matplotlib import font_manager

    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *(name for name in _FALLBACK_FONTS if name in installed)]


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Without a CJK font installed, Hangul in a label draws as boxes;
        # the chart is still worth having.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _no_data(fig, ax, title: str, note: str = "no data") -> bytes:
    ax.set_axis_off()
    ax.set_title(title, loc="left", fontsize=11)
    ax.text(0.5, 0.5, note, ha="center", va="center", fontsize=16, color="#777777",
            transform=ax.transAxes)
    return _png(fig)


def _ordered_stances(present: set[str]) -> list[str]:
    return [s for s in STANCES if s in present] + sorted(present - set(STANCES))


def chart_statements_per_day(data: DigestData) -> bytes:
    """Stacked bars: statements first seen each day of the window, by stance."""
    days = [data.first_day + timedelta(days=n) for n in range(data.window_days)]
    series: dict[str, list[int]] = {}
    for row in data.per_day:
        offset = (row["day"] - data.first_day).days
        if 0 <= offset < len(days):
            series.setdefault(str(row["stance"]), [0] * len(days))[offset] += row["statements"]
    fig, ax = _figure(9.0, 3.8)
    title = f"{CHARTS['statements-per-day']}, {days[0]:%d %b} – {days[-1]:%d %b %Y} (UTC)"
    if not series:
        return _no_data(fig, ax, title, "no statements in this window")
    from matplotlib.ticker import MaxNLocator

    positions = list(range(len(days)))
    bottom = [0] * len(days)
    for stance in _ordered_stances(set(series)):
        ax.bar(positions, series[stance], bottom=bottom, width=0.8, label=_label(stance, 20, 1),
               color=STANCE_COLOURS.get(stance, OTHER_COLOUR))
        bottom = [b + n for b, n in zip(bottom, series[stance], strict=True)]
    step = max(1, len(days) // 8)
    ticks = sorted({*range(len(days) - 1, -1, -step)})
    ax.set_xticks(ticks, [f"{days[i]:%d %b}" for i in ticks])
    ax.set_xlim(-0.6, len(days) - 0.4)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("statements")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", frameon=False, ncols=4, fontsize=9)
    ax.set_title(title, loc="left", fontsize=11)
    return _png(fig)


def _horizontal_bars(title: str, labels: list[str], values: list[int], xlabel: str,
                     empty: str) -> bytes:
    """Horizontal bars, largest first at the top, each with its value at its end."""
    lines = sum(label.count("\n") + 1 for label in labels)
    fig, ax = _figure(9.0, 1.3 + 0.3 * max(lines, 3) + 0.15 * max(len(labels), 3))
    if not labels:
        return _no_data(fig, ax, title, empty)
    from matplotlib.ticker import MaxNLocator

    positions = list(range(len(labels)))
    bars = ax.barh(positions, values, color=BAR_COLOUR, height=0.65)
    ax.bar_label(bars, padding=3, fontsize=9)
    ax.set_yticks(positions, labels, fontsize=9, fontfamily=_font_families())
    # At least three rows of room, so one bar does not fill the chart.
    ax.set_ylim(max(len(labels), 3) - 0.5, -0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max(values) * 1.12 + 0.5)
    ax.set_xlabel(xlabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(title, loc="left", fontsize=11)
    return _png(fig)


def chart_top_speakers(data: DigestData) -> bytes:
    """Horizontal bars: the speakers with the most statements seen in the window."""
    return _horizontal_bars(
        f"{CHARTS['top-speakers']}, last {data.window_days} days",
        [_label(r["speaker"], 40, 1) for r in data.speakers],
        [r["statements"] for r in data.speakers],
        "statements seen", "no named speakers in this window",
    )


def chart_most_restated(data: DigestData) -> bytes:
    """Horizontal bars: the statements carried by the most articles, labelled speaker: text."""
    return _horizontal_bars(
        f"{CHARTS['most-restated']}, last {data.window_days} days",
        [_label(f"{r['speaker'] or 'the outlet'}: {r['text']}", 56, 2) for r in data.restated],
        [r["articles"] for r in data.restated],
        "articles carrying it", "no statements seen in this window",
    )


def chart_most_edited(data: DigestData) -> bytes:
    """Horizontal bars: the articles with the most edits detected in the window."""
    return _horizontal_bars(
        f"{CHARTS['most-edited']}, last {data.window_days} days",
        [_label(r["title"] or r["url"], 56, 2) for r in data.edited],
        [r["edits"] for r in data.edited],
        "edits", "no edited articles in this window",
    )


def render_charts(data: DigestData) -> dict[str, bytes]:
    """Every chart of the digest as PNG bytes, keyed by the names in CHARTS."""
    return {
        "statements-per-day": chart_statements_per_day(data),
        "top-speakers": chart_top_speakers(data),
        "most-restated": chart_most_restated(data),
        "most-edited": chart_most_edited(data),
    }


# --------------------------------------------------------------------------
# Markdown and HTML. Numbers and our own words go in as they are; every
# string from the warehouse goes through escape_markdown / escape_html.
# --------------------------------------------------------------------------


def _utc(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(UTC).strftime(fmt) if value else ""


def _shown(data: DigestData) -> str:
    shown = len(data.new_statements)
    return f" (the first {shown} listed)" if shown < data.new_on_day else ""


def _speaker(value: object) -> str:
    return clean_text(value) or "(the outlet)"


def _per_day_table(data: DigestData) -> tuple[list[str], list[list[object]]]:
    by_day: dict[date, dict[str, int]] = {}
    for row in data.per_day:
        by_day.setdefault(row["day"], {})[str(row["stance"])] = row["statements"]
    stances = _ordered_stances({s for counts in by_day.values() for s in counts})
    header = ["day", *stances, "total"]
    rows = [
        [f"{day:%Y-%m-%d}", *(counts.get(s, 0) for s in stances), sum(counts.values())]
        for day, counts in sorted(by_day.items(), reverse=True)
    ]
    return header, rows


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GFM table; cells must already be escaped."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(data: DigestData) -> str:
    """The digest as Markdown for a Prefect artifact: tables only, every web string escaped."""
    span = f"{data.first_day:%Y-%m-%d} to {data.day:%Y-%m-%d}"
    out = [
        f"# armswatch digest, {data.day:%Y-%m-%d}",
        "",
        f"New statements on {data.day:%Y-%m-%d}: **{data.new_on_day}**{_shown(data)}. "
        f"Charts and tables cover {span} ({data.window_days} days, UTC).",
        "",
        f"## New statements on {data.day:%Y-%m-%d}",
        "",
    ]
    if data.new_statements:
        out.append(_markdown_table(
            ["time (UTC)", "stance", "speaker", "statement", "source"],
            [[_utc(r["first_seen_at"], "%H:%M"), escape_markdown(r["stance"]),
              escape_markdown(_speaker(r["speaker"])), escape_markdown(r["text"]),
              markdown_link(r["source"], r["url"])] for r in data.new_statements],
        ))
    else:
        out.append("No statement was seen for the first time on this day.")

    out += ["", f"## {CHARTS['statements-per-day']}", ""]
    header, rows = _per_day_table(data)
    if rows:
        out.append(_markdown_table([escape_markdown(h) for h in header],
                                   [[str(c) for c in row] for row in rows]))
    else:
        out.append("No statements in this window.")

    out += ["", f"## {CHARTS['top-speakers']}", ""]
    if data.speakers:
        out.append(_markdown_table(
            ["speaker", "statements seen", "new", "articles"],
            [[escape_markdown(r["speaker"]), str(r["statements"]), str(r["new_statements"]),
              str(r["articles"])] for r in data.speakers],
        ))
    else:
        out.append("No named speakers in this window.")

    out += ["", f"## {CHARTS['most-restated']}", ""]
    if data.restated:
        out.append(_markdown_table(
            ["articles", "languages", "stance", "speaker", "statement"],
            [[str(r["articles"]), escape_markdown(", ".join(map(str, r["languages"] or []))),
              escape_markdown(r["stance"]), escape_markdown(_speaker(r["speaker"])),
              escape_markdown(r["text"])] for r in data.restated],
        ))
    else:
        out.append("No statements seen in this window.")

    out += ["", f"## {CHARTS['most-edited']}", ""]
    if data.edited:
        out.append(_markdown_table(
            ["edits", "sentences +/−", "article", "source", "last edit (UTC)"],
            [[str(r["edits"]), f"+{r['sentences_added']} / −{r['sentences_removed']}",
              markdown_link(r["title"] or r["url"], r["url"]), escape_markdown(r["source"]),
              _utc(r["last_edit_at"])] for r in data.edited],
        ))
    else:
        out.append("No edited articles in this window.")
    return "\n".join(out) + "\n"


_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;max-width:960px;
margin:2em auto;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
.meta{color:#666}figure{margin:1em 0}img{max-width:100%;height:auto}
table{border-collapse:collapse;width:100%;font-size:.9em;margin:.5em 0}
th,td{border-bottom:1px solid #eee;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.stance{font-weight:600}.assert{color:#4477AA}.condemn{color:#CC3344}.deny{color:#998800}
.demand{color:#AA3377}
""".strip()


def _html_table(header: list[str], rows: list[list[str]], numeric: Collection[int] = ()) -> str:
    """An HTML table; cells must already be escaped."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _stance_html(stance: object) -> str:
    text = clean_text(stance)
    css = text if text in STANCES else "other"
    return f'<span class="stance {css}">{escape_html(text)}</span>'


def _figure_html(png: bytes, caption: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    alt = html.escape(caption)
    return f'<figure><img src="data:image/png;base64,{encoded}" alt="{alt}"></figure>'


def render_html(data: DigestData, charts: dict[str, bytes]) -> str:
    """The digest as one HTML page: charts inline as PNG, escaped text, no external requests."""
    parts: list[str] = []

    def section(name: str, table: str) -> None:
        caption = CHARTS[name]
        parts.append(f"<section><h2>{html.escape(caption)}</h2>"
                     f"{_figure_html(charts[name], caption)}{table}</section>")

    if data.new_statements:
        new_table = _html_table(
            ["time (UTC)", "stance", "speaker", "statement", "source"],
            [[_utc(r["first_seen_at"], "%H:%M"), _stance_html(r["stance"]),
              escape_html(_speaker(r["speaker"])), escape_html(r["text"]),
              html_link(r["source"], r["url"])] for r in data.new_statements],
        )
    else:
        new_table = "<p>No statement was seen for the first time on this day.</p>"
    parts.append(f"<section><h2>New statements on {data.day:%Y-%m-%d}</h2>{new_table}</section>")

    header, rows = _per_day_table(data)
    section("statements-per-day", _html_table(
        [escape_html(h) for h in header], [[str(c) for c in row] for row in rows],
        numeric=set(range(1, len(header))),
    ) if rows else "")
    section("top-speakers", _html_table(
        ["speaker", "statements seen", "new", "articles"],
        [[escape_html(r["speaker"]), str(r["statements"]), str(r["new_statements"]),
          str(r["articles"])] for r in data.speakers],
        numeric={1, 2, 3},
    ) if data.speakers else "")
    section("most-restated", _html_table(
        ["articles", "languages", "stance", "speaker", "statement"],
        [[str(r["articles"]), escape_html(", ".join(map(str, r["languages"] or []))),
          _stance_html(r["stance"]), escape_html(_speaker(r["speaker"])),
          escape_html(r["text"])] for r in data.restated],
        numeric={0},
    ) if data.restated else "")
    section("most-edited", _html_table(
        ["edits", "sentences +/−", "article", "source", "last edit (UTC)"],
        [[str(r["edits"]), f"+{r['sentences_added']} / −{r['sentences_removed']}",
          html_link(r["title"] or r["url"], r["url"]), escape_html(r["source"]),
          _utc(r["last_edit_at"])] for r in data.edited],
        numeric={0},
    ) if data.edited else "")

    title = f"armswatch digest, {data.day:%Y-%m-%d}"
    # The policy forbids scripts, frames and every fetch but the inline
    # images, should anything slip past the escaping.
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'"
    return (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{title}</title><style>{_CSS}</style></head>\n<body>"
        f"<header><h1>{title}</h1><p class=\"meta\">New statements on {data.day:%Y-%m-%d}: "
        f"<strong>{data.new_on_day}</strong>{_shown(data)}. Charts and tables cover "
        f"{data.first_day:%Y-%m-%d} to {data.day:%Y-%m-%d} ({data.window_days} days, UTC)."
        f"</p></header>\n" + "\n".join(parts) + "\n</body></html>\n"
    )


def render_digest(
    source: DigestData | duckdb.DuckDBPyConnection,
    day: date | None = None,
    *,
    window_days: int = WINDOW_DAYS,
    top: int = TOP,
) -> Digest:
    """Render a digest from rows already read, or read them first from a (read-only) connection."""
    if isinstance(source, DigestData):
        if day is not None and day != source.day:
            raise ValueError(f"the rows are for {source.day}, not {day}")
        data = source
    else:
        data = read_digest(source, day or datetime.now(UTC).date(), window_days, top)
    charts = render_charts(data)
    counts = {
        "new_statements": data.new_on_day,
        "window_statements": sum(r["statements"] for r in data.per_day),
        "speakers": len(data.speakers),
        "restated": len(data.restated),
        "edited": len(data.edited),
    }
    return Digest(data.day, render_markdown(data), render_html(data, charts), charts, counts)
