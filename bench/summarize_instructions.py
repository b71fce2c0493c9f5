"""Instructions per offline summary, counted by valgrind's callgrind (repeatable under any load).

Runs this module twice under `valgrind --tool=callgrind`, once summarizing the first N abstracts
of `../shared/corpus/hf_trending_abstracts.jsonl` (after one warm-up summary that compiles the
patterns and loads the tables) and once summarizing none, and prints one JSON object with the
difference per abstract, in millions of instructions, with tagging and with the tagger stubbed
out. Wall-clock time under callgrind is ~50x native; on the shared machine the full run takes a
few minutes.

    .venv/bin/python -m bench.summarize_instructions [--abstracts 392] [--quick]

`--quick` counts 100 abstracts instead of all 392 (the per-abstract figure moves by a few %).
`PYTHONHASHSEED` is fixed at 0 in every run so set and dict orders repeat; a first run outside
valgrind compiles changed modules, so that no counted run pays for it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "hf_trending_abstracts.jsonl"


def _summarize(count: int, tagging: bool) -> None:
    """The measured work: one warm-up summary, then `count` summaries."""
    from bot.enrich.summarize import offline

    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    offline.summarize_text(rows[0]["title"], rows[0]["abstract"])
    offline.forget_memos()
    if not tagging:
        offline.tag = lambda *args, **kwargs: ()  # type: ignore[assignment]
    for row in rows[:count]:
        offline.summarize_text(row["title"], row["abstract"])


def _instructions(count: int, tagging: bool) -> int:
    """Total instructions callgrind counts for one run of `_summarize`."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m",
                   "bench.summarize_instructions", "--run", str(count)] + ([] if tagging else ["--no-tagging"])
        result = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "0"},
                                capture_output=True, text=True, check=True)
        found = re.search(r"Collected : (\d+)", result.stderr)
        if found:
            return int(found.group(1))
        totals = re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE)
        if not totals:
            raise RuntimeError("no instruction count in callgrind's output")
        return int(totals.group(1))


def main() -> None:
    """Count and print (see the module docstring)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--abstracts", type=int, default=392, help="abstracts to summarize")
    parser.add_argument("--quick", action="store_true", help="100 abstracts")
    parser.add_argument("--run", type=int, help=argparse.SUPPRESS)  # the measured child process
    parser.add_argument("--no-tagging", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run is not None:
        _summarize(args.run, not args.no_tagging)
        return
    count = 100 if args.quick else args.abstracts
    # One run outside valgrind first, so that no counted run pays for compiling changed modules
    # to bytecode (that would inflate the 0-abstract run and deflate the difference).
    subprocess.run([sys.executable, "-m", "bench.summarize_instructions", "--run", "1"], cwd=ROOT, check=True)
    base = _instructions(0, True)
    with_tagging = _instructions(count, True)
    base_untagged = _instructions(0, False)
    without_tagging = _instructions(count, False)
    print(json.dumps({
        "abstracts": count,
        "million_instructions_per_abstract": round((with_tagging - base) / count / 1e6, 2),
        "million_instructions_per_abstract_without_tagging": round((without_tagging - base_untagged) / count / 1e6, 2),
        "startup_million_instructions": round(base / 1e6),
    }, indent=2))


if __name__ == "__main__":
    main()
