"""Benchmark the statement detector: shared scorer figures on seed, dev and test, and throughput."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from armswatch.tasks.detect import Detector, detect_documents
from armswatch.tasks.text import split_sentences

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEED_ID = "000_c6e63929b4a9c927.txt"


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _datasets(shared: Path, names: Iterable[str]) -> list[tuple[str, Path, list[dict]]]:
    """(name, gold file, documents) for each dataset that exists here."""
    out = []
    for name in names:
        if name == "seed":
            gold, text = shared / "eval/seed_statements.jsonl", shared / "seed" / SEED_ID
            if gold.exists() and text.exists():
                doc = {"id": SEED_ID, "text": text.read_text(encoding="utf-8"), "lang": "en"}
                out.append((name, gold, [doc]))
            else:
                print(f"seed: skipped, {gold} or {text} is missing", file=sys.stderr)
        else:
            gold = REPO / "tests/data" / f"detect_{name}.jsonl"
            rows = _jsonl(gold)
            out.append(
                (name, gold, [{"id": r["id"], "text": r["text"], "lang": r["lang"]} for r in rows])
            )
    return out


def _errors(gold: Path, predicted: list[dict]) -> list[str]:
    """Rows of a one-sentence-per-document set that the detector got wrong."""
    first: dict[str, dict] = {}
    for row in predicted:
        first.setdefault(row["doc_id"], row)
    lines = []
    for row in _jsonl(gold):
        if "doc" in row:
            continue
        got = first.get(row["id"])
        if bool(got) != row["relevant"]:
            lines.append(f"{'FN' if row['relevant'] else 'FP'} {row['id']}: {row['text'][:150]}")
        elif got and (got["stance"] != row["stance"] or _speaker_wrong(row, got.get("speaker"))):
            lines.append(
                f"SP {row['id']}: gold={row['speaker']}/{row['stance']} "
                f"got={got['speaker']}/{got['stance']}: {row['text'][:110]}"
            )
    return lines


def _speaker_wrong(row: dict, speaker: str | None) -> bool:
    def norm(s: str) -> str:
        return " ".join(s.casefold().replace("-", " ").replace("'s", "").split())

    if row["speaker"] is None:
        return bool(speaker)
    if not speaker:
        return True
    p = norm(speaker)
    names = [norm(n) for n in [row["speaker"], *row["aliases"]]]
    return not any(n and (n in p or (len(p) >= 3 and p in n)) for n in names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", default="seed,dev,test", help="comma-separated: seed, dev, test")
    parser.add_argument("--profile", default="nk_russia", help="bundled profile name or TOML path")
    parser.add_argument(
        "--shared", type=Path, default=SHARED, help="the shared folder (eval, seed)"
    )
    parser.add_argument(
        "--repeat", type=int, default=20, help="passes over all sets for throughput"
    )
    parser.add_argument("--out", type=Path, help="keep the JSONL output in this folder")
    parser.add_argument("--errors", action="store_true", help="list wrong rows (dev/test)")
    args = parser.parse_args(argv)

    scorer = args.shared / "eval/score_detect.py"
    datasets = _datasets(args.shared, [s.strip() for s in args.sets.split(",") if s.strip()])
    with tempfile.TemporaryDirectory(prefix="bench-detect-") as tmp:
        out_dir = args.out or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, gold, docs in datasets:
            rows = list(detect_documents(docs, Detector.from_profile(args.profile)))
            predicted = out_dir / f"{name}.jsonl"
            predicted.write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
            )
            print(f"== {name}: {len(docs)} documents, {len(rows)} statements ({predicted})")
            if scorer.exists():
                result = subprocess.run(
                    [sys.executable, str(scorer), str(gold), str(predicted)],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                print(result.stdout.rstrip() or result.stderr.rstrip())
            else:
                print(f"(no scorer at {scorer})")
            if args.errors and name != "seed":
                print("\n".join(_errors(gold, rows)) or "no errors")

    all_docs = [doc for _, _, docs in datasets for doc in docs]
    sentences = sum(len(split_sentences(d["text"], d.get("lang"))) for d in all_docs)
    detector = Detector.from_profile(args.profile)
    list(detect_documents(all_docs[:1], detector))  # compile the lexicons outside the timing
    started = time.perf_counter()
    for _ in range(args.repeat):
        for _ in detect_documents(all_docs, detector):
            pass
    elapsed = time.perf_counter() - started
    total = sentences * args.repeat
    print(
        f"throughput: {total} sentences in {elapsed:.2f}s = {total / elapsed:,.0f} sentences/s "
        f"({len(all_docs) * args.repeat / elapsed:,.0f} documents/s, index {len(detector.index)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
