"""Settings, schemas, errors, JSON responses and paths: the ground floor (imports nothing above)."""
