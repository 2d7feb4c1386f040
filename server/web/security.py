"""Browser-facing safety: security headers and request size caps (who may talk to the server at
all is server.web.trust).

Both middlewares are plain ASGI (not BaseHTTPMiddleware) so they cost little per request and
leave WebSockets alone.
"""

from __future__ import annotations

import asyncio
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.core.responses import dumps

UPLOAD_PATH = "/api/models/import"
_SAFE_HOST = re.compile(r"^[A-Za-z0-9.\-\[\]:]{1,255}$")


def is_embed(path: str) -> bool:
    return path == "/embed" or path.startswith("/embed/")


def content_security_policy(host: str | None, frame_ancestors: str) -> str:
    # connect-src names the WebSocket of this very host: older browsers do not count ws: as 'self'.
    connect = "'self'"
    if host and _SAFE_HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",  # plotly writes inline styles
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "worker-src 'self' blob:",  # ReDoc (/redoc) searches in a worker made from a blob
            f"connect-src {connect}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


class SecurityHeadersMiddleware:
    """Adds CSP, nosniff, Referrer-Policy and X-Frame-Options to every HTTP response.

    /embed is meant for iframes: it gets `frame-ancestors <settings.frame_ancestors>` and no
    X-Frame-Options; everything else refuses to be framed.
    """

    def __init__(self, app: ASGIApp, frame_ancestors: str = "*"):
        self.app = app
        self.frame_ancestors = frame_ancestors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        embed = is_embed(scope.get("path", ""))
        host = header(scope, b"host")
        csp = content_security_policy(host, self.frame_ancestors if embed else "'none'")
        extra = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if not embed:
            extra.append((b"x-frame-options", b"DENY"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [(k, v) for k, v in extra if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Rejects bodies over the limit with 413 before anything parses them.

    Content-Length is checked first; bodies without one (chunked) are counted while read.
    Uploads (/api/models/import) have their own, larger limit. A body that has not all arrived
    within `body_timeout` seconds gets 408 (a slow client must not hold a connection).
    """

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, upload_max_bytes: int, body_timeout: float = 60.0
    ):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.upload_max_bytes = upload_max_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        upload = scope.get("path") == UPLOAD_PATH
        limit = self.upload_max_bytes if upload else self.max_body_bytes
        what = "The uploaded file" if upload else "The request body"
        too_big = f"{what} is too large: at most {limit} bytes are accepted."
        length = header(scope, b"content-length")
        if length is not None:
            if not length.isdigit():
                await reply(send, 400, "The Content-Length header is not a number.")
                return
            if int(length) > limit:
                await reply(send, 413, too_big)
                return
        # Read the whole (capped) body now, within body_timeout, then replay it to the app.
        chunks, size = [], 0
        try:
            async with asyncio.timeout(self.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        await reply(send, 413, too_big)
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            slow = f"The request body took longer than {self.body_timeout:g} s to arrive."
            await reply(send, 408, slow)
            return
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def reply(send: Send, status: int, detail: str) -> None:
    body = dumps({"detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None
