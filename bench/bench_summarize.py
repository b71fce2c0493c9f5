"""Offline summarizer and tagger: TL;DR quality, summary shape, throughput, tagger quality.

Prints one JSON object:
- `scitldr`: ROUGE-1/2/L F1 (x100) of the offline TL;DR on the SciTLDR-A dev split
  (`../shared/corpus/scitldr/SciTLDR-A-dev.jsonl`), best over each paper's targets and averaged
  over papers, with the `rouge-score` package and its Porter stemmer, as the field reports it
  (target ROUGE-1 >= 43). The first sentence and the best single sentence (the oracle marked in
  `source_labels`) are scored the same way, as reference points;
- `shape`: on the 392 real abstracts of `hf_trending_abstracts.jsonl`, the share (%) of TL;DRs
  and of key points that are cut ("…", "...", or a last word that is not a word of the
  abstract), that contain first person (we/our/us), that open with a dangling reference ("This
  framework…", "The proposed method…", "To be specific,…"), that are copied sentences, plus the
  share of empty sections, and of empty Results / Implications where the abstract states a
  result / an implication (by simple independent cues, see `_STATES_RESULT`); targets 0%, 0%,
  under 2%, and results empty only where the abstract states no result;
- `offline_abstracts_per_s`: offline summaries per second of CPU time on one core over the 392
  abstracts, best of `--rounds` rounds (target >= 500), and `offline_cpu_ms_per_abstract`, the
  same as CPU milliseconds per abstract, tagging included (`summarize_text` tags too), beside
  `offline_cpu_ms_per_abstract_without_tagging` (the tagger stubbed out) and the wall time of the
  best round (on a loaded machine wall time runs several times the CPU time);
  `deterministic`: two passes give equal summaries;
- `tagger_papers_per_s`, `tagger_micro_f1`: the offline tagger (speed, and micro-F1 against the
  hand-labelled `tests/data/labelled_topics.jsonl`, tuning and held-out halves);
- `fields`: how many corpus summaries have each section filled, and key-point counts.

The shape checks here are written independently of the summarizer's own validation in
`bot.enrich.summarize.text`, so the benchmark does not grade the code with its own rules.

    .venv/bin/python -m bench.bench_summarize [--rounds 5] [--quick]

`--quick` times one round instead of five (the quality figures are the same).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bot.core.models import Summary
from bot.enrich.summarize.offline import summarize_text
from bot.enrich.summarize.text import clean_tex
from bot.enrich.tagger import tag
from bot.enrich.taxonomy import topic_names

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpus"
CORPUS = SHARED / "hf_trending_abstracts.jsonl"
SCITLDR = SHARED / "scitldr" / "SciTLDR-A-dev.jsonl"
LABELLED = ROOT / "tests" / "data" / "labelled_topics.jsonl"
SECTIONS = ("summary", "methodology", "results", "implications")


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _timed(func: Callable[[str, str], object], rows: list[dict[str, Any]], rounds: int) -> tuple[float, float]:
    """CPU seconds (this process only, so other load on the machine counts less) and wall
    seconds of the best of `rounds` passes over `rows`; memoised sentence work is forgotten
    before each round."""
    from bot.enrich.summarize import offline

    best, best_wall = float("inf"), float("inf")
    for _ in range(rounds):
        forget = getattr(offline, "forget_memos", None)  # absent before the memos existed
        if forget is not None:
            forget()
        start, start_wall = time.process_time(), time.perf_counter()
        for row in rows:
            func(row["title"], row["abstract"])
        cpu = time.process_time() - start
        if cpu < best:
            best, best_wall = cpu, time.perf_counter() - start_wall
    return best, best_wall


def _rate(func: Callable[[str, str], object], rows: list[dict[str, Any]], rounds: int) -> float:
    """Calls per second of CPU time, best of `rounds` (see `_timed`)."""
    return len(rows) / _timed(func, rows, rounds)[0]


def _without_tagging(rows: list[dict[str, Any]], rounds: int) -> float:
    """CPU seconds of the best round of the offline summarizer with the tagger stubbed out."""
    from bot.enrich.summarize import offline

    real = offline.tag
    offline.tag = lambda *args, **kwargs: ()  # type: ignore[assignment]
    try:
        return _timed(summarize_text, rows, rounds)[0]
    finally:
        offline.tag = real  # type: ignore[assignment]


# --- SciTLDR ROUGE ------------------------------------------------------------------------------


def rouge_best_over_targets(candidates: list[str], targets: list[list[str]]) -> dict[str, float]:
    """Mean over papers of the best F1 over that paper's targets, per ROUGE variant, x100."""
    from rouge_score import rouge_scorer  # test extra; imported here so the module loads without it

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for candidate, paper_targets in zip(candidates, targets, strict=True):
        best = dict.fromkeys(totals, 0.0)
        for target in paper_targets:
            scores = scorer.score(target, candidate)
            for name in totals:
                best[name] = max(best[name], scores[name].fmeasure)
        for name in totals:
            totals[name] += best[name]
    return {name: round(100 * total / len(candidates), 1) for name, total in totals.items()}


def scitldr_report(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """ROUGE of the offline TL;DR and of the two extractive reference points on SciTLDR-A dev."""
    targets = [row["target"] for row in rows]
    tldrs = [summarize_text(row.get("title") or "", " ".join(row["source"])).tldr for row in rows]
    first = [row["source"][0] for row in rows]
    oracle = [row["source"][row["source_labels"].index(1)] if 1 in row["source_labels"] else row["source"][0]
              for row in rows]
    return {
        "papers": len(rows),
        "offline_tldr": rouge_best_over_targets(tldrs, targets),
        # The same figure on two fixed halves: rules are tried and tuned on the even papers (the
        # tuning half) and checked on the odd ones (the held-out half). The contribution weights
        # were set by hand on the whole split in an earlier session, so the held-out half is only
        # held out from the rules tuned since.
        "offline_tldr_tuning_half_even": rouge_best_over_targets(tldrs[::2], targets[::2]),
        "offline_tldr_heldout_half_odd": rouge_best_over_targets(tldrs[1::2], targets[1::2]),
        "first_sentence": rouge_best_over_targets(first, targets),
        "oracle_sentence": rouge_best_over_targets(oracle, targets),
        "tldr_mean_chars": round(sum(map(len, tldrs)) / len(tldrs), 1),
        "target_mean_chars": round(sum(len(t) for ts in targets for t in ts) / sum(map(len, targets)), 1),
    }


# --- shape of the summaries ---------------------------------------------------------------------

_FIRST_PERSON = re.compile(r"\b(?:we|our|ours|us|ourselves)\b", re.IGNORECASE)
_DANGLING = re.compile(
    r"^(?:this|these|that|those|such|it|its|they|their|them|"
    r"the (?:proposed|resulting|above|aforementioned|latter|former|same|new|novel|presented)\b|"
    r"the (?:method|approach|framework|model|algorithm|system|technique|pipeline|architecture|"
    r"scheme|solution|module|strategy|design|tool|benchmark|dataset)\b|"
    r"to be (?:specific|precise)|specifically|more specifically|moreover|however|furthermore|"
    r"additionally|in addition|finally|then|thus|hence|therefore|consequently|in particular|"
    r"besides|meanwhile|instead|also|as a result|to this end|based on (?:this|these)|"
    r"in contrast|on the other hand|nevertheless|nonetheless)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z0-9]+")
# Independent cues that an abstract states a result / an implication (for the empty-section
# figures): a number with a unit of improvement, a comparative claim or "results show"; a
# phrase that says why the work matters or what follows from it.
_STATES_RESULT = re.compile(
    r"\d(?:\.\d+)?\s?(?:%|×|x\b|-fold|fold\b|times\b|points?\b|pp\b)|\b(?:outperform\w*|"
    r"surpass\w*|state[- ]of[- ]the[- ]art|sota|better than|superior to)\b|\b(?:results|experiments|"
    r"evaluations?|analysis|analyses) (?:\w+ ){0,6}?(?:show|shows|demonstrate|demonstrates|indicate|"
    r"indicates|reveal|reveals|confirm|confirms)\b|\bwe (?:also |further )?(?:show|find|demonstrate|"
    r"prove|observe) that\b|\b(?:improv|reduc|boost|increas)\w* [^.;]{0,40}?\bby \d",
    re.IGNORECASE,
)
_STATES_IMPLICATION = re.compile(
    r"\b(?:pav\w* the way|implications?|opens? (?:up )?(?:new )?(?:avenues|directions|the door)|"
    r"shed\w* light on|we (?:hope|believe|envision)|underscor\w*|highlights? the (?:need|importance|"
    r"potential)|lays? the (?:groundwork|foundation)|(?:a|an|first|important|promising) steps? "
    r"(?:toward|towards)|future (?:work|research)|insights? (?:into|for))",
    re.IGNORECASE,
)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def is_cut(text: str, source_words: set[str]) -> bool:
    """Cut: ends in an ellipsis, or its last word is not a word of the source, nor the singular
    of one ("model" for "models"), but the beginning of one ("effici" of "efficient"), so it was
    cut mid-word. A whole word the rewrite brought in ("... developed here.", "models" of an
    expanded "LLMs") is no cut."""
    stripped = text.rstrip()
    if stripped.endswith(("…", "...")):
        return True
    words = _words(stripped)
    if not words:
        return False
    last = words[-1]
    if last in source_words or f"{last}s" in source_words or f"{last}es" in source_words:
        return False
    return any(word.startswith(last) for word in source_words)


def is_copied(text: str, sentences: list[list[str]]) -> bool:
    """Copied: apart from its first two words (room for "We propose" -> "Proposes"), the text is
    one contiguous run of words of a single source sentence (a sentence, or a cut-off head or
    tail of one), rather than a compression of it."""
    words = _words(text)
    body = " " + " ".join(words[2:] if len(words) > 4 else words) + " "
    return any(body.strip() and body in " " + " ".join(sentence) + " " for sentence in sentences)


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return round(100 * sum(values) / len(values), 1) if values else 0.0


def shape_report(rows: list[dict[str, Any]], summaries: list[Summary]) -> dict[str, Any]:
    """The shares (%) described in the module docstring."""
    from bot.enrich.summarize.text import split_sentences

    tldr_flags: dict[str, list[bool]] = {"cut": [], "first_person": [], "dangling": [], "copied": [],
                                         "over_200_chars": []}
    point_flags: dict[str, list[bool]] = {"cut": [], "first_person": [], "dangling": [], "over_160_chars": []}
    results_missing: list[bool] = []
    implications_missing: list[bool] = []
    for row, summary in zip(rows, summaries, strict=True):
        abstract = clean_tex(row["abstract"])
        source_words = set(_words(abstract + " " + clean_tex(row["title"])))
        sentences = [_words(s) for s in split_sentences(abstract)]
        tldr = summary.tldr
        tldr_flags["cut"].append(is_cut(tldr, source_words))
        tldr_flags["first_person"].append(bool(_FIRST_PERSON.search(tldr)))
        tldr_flags["dangling"].append(bool(_DANGLING.match(tldr)))
        tldr_flags["copied"].append(is_copied(tldr, sentences))
        tldr_flags["over_200_chars"].append(len(tldr) > 200)
        for point in summary.key_points:
            point_flags["cut"].append(is_cut(point, source_words))
            point_flags["first_person"].append(bool(_FIRST_PERSON.search(point)))
            point_flags["dangling"].append(bool(_DANGLING.match(point)))
            point_flags["over_160_chars"].append(len(point) > 160)
        if _STATES_RESULT.search(abstract):
            results_missing.append(not summary.results)
        if _STATES_IMPLICATION.search(abstract):
            implications_missing.append(not summary.implications)
    return {
        "abstracts": len(rows),
        "tldr_pct": {name: _share(flags) for name, flags in tldr_flags.items()},
        "key_points_pct": {name: _share(flags) for name, flags in point_flags.items()},
        "key_points_total": len(point_flags["cut"]),
        "empty_sections_pct": {name: _share(not getattr(s, name) for s in summaries) for name in SECTIONS},
        "results_empty_where_abstract_states_a_result_pct": _share(results_missing),
        "abstracts_stating_a_result": len(results_missing),
        "implications_empty_where_abstract_states_one_pct": _share(implications_missing),
        "abstracts_stating_an_implication": len(implications_missing),
        "tldr_mean_chars": round(sum(len(s.tldr) for s in summaries) / len(summaries), 1),
    }


# --- tagger ---------------------------------------------------------------------------------------


def tagger_scores(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Micro-averaged F1, precision and recall of `bot.enrich.tagger.tag` against hand labels
    (rows with title, text and topic names); the test suite holds the held-out F1 to 0.70."""
    tp = fp = fn = 0
    for row in rows:
        predicted, gold = set(topic_names(tag(row["title"], row["text"]))), set(row["topics"])
        tp += len(predicted & gold)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return {
        "f1": round(2 * precision * recall / (precision + recall), 3),
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "papers": len(rows),
    }


def main() -> None:
    """Run the benchmark and print its JSON report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds over the corpus (best is kept)")
    parser.add_argument("--quick", action="store_true", help="one timed round (for a quick re-run)")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    rows = _jsonl(CORPUS)
    labelled = _jsonl(LABELLED)

    summarize_text(rows[0]["title"], rows[0]["abstract"])  # warm up compiled patterns and tables
    summaries = [summarize_text(row["title"], row["abstract"]) for row in rows]
    again = [summarize_text(row["title"], row["abstract"]) for row in rows]
    fields: Counter[str] = Counter()
    for summary in summaries:
        for name in SECTIONS:
            fields[name] += bool(getattr(summary, name))
        fields[f"key_points_{len(summary.key_points)}"] += 1

    cpu, wall = _timed(summarize_text, rows, rounds)
    report = {
        "corpus_abstracts": len(rows),
        "scitldr": scitldr_report(_jsonl(SCITLDR)),
        "shape": shape_report(rows, summaries),
        "deterministic": summaries == again,
        "offline_abstracts_per_s": round(len(rows) / cpu),
        "offline_cpu_ms_per_abstract": round(1000 * cpu / len(rows), 3),
        "offline_cpu_ms_per_abstract_without_tagging": round(1000 * _without_tagging(rows, rounds) / len(rows), 3),
        "offline_wall_ms_per_abstract": round(1000 * wall / len(rows), 3),
        "tagger_papers_per_s": round(_rate(tag, rows, rounds)),
        "tagger_micro_f1": {
            "tune": tagger_scores([row for row in labelled if row["split"] == "tune"]),
            "heldout": tagger_scores([row for row in labelled if row["split"] == "heldout"]),
        },
        "fields": dict(sorted(fields.items())),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
