"""Warehouse-native lifecycle marketing: the package behind the DAGs.

dbt selects who is due; this package plans those messages into the operational ledger, dispatches
them through SendGrid and Twilio, and exports every outcome back to the warehouse's landing folder.
"""
