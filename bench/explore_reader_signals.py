"""Offline exploration of ranking signals on a reader run's dump (bench_relevance --dump-tuning).

Reads the pickled tuning rows (each judged paperbot reader-day's signals under the shipped
model), opens the run's final store for the dense (LSA) vectors of candidates, seeds, likes and
dislikes, and scores blends with extra dense-similarity signals on the tuning readers (even
positions) and the held-out ones (odd), per pool, as bench_relevance's `blend_search` does.
Exploration only: whatever it suggests is then measured by a full run of the benchmark.

    .venv/bin/python -m bench.explore_reader_signals /tmp/tuning.shown.pkl
"""

from __future__ import annotations

import itertools
import json
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np

from bot.rank.index import PaperIndex
from bot.store import Store

K = 10


def _dense(index: PaperIndex, ids: list[str]) -> np.ndarray:
    rows = [index.dense.row(pid) for pid in ids]
    width = index.dense.dimensions
    return np.vstack([r if r is not None else np.zeros(width, dtype=np.float32) for r in rows]) if rows else np.zeros((0, width))


def features(dump: dict[str, Any]) -> list[dict[str, Any]]:
    """Each row with dense features added: liked_max, liked_mean, disliked_max."""
    store = Store.open(dump["database"])
    index = PaperIndex.load(store)
    out = []
    for row, ids in zip(dump["rows"], dump["candidates"], strict=True):
        i = row["position"]
        cand = _dense(index, ids)
        pos = _dense(index, [*dump["seeds"][i], *dump["likes"][i]])
        neg = _dense(index, dump["dislikes"][i])
        sims = cand @ pos.T if len(pos) else np.zeros((len(ids), 1))
        centroid = pos.mean(axis=0) if len(pos) else np.zeros(cand.shape[1])
        norm = float(np.linalg.norm(centroid)) or 1.0
        nsims = cand @ neg.T if len(neg) else np.zeros((len(ids), 1))
        extra = {
            "liked_max": np.clip(sims.max(axis=1), 0, 1),
            "liked_mean": np.clip(cand @ (centroid / norm), 0, 1),
            "liked_top2": np.clip(np.sort(sims, axis=1)[:, -2:].mean(axis=1), 0, 1),
            "disliked_max": np.clip(nsims.max(axis=1), 0, 1),
        }
        out.append({**row, **extra})
    store.close()
    return out


SIGNALS = ("subscription", "match", "topic", "base", "liked_max", "liked_mean", "liked_top2", "disliked_max")


def grid_scores(rows: list[dict[str, Any]], combos: np.ndarray) -> np.ndarray:
    """Capped precision@10 of every row under every combo of weights (combos x SIGNALS):
    an array rows x combos (all combos scored at once per row)."""
    out = np.zeros((len(rows), len(combos)))
    for n, row in enumerate(rows):
        signals = np.vstack([np.asarray(row[name], dtype=np.float64) for name in SIGNALS])
        scores = np.asarray(row["relevance"], dtype=np.float64)[None, :] + combos @ signals
        relevant = np.asarray(row["relevant"], dtype=np.float64)
        if scores.shape[1] > K:
            # Ties broken by position, as the stable sort of blend_search does.
            scores = scores - np.arange(scores.shape[1])[None, :] * 1e-9
            top = np.argpartition(-scores, K - 1, axis=1)[:, :K]
        else:
            top = np.tile(np.arange(scores.shape[1]), (len(combos), 1))
        out[n] = relevant[top].sum(axis=1) / min(K, row["available"])
    return out


def main(argv: list[str]) -> int:
    """Search blends with the dense signals; print the best on the tuning half, and shipped."""
    dump = pickle.loads(Path(argv[0]).read_bytes())
    rows = features(dump)
    pools = dump["pools"]
    grid = {
        "subscription": (0.0, 0.25, 0.5, 1.0),
        "match": (0.0, 0.1, 0.25, 0.5),
        "topic": (0.0, 0.2),
        "base": (0.0, 0.15),
        "liked_max": (0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
        "liked_mean": (0.0, 0.5, 1.0, 2.0),
        "liked_top2": (0.0, 1.0),
        "disliked_max": (0.0, -0.25, -0.5, -1.0),
    }
    combos = np.array(list(itertools.product(*(grid[name] for name in SIGNALS))))
    shipped = np.array([[0.5, 0.25, 0.0, 0.15, 0, 0, 0, 0], [0.0] * len(SIGNALS)])
    combos = np.vstack([shipped, combos])
    table = grid_scores(rows, combos)
    halves: dict[str, np.ndarray] = {}
    for pool, names in pools.items():
        members = set(names)
        for half, parity in (("tuning", 0), ("held_out", 1)):
            chosen = [n for n, r in enumerate(rows) if r["reader"] in members and r["position"] % 2 == parity]
            halves[f"{pool}|{half}"] = table[chosen].mean(axis=0)
    tuning = np.mean([v for k, v in halves.items() if k.endswith("|tuning")], axis=0)

    def describe(c: int) -> dict[str, Any]:
        return {
            "weights": {name: float(w) for name, w in zip(SIGNALS, combos[c], strict=True) if w},
            **{k: round(float(v[c]), 4) for k, v in halves.items()},
        }

    order = np.argsort(-tuning, kind="stable")
    report: dict[str, Any] = {"shipped": describe(0), "model_alone": describe(1)}
    report["best_on_tuning"] = [describe(int(c)) for c in order[:15]]
    dense = [SIGNALS.index(n) for n in ("liked_max", "liked_mean", "liked_top2", "disliked_max")]
    for name in ("liked_max", "liked_mean", "liked_top2", "disliked_max"):
        others = [d for d in dense if d != SIGNALS.index(name)]
        allowed = [int(c) for c in order if not combos[c, others].any()]
        report[f"best_with_only_{name}"] = describe(allowed[0])
    none = [int(c) for c in order if not combos[c, dense].any()]
    report["best_without_dense"] = describe(none[0])
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
