"""The operational store: the message ledger, suppressions, consent changes and delivery events.

It has real transactions (SQLite by default, PostgreSQL in production) because DuckDB allows one
writer and that writer is dbt. The warehouse sees this store only through the Parquet export.
"""

from lifecycle.ops_store.engine import connect, migrate

__all__ = ["connect", "migrate"]
