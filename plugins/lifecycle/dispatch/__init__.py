"""Dispatch: claim due messages from the ledger, check suppression again, render, send, record."""
