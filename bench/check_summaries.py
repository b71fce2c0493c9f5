"""Whether a change to the offline summarizer left its output byte-identical.

Summarizes the 392 real abstracts of `../shared/corpus/hf_trending_abstracts.jsonl`, the 619
abstracts of the SciTLDR-A dev split and the examples of `tests/data/summary_examples.jsonl`,
and either saves every summary (all fields but `prompt_version`, which a rule change bumps on
purpose) to a JSON file, or compares the summaries with such a file and prints which papers and
fields differ, with the old and new text. A speed-up must leave the output unchanged; a rule
change should change only what it meant to.

    .venv/bin/python -m bench.check_summaries --save /tmp/summaries_before.json
    .venv/bin/python -m bench.check_summaries --against /tmp/summaries_before.json [--show 20]

Prints one JSON object (`papers`, `changed`, `changed_by_corpus`, `examples`); the exit status
is 1 when `--against` finds a difference.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.core.models import Summary
from bot.enrich.summarize.offline import summarize_text

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpus"
CORPORA = {
    "hf": SHARED / "hf_trending_abstracts.jsonl",
    "scitldr_dev": SHARED / "scitldr" / "SciTLDR-A-dev.jsonl",
    "examples": ROOT / "tests" / "data" / "summary_examples.jsonl",
}
FIELDS = ("tldr", "key_points", "summary", "methodology", "results", "implications", "topics")


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _abstract(row: dict[str, Any]) -> str:
    source = row.get("source")
    return " ".join(source) if isinstance(source, list) else str(row.get("abstract", ""))


def _as_record(summary: Summary) -> dict[str, Any]:
    return {name: list(value) if isinstance(value, tuple) else value
            for name in FIELDS for value in (getattr(summary, name),)}


def all_summaries() -> dict[str, dict[str, Any]]:
    """Every corpus paper's summary, keyed "<corpus>/<row number>"."""
    out: dict[str, dict[str, Any]] = {}
    for corpus, path in CORPORA.items():
        for number, row in enumerate(_rows(path)):
            out[f"{corpus}/{number}"] = _as_record(summarize_text(row.get("title") or "", _abstract(row)))
    return out


def main() -> None:
    """Save or compare (see the module docstring)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="write the summaries to this JSON file")
    group.add_argument("--against", type=Path, help="compare the summaries with this JSON file")
    parser.add_argument("--show", type=int, default=10, help="differences to print in full")
    args = parser.parse_args()
    now = all_summaries()
    if args.save:
        args.save.write_text(json.dumps(now, ensure_ascii=False, indent=0), encoding="utf-8")
        print(json.dumps({"papers": len(now), "saved": str(args.save)}))
        return
    before: dict[str, dict[str, Any]] = json.loads(args.against.read_text(encoding="utf-8"))
    changed = sorted(key for key in now.keys() | before.keys() if now.get(key) != before.get(key))
    by_corpus = {corpus: sum(key.startswith(corpus + "/") for key in changed) for corpus in CORPORA}
    examples = []
    for key in changed[: args.show]:
        old, new = before.get(key) or {}, now.get(key) or {}
        examples.append({"paper": key, **{name: {"before": old.get(name), "after": new.get(name)}
                                          for name in FIELDS if old.get(name) != new.get(name)}})
    print(json.dumps({"papers": len(now), "changed": len(changed), "changed_by_corpus": by_corpus,
                      "examples": examples}, ensure_ascii=False, indent=1))
    sys.exit(1 if changed else 0)


if __name__ == "__main__":
    main()
