"""Planning: turn what dbt says is due into ``planned`` rows of the ledger, idempotently."""
