"""Warehouse build: the generator, a full ``dbt build`` and the next day's incremental build, at 1k,
100k and 1M customers, with wall time, CPU time and peak memory, and the heaviest models' compiled SQL
run straight in DuckDB so the cost of dbt itself is known.

    flock /tmp/lifecycle-bench.lock .venv/bin/python bench/warehouse_build.py [--quick] [--customers N ...]
        [--project-dir DIR] [--usage-order time|customer]

1k customers is there for dbt's own floor: at that size the data costs next to nothing, so its build
times are what dbt spends starting, parsing and running one query per node, at any size.

For each size, in one run:

1. **generator**: ``generate-business --customers N --seed 42 --end 2026-11-21`` into a landing folder,
   plus an (empty) ops ledger export, as the daily DAG writes before dbt runs.
2. **full build**: a deployment's first build, as of 2026-11-20, into a new DuckDB file: ``dbt build``
   with every test on every row, unit tests included (more than the DAG's builds run, see 5.), the day
   in ``LIFECYCLE_AS_OF`` and no dbt file log (``lifecycle.orchestration``).
3. **raw SQL**: the compiled SQL of the heaviest models of that build (from ``run_results.json``),
   each run alone as ``create table ... as <compiled SQL>`` on a DuckDB connection to the same
   warehouse, with the profile's DuckDB settings. dbt / raw is the time dbt reported for the model
   over the raw time: above 1 is dbt's own overhead plus the models dbt ran beside it on its other
   threads (the raw run has the machine to itself).
4. **landing check**: ``lifecycle check-landing``, the daily DAG's first task, on the day's landing
   folder, one scan per file, with ``LIFECYCLE_DBT_RECENT_TEST_DAYS=7`` as below: the usage events'
   row rules on their last 7 days, every other rule on every row.
5. **next day**: the daily DAG's build as of 2026-11-21 (the landing already holds that day's events)
   on the same warehouse and target folder: ``dbt build --exclude-resource-type unit_test --exclude
   tag:landing_checked`` (the staging tests the landing check has just made) with
   ``recent_test_days: 7`` (``LIFECYCLE_DBT_RECENT_TEST_DAYS=7``): the incremental and state models
   fold in a few days, every other model is rebuilt as of the new day. Before it, an untimed
   ``dbt parse`` with the same vars leaves dbt's parse state as the previous day's build would have,
   so dbt parses only what changed, as in a deployment.
6. **next day, replayed**: every statement of that build run alone, one after another, on a DuckDB
   connection to the same warehouse (models as ``create table ... as <compiled SQL>``, data tests as
   ``select count(*)``; views are left out, their readers compute them): the day's work without dbt,
   the baseline the next day's CPU is compared with. An incremental model's statement is its window's
   select, without the delete+insert.
7. **next day, with unit tests**: the same build again (the same work: the same days are reprocessed)
   with dbt's unit tests, every data test and dbt's debug file log, as ``make dbt-build`` runs it.

``--usage-order customer`` rewrites the generated usage events sorted by customer (how the generator
wrote them before it wrote them in time order), to measure what the landing order costs.

Run it under ``flock /tmp/lifecycle-bench.lock`` (see docs/benchmarks.md), so two benchmarks never
measure at once; other people's tests may still run. So each figure comes with the load: the
1-minute load average when the step started, and the CPU the rest of the machine used meanwhile (in
cores, from ``/proc/stat``). CPU seconds (user + system, of the whole process tree) move far less
with contention than wall time. Peak RSS is the largest sum of the resident sets of the process and
all its children, sampled every 50 ms. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb
import psutil
import yaml
from _common import machine, table

from lifecycle.export.ops_export import export_ops_store
from lifecycle.ops_store import connect, migrate
from lifecycle.orchestration import LANDING_CHECKED_TAG, dbt_file_logging
from lifecycle.settings import REPO_ROOT

SIZES = (1_000, 100_000, 1_000_000)
SEED = 42
FULL_AS_OF = date(2026, 11, 20)
NEXT_DAY = date(2026, 11, 21)
RECENT_TEST_DAYS = 7
RAW_MODELS = 5  # how many of the heaviest models are rerun as raw SQL
SHOWN_NODES = 12  # rows of the per-node table
SHOWN_REPLAYED = 8  # rows of the replay table
TARGETS_1M = {"full": 90.0, "next day": 15.0}  # seconds, on the 2-core machine
VENV_BIN = Path(sys.executable).parent
SAMPLE_S = 0.05


# -- measuring ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """One timed step."""

    wall_s: float
    cpu_s: float  # user + system of the process tree
    peak_rss_mb: float  # largest sum of RSS over the tree (MB = 10^6 bytes)
    load_1m: float  # load average when the step started
    others_cores: float  # CPU used meanwhile by everything else on the machine, in cores
    returncode: int = 0

    def conditions(self) -> str:
        return f"load {self.load_1m:.1f}, others {self.others_cores:.1f} cores"


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (not idle or waiting) since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_rss_bytes(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with suppress(psutil.Error):  # exited between listing and reading
            total += member.memory_info().rss
    return total


class Timer:
    """Measures work done in this process: wall, CPU, and the CPU the rest of the machine used."""

    def __enter__(self) -> Timer:
        self.load = os.getloadavg()[0]
        self.busy0, self.wall0 = busy_cpu_s(), time.perf_counter()
        self.cpu0 = time.process_time()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0
        self.others = max(0.0, (busy_cpu_s() - self.busy0 - self.cpu) / self.wall)


def run_measured(command: Sequence[str], log: Path, env: dict[str, str] | None = None) -> Measured:
    """Run ``command`` (output to ``log``), sampling the RSS of its process tree."""
    with log.open("w") as out:
        load = os.getloadavg()[0]
        busy0, cpu0, wall0 = busy_cpu_s(), children_cpu_s(), time.perf_counter()
        process = psutil.Popen(list(command), stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
        peak = 0
        while process.poll() is None:
            with suppress(psutil.NoSuchProcess):
                peak = max(peak, tree_rss_bytes(process))
            time.sleep(SAMPLE_S)
        returncode = process.wait()
        wall = time.perf_counter() - wall0
        cpu = children_cpu_s() - cpu0
        others = max(0.0, (busy_cpu_s() - busy0 - cpu) / wall)
    return Measured(wall, cpu, peak / 1e6, load, others, returncode)


# -- the steps ----------------------------------------------------------------------------------------


def generate(customers: int, landing: Path, logs: Path) -> Measured:
    if landing.exists():
        shutil.rmtree(landing)
    command = [str(VENV_BIN / "generate-business"), "--customers", str(customers), "--seed", str(SEED)]
    command += ["--end", NEXT_DAY.isoformat(), "--out", str(landing)]
    measured = run_measured(command, logs / "generate.log")
    if measured.returncode:
        raise SystemExit(f"the generator failed, see {logs / 'generate.log'}")
    # the ledger export the daily DAG writes before dbt runs (empty: nothing was sent yet)
    engine = connect(f"sqlite:///{landing.parent / 'ops.sqlite'}")
    migrate(engine)
    export_ops_store(engine, landing / "ops")
    engine.dispose()
    return measured


def check_landing(landing: Path, logs: Path) -> Measured:
    """The daily DAG's check_landing task, which lets its dbt builds leave out the tests it makes."""
    env = {
        **os.environ,
        "LIFECYCLE_LANDING_DIR": str(landing),
        "LIFECYCLE_DBT_RECENT_TEST_DAYS": str(RECENT_TEST_DAYS),
    }
    measured = run_measured([str(VENV_BIN / "lifecycle"), "check-landing"], logs / "check_landing.log", env)
    if measured.returncode:
        raise SystemExit(f"the landing check failed, see {logs / 'check_landing.log'}")
    return measured


@dataclass(frozen=True)
class Build:
    """One ``dbt build`` and its ``run_results.json``."""

    name: str
    measured: Measured
    results: dict[str, Any]

    @property
    def node_seconds(self) -> dict[str, float]:
        return {r["unique_id"]: r["execution_time"] for r in self.results["results"]}

    @property
    def overhead_s(self) -> float:
        """Start-up and parsing: the wall time outside dbt's node execution."""
        return self.measured.wall_s - self.results["elapsed_time"]


def dbt_build(
    name: str,
    project: Path,
    landing: Path,
    warehouse: Path,
    work: Path,
    as_of: date,
    *extra: str,
    recent_test_days: int | None = None,
    scheduled: bool = True,
) -> Build:
    """``dbt build`` as of ``as_of`` with its own target and log folders.

    The day goes in ``LIFECYCLE_AS_OF``, as the daily DAG passes it, so dbt's partial parse survives a new
    day. ``scheduled``: also without dbt's file log, as the DAG's builds run (lifecycle.orchestration);
    otherwise with it, as ``make dbt-build`` runs."""
    command = [*dbt_command("build", project, work, recent_test_days), *extra]
    env = dbt_env(landing, warehouse, as_of)
    if scheduled:
        env.update(dbt_file_logging())
    work.mkdir(parents=True, exist_ok=True)
    log = work / f"{name.replace(' ', '_').replace(',', '')}.log"
    results_file = work / "target" / "run_results.json"
    results_file.unlink(missing_ok=True)
    measured = run_measured(command, log, env)
    if not results_file.exists():
        raise SystemExit(f"dbt build ({name}) ran nothing (exit {measured.returncode}), see {log}")
    if measured.returncode:
        print(f"  dbt build ({name}) FAILED (exit {measured.returncode}); tail of {log}:")
        print("    " + "\n    ".join(log.read_text().splitlines()[-15:]))
    return Build(name, measured, json.loads(results_file.read_text()))


def dbt_env(landing: Path, warehouse: Path, as_of: date) -> dict[str, str]:
    return {
        **os.environ,
        "LIFECYCLE_LANDING_DIR": str(landing),
        "LIFECYCLE_WAREHOUSE_PATH": str(warehouse),
        "LIFECYCLE_AS_OF": as_of.isoformat(),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_command(verb: str, project: Path, work: Path, recent_test_days: int | None) -> list[str]:
    """A dbt command on the project with its own target and log folders; the vars the DAG would pass."""
    daily_vars = ["--vars", f"{{recent_test_days: {recent_test_days}}}"] if recent_test_days else []
    return [
        str(VENV_BIN / "dbt"), verb,
        "--project-dir", str(project), "--profiles-dir", str(project), "--target", "duckdb", *daily_vars,
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
    ]  # fmt: skip


def parse_as_the_day_before(project: Path, landing: Path, warehouse: Path, work: Path, as_of: date) -> None:
    """Untimed: leave dbt's parse state as the previous day's scheduled build left it (the same vars), so
    the next day's build parses only what changed, as a deployment's daily builds do."""
    env = {**dbt_env(landing, warehouse, as_of), **dbt_file_logging()}
    command = dbt_command("parse", project, work, RECENT_TEST_DAYS)
    done = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"dbt parse failed (exit {done.returncode}):\n{done.stdout[-2000:]}")


def duckdb_profile(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / "profiles.yml").read_text())["lifecycle"]["outputs"]["duckdb"]


def warehouse_connection(project: Path, warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse with the profile's DuckDB settings, as dbt's own."""
    conn = duckdb.connect(str(warehouse))
    for name, value in (duckdb_profile(project).get("settings") or {}).items():
        conn.execute(f"set {name} = '{value}'")
    return conn


@dataclass(frozen=True)
class RawRun:
    model: str
    dbt_s: float
    raw: Measured
    rows: int


def run_raw_sql(project: Path, warehouse: Path, build: Build) -> list[RawRun]:
    """The heaviest models' compiled SQL, each alone, into a scratch schema of the same warehouse."""
    models = sorted(
        (
            r
            for r in build.results["results"]
            if r["unique_id"].startswith("model.") and r.get("compiled_code")
        ),
        key=lambda r: r["execution_time"],
        reverse=True,
    )[:RAW_MODELS]
    runs = []
    with warehouse_connection(project, warehouse) as conn:
        conn.execute("create schema if not exists bench_raw")
        for result in models:
            name = result["unique_id"].split(".")[-1]
            with Timer() as timer:
                conn.execute(f'create or replace table bench_raw."{name}" as ({result["compiled_code"]})')
            rows = conn.execute(f'select count(*) from bench_raw."{name}"').fetchone()[0]
            raw = Measured(timer.wall, timer.cpu, 0.0, timer.load, timer.others)
            runs.append(RawRun(name, result["execution_time"], raw, rows))
        conn.execute("drop schema bench_raw cascade")
        conn.execute("checkpoint")
    return runs


@dataclass(frozen=True)
class Replayed:
    node: str  # unique id
    raw: Measured


def replay_statements(project: Path, warehouse: Path, work: Path, build: Build) -> list[Replayed]:
    """Every model and data test of ``build``, each alone, in the order dbt finished them."""
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    views = {uid for uid, node in manifest["nodes"].items() if node["config"].get("materialized") == "view"}
    replayed = []
    with warehouse_connection(project, warehouse) as conn:
        conn.execute("create schema if not exists bench_replay")
        for result in build.results["results"]:
            node, code = result["unique_id"], result.get("compiled_code")
            if not code or node in views or not node.startswith(("model.", "test.")):
                continue
            if node.startswith("model."):
                statement = f"create or replace table bench_replay.statement as ({code})"
            else:
                statement = f"select count(*) from ({code}) as failures"
            with Timer() as timer:
                conn.execute(statement).fetchall()
            replayed.append(Replayed(node, Measured(timer.wall, timer.cpu, 0.0, timer.load, timer.others)))
        conn.execute("drop schema bench_replay cascade")
        conn.execute("checkpoint")
    return replayed


# -- one size -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeResult:
    customers: int
    usage_events: int
    generator: Measured
    landing_check: Measured
    builds: list[Build]  # full, next day, next day with unit tests
    raw: list[RawRun]
    replayed: list[Replayed]  # the next day's statements, each alone
    warehouse_mb: float


def bench_size(customers: int, project: Path, workdir: Path, usage_order: str) -> SizeResult:
    base = workdir / f"{customers}"
    base.mkdir(parents=True, exist_ok=True)
    landing, warehouse, work = base / "landing", base / "warehouse.duckdb", base / "dbt"
    print(f"\n{customers:,} customers: generating ...", flush=True)
    generator = generate(customers, landing, base)
    if usage_order == "customer":
        order_usage_by_customer(landing / "usage_events.parquet")
    with duckdb.connect() as conn:
        usage_events = conn.execute(
            f"select count(*) from read_parquet('{landing / 'usage_events.parquet'}')"
        ).fetchone()[0]
    print(f"  {generator.wall_s:.1f} s ({usage_events:,} usage events); full dbt build ...", flush=True)
    warehouse.unlink(missing_ok=True)
    full = dbt_build("full", project, landing, warehouse, work, FULL_AS_OF)
    print(f"  {full.measured.wall_s:.1f} s; raw SQL of the heaviest models ...", flush=True)
    raw = run_raw_sql(project, warehouse, full)
    print("  landing check ...", flush=True)
    landing_check = check_landing(landing, base)
    print(f"  {landing_check.wall_s:.1f} s; next day ...", flush=True)
    parse_as_the_day_before(project, landing, warehouse, work, FULL_AS_OF)
    next_day = dbt_build(
        "next day", project, landing, warehouse, work, NEXT_DAY, "--exclude-resource-type", "unit_test",
        "--exclude", f"tag:{LANDING_CHECKED_TAG}", recent_test_days=RECENT_TEST_DAYS,
    )  # fmt: skip
    print(f"  {next_day.measured.wall_s:.1f} s; its statements replayed alone ...", flush=True)
    replayed = replay_statements(project, warehouse, work, next_day)
    print(
        f"  {sum(r.raw.cpu_s for r in replayed):.1f} CPU s; next day again, with unit tests ...", flush=True
    )
    with_unit = dbt_build(
        "next day, with unit tests", project, landing, warehouse, work, NEXT_DAY,
        recent_test_days=RECENT_TEST_DAYS, scheduled=False,
    )  # fmt: skip
    print(f"  {with_unit.measured.wall_s:.1f} s", flush=True)
    return SizeResult(
        customers,
        usage_events,
        generator,
        landing_check,
        [full, next_day, with_unit],
        raw,
        replayed,
        warehouse.stat().st_size / 1e6,
    )


def order_usage_by_customer(path: Path) -> None:
    """Rewrite the usage events sorted by customer, as the generator once wrote them (not timed)."""
    sorted_path = path.with_name(".by_customer.parquet")
    with duckdb.connect() as conn:
        conn.execute(
            f"copy (select * from read_parquet('{path}') order by customer_id, occurred_at, event_id) "
            f"to '{sorted_path}' (format parquet, compression zstd)"
        )
    sorted_path.replace(path)


# -- output -------------------------------------------------------------------------------------------


def summary_table(sizes: list[SizeResult]) -> str:
    rows = []
    for size in sizes:
        label = f"{size.customers:,} ({size.usage_events / 1e6:.1f}M usage events)"
        steps: list[tuple[str, Measured, Build | None]] = [("generator", size.generator, None)]
        steps += [(f"dbt build, {size.builds[0].name}", size.builds[0].measured, size.builds[0])]
        steps += [("landing check", size.landing_check, None)]
        steps += [(f"dbt build, {b.name}", b.measured, b) for b in size.builds[1:]]
        for name, measured, build in steps:
            target = TARGETS_1M.get(build.name.split(",")[0]) if build and size.customers >= 1e6 else None
            outcome = "ok" if measured.returncode == 0 else f"FAILED (exit {measured.returncode})"
            rows.append(
                [
                    label, name, measured.wall_s, measured.cpu_s, measured.peak_rss_mb,
                    build.overhead_s if build else "", len(build.results["results"]) if build else "",
                    f"<= {target:.0f} s" if target else "", outcome, measured.conditions(),
                ]
            )  # fmt: skip
            label = ""
    headers = ["customers", "step", "wall s", "CPU s", "peak RSS MB", "dbt start-up + parse s", "nodes"]
    return table([*headers, "target", "result", "machine during the step"], rows)


def nodes_table(size: SizeResult) -> str:
    full, next_day, with_unit = (build.node_seconds for build in size.builds)
    heaviest = sorted(full, key=full.__getitem__, reverse=True)[:SHOWN_NODES]
    rows: list[list[object]] = [
        [
            node.split(".", 1)[0],
            node.split(".")[2][:60],
            full[node],
            next_day.get(node, ""),
            with_unit.get(node, ""),
        ]
        for node in heaviest
    ]
    rows.append(
        [
            "",
            f"the other {len(full) - len(heaviest)} nodes",
            sum(full.values()) - sum(map(full.get, heaviest)),
            "",
            "",
        ]
    )
    unit = [
        sum(v for k, v in times.items() if k.startswith("unit_test."))
        for times in (full, next_day, with_unit)
    ]
    rows.append(["", "of all: unit tests", *unit])
    rows.append(["", "sum over all nodes", *(sum(times.values()) for times in (full, next_day, with_unit))])
    return table(["kind", "node", "full s", "next day s", "next day, with unit tests s"], rows)


def raw_table(size: SizeResult) -> str:
    rows: list[list[object]] = [
        [run.model, f"{run.rows:,}", run.dbt_s, run.raw.wall_s, run.raw.cpu_s, run.dbt_s / run.raw.wall_s,
         run.raw.conditions()]
        for run in size.raw
    ]  # fmt: skip
    dbt_total, raw_total = sum(r.dbt_s for r in size.raw), sum(r.raw.wall_s for r in size.raw)
    rows.append(
        ["together", "", dbt_total, raw_total, sum(r.raw.cpu_s for r in size.raw), dbt_total / raw_total, ""]
    )
    return table(["model", "rows", "in dbt s", "raw SQL s", "raw CPU s", "dbt / raw", "machine"], rows)


def replay_table(size: SizeResult) -> str:
    """The next day's work without dbt: the heaviest statements, the rest, and the build beside it."""
    replayed = sorted(size.replayed, key=lambda r: r.raw.cpu_s, reverse=True)
    shown = replayed[:SHOWN_REPLAYED]
    rest = replayed[SHOWN_REPLAYED:]
    rows: list[list[object]] = [
        [r.node.split(".", 1)[0], r.node.split(".")[2][:60], r.raw.wall_s, r.raw.cpu_s] for r in shown
    ]
    rows.append(["", f"the other {len(rest)} statements", sum(r.raw.wall_s for r in rest),
                 sum(r.raw.cpu_s for r in rest)])  # fmt: skip
    for kind in ("model", "test"):
        of_kind = [r.raw for r in replayed if r.node.startswith(f"{kind}.")]
        rows.append(["", f"all {len(of_kind)} {kind}s", sum(m.wall_s for m in of_kind),
                     sum(m.cpu_s for m in of_kind)])  # fmt: skip
    total_cpu = sum(r.raw.cpu_s for r in replayed)
    rows.append(["", "replayed, together", sum(r.raw.wall_s for r in replayed), total_cpu])
    build = size.builds[1].measured
    rows.append(["", f"the dbt build (CPU x {build.cpu_s / total_cpu:.2f} of the replay)", build.wall_s,
                 build.cpu_s])  # fmt: skip
    return table(["kind", "statement", "wall s", "CPU s"], rows)


def project_state(project: Path) -> str:
    profile = duckdb_profile(project)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", str(project)], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout.strip()
    state = "with uncommitted changes" if dirty else "as committed"
    if not project.is_relative_to(REPO_ROOT):
        state = "outside the repository"
    return f"project {project} ({state}), {profile['threads']} dbt threads, DuckDB settings {profile.get('settings')}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k and 100k customers only")
    parser.add_argument("--customers", type=int, nargs="+", help=f"sizes to run (default {SIZES})")
    parser.add_argument("--project-dir", type=Path, default=REPO_ROOT / "dbt_project", help="dbt project")
    parser.add_argument("--workdir", type=Path, help="where data goes (default: a new folder in /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the landing folders and warehouses")
    parser.add_argument(
        "--usage-order",
        choices=("time", "customer"),
        default="time",
        help="usage events as generated (time) or rewritten sorted by customer",
    )
    args = parser.parse_args(argv)
    sizes = args.customers or (list(SIZES[:2]) if args.quick else list(SIZES))
    project = args.project_dir.resolve()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="warehouse_bench_", dir="/tmp"))
    print(f"Warehouse build benchmark: {machine()}\n{project_state(project)}; data in {workdir}")
    print(f"usage events in {args.usage_order} order")
    results = []
    try:
        for customers in sizes:
            results.append(bench_size(customers, project, workdir, args.usage_order))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\n" + summary_table(results))
    for size in results:
        print(f"\n{size.customers:,} customers: heaviest nodes (warehouse {size.warehouse_mb:,.0f} MB)")
        print(nodes_table(size))
        print(f"\n{size.customers:,} customers: compiled SQL of the heaviest models, dbt vs raw DuckDB")
        print(raw_table(size))
        print(f"\n{size.customers:,} customers: the next day's statements, each alone in DuckDB")
        print(replay_table(size))
    return 0 if all(b.measured.returncode == 0 for r in results for b in r.builds) else 1


if __name__ == "__main__":
    sys.exit(main())
