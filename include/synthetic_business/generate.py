"""Generate the whole synthetic business into a landing folder, table by table, in dependency order."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pyarrow as pa

from lifecycle.landing.contract import CONTRACT

from .accounts import build_accounts, customers_columns
from .arrow_out import TableFile
from .billing import simulate_billing, subscription_event_batches, subscriptions_columns
from .catalog import plans_columns, products_columns
from .consents import consents_columns
from .ids import Ids
from .nps import nps_columns
from .people import build_contacts, contacts_columns
from .randomness import stream
from .support import support_ticket_columns
from .timeline import Window, years_before
from .usage import usage_batches

DEFAULT_YEARS = 3


class _Progress:
    """Per-table lines on stderr: rows written and seconds since the start."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.perf_counter()

    def report(self, table: str, rows: int, *, done: bool = True) -> None:
        """A line per finished table; on a terminal, a line updated in place while a big table is written."""
        if not self.enabled or not (done or sys.stderr.isatty()):
            return
        elapsed = time.perf_counter() - self.started
        state = "written" if done else "writing"
        end = "\n" if done else "\r"
        print(
            f"  {table:<20} {rows:>12,} rows  {state}  {elapsed:7.1f} s", file=sys.stderr, end=end, flush=True
        )


def generate_business(
    out_dir: Path,
    customers: int,
    seed: int,
    end_date: date,
    start_date: date | None = None,
    progress: bool = False,
) -> dict[str, int]:
    """Write all ten contract tables to ``out_dir`` and return their row counts.

    The same arguments always produce byte-identical files. ``start_date`` defaults to three years
    before ``end_date``; nothing happens after ``end_date`` 23:59:59 UTC.
    """
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    window = Window(start_date or years_before(end_date, DEFAULT_YEARS), end_date)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tracker = _Progress(progress)
    counts: dict[str, int] = {}

    def write(table: str, batches: Iterable[dict[str, pa.Array]]) -> None:
        with TableFile(out_dir, CONTRACT[table]) as file:
            for batch in batches:
                file.write(batch)
                tracker.report(table, file.rows, done=False)
        counts[table] = file.rows
        tracker.report(table, file.rows)

    write("plans", [plans_columns()])
    write("products", [products_columns()])
    accounts = build_accounts(stream(seed, "accounts"), window, customers)
    contact_rng = stream(seed, "contacts")
    book = build_contacts(contact_rng, accounts, window)
    ids = Ids.build(accounts.count, book.total)
    write("customers", [customers_columns(accounts, ids)])
    write("contacts", [contacts_columns(contact_rng, accounts, book, ids)])
    billing = simulate_billing(stream(seed, "billing"), accounts, window)
    write("consents", [consents_columns(stream(seed, "consents"), book, ids, billing.paid_start_us, window)])
    write("subscriptions", [subscriptions_columns(accounts, billing, ids)])
    write("subscription_events", subscription_event_batches(billing, ids))
    write("usage_events", usage_batches(seed, accounts, book, billing.spans, window, ids, out_dir))
    spans = billing.spans
    write("support_tickets", [support_ticket_columns(stream(seed, "support"), accounts, spans, window, ids)])
    write("nps_responses", [nps_columns(stream(seed, "nps"), accounts, book, spans, window, ids)])
    return {table: counts[table] for table in CONTRACT}
