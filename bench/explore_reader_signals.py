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
import statistics
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


def precision(rows: list[dict[str, Any]], weights: dict[str, float]) -> float:
    """Mean capped precision@10 of relevance + sum(weight x signal)."""
    values = []
    for row in rows:
        score = np.asarray(row["relevance"], dtype=np.float64).copy()
        for name, w in weights.items():
            if w:
                score = score + w * np.asarray(row[name], dtype=np.float64)
        top = np.argsort(-score, kind="stable")[:K]
        values.append(float(np.asarray(row["relevant"])[top].sum()) / min(K, row["available"]))
    return statistics.fmean(values) if values else 0.0


def evaluate(rows: list[dict[str, Any]], pools: dict[str, list[str]], weights: dict[str, float]) -> dict[str, dict[str, float]]:
    """Per pool and half: mean capped precision@10."""
    out: dict[str, dict[str, float]] = {}
    for pool, names in pools.items():
        members = set(names)
        in_pool = [r for r in rows if r["reader"] in members]
        out[pool] = {
            "tuning": round(precision([r for r in in_pool if r["position"] % 2 == 0], weights), 4),
            "held_out": round(precision([r for r in in_pool if r["position"] % 2 == 1], weights), 4),
        }
    return out


def main(argv: list[str]) -> int:
    """Search blends with the dense signals; print the best on the tuning half, and shipped."""
    dump = pickle.loads(Path(argv[0]).read_bytes())
    rows = features(dump)
    pools = dump["pools"]
    shipped = {"subscription": 0.5, "match": 0.25, "topic": 0.0, "base": 0.15}
    grid = {
        "subscription": (0.0, 0.25, 0.5, 1.0),
        "match": (0.0, 0.1, 0.25, 0.5),
        "topic": (0.0, 0.2),
        "base": (0.0, 0.15),
        "liked_max": (0.0, 0.5, 1.0, 2.0, 4.0),
        "liked_mean": (0.0, 0.5, 1.0, 2.0),
        "disliked_max": (0.0, -0.5, -1.0),
    }
    results = []
    for values in itertools.product(*grid.values()):
        weights = dict(zip(grid, values, strict=True))
        figures = evaluate(rows, pools, weights)
        results.append((statistics.fmean(f["tuning"] for f in figures.values()), weights, figures))
    results.sort(key=lambda r: -r[0])
    report = {
        "shipped": evaluate(rows, pools, shipped),
        "model_alone": evaluate(rows, pools, {}),
        "best_on_tuning": [{"weights": w, "figures": f} for _, w, f in results[:15]],
    }
    for name in ("liked_max", "liked_mean", "disliked_max"):
        best = next(r for r in results if all(r[1][n] == 0 for n in ("liked_max", "liked_mean", "disliked_max") if n != name))
        report[f"best_with_only_{name}"] = {"weights": best[1], "figures": best[2]}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
