"""Memory of the page workers: run a WorkerPool over benchmark pages, print each child's smaps.

    python bench/mem_workers.py --pages 600 --workers 2

The pages are the generated corpus's (`bench/gen_corpus.py`, bench/out/corpus-10000 by
default). Printed per process: RSS, PSS, and how much of it is shared with the others or the
process's own, from /proc/<pid>/smaps_rollup (Linux).
"""

from __future__ import annotations

import argparse
import glob
from datetime import UTC, datetime
from pathlib import Path

import psutil

from armswatch.tasks import process
from armswatch.tasks.detect import Detector
from armswatch.tasks.models import FetchedPage

FIELDS = ("Rss", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty")


def rollup(pid: int) -> dict[str, int]:
    """smaps_rollup of a process, in MB."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[-1] == "kB":
            out[parts[0].rstrip(":")] = int(parts[1]) // 1024
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="bench/out/corpus-10000")
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    files = sorted(glob.glob(f"{args.corpus}/site/**/*.html", recursive=True))[: args.pages]
    if not files:
        raise SystemExit(f"no pages under {args.corpus}/site: run bench/gen_corpus.py first")
    now = datetime.now(UTC)
    works = [
        process.Work(
            FetchedPage(str(i), f"http://127.0.0.1/{i}", now, 200,
                        body=Path(f).read_bytes(), content_type="text/html"),
            None,
            None,
        )
        for i, f in enumerate(files)
    ]  # fmt: skip
    with process.WorkerPool(Detector.from_profile(), args.workers) as pool:
        for start in range(0, len(works), args.batch):
            pool.submit(works[start : start + args.batch]).result()
        print(f"{len(works)} pages through {args.workers} workers; MB per process:")
        print(f"{'pid':>8} {'process':<16}" + "".join(f"{f:>15}" for f in FIELDS))
        for child in psutil.Process().children(recursive=True):
            cmd = " ".join(child.cmdline())
            role = "resource tracker" if "resource_tracker" in cmd else "worker/server"
            figures = rollup(child.pid)
            row = "".join(f"{figures.get(f, 0):>15}" for f in FIELDS)
            print(f"{child.pid:>8} {role:<16}{row}")


if __name__ == "__main__":
    main()
