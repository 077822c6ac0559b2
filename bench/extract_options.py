"""Cost and quality of trafilatura's options on the 181 real pages of the Zyte benchmark.

For each way of calling trafilatura — the floor's `extract()` with defaults,
the call armswatch makes, and cheaper variants — the CPU time a page
(process_time, so that other load on the machine counts less) and the
benchmark's own score (token 4-gram precision/recall/F1 against
ground-truth.json, the upstream evaluate.py method as described in the
corpus README). Also armswatch.tasks.extract.extract_page itself, which adds
decoding and language detection.

    python bench/extract_options.py [--rounds 1]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import trafilatura

CORPUS = (
    Path(__file__).resolve().parent.parent.parent
    / "shared"
    / "corpus"
    / "article-extraction-benchmark"
)
TOKEN = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)


def shingles(text: str) -> Counter:
    tokens = TOKEN.findall(text or "")
    grams = [tuple(tokens[i : i + 4]) for i in range(max(1, len(tokens) - 4 + 1))]
    return Counter(g for g in grams if g)


def score(truth: dict[str, str], pred: dict[str, str]) -> tuple[float, float, float]:
    precisions, recalls = [], []
    for key, true in truth.items():
        t, p = shingles(true), shingles(pred.get(key) or "")
        tp = fp = fn = 0
        for k in set(t) | set(p):
            ct, cp = t.get(k, 0), p.get(k, 0)
            tp += min(ct, cp)
            fp += max(0, cp - ct)
            fn += max(0, ct - cp)
        s = tp + fp + fn
        if s > 0:
            tp, fp, fn = tp / s, fp / s, fn / s
        prec = 1.0 if fp == fn == 0 else 0.0 if tp == fp == 0 else tp / (tp + fp)
        rec = 1.0 if fp == fn == 0 else 0.0 if tp == fn == 0 else tp / (tp + fn)
        if tp + fp > 0:
            precisions.append(prec)
        recalls.append(rec)
    p = statistics.mean(precisions) if precisions else 0.0
    r = statistics.mean(recalls) if recalls else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _bare(**kw):
    def run(html: str, url: str) -> str | None:
        doc = trafilatura.bare_extraction(html, url=url, **kw)
        return doc.text if doc is not None else None

    return run


def _armswatch_page(html: str, url: str) -> str | None:
    from datetime import UTC, datetime

    from armswatch.tasks.extract import extract_page
    from armswatch.tasks.models import FetchedPage

    page = FetchedPage(
        article_id="x",
        url=url,
        fetched_at=datetime.now(UTC),
        status=200,
        body=html.encode("utf-8"),
        content_type="text/html",
        encoding="utf-8",
    )
    out = extract_page(page, None)
    return out.text if out is not None else None


VARIANTS = {
    "extract() defaults  [floor (a)]": lambda h, u: trafilatura.extract(h),
    "extract(include_comments=False)": lambda h, u: trafilatura.extract(h, include_comments=False),
    "bare_extraction(no comments, metadata) [armswatch]": _bare(
        include_comments=False, with_metadata=True
    ),
    "bare_extraction(no comments, metadata, fast)": _bare(
        include_comments=False, with_metadata=True, fast=True
    ),
    "bare_extraction(no comments, no metadata)": _bare(include_comments=False, with_metadata=False),
    "bare_extraction(no comments, no metadata, fast)": _bare(
        include_comments=False, with_metadata=False, fast=True
    ),
    "bare_extraction(no comments, no metadata, fast, precision)": _bare(
        include_comments=False, with_metadata=False, fast=True, favor_precision=True
    ),
    "bare_extraction(no comments, no metadata, fast, no tables)": _bare(
        include_comments=False, with_metadata=False, fast=True, include_tables=False
    ),
    "extract(fast=True)": lambda h, u: trafilatura.extract(h, fast=True),
    "armswatch extract_page (decode + above + language)": _armswatch_page,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--only", default=None, help="substring of the variants to run")
    args = ap.parse_args(argv)
    truth_raw = json.loads((CORPUS / "ground-truth.json").read_text("utf-8"))
    pages = {}
    for key, item in truth_raw.items():
        with gzip.open(CORPUS / "html" / f"{key}.html.gz", "rt", encoding="utf8") as fh:
            pages[key] = (fh.read(), item["url"])
    truth = {k: v.get("articleBody", "") for k, v in truth_raw.items()}
    print(f"{len(pages)} pages; CPU ms a page (process_time), then precision / recall / F1")
    print(f"{'variant':52} {'cpu ms':>7} {'wall ms':>8} {'P':>6} {'R':>6} {'F1':>6}")
    for name, fn in VARIANTS.items():
        if args.only and args.only not in name:
            continue
        for html, url in list(pages.values())[:5]:  # warm caches
            fn(html, url)
        cpu, wall = [], []
        preds = {}
        for _ in range(args.rounds):
            c0, w0 = time.process_time(), time.perf_counter()
            for key, (html, url) in pages.items():
                preds[key] = fn(html, url)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        p, r, f1 = score(truth, preds)
        n = len(pages)
        print(
            f"{name:52} {1000 * min(cpu) / n:7.1f} {1000 * min(wall) / n:8.1f} "
            f"{p:6.3f} {r:6.3f} {f1:6.3f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
