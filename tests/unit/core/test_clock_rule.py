"""One clock everywhere: only bot/core/clock.py may read the machine's clock.

Everything else receives a `Clock`, so PAPERBOT_CLOCK_START/SPEED and the tests' fake clocks
reach every part of the bot. This walks the syntax tree of every module under bot/ and
adapters/ and lists each call that reads the time of day or the date from the machine.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
ALLOWED = {REPO / "bot" / "core" / "clock.py"}

# (object, attribute) pairs whose call reads the machine's clock.
CLOCK_READS = {
    ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
    ("time", "time"), ("time", "time_ns"), ("time", "monotonic"), ("time", "monotonic_ns"),
    ("time", "perf_counter"), ("time", "localtime"), ("time", "gmtime"), ("time", "ctime"),
    ("time", "strftime"), ("loop", "time"),
}
# Bare names that are those functions when imported with `from time import ...`.
BARE_READS = {"monotonic", "perf_counter", "time_ns", "localtime", "gmtime"}


def clock_reads(path: Path) -> list[str]:
    """`file:line call` for every call in `path` that reads the machine's clock."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = None
        if isinstance(func, ast.Attribute):
            owner = func.value
            owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if (owner_name, func.attr) in CLOCK_READS:
                name = f"{owner_name}.{func.attr}"
        elif isinstance(func, ast.Name) and func.id in BARE_READS:
            name = func.id
        if name:
            found.append(f"{path.relative_to(REPO)}:{node.lineno} {name}()")
    return found


def test_only_bot_clock_reads_the_machine_clock() -> None:
    modules = sorted((REPO / "bot").rglob("*.py")) + sorted((REPO / "adapters").rglob("*.py"))
    assert len(modules) > 20
    offenders = [line for path in modules if path not in ALLOWED for line in clock_reads(path)]
    assert offenders == [], "read the time from an injected Clock instead:\n" + "\n".join(offenders)


def test_the_rule_catches_each_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import time, datetime as dt\nfrom datetime import date, datetime\n"
        "a = datetime.now()\nb = dt.datetime.now(dt.UTC)\nc = date.today()\nd = time.time()\n"
        "e = time.monotonic()\n",
        encoding="utf-8",
    )
    global REPO
    saved, REPO = REPO, tmp_path
    try:
        assert [line.split(" ")[1] for line in clock_reads(sample)] == [
            "datetime.now()", "datetime.now()", "date.today()", "time.time()", "time.monotonic()",
        ]
    finally:
        REPO = saved
