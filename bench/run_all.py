"""Run every benchmark in bench/ in turn, each with its defaults (``make bench``).

    flock /tmp/lifecycle-bench.lock .venv/bin/python bench/run_all.py [--quick]
    flock /tmp/lifecycle-bench.lock make bench

The benchmarks do not take the shared lock themselves: hold it around the whole run, as above, so no
other benchmark on a shared machine measures at the same time.

A benchmark is any ``bench/<name>.py`` except this file and the ``_``-prefixed helpers; each runs as
``python bench/<name>.py [--quick]`` in a process of its own, so one's memory and threads never
disturb the next. Output streams through as it comes. A failing benchmark is reported and the rest
still run; the exit status is non-zero if any failed. Nothing is written: the figures go into
docs/benchmarks.md by hand, with the machine line each benchmark prints and the command used.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def benchmarks() -> list[Path]:
    return sorted(
        path for path in BENCH_DIR.glob("*.py") if not path.name.startswith("_") and path.name != "run_all.py"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark (smoke sizes)")
    args = parser.parse_args(argv)
    results: list[tuple[str, int, float]] = []
    for script in benchmarks():
        command = [sys.executable, str(script), *(["--quick"] if args.quick else [])]
        print(f"\n=== {script.name}: {' '.join(command)}", flush=True)
        started = time.perf_counter()
        status = subprocess.run(command, cwd=BENCH_DIR.parent, check=False).returncode
        results.append((script.name, status, time.perf_counter() - started))
    print("\n=== summary")
    for name, status, seconds in results:
        print(f"  {name:32} {'ok' if status == 0 else f'FAILED (exit {status})':18} {seconds:7.0f} s")
    print(
        "\nThe figures go into docs/benchmarks.md (one section per benchmark), by hand, with the machine"
        "\nline each benchmark printed and the exact command."
    )
    return 0 if all(status == 0 for _, status, _ in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
