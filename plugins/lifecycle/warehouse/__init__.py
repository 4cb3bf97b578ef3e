"""The warehouse, seen from Python: read-only access to what dbt built, and running dbt itself."""
