"""Backfill: sitemaps (and indexes), URL lists and feed archives into the same pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from armswatch.demo.server import ReplayServer
from armswatch.flows.backfill import backfill
from armswatch.tasks import backfill as listing
from armswatch.tasks import load
from armswatch.tasks.http import HttpPolicy
from armswatch.warehouse.db import Warehouse

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def site():
    with ReplayServer([FIXTURES / "backfill", FIXTURES / "site" / "v1"]) as server:
        yield server


def local() -> HttpPolicy:
    return HttpPolicy(allow_private_hosts=True, min_delay_seconds=0.0)


def test_sitemap_index_is_followed_once_and_urls_deduplicated(site):
    urls = listing.collect(f"{site.base_url}/sitemap_index.xml", None, local())
    assert [u.url for u in urls] == [
        f"{site.base_url}/news/containers.html",
        f"{site.base_url}/news/missiles.html",
    ]
    assert urls[0].title.startswith("Seoul says") and urls[0].published_at.year == 2024
    fetched = [r.path for r in site.requests if r.path.startswith("/sitemap")]
    assert fetched == ["/sitemap_index.xml", "/sitemap_news.xml"]


def test_sitemap_refuses_private_addresses_by_default(site):
    with pytest.raises(listing.ListingError, match="cannot fetch"):
        listing.collect(f"{site.base_url}/sitemap_index.xml", None, HttpPolicy())
    assert site.requests == []


def test_url_list_skips_comments_and_junk(tmp_path):
    path = tmp_path / "urls.txt"
    path.write_text("# a list\nhttps://news.example/a?utm_source=x\n\nnot a url\nfile:///etc/passwd\n")
    assert [u.url for u in listing.read_url_list(path)] == ["https://news.example/a"]


def test_not_a_sitemap_is_a_clear_error():
    with pytest.raises(listing.ListingError, match="not a sitemap"):
        listing.parse_sitemap(b"")


@pytest.mark.usefixtures("prefect_harness")
def test_backfill_flow_stores_what_the_sitemap_lists(site, tmp_path):
    db = tmp_path / "w.duckdb"
    seen = []
    from armswatch.flows.backfill import PROGRESS

    token = PROGRESS.set(lambda done, total, counts: seen.append((done, total)))
    try:
        result = backfill(sitemap=f"{site.base_url}/sitemap_index.xml", db=str(db),
                          allow_private_hosts=True, min_delay_seconds=0)
    finally:
        PROGRESS.reset(token)
    assert result.counts.new_articles == 2 and result.counts.entries_new == 2
    assert seen[-1] == (2, 2)
    with Warehouse(str(db)).connect(read_only=True) as con:
        sources = con.execute("SELECT DISTINCT source FROM articles").fetchall()
        assert sources == [("backfill",)]
    # What a backfill finds is history: the next monitor run must not announce it.
    assert result.counts.new_statements > 0
    assert load.unannounced_statements(Warehouse(str(db))) == []
    again = backfill(sitemap=f"{site.base_url}/sitemap_index.xml", db=str(db),
                     allow_private_hosts=True, min_delay_seconds=0)
    assert again.counts.new_articles == 0 and again.counts.entries_new == 0
