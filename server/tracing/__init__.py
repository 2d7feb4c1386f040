"""Traces: the service, request and build, binary form, process pool (imports models, core)."""
