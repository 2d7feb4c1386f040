"""Training jobs run in threads, saved through the registry (imports models, core, engine)."""
