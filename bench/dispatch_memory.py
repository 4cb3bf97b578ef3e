"""Peak memory (RSS) of planning 1,000,000 emails into the ledger and dispatching them.

    flock /tmp/lifecycle-bench.lock .venv/bin/python bench/dispatch_memory.py [--quick] [--messages N] [--postgres]

The work runs in a child process, so its peak resident set is its own: the child reports its
``VmHWM`` (peak RSS, from ``/proc/self/status``) and ``VmRSS`` at the end of each phase, which
names the phase where the peak was reached, and every tenth of the dispatch, which shows whether
memory grows with the work done. (``getrusage`` is not used: on Linux a child's ``ru_maxrss``
inherits the RSS of the parent it was forked from, which would hide a small peak.) The baseline,
measured the same way in the same run, is a child that only starts the interpreter and imports
what the dispatcher imports; a bare interpreter is shown too.

Dispatch goes through the official ``sendgrid`` client to the local SendGrid-contract server (its own
process, 20 ms added latency), with the production ``DispatchConfig`` defaults. That server keeps
every accepted message in memory for tests to read; the parent resets it every few seconds, since
its memory is not what is measured. The ledger is SQLite in a temporary directory, or, with
``--postgres``, a scratch database on ``--pg-dsn`` (created and dropped here). About 4 minutes at
1,000,000 messages; run it under ``flock /tmp/lifecycle-bench.lock`` like the other benchmarks.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ProviderServers, machine, sandbox_credentials, table

TARGET_MB = 500.0


def status_mb(field: str, pid: int | str = "self") -> float:
    """A ``kB`` field of ``/proc/<pid>/status`` (VmRSS, VmHWM) in MB (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise KeyError(field)


# -- the child ------------------------------------------------------------------------------------------


def child(args: argparse.Namespace) -> int:
    """Runs in the measured process; prints one JSON line per phase (and progress lines)."""
    started = time.perf_counter()
    last = [started]

    def emit(kind: str, name: str, **extra: Any) -> None:
        now = time.perf_counter()
        line = {
            "kind": kind,
            "name": name,
            "seconds": round(now - last[0], 2),
            "rss_mb": round(status_mb("VmRSS"), 1),
            "hwm_mb": round(status_mb("VmHWM"), 1),
            **extra,
        }
        if kind == "phase":
            last[0] = now
        print(json.dumps(line), flush=True)

    from _common import AS_OF, NOW, bench_settings, email_message

    from lifecycle.dispatch.dispatcher import DispatchConfig, Dispatcher, Senders
    from lifecycle.dispatch.send_mode import SendMode
    from lifecycle.ops_store import connect, ledger, migrate
    from lifecycle.providers.sendgrid_email import SendGridEmailSender, SendGridSettings

    emit("phase", "interpreter + imports")
    if args.child == "imports":
        return 0
    logging.disable(logging.WARNING)

    workdir = Path(args.workdir)
    settings = bench_settings(workdir, args.ops_db_url)
    engine = connect(settings.ops_db_url)
    migrate(engine)
    emit("phase", "connect + migrate")

    planned = ledger.plan(engine, (email_message(i) for i in range(args.messages)), now=NOW)
    emit("phase", f"plan {args.messages:,}", planned=planned)

    sendgrid = SendGridSettings(api_key=args.sendgrid_api_key, host=args.sendgrid_url, timeout_s=60.0)
    lock = threading.Lock()
    sent = [0]
    every = max(1000, args.messages // 10)

    class Progress:
        """The official-client sender, plus a progress line with the RSS every tenth of the messages."""

        def __init__(self) -> None:
            self.inner = SendGridEmailSender(sendgrid)

        def send(self, request: Any) -> Any:
            outcome = self.inner.send(request)
            with lock:
                before = sent[0]
                sent[0] += len(request.personalizations)
                if sent[0] // every > before // every:
                    emit("progress", "dispatch", sent=sent[0])
            return outcome

    dispatcher = Dispatcher(
        engine, settings, Senders(email=Progress), "memory-bench", SendMode.LIVE, DispatchConfig()
    )
    report = dispatcher.run(AS_OF, now=NOW)
    emit("phase", f"dispatch {args.messages:,}", outcomes=report.as_dict())
    engine.dispose()
    return 0


# -- the parent -----------------------------------------------------------------------------------------


def run_child(argv: list[str], on_line: Any = None) -> list[dict[str, Any]]:
    """Run a child and collect its JSON lines."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    lines = []
    for raw in process.stdout:
        line = json.loads(raw)
        lines.append(line)
        if on_line:
            on_line(line)
    if process.wait() != 0:
        raise RuntimeError(f"child {argv} exited with {process.returncode}")
    return lines


class Resetter(threading.Thread):
    """Empties the server's in-memory message store every ``every`` seconds."""

    def __init__(self, servers: ProviderServers, every: float) -> None:
        super().__init__(daemon=True)
        self.servers, self.every, self.stop = servers, every, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every):
            with contextlib.suppress(OSError):  # a slow answer while busy; the next reset catches up
                self.servers.reset()


def scratch_postgres(dsn: str, name: str, create: bool) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}"')
        if create:
            conn.execute(f'create database "{name}"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 messages instead of 1,000,000")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--reset-every", type=float, default=3.0, help="seconds between server resets")
    parser.add_argument("--postgres", action="store_true", help="ledger on PostgreSQL instead of SQLite")
    parser.add_argument("--pg-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--child", choices=["imports", "run"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--sendgrid-url", help=argparse.SUPPRESS)
    parser.add_argument("--ops-db-url", help=argparse.SUPPRESS)
    parser.add_argument("--sendgrid-api-key", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    if args.quick and "--messages" not in (argv if argv is not None else sys.argv):
        args.messages = 100_000

    script = str(Path(__file__).resolve())
    bare = (
        "import json, pathlib; print(json.dumps({'kind': 'phase', 'name': 'bare interpreter', 'seconds': 0, "
    )
    bare += "'hwm_mb': int(pathlib.Path('/proc/self/status').read_text().split('VmHWM:')[1].split()[0]) * 1024 / 1e6}))"
    rows: list[list[object]] = []
    pg_name = f"bench_dispatch_memory_{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="dispatch-memory-") as tmp:
        print(f"machine: {machine()}")
        if args.postgres:
            scratch_postgres(args.pg_dsn, pg_name, create=True)
            base, _, _ = args.pg_dsn.rpartition("/")
            ops_db_url = f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{pg_name}"
        else:
            ops_db_url = f"sqlite:///{Path(tmp) / 'ops.sqlite'}"
        try:
            with ProviderServers(args.latency_ms) as servers:
                print(f"server: {servers.sendgrid_url}, {args.latency_ms:g} ms added latency")
                print(f"ledger: {'PostgreSQL (scratch database)' if args.postgres else 'SQLite in ' + tmp}")
                (bare_line,) = run_child([sys.executable, "-c", bare])
                (imports_line,) = run_child([sys.executable, script, "--child", "imports"])
                baseline = imports_line["hwm_mb"]
                print(f"baseline: bare interpreter {bare_line['hwm_mb']:.1f} MB, + imports {baseline:.1f} MB")

                def show(line: dict[str, Any]) -> None:
                    extra = {k: v for k, v in line.items() if k in ("outcomes", "planned", "sent")}
                    print(
                        f"  {line['kind']:8} {line['name']:24} {line['seconds']:8.1f} s  "
                        f"RSS {line['rss_mb']:7.1f} MB  peak so far {line['hwm_mb']:7.1f} MB  {extra or ''}",
                        flush=True,
                    )

                resetter = Resetter(servers, args.reset_every)
                resetter.start()
                command = [sys.executable, script, "--child", "run", "--messages", str(args.messages)]
                command += [
                    "--workdir",
                    tmp,
                    "--sendgrid-url",
                    servers.sendgrid_url,
                    "--ops-db-url",
                    ops_db_url,
                ]
                command += ["--sendgrid-api-key", sandbox_credentials()[0]]
                lines = run_child(command, show)
                resetter.stop.set()
        finally:
            if args.postgres:
                scratch_postgres(args.pg_dsn, pg_name, create=False)

    phases = [line for line in lines if line["kind"] == "phase"]
    peak = phases[-1]["hwm_mb"]
    peak_phase = next(p["name"] for p in phases if p["hwm_mb"] >= phases[-1]["hwm_mb"])
    rows.append(["bare interpreter", "", "", f"{bare_line['hwm_mb']:.1f}", ""])
    previous = 0.0
    for phase in phases:
        rows.append(
            [
                phase["name"],
                f"{phase['seconds']:.1f}",
                f"{phase['rss_mb']:.1f}",
                f"{phase['hwm_mb']:.1f}",
                f"+{phase['hwm_mb'] - previous:.1f}" if previous else "",
            ]
        )
        previous = phase["hwm_mb"]
    print()
    print(table(["phase (in order)", "seconds", "RSS at end (MB)", "peak so far (MB)", "peak growth"], rows))
    print()
    print(
        table(
            ["measure", "value"],
            [
                [f"peak RSS, plan + dispatch of {args.messages:,} (VmHWM)", f"{peak:.1f} MB"],
                ["phase where the peak was reached", peak_phase],
                ["baseline: interpreter + imports (VmHWM)", f"{baseline:.1f} MB"],
                ["peak / baseline", f"{peak / baseline:.2f}x"],
                ["peak above baseline", f"{peak - baseline:.1f} MB"],
                ["target", f"<= {TARGET_MB:g} MB: {'met' if peak <= TARGET_MB else 'MISSED'}"],
                ["outcomes", json.dumps(phases[-1].get("outcomes"))],
            ],
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
