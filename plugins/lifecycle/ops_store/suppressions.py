"""Who must not be messaged on a channel, checked again at send time (a STOP can arrive after planning)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lifecycle.ops_store.ledger import utcnow
from lifecycle.ops_store.schema import suppressions


def normalize_address(channel: str, address: str) -> str:
    """Emails compare case-insensitively; phone numbers are stored in E.164 already."""
    return address.strip().lower() if channel == "email" else address.strip()


def suppression_reason(engine: sa.Engine, channel: str, address: str) -> str | None:
    statement = sa.select(suppressions.c.reason, suppressions.c.source).where(
        suppressions.c.channel == channel, suppressions.c.address == normalize_address(channel, address)
    )
    with engine.connect() as conn:
        row = conn.execute(statement).first()
    return None if row is None else f"{row.reason} (via {row.source})"


def suppress(
    engine: sa.Engine, channel: str, address: str, reason: str, source: str, at: datetime | None = None
) -> None:
    """Record a suppression; an existing one for the same address keeps its original reason and time."""
    values = {
        "channel": channel,
        "address": normalize_address(channel, address),
        "reason": reason,
        "source": source,
        "created_at": at or utcnow(),
    }
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(suppressions).values(values).on_conflict_do_nothing()
    with engine.begin() as conn:
        conn.execute(statement)


def suppressed_addresses(engine: sa.Engine, targets: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(channel, address as given) -> reason, for those of ``targets`` that are suppressed; one query per channel."""
    found: dict[tuple[str, str], str] = {}
    by_channel: dict[str, dict[str, list[str]]] = {}
    for channel, address in targets:
        by_channel.setdefault(channel, {}).setdefault(normalize_address(channel, address), []).append(address)
    with engine.connect() as conn:
        for channel, addresses in by_channel.items():
            statement = sa.select(suppressions.c.address, suppressions.c.reason, suppressions.c.source).where(
                suppressions.c.channel == channel, suppressions.c.address.in_(list(addresses))
            )
            for row in conn.execute(statement):
                for given in addresses[row.address]:
                    found[(channel, given)] = f"{row.reason} (via {row.source})"
    return found
