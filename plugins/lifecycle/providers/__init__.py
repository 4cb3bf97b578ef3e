"""Provider adapters: one module per provider, each turning the official client's answers into outcomes."""
