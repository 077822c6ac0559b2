"""What a run publishes: escaped markdown, the Atom feed, event specs and notices."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import feedparser
import pytest

from armswatch.tasks import publish

HOSTILE = [
    "<script>alert(1)</script>",
    "![x](javascript:alert(1))",
    "[click](http://evil.example)",
    "**bold** _it_ `code`",
    "a | b | c",
    "<img src=x onerror=alert(1)>",
    "line\nbreak\r\n# heading",
    "\u202eevil\u202c",
]
ROW = {
    "statement_id": "abc", "first_seen_at": datetime(2024, 6, 1, 12, tzinfo=UTC),
    "speaker": "John Kirby", "stance": "assert", "lang": "en", "source": "feed",
    "text": "North Korea has provided Russia with ballistic missiles, Kirby said.",
    "url": "https://news.example/a",
}  # fmt: skip


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_escaping_neutralises_web_text(text):
    out = publish.escape_markdown(text)
    assert "<" not in out and ">" not in out
    assert "\n" not in out and "\u202e" not in out
    unescaped = re.sub(r"\\.", "", out)  # what is left once every escaped character is gone
    assert not set("`*_[]()|!#") & set(unescaped)


@pytest.mark.parametrize("text", HOSTILE)
def test_summary_markdown_holds_no_raw_web_markup(text):
    row = {**ROW, "text": text, "speaker": text, "source": text, "url": "javascript:alert(1)"}
    change = {"url": "https://news.example/a", "title": text, "from_version": 1,
              "to_version": 2, "added_sentences": [text], "removed_sentences": [text]}
    md = publish.summary_markdown(publish.RunReport("n=1", [row], [], [change]))
    live = re.sub(r"\\.", "", md)  # markdown once escaped characters are taken out
    assert "<script" not in md and "<img" not in md
    assert "(javascript" not in live and "(http://evil" not in live


def test_statements_feed_is_valid_atom_and_escapes(tmp_path):
    rows = [ROW, {**ROW, "statement_id": "x", "text": "<script>alert(1)</script> & more",
                  "url": "javascript:alert(1)"}]
    path = publish.write_statements_feed(tmp_path / "s.atom", rows, "urn:test",
                                         datetime(2024, 6, 2, tzinfo=UTC))
    raw = path.read_text()
    assert "<script>" not in raw and "&lt;script&gt;" in raw
    parsed = feedparser.parse(raw)
    assert not parsed.bozo and parsed.version == "atom10"
    assert {e.id for e in parsed.entries} == {"urn:armswatch:statement:abc",
                                              "urn:armswatch:statement:x"}
    assert all("javascript" not in link.href for e in parsed.entries for link in e.get("links", []))


def test_event_specs_name_speaker_stance_source_and_url():
    event = publish.statement_event(ROW)
    assert event["event"] == "armswatch.statement.new"
    assert event["resource"]["armswatch.speaker"] == "John Kirby"
    assert event["resource"]["armswatch.stance"] == "assert"
    assert event["related"][0]["armswatch.url"] == ROW["url"]
    assert json.dumps(event["payload"])  # payloads must serialise


def test_notify_posts_to_a_webhook(replay_server):
    url = replay_server.base_url.replace("http://", "json://") + "/hook"
    title, body = publish.notice_text(publish.RunReport("", [ROW], [], []))
    assert publish.notify([url], title, body)
    posts = [r for r in replay_server.requests if r.method == "POST"]
    assert len(posts) == 1 and posts[0].path == "/hook"
    sent = json.loads(posts[0].body)
    assert sent["title"] == "armswatch: 1 new statement" and "Kirby" in sent["message"]
