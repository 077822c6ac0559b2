"""Benchmark the statement detector: shared scorer figures per labelled set, and throughput."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from armswatch.tasks.detect import Detector, detect_documents
from armswatch.tasks.text import split_sentences

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEMO = REPO / "armswatch/demo/corpus"
SEED_ID = "000_c6e63929b4a9c927.txt"
SETS = "seed,dev,test,test2,demo"


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _demo_documents() -> list[dict]:
    """The demo corpus pages as the monitor sees them: extracted, cycle 1 then cycle 2.

    Document ids are the page paths, `#v2` for the cycle-2 version of the updated
    page, as in `expected_sentences.jsonl`.
    """
    from armswatch.tasks.extract import extract_page
    from armswatch.tasks.models import FetchedPage

    expected = json.loads((DEMO / "expected.json").read_text(encoding="utf-8"))
    updated = set(expected["cycle2_changes"]["updated"])
    docs = []
    for page in expected["pages"]:
        body = (DEMO / page["layer"] / page["path"].lstrip("/")).read_bytes()
        url = f"http://demo.invalid{page['path']}"
        text = extract_page(FetchedPage(page["path"], url, datetime.now(UTC), 200, body=body))
        if text is None:
            continue
        second = page["cycle"] == 2 and page["path"] in updated
        doc_id = page["path"] + ("#v2" if second else "")
        docs.append({"id": doc_id, "text": text.text, "lang": text.lang, "title": text.title})
    return docs


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
        elif name == "demo":
            out.append((name, DEMO / "expected_sentences.jsonl", _demo_documents()))
        else:
            gold = REPO / "tests/data" / f"detect_{name}.jsonl"
            if not gold.exists():
                print(f"{name}: skipped, {gold} is missing", file=sys.stderr)
                continue
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


def _summary(name: str, out: str) -> str | None:
    """One table row from the scorer's output."""

    def f1(label: str) -> str:
        m = re.search(rf"relevance\[{label}\]: .*F1=([\d.]+) \(tp=(\d+) fp=(\d+) fn=(\d+)", out)
        if not m:
            return "-"
        return "-" if m.group(2) == m.group(4) == "0" else m.group(1)

    def identity(kind: str) -> str:
        m = re.search(rf"identity \[{kind}\].*F1=([\d.]+) \(tp=(\d+) fp=(\d+) fn=(\d+)", out)
        if not m:
            return "-"
        pairs = int(m.group(2)) + int(m.group(3)) + int(m.group(4))
        return f"{m.group(1)} ({pairs})"

    speaker = re.search(r"speaker accuracy .* = ([\d.]+)", out)
    stance = re.search(r"stance accuracy .* = ([\d.]+)", out)
    if not (speaker and stance):
        return None
    return (
        f"| {name} | {f1('all')} | {f1('en')} | {f1('xx')} | {speaker.group(1)} | "
        f"{stance.group(1)} | {identity('same-language')} | {identity('cross-language')} |"
    )


def _throughput(docs: list[dict], profile: str, repeat: int) -> None:
    """Sentences per second on one core: the analyse phase alone, and detect (both phases)."""
    sentences = sum(len(split_sentences(d["text"], d.get("lang"))) for d in docs)
    detector = Detector.from_profile(profile)
    list(detect_documents(docs, detector))  # compile the lexicons outside the timing

    def timed(step) -> float:
        started = time.process_time()
        for _ in range(repeat):
            for doc in docs:
                step(doc)
        return time.process_time() - started

    def analyse(doc: dict) -> None:
        detector.analyse(str(doc["id"]), doc["text"], doc.get("lang"), title=doc.get("title"))

    def detect(doc: dict) -> None:
        fresh.detect(str(doc["id"]), doc["text"], doc.get("lang"), title=doc.get("title"))

    analysed = timed(analyse)
    fresh = Detector(detector.profile)  # an index that grows as in a real run
    detected = timed(detect)
    total = sentences * repeat
    print(
        f"throughput ({len(docs)} documents, {sentences} sentences, x{repeat}, one core): "
        f"analyse {total / analysed:,.0f} sentences/s; detect {total / detected:,.0f} "
        f"sentences/s ({len(docs) * repeat / detected:,.0f} documents/s, index {len(fresh.index)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", default=SETS, help=f"comma-separated, of: {SETS}")
    parser.add_argument("--profile", default="nk_russia", help="bundled profile name or TOML path")
    parser.add_argument(
        "--shared", type=Path, default=SHARED, help="the shared folder (eval, seed)"
    )
    parser.add_argument(
        "--repeat", type=int, default=20, help="passes over all sets for throughput (0: none)"
    )
    parser.add_argument("--out", type=Path, help="keep the JSONL output in this folder")
    parser.add_argument("--errors", action="store_true", help="list wrong rows (one-row sets)")
    args = parser.parse_args(argv)

    scorer = args.shared / "eval/score_detect.py"
    datasets = _datasets(args.shared, [s.strip() for s in args.sets.split(",") if s.strip()])
    table = [
        "| set | relevance F1 | en F1 | non-en F1 | speaker | stance | identity same-lang "
        "(pairs) | identity cross-lang (pairs) |",
        "|---|---|---|---|---|---|---|---|",
    ]
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
                row = _summary(name, result.stdout)
                if row:
                    table.append(row)
            else:
                print(f"(no scorer at {scorer})")
            if args.errors and name not in ("seed", "demo"):
                print("\n".join(_errors(gold, rows)) or "no errors")
    print("\n" + "\n".join(table))
    if args.repeat > 0:
        _throughput([doc for _, _, docs in datasets for doc in docs], args.profile, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
