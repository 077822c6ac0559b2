"""Generate a benchmark corpus: N article pages and the feeds that list them.

The pages are copies of real pages — the 181 gzipped pages of
`shared/corpus/article-extraction-benchmark/html/` and the demo articles in
`armswatch/demo/corpus/base/` — each copy made unique so that no two articles
extract to the same text: a paragraph naming the copy is inserted just before
the article's first paragraph (found from the benchmark's ground truth, so
trafilatura keeps it as article text) and the title is prefixed with the copy's
number.

Everything is served later from one host, 127.0.0.1 (loopback only, see
bench/serve.py), so "many sites" become many feeds of `--per-feed` items each
(RSS 2.0, Atom and JSON Feed in turn). `__BASE__` in the files stands for the
server's base URL and is replaced when the server loads them.

    python bench/gen_corpus.py --n 1000 --out bench/out/corpus-1000

writes:
    site/robots.txt
    site/feeds/feed-000.xml|.atom|.json …   one feed a `--per-feed` articles
    site/news/<feed>/<i>-<slug>.html …      the N article pages
    sources.template.toml                   one [[source]] a feed, delays 0, __BASE__ URLs
    empty/site/feeds/empty.xml, empty/sources.template.toml  an empty feed (Prefect's fixed cost)
    manifest.json                           n, per-feed, feeds, and each page's path and template
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import re
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import lxml.html

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
BENCH_CORPUS = SHARED / "corpus" / "article-extraction-benchmark"
DEMO_BASE = REPO / "armswatch" / "demo" / "corpus" / "base"
PLACEHOLDER = "ARMSWATCHBENCHUNIQUEPARAGRAPH"
TITLE_PLACEHOLDER = "ARMSWATCHBENCHTITLE"


@dataclass
class Template:
    """A real page prepared for copying: the HTML split where the unique paragraph goes."""

    name: str  # "zyte/<item_id>" or "demo/<path>"
    head: str  # HTML before the unique paragraph, title placeholder in it
    tail: str
    title: str
    summary: str
    lang: str | None
    demo_path: str | None = None  # the original path of a demo page, rewritten in copies


def _first_paragraph_key(body: str) -> str:
    for para in body.splitlines():
        para = " ".join(para.split())
        if len(para) >= 25:
            return para[:40]
    return " ".join(body.split())[:40]


def _norm(text: str) -> str:
    return " ".join(text.split())


def _insert_marker(doc: lxml.html.HtmlElement, key: str | None) -> bool:
    """Put a placeholder <p> before the block holding `key` (or the first long <p>)."""
    target = None
    bodies = doc.xpath("//*[contains(@class, 'article-body') or @itemprop='articleBody']//p")
    if bodies:
        target = bodies[0]
    elif key:
        for el in doc.iter("p", "div", "section", "li", "blockquote", "h2", "h3"):
            own = _norm(el.text_content())
            if key in own and len(own) < len(key) + 4000:
                # the innermost element that holds the start of the article
                target = el
                if el.tag == "p":
                    break
    if target is None:
        for el in doc.iter("p"):
            if len(_norm(el.text_content())) >= 80:
                target = el
                break
    if target is None or target.getparent() is None:
        return False
    marker = lxml.html.Element("p")
    marker.text = PLACEHOLDER
    target.addprevious(marker)
    return True


def _with_title_placeholder(doc: lxml.html.HtmlElement) -> str:
    """Prefix the <title>, og:title and first <h1> with a placeholder; return the old title."""
    title = ""
    for el in doc.iter("title"):
        title = _norm(el.text_content())
        el.text = f"{TITLE_PLACEHOLDER} {el.text or ''}"
        break
    for el in doc.iter("meta"):
        if el.get("property") in ("og:title", "twitter:title") or el.get("name") in (
            "twitter:title",
        ):
            el.set("content", f"{TITLE_PLACEHOLDER} {el.get('content') or ''}")
    for el in doc.iter("h1"):
        el.text = f"{TITLE_PLACEHOLDER} {el.text or ''}"
        if not title:
            title = _norm(el.text_content())
        break
    return title


def _template(name: str, raw: str, key: str | None, demo_path: str | None) -> Template | None:
    doc = lxml.html.document_fromstring(raw)
    if not _insert_marker(doc, key):
        return None
    title = _with_title_placeholder(doc) or name
    lang = (doc.get("lang") or "").split("-")[0].lower() or None
    desc = ""
    for el in doc.iter("meta"):
        if el.get("name") == "description" or el.get("property") == "og:description":
            desc = _norm(el.get("content") or "")
            if desc:
                break
    out = lxml.html.tostring(doc, encoding="unicode", doctype="<!DOCTYPE html>")
    marker_html = f"<p>{PLACEHOLDER}</p>"
    if out.count(marker_html) != 1:
        return None
    head, tail = out.split(marker_html)
    return Template(name, head, tail, title, desc or (key or title), lang, demo_path)


def load_templates(verify: bool = True) -> list[Template]:
    """The real pages, prepared; pages whose copies would not extract to unique texts are left out.

    With `verify`, each template is extracted once with trafilatura and kept only when the
    unique paragraph shows in the text (about 8 s for the ~190 pages).
    """
    templates: list[Template] = []
    truth = json.loads((BENCH_CORPUS / "ground-truth.json").read_text("utf-8"))
    for path in sorted((BENCH_CORPUS / "html").glob("*.html.gz")):
        item = path.name.removesuffix(".html.gz")
        with gzip.open(path, "rt", encoding="utf8") as fh:
            raw = fh.read()
        key = _first_paragraph_key(truth.get(item, {}).get("articleBody", "")) or None
        t = _template(f"zyte/{item}", raw, key, None)
        if t is not None:
            templates.append(t)
    for path in sorted(DEMO_BASE.rglob("*.html")):
        rel = "/" + path.relative_to(DEMO_BASE).as_posix()
        raw = path.read_text("utf-8")
        t = _template(f"demo{rel}", raw, None, rel)
        if t is not None:
            templates.append(t)
    if verify:
        import trafilatura

        kept = []
        for t in templates:
            page = render_page(t, 0, 1, 0, "/news/000/check.html")
            text = trafilatura.extract(page, include_comments=False) or ""
            if "Bench dispatch 000000" in text:
                kept.append(t)
        templates = kept
    return templates


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, limit: int = 48) -> str:
    s = _SLUG.sub("-", text.lower()).strip("-")[:limit].strip("-")
    return s or "article"


def unique_paragraph(i: int, n: int, feed: int) -> str:
    return (
        f"Bench dispatch {i:06d}: this copy of the story was filed as item {i} of {n} "
        f"on wire {feed:03d}, reference code AW{i * 7919 % 1000003:07d}, for the "
        f"armswatch throughput benchmark."
    )


def _rss(feed: int, items: list[dict], now: datetime) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n<channel>\n',
        f"<title>Bench wire {feed:03d}</title>\n<link>__BASE__/</link>\n",
        f"<description>Benchmark feed {feed}</description>\n<language>en</language>\n",
        f"<lastBuildDate>{format_datetime(now, usegmt=True)}</lastBuildDate>\n",
    ]
    for it in items:
        parts.append(
            "<item>\n"
            f"<title>{html.escape(it['title'])}</title>\n"
            f"<link>__BASE__{html.escape(it['path'])}</link>\n"
            f'<guid isPermaLink="false">bench-{it["i"]:06d}</guid>\n'
            f"<pubDate>{format_datetime(it['published'], usegmt=True)}</pubDate>\n"
            f"<description>{html.escape(it['summary'])}</description>\n"
            "</item>\n"
        )
    parts.append("</channel>\n</rss>\n")
    return "".join(parts)


def _atom(feed: int, items: list[dict], now: datetime) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n',
        f"<title>Bench wire {feed:03d}</title>\n<id>urn:armswatch-bench:feed:{feed}</id>\n",
        f'<link href="__BASE__/"/>\n<updated>{now.isoformat()}</updated>\n',
    ]
    for it in items:
        parts.append(
            "<entry>\n"
            f"<title>{html.escape(it['title'])}</title>\n"
            f'<link rel="alternate" href="__BASE__{html.escape(it["path"])}"/>\n'
            f"<id>urn:armswatch-bench:{it['i']:06d}</id>\n"
            f"<published>{it['published'].isoformat()}</published>\n"
            f"<updated>{it['published'].isoformat()}</updated>\n"
            f"<summary>{html.escape(it['summary'])}</summary>\n"
            "</entry>\n"
        )
    parts.append("</feed>\n")
    return "".join(parts)


def _json_feed(feed: int, items: list[dict], now: datetime) -> str:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": f"Bench wire {feed:03d}",
        "home_page_url": "__BASE__/",
        "language": "en",
        "items": [
            {
                "id": f"bench-{it['i']:06d}",
                "url": f"__BASE__{it['path']}",
                "title": it["title"],
                "summary": it["summary"],
                "date_published": it["published"].isoformat(),
            }
            for it in items
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1)


FEED_KINDS = (("xml", _rss), ("atom", _atom), ("xml", _rss), ("json", _json_feed))


def sources_toml(feed_paths: list[str], concurrency: int) -> str:
    lines = [
        "# Benchmark sources: one host (127.0.0.1), no politeness delay. __BASE__ is the",
        "# server's base URL; bench/bench_pipeline.py writes sources.toml with it replaced.",
        "allow_private_hosts = true",
        "min_delay_seconds = 0",
        f"per_host_concurrency = {concurrency}",
        "",
    ]
    for path in feed_paths:
        name = Path(path).stem
        lines += [
            "[[source]]",
            f'name = "{name}"',
            f'url = "__BASE__{path}"',
            'tags = ["bench"]',
            "",
        ]
    return "\n".join(lines)


def render_page(t: Template, i: int, n: int, feed: int, path: str) -> str:
    title = f"[{i:06d}]"
    page = (
        t.head.replace(TITLE_PLACEHOLDER, title, 3)
        + f"<p>{unique_paragraph(i, n, feed)}</p>"
        + t.tail
    )
    if t.demo_path:
        page = page.replace(t.demo_path, path)
    return page


def generate(n: int, out: Path, per_feed: int = 100, concurrency: int = 16) -> dict:
    started = time.perf_counter()
    templates = load_templates()
    if out.exists():
        shutil.rmtree(out)
    site = out / "site"
    (site / "feeds").mkdir(parents=True)
    (site / "robots.txt").write_text("User-agent: *\nAllow: /\n", "utf-8")
    now = datetime.now(UTC).replace(microsecond=0)
    n_feeds = -(-n // per_feed)
    pages = []
    feed_paths = []
    total_bytes = 0
    for feed in range(n_feeds):
        (site / "news" / f"{feed:03d}").mkdir(parents=True)
        items = []
        for i in range(feed * per_feed, min(n, (feed + 1) * per_feed)):
            t = templates[i % len(templates)]
            path = f"/news/{feed:03d}/{i:06d}-{slug(t.title)}.html"
            body = render_page(t, i, n, feed, path).encode("utf-8")
            (site / path.lstrip("/")).write_bytes(body)
            total_bytes += len(body)
            items.append(
                {
                    "i": i,
                    "path": path,
                    "title": f"[{i:06d}] {t.title}",
                    "summary": t.summary[:300],
                    # recent: a live monitor's feeds list this week's stories
                    "published": now - timedelta(minutes=5 * (n - i)),
                }
            )
            pages.append({"i": i, "path": path, "template": t.name, "lang": t.lang})
        ext, render = FEED_KINDS[feed % len(FEED_KINDS)]
        fpath = f"/feeds/feed-{feed:03d}.{ext}"
        (site / fpath.lstrip("/")).write_text(render(feed, items, now), "utf-8")
        feed_paths.append(fpath)
    (out / "sources.template.toml").write_text(sources_toml(feed_paths, concurrency), "utf-8")
    empty = out / "empty"
    (empty / "site" / "feeds").mkdir(parents=True)
    (empty / "site" / "robots.txt").write_text("User-agent: *\nAllow: /\n", "utf-8")
    (empty / "site" / "feeds" / "empty.xml").write_text(_rss(0, [], now), "utf-8")
    (empty / "sources.template.toml").write_text(
        sources_toml(["/feeds/empty.xml"], concurrency), "utf-8"
    )
    manifest = {
        "n": n,
        "per_feed": per_feed,
        "feeds": feed_paths,
        "templates": len(templates),
        "bytes": total_bytes,
        "generated_at": now.isoformat(),
        "pages": pages,
    }
    (out / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    manifest["seconds"] = round(time.perf_counter() - started, 1)
    return manifest


def ensure(n: int, out: Path, per_feed: int = 100, concurrency: int = 16) -> dict:
    """The manifest of the corpus at `out`, generating it unless it already matches."""
    mf = out / "manifest.json"
    if mf.exists():
        manifest = json.loads(mf.read_text("utf-8"))
        if manifest.get("n") == n and manifest.get("per_feed") == per_feed:
            return manifest
    return generate(n, out, per_feed, concurrency)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=1000, help="number of article pages")
    ap.add_argument("--per-feed", type=int, default=100, help="items per feed")
    ap.add_argument("--concurrency", type=int, default=16, help="per_host_concurrency (≤ 16)")
    ap.add_argument("--out", type=Path, default=None, help="default bench/out/corpus-N")
    args = ap.parse_args(argv)
    out = args.out or REPO / "bench" / "out" / f"corpus-{args.n}"
    m = generate(args.n, out, args.per_feed, args.concurrency)
    print(
        f"{m['n']} pages from {m['templates']} templates, {len(m['feeds'])} feeds, "
        f"{m['bytes'] / 1e6:.0f} MB, in {m['seconds']} s -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
