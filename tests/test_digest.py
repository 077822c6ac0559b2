"""The daily digest: escaping, charts rendered to PNG, the HTML report, the flow, its artifact."""

from __future__ import annotations

import base64
import io
import shutil
import struct
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from markdown_it import MarkdownIt

from armswatch.tasks.digest import CHARTS, STANCE_COLOURS, Digest, read_digest, render_digest
from armswatch.tasks.escape import (
    clean_text,
    escape_html,
    escape_markdown,
    html_link,
    markdown_link,
    safe_url,
)
from armswatch.warehouse.db import Warehouse
from tests.test_queries import (
    EVIL,
    HOSTILE,
    HOSTILE_SPEAKER,
    HOSTILE_TITLE,
    HOSTILE_URL,
    S_KIM_EN,
    build_warehouse,
)

DAY = date(2024, 6, 3)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# What must never reach a reader as markup, in the Markdown or the HTML.
MARKUP = ["<script>", "<img", "![x](javascript:alert(1))", "[click](http://evil)", "**bold**",
          "`rm -rf`", "a|b", "`tick`"]
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p",
                "strong", "section", "figure", "img", "figcaption", "table", "thead", "tbody",
                "tr", "th", "td", "a", "span"}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("digest") / "w.duckdb")


@pytest.fixture(scope="module")
def report(warehouse: Path) -> Digest:
    with Warehouse(str(warehouse)).connect(read_only=True) as con:
        return render_digest(con, DAY)


class Page(HTMLParser):
    """The tags, attributes, visible text and table shapes of an HTML document."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.tables: list[list[int]] = []
        self._skip = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._skip = tag in ("style", "title")
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append(0)
        elif tag in ("td", "th"):
            self.tables[-1][-1] += 1

    def handle_endtag(self, tag: str) -> None:
        self._skip = False

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)

    def attr(self, tag: str, name: str) -> list[str]:
        return [a[name] or "" for t, a in self.tags if t == tag and name in a]

    @property
    def visible(self) -> str:
        return "".join(self.text)


def png_info(data: bytes) -> tuple[int, int, dict[str, str]]:
    """Width, height and text chunks of a PNG, walking its chunks to the end."""
    assert data[:8] == PNG_MAGIC
    pos, width, height, text, last = 8, 0, 0, {}, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            text[key.decode("latin-1")] = value.decode("latin-1")
        pos += 12 + length
        last = kind
    assert last == b"IEND"
    return width, height, text


def has_colour(png: bytes, hex_colour: str) -> bool:
    import numpy as np
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(png), format="png")[..., :3]
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return bool(np.any(np.all(np.abs(pixels - rgb) < 1.5 / 255, axis=-1)))


# ---------------------------------------------------------------------------
# Escaping
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", [*MARKUP, HOSTILE, HOSTILE_TITLE, HOSTILE_SPEAKER])
def test_escape_markdown_leaves_no_markup(hostile):
    escaped = escape_markdown(hostile)
    for markup in MARKUP:
        assert markup not in escaped
    rendered = MarkdownIt("commonmark", {"html": True}).render(escaped)
    assert Page(rendered).visible.strip() == hostile


def test_escape_markdown_flattens_lines_and_drops_control_characters():
    assert escape_markdown("# Title\n\n- item\r\n1. one\x00\x07\u202e") == (
        r"\# Title \- item 1\. one"
    )
    assert escape_markdown("a &lt; b & c") == "a &amp;lt; b &amp; c"  # entities stay text
    assert escape_markdown(None) == ""
    assert clean_text("  two\tspaces \u2028 here ") == "two spaces here"


def test_escape_html():
    assert escape_html('<a href="x" onclick=\'y\'>&') == (
        "&lt;a href=&quot;x&quot; onclick=&#x27;y&#x27;&gt;&amp;"
    )
    assert escape_html("line\none\x1b[31m") == "line one[31m"


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JavaScript:alert(1)", "java\nscript:x",
                                 "data:text/html,<script>", "//evil.example/x", "ftp://x/y", ""])
def test_only_http_urls_become_links(url):
    assert safe_url(url) is None
    assert "href" not in html_link("label", url)
    assert markdown_link("label", url) == "label"


def test_links_cannot_break_out_of_their_url():
    target = safe_url(HOSTILE_URL)
    assert target is not None and target.startswith("https://evil.example/x?a=")
    assert not set(target) & set("\"'<> ()|`\\")
    link = html_link(HOSTILE_TITLE, HOSTILE_URL)
    page = Page(link)
    assert page.attr("a", "href") == [target]
    assert page.visible == HOSTILE_TITLE
    rendered = Page(MarkdownIt("commonmark").render(markdown_link("a [b] c", HOSTILE_URL)))
    assert rendered.attr("a", "href") == [target] and rendered.visible.strip() == "a [b] c"


# ---------------------------------------------------------------------------
# Rendering from a real warehouse
# ---------------------------------------------------------------------------


def test_charts_are_pngs_drawn_by_matplotlib(report):
    assert set(report.charts) == set(CHARTS)
    for name, png in report.charts.items():
        width, height, text = png_info(png)
        assert width == 900 and height >= 200, name
        assert "Matplotlib" in text.get("Software", ""), name
        assert len(png) > 8_000, name


def test_stacked_bars_carry_the_stances_of_the_window(report):
    # The window holds assert, condemn, deny and demand statements.
    for stance, colour in STANCE_COLOURS.items():
        assert has_colour(report.charts["statements-per-day"], colour), stance


def test_counts(report):
    assert report.counts == {"new_statements": 3, "window_statements": 7, "speakers": 5,
                             "restated": 7, "edited": 2}


def test_html_is_self_contained_with_the_charts_inline(report):
    page = Page(report.html)
    sources = page.attr("img", "src")
    assert len(sources) == len(CHARTS)
    prefix = "data:image/png;base64,"
    assert all(s.startswith(prefix) for s in sources)
    assert [base64.b64decode(s[len(prefix):]) for s in sources] == [
        report.charts[name] for name in CHARTS
    ]
    assert all(alt for alt in page.attr("img", "alt"))
    # Nothing is fetched from elsewhere: no scripts, stylesheets, fonts or frames.
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    assert "url(" not in report.html and "@import" not in report.html
    csp = [a["content"] for t, a in page.tags if t == "meta" and "http-equiv" in a]
    assert csp and "default-src 'none'" in csp[0]


def test_html_shows_web_text_as_text(report):
    page = Page(report.html)
    assert "<script" not in report.html.lower()
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    assert all(href.startswith(("https://", "http://")) for href in page.attr("a", "href"))
    assert safe_url(HOSTILE_URL) in page.attr("a", "href")
    # The reader sees exactly what was said, markup and all, as text.
    shown = page.visible
    assert HOSTILE in shown and HOSTILE_TITLE in shown and HOSTILE_SPEAKER in shown
    assert clean_text(EVIL) in shown and S_KIM_EN in shown
    assert "\x07" not in report.html and "\u202e" not in report.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report.html
    assert all(len(set(rows)) == 1 for rows in page.tables), page.tables


def test_markdown_has_no_live_markup(report):
    for markup in MARKUP:
        assert markup not in report.markdown, markup
    assert r"\*\*bold\*\*" in report.markdown and "&lt;script&gt;" in report.markdown
    # Rendered as leniently as a renderer can be (raw HTML allowed), the web
    # text still makes no tags, links, emphasis or code of its own.
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(report.markdown)
    page = Page(rendered)
    assert not {tag for tag, _ in page.tags} & {"script", "img", "code", "em", "iframe"}
    assert [t for t, _ in page.tags].count("strong") == 1  # our own count in the first line
    assert all(href.startswith("https://") for href in page.attr("a", "href"))
    assert "http://evil" not in page.attr("a", "href")
    shown = page.visible
    assert HOSTILE in shown and HOSTILE_SPEAKER in shown and clean_text(EVIL) in shown
    # Pipes in web text stay inside their cell: every row has its table's width.
    assert len(page.tables) == 5
    assert all(len(set(rows)) == 1 for rows in page.tables), page.tables


def test_markdown_lists_the_day_and_the_window(report):
    md = report.markdown
    assert md.startswith("# armswatch digest, 2024-06-03\n")
    assert "New statements on 2024-06-03: **3**" in md
    assert "2024-05-05 to 2024-06-03 (30 days, UTC)" in md
    for title in CHARTS.values():
        assert f"## {title}" in md
    assert "[vostok\\-vestnik](https://vostok-vestnik.example/politika/peskov-kndr)" in md


def test_render_from_rows_read_once(warehouse):
    with Warehouse(str(warehouse)).connect(read_only=True) as con:
        data = read_digest(con, DAY, window_days=1, top=2)
    assert [r["statement_id"] for r in data.new_statements] == ["st_peskov", "st_evil", "st_kim2"]
    assert len(data.speakers) == 2 and data.first_day == DAY
    digest = render_digest(data)
    assert digest.day == DAY and "(1 days, UTC)" in digest.markdown
    with pytest.raises(ValueError):
        render_digest(data, date(2024, 6, 4))


def test_an_empty_warehouse_renders_no_data_charts(tmp_path):
    wh = Warehouse(str(tmp_path / "empty.duckdb"))
    wh.migrate()
    with wh.connect(read_only=True) as con:
        empty = render_digest(con, DAY)
    assert set(empty.charts) == set(CHARTS)
    for png in empty.charts.values():
        width, _, text = png_info(png)
        assert width == 900 and "Matplotlib" in text["Software"]
        assert not has_colour(png, STANCE_COLOURS["assert"])
    assert "No statement was seen for the first time on this day." in empty.markdown
    assert "No edited articles in this window." in empty.markdown
    assert len(Page(empty.html).attr("img", "src")) == len(CHARTS)
    assert empty.counts["new_statements"] == 0


# ---------------------------------------------------------------------------
# The flow, under Prefect's test harness
# ---------------------------------------------------------------------------


def test_report_day():
    from armswatch.flows.digest import report_day

    morning = datetime(2024, 6, 4, 6, 0, tzinfo=UTC)
    assert report_day(None, morning) == report_day("today", morning) == date(2024, 6, 4)
    assert report_day("yesterday", morning) == DAY
    assert report_day("2024-06-03", morning) == DAY
    with pytest.raises(ValueError):
        report_day("last tuesday", morning)


# prefect_harness is the session's one temporary Prefect server, from conftest.py.
@pytest.mark.usefixtures("prefect_harness")
def test_digest_flow_writes_the_report_and_publishes_an_artifact(warehouse, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    from armswatch.flows.digest import ARTIFACT_KEY, digest

    out = tmp_path / "out"
    # A read-only connection held open here makes any attempt by the flow to
    # open the file for writing fail: DuckDB refuses mixed modes in one process.
    with duckdb.connect(str(warehouse), read_only=True):
        state = digest(db=str(warehouse), day="2024-06-03", out_dir=str(out), return_state=True)
    assert state.is_completed()
    files = state.result()

    assert files.html == out / "digest-2024-06-03.html"
    html = files.html.read_text("utf-8")
    assert len(Page(html).attr("img", "src")) == len(CHARTS)
    assert "<script" not in html.lower()
    assert set(files.charts) == set(CHARTS)
    for name, path in files.charts.items():
        assert path == out / f"digest-2024-06-03-{name}.png"
        assert path.read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [files.html.name, *(p.name for p in files.charts.values())]
    )

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[ARTIFACT_KEY]),
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]),
        ))
    assert len(artifacts) == 1
    artifact = artifacts[0]
    assert artifact.id == files.artifact_id and artifact.type == "markdown"
    assert artifact.data.startswith("# armswatch digest, 2024-06-03")
    for markup in MARKUP:
        assert markup not in artifact.data, markup
    assert escape_markdown(HOSTILE) in artifact.data
    assert escape_markdown(files.html) in artifact.data


@pytest.mark.usefixtures("prefect_harness")
def test_digest_flow_defaults_to_reports_beside_the_warehouse(warehouse, tmp_path):
    from armswatch.flows.digest import digest

    db = tmp_path / "data" / "armswatch.duckdb"
    db.parent.mkdir()
    shutil.copy(warehouse, db)
    files = digest(db=str(db), day="2024-06-03")
    assert files.html == tmp_path / "data" / "reports" / "digest-2024-06-03.html"
    assert files.html.is_file()

    with pytest.raises(FileNotFoundError):
        digest(db=str(tmp_path / "missing.duckdb"), day="2024-06-03")
