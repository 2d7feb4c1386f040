"""Unrolled's web server: a FastAPI app serving the page, the trace API and training jobs."""

__version__ = "0.1.0"
