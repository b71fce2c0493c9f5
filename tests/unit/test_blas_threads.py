"""paperbot starts no OpenBLAS thread pool unless the operator asks for one: a pool of BLAS
server threads spun beside the event loop, and numpy's and scipy's pools together hung the
process at exit (`blas_thread_shutdown_` joining a server thread forever, seen in CI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = (
    "import json, os, bot, numpy, scipy.special, threadpoolctl\n"
    "pools = [i['num_threads'] for i in threadpoolctl.threadpool_info() if i['internal_api'] == 'openblas']\n"
    "print(json.dumps({'pools': pools, 'threads': len(os.listdir('/proc/self/task'))}))\n"
)


def probe(**env: str) -> dict[str, list[int] | int]:
    settings = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"} | env
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=settings, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_importing_paperbot_first_keeps_blas_to_one_thread() -> None:
    found = probe()
    assert found["pools"] and all(threads == 1 for threads in found["pools"])  # type: ignore[union-attr]
    assert found["threads"] == 1  # no BLAS server thread was started


def test_an_operators_setting_wins() -> None:
    found = probe(OPENBLAS_NUM_THREADS="2")
    assert found["pools"] and all(threads == 2 for threads in found["pools"])  # type: ignore[union-attr]
