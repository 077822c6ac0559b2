"""Escaping web text, before it reaches Markdown, HTML or a chart label."""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urlsplit

# --------------------------------------------------------------------------

_BREAKS = re.compile(r"[\t\n\r\v\f\x85\u2028\u2029]")
# C0/C1 controls and the bidi overrides that can make text read differently
# from how it is stored.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")

# Backslash escapes for every character that can open Markdown syntax
# (emphasis, code, links, images, tables, headings, lists, autolinks, math),
# and entities for the three that can open HTML. One pass, so an escape is
# never escaped again.
_MARKDOWN_ESCAPES = str.maketrans(
    {c: "\\" + c for c in "\\`*_{}[]()#+-.!|~:$^@="} | {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
)
_URL_SAFE = ":/?#[]@!$&+,;=%-._~*"


def clean_text(text: object) -> str:
    """Web text as one plain line: line breaks become spaces, control characters go."""
    if text is None:
        return ""
    line = _INVISIBLE.sub("", _BREAKS.sub(" ", str(text)))
    return _SPACES.sub(" ", line).strip()


def escape_markdown(text: object) -> str:
    """Web text safe to place in Markdown prose or a table cell: it renders as the text itself."""
    return clean_text(text).translate(_MARKDOWN_ESCAPES)


def escape_html(text: object) -> str:
    """Web text safe to place in an HTML text node or a quoted attribute."""
    return html.escape(clean_text(text))


def safe_url(url: object) -> str | None:
    """An http(s) URL, percent-encoded so it cannot break out of a link or attribute; else None."""
    if not url:
        return None
    candidate = _INVISIBLE.sub("", _BREAKS.sub("", str(url))).strip()
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(candidate, safe=_URL_SAFE)


def markdown_link(label: object, url: object) -> str:
    """A Markdown link when the URL is http(s), else the label alone; both escaped."""
    target = safe_url(url)
    text = escape_markdown(label) or "link"
    return f"[{text}]({target})" if target else text


def html_link(label: object, url: object) -> str:
    """An HTML link when the URL is http(s), else the label alone; both escaped."""
    target = safe_url(url)
    text = escape_html(label) or "link"
    if not target:
        return text
    return f'<a href="{html.escape(target)}" rel="noopener noreferrer nofollow">{text}</a>'
