"""Summarise a py-spy raw (collapsed stacks) profile: where an armswatch run spends its time.

    py-spy record --rate 50 --subprocesses --format raw -o out.txt -- armswatch run …
    python bench/pyspy_summary.py out.txt [--top 25]

Prints the inclusive share of the stage functions (the first one found on a
stack, from the leaf, wins) and the functions with the most self time.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

# (label, regex on a frame "function (file:line)"); the innermost match labels the sample
STAGES = [
    ("detect: sentence matching (Matcher.find)", r"Matcher\.find"),
    ("detect: identity / lemmatize", r"[(/]tasks/identity\.py|simplemma/"),
    (
        "detect: other analysis",
        r"[(/]tasks/(detect|sentence|analysis|profile|attribution|facts)\.py",
    ),
    ("extract: language id (py3langid)", r"py3langid|detect_language"),
    ("extract: trafilatura", r"trafilatura/|justext/|htmldate/|courlan/"),
    ("extract: other", r"[(/]tasks/extract\.py"),
    ("text helpers (sentences, normalise)", r"[(/]tasks/text\.py"),
    ("fetch: http client", r"[(/]tasks/(http|fetch)\.py|httpx/|httpcore/|anyio/"),
    ("poll: feedparser", r"feedparser/|[(/]tasks/feeds\.py"),
    ("diff", r"[(/]tasks/diff\.py|difflib"),
    ("write/read: duckdb, arrow", r"[(/]warehouse/|[(/]tasks/load\.py|duckdb|pyarrow"),
    ("publish", r"[(/]tasks/publish\.py"),
    ("prefect", r"prefect/"),
    ("import / start-up", r"<frozen importlib|^<module>"),
]


def parse(path: Path) -> list[tuple[list[str], int]]:
    samples = []
    for line in path.read_text("utf-8", "replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples.append((stack.split(";"), int(count)))
    return samples


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("profile", type=Path)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    samples = parse(args.profile)
    total = sum(c for _, c in samples)
    if not total:
        print("no samples")
        return 1
    compiled = [(label, re.compile(rx)) for label, rx in STAGES]
    by_stage: Counter = Counter()
    by_process: Counter = Counter()
    self_time: Counter = Counter()
    idle = 0
    for frames, count in samples:
        by_process[frames[0] if frames and frames[0].startswith("process") else "?"] += count
        leaf = frames[-1] if frames else "?"
        self_time[re.sub(r":\d+\)$", ")", leaf)] += count
        label = "other"
        for frame in reversed(frames):
            hit = next((lab for lab, rx in compiled if rx.search(frame)), None)
            if hit:
                label = hit
                break
        by_stage[label] += count
        if re.search(r"^(wait|select|poll|epoll|_wait_for_tstate_lock|acquire) ", leaf):
            idle += count
    print(
        f"{args.profile}: {total} samples "
        "(active threads of every process; idle threads excluded by py-spy)"
    )
    print("\ninclusive, by stage (innermost labelled frame wins):")
    for label, count in by_stage.most_common():
        print(f"  {label:46} {count:7d} {count / total:7.1%}")
    print(
        "\nprocesses: "
        + ", ".join(f"{p[:40]}={c / total:.0%}" for p, c in by_process.most_common(6))
    )
    print(f"\ntop {args.top} functions by self time:")
    for frame, count in self_time.most_common(args.top):
        print(f"  {count / total:6.1%}  {frame[:140]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
