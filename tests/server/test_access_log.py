"""The teacher's terminal: the access log leaves out static files answered 200 or 304."""

from __future__ import annotations

import logging

import httpx

from server.web import assets
from server.web.access_log import QuietStatic
from tests.server import real_server


def record(path: str, status: int) -> logging.LogRecord:
    """An access-log record as uvicorn makes it."""
    args = ("127.0.0.1:5000", "GET", path, "1.1", status)
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', args, None
    )


def test_the_filter_keeps_all_but_a_static_files_success():
    keep = QuietStatic().filter
    assert not keep(record("/static/js/api.js?v=0123", 200))
    assert not keep(record("/static/css/main.css", 304))
    assert keep(record("/static/js/nope.js", 404))  # a missing file is worth a line
    assert keep(record("/api/trace", 200)) and keep(record("/", 200))
    assert keep(logging.LogRecord("uvicorn.access", logging.INFO, "", 0, "plain", None, None))


def test_a_running_server_logs_the_api_and_not_the_modules(tmp_path):
    proc, url = real_server.start(tmp_path)
    try:
        assert httpx.get(url + assets.static("js/api.js").lstrip("/")).status_code == 200
        assert httpx.get(url + "static/js/no-such-module.js").status_code == 404
        assert httpx.get(url + "api/models").status_code == 200
    finally:
        out = real_server.stop(proc)
    assert "GET /api/models" in out and "/static/js/no-such-module.js" in out
    assert "/static/js/api.js" not in out
