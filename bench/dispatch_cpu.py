"""The dispatcher's own CPU per message: ``Dispatcher.run`` against senders that accept every request
at once in-process, so neither a server nor the network is measured, only claiming, checking,
rendering, batching and recording.

    flock /tmp/lifecycle-bench.lock .venv/bin/python bench/dispatch_cpu.py [--quick] [--emails N --sms N]

CPU seconds move far less with a shared machine's load than wall time, so this is the figure to
compare code revisions by: run it at two revisions (for an old one, unpack it with ``git archive``
and put its ``plugins`` first on ``PYTHONPATH``) and compare. The stub senders stand in for the
official clients, whose own cost (building the JSON body, HTTP) ``dispatch_throughput.py`` includes.
Each figure is the least of ``--repeats`` runs on a fresh SQLite ledger. One sending thread: with
senders that answer at once, more threads only measure their own contention for the GIL and the
SQLite write lock, which real requests (mostly waiting on the network) do not cause. Nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import AS_OF, NOW, bench_settings, email_message, machine, sms_message, table

import lifecycle
from lifecycle.dispatch.dispatcher import DispatchConfig, Dispatcher, Senders
from lifecycle.dispatch.send_mode import SendMode
from lifecycle.ops_store import connect, ledger, migrate
from lifecycle.providers.outcome import OutcomeKind, ProviderOutcome

_IDS = itertools.count()


class Accepting:
    """A sender that accepts every request at once, with a fresh provider id."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def send(self, request: Any) -> ProviderOutcome:
        return ProviderOutcome(OutcomeKind.ACCEPTED, self.provider, provider_message_id=f"bench-{next(_IDS)}")


def cpu_per_message(workdir: Path, channel: str, n: int, run: int) -> tuple[float, float, dict[str, int]]:
    """(CPU ms per message, wall ms per message, outcomes) of one run over ``n`` planned messages."""
    engine = connect(f"sqlite:///{workdir / f'ops-{channel}-{run}.sqlite'}")
    migrate(engine)
    make = email_message if channel == "email" else sms_message
    ledger.plan(engine, (make(i) for i in range(n)), now=NOW)
    provider = "sendgrid" if channel == "email" else "twilio"
    senders = Senders(**{channel: lambda: Accepting(provider)})
    config = DispatchConfig(concurrency=1, email_requests_per_s=1e6, sms_requests_per_s=1e6)
    dispatcher = Dispatcher(engine, bench_settings(workdir), senders, "bench-cpu", SendMode.LIVE, config)
    cpu, wall = time.process_time(), time.perf_counter()
    report = dispatcher.run(AS_OF, now=NOW)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    engine.dispose()
    return cpu / n * 1000, wall / n * 1000, report.as_dict()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 emails, 500 SMS, 2 repeats")
    parser.add_argument("--emails", type=int, default=20_000)
    parser.add_argument("--sms", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.quick:
        parser.set_defaults(emails=5000, sms=500, repeats=2)
        args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory(prefix="dispatch-cpu-") as tmp:
        print(f"machine: {machine()}")
        print(f"package: {Path(lifecycle.__file__).parent}")
        for channel, n in (("email", args.emails), ("sms", args.sms)):
            runs = [cpu_per_message(Path(tmp), channel, n, r) for r in range(args.repeats)]
            cpu, wall, outcomes = min(runs)
            rows.append(
                [channel, n, f"{cpu:.3f}", f"{wall:.3f}", ", ".join(f"{r[0]:.3f}" for r in runs), outcomes]
            )
            print(f"  {channel}: {cpu:.3f} CPU ms/message", flush=True)
    print()
    print(table(["channel", "messages", "CPU ms/msg (least)", "wall ms/msg", "every run", "outcomes"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
