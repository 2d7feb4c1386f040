"""The first visitor's requests, made once by the server itself as it starts.

A fresh server pays for a few things on the first request that asks for them: FastAPI builds
each router's route table (its parameter models) on the first request that walks through it,
Jinja compiles a template on its first render. Together that was ~0.1 s on the first page,
and more on a loaded machine, paid by the first student; `warm` pays it at startup instead, by
sending the requests a page makes first (GET, through every middleware) to the app in process.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message

log = logging.getLogger("unrolled")
FIRST_REQUESTS = ("/", "/embed", "/api/models")


async def get(app: ASGIApp, path: str) -> int:
    """GET `path` from the app in process, as 127.0.0.1 would; the status code."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), (b"accept-encoding", b"gzip")],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 80),
    }
    status = 0
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def warm(app: ASGIApp, paths: tuple[str, ...] = FIRST_REQUESTS) -> None:
    """Answer each of `paths` once (answers dropped); a failure is logged, never raised."""
    for path in paths:
        try:
            status = await get(app, path)
        except Exception as err:  # noqa: BLE001 - warming must never stop the server
            log.warning("warming %s failed: %s", path, err)
            continue
        if status >= 400:
            log.warning("warming %s answered %s", path, status)
