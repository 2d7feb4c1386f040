"""The access log without the static files.

A classroom's first minute is 80 page loads of some forty modules and style sheets each: over
3,000 lines of `GET /static/… 200` in the teacher's terminal, scrolling away the lines worth
reading (the API's requests, the refusals, the errors). A static file's successful or cached
answer (200, 304) is not logged; every other request, and every static request that fails, is.
"""

from __future__ import annotations

import logging

QUIET_STATUSES = (200, 304)


class QuietStatic(logging.Filter):
    """Drops uvicorn's access-log records of /static/ answered 200 or 304."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple) or len(args) < 5:
            return True  # not uvicorn's (client, method, path, version, status)
        path, status = str(args[2]), args[4]
        return not (path.startswith("/static/") and status in QUIET_STATUSES)


def quiet_static() -> None:
    """Install the filter on uvicorn's access logger (once)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QuietStatic) for f in logger.filters):
        logger.addFilter(QuietStatic())
