"""Extraction: real pages, the feed-summary fallback, and pages that fight back."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

from armswatch.tasks.extract import extract_page
from armswatch.tasks.models import FetchedPage, FetchRequest
from tests.helpers import shared_path

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def page(body: bytes | None, encoding: str | None = "utf-8", **kw) -> FetchedPage:
    return FetchedPage("a", "https://news.example/a", NOW, 200, body=body, encoding=encoding, **kw)


def request(summary: str | None = "Seoul says Pyongyang shipped millions of shells to Russia."):
    return FetchRequest("a", "https://news.example/a", "feed", feed_title="Feed title",
                        feed_summary=summary, lang="en")


ARTICLE = """<!doctype html><html lang="de"><head><title>Nordkorea liefert Granaten</title>
<meta property="article:published_time" content="2024-03-02T08:00:00+01:00"></head><body>
<nav><a href="/">Start</a> <a href="/politik">Politik</a></nav>
<article><h1>Nordkorea liefert Granaten</h1>
<p>Nordkorea hat nach Angaben des südkoreanischen Verteidigungsministers Shin Won Sik
rund 6700 Container mit Munition an Russland geliefert. Das entspreche mehr als drei
Millionen Artilleriegranaten, sagte Shin in Seoul.</p>
<p>Die Bundesregierung verurteilte die Lieferungen als klaren Verstoß gegen Resolutionen
des UN-Sicherheitsrats. Moskau und Pjöngjang bestreiten die Waffengeschäfte.</p>
</article><footer>Impressum · Datenschutz · Kontakt</footer></body></html>"""


def test_extracts_text_title_date_and_language():
    result = extract_page(page(ARTICLE.encode()), request())
    assert result is not None and result.method == "trafilatura"
    assert "6700 Container" in result.text and "Impressum" not in result.text
    assert result.title == "Nordkorea liefert Granaten"
    assert result.published_at is not None and result.published_at.year == 2024
    assert result.lang == "de"


def test_falls_back_to_the_feed_summary_and_says_so():
    result = extract_page(page(b"<html><body><div id=app></div></body></html>"), request())
    assert result is not None and result.method == "feed-summary"
    assert result.text.startswith("Seoul says") and result.title == "Feed title"


def test_nothing_to_keep_is_none():
    assert extract_page(page(b"<html></html>"), request(summary=None)) is None
    assert extract_page(page(None), request(summary="  ")) is None


def test_hostile_pages_cost_nothing_but_themselves():
    hostile = [
        b"\x00\x01\x02" * 1000,
        b"<html>" + b"<div>" * 20000 + b"deep" + b"</div>" * 20000 + b"</html>",
        b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;'>"
        b"]><x>&b;&b;</x>",
        "<html><body><p>caf\u00e9 \udcff</p></body></html>".encode("utf-8", "surrogateescape"),
    ]
    pages = [page(body, encoding=None) for body in hostile]
    results = [extract_page(p, request()) for p in pages]
    assert len(results) == len(pages)
    assert all(r is None or r.method == "feed-summary" for r in results)


def test_lying_charset_is_survived():
    body = ARTICLE.encode("utf-8")
    result = extract_page(page(body, encoding="utf-16"), request())
    assert result is not None and "Container" in result.text


def test_real_news_pages_match_their_ground_truth():
    folder = shared_path("corpus", "article-extraction-benchmark")
    truth = json.loads((folder / "ground-truth.json").read_text())
    names = sorted(truth)[:12]
    pages = [
        FetchedPage(name, f"https://bench.example/{name}", NOW, 200,
                    body=gzip.decompress((folder / "html" / f"{name}.html.gz").read_bytes()))
        for name in names
    ]
    results = [extract_page(p) for p in pages]
    overlaps = []
    for name, result in zip(names, results, strict=True):
        expected = set(truth[name]["articleBody"].split())
        got = set(result.text.split()) if result else set()
        overlaps.append(len(expected & got) / max(1, len(expected)))
    assert sum(overlaps) / len(overlaps) > 0.8
