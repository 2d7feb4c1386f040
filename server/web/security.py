"""Browser-facing safety: security headers, request size caps, and the WebSocket origin check.

Both middlewares are plain ASGI (not BaseHTTPMiddleware) so they cost little per request and
leave WebSockets alone.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.core.responses import dumps
from server.core.settings import Settings
from server.web.network import lan_addresses

UPLOAD_PATH = "/api/models/import"
_LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")
_WILDCARD_HOSTS = ("0.0.0.0", "::", "")
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
        host = _header(scope, b"host")
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
    Uploads (/api/models/import) have their own, larger limit.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, upload_max_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.upload_max_bytes = upload_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        upload = scope.get("path") == UPLOAD_PATH
        limit = self.upload_max_bytes if upload else self.max_body_bytes
        what = "The uploaded file" if upload else "The request body"
        too_big = f"{what} is too large: at most {limit} bytes are accepted."
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.isdigit():
                await _reply(send, 400, "The Content-Length header is not a number.")
                return
            if int(length) > limit:
                await _reply(send, 413, too_big)
                return
        # Read the whole (capped) body now, then replay it to the app.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _reply(send, 413, too_big)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reply(send: Send, status: int, detail: str) -> None:
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


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


# -- WebSocket origin ---------------------------------------------------------------------


def allowed_origins(settings: Settings) -> set[str]:
    """Exact scheme://host:port strings a page may open our WebSockets from.

    By default: the served address and its local equivalents (127.0.0.1, localhost, [::1]);
    when serving on all interfaces, also this machine's name and addresses.
    """
    if settings.allowed_origins:
        return {o.rstrip("/").lower() for o in settings.allowed_origins}
    port = settings.port
    names: set[str] = set()
    host = settings.host.strip("[]")
    if host in _LOCAL_NAMES or host in ("127.0.0.1", "::1") or host in _WILDCARD_HOSTS:
        names.update(_LOCAL_NAMES)
    if host in _WILDCARD_HOSTS:
        names.update(_machine_names())
    elif host not in ("127.0.0.1", "::1", "localhost"):
        names.add(f"[{host}]" if ":" in host else host)
    origins = set()
    for name in names:
        for scheme in ("http", "https"):
            origins.add(f"{scheme}://{name.lower()}:{port}")
    return origins


def _machine_names() -> Iterable[str]:
    # The interfaces' own addresses matter most: students type http://192.168.1.5:8000/
    host = socket.gethostname()
    names = {host, socket.getfqdn(), *lan_addresses()}
    # ... and the name zero-configuration networking gives the laptop on the local network
    # (mDNS: Bonjour, Avahi): http://teachers-laptop.local:8000/
    first = host.split(".")[0]
    if first:
        names.add(f"{first}.local")
    try:
        names.update(socket.gethostbyname_ex(host)[2])
    except OSError:
        pass
    return {n for n in names if n}


def origin_allowed(origin: str | None, allowed: set[str]) -> bool:
    """No Origin header (a script, not a browser page) is allowed; otherwise an exact match.

    Parsing and re-assembling the origin means `http://127.0.0.1:8000.evil.com` cannot pass
    as a prefix match, and a default port is written out (`http://localhost` = `:80`).
    """
    if origin is None:
        return True
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        return False
    if parts.path not in ("", "/") or parts.query or parts.username or parts.password:
        return False
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port}" in allowed
