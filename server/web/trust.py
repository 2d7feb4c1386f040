"""Who may talk to this server: which Host names it answers (DNS rebinding) and which pages may
change its state (CSRF, and the WebSocket handshake).

A DNS-rebinding page (http://evil.example:8000/ whose name is made to point at 127.0.0.1) talks
to us as same-origin, so only the Host header, which the browser sets from the URL, gives it
away: we answer only names we can trust, as Jupyter does. A page on another site can still POST
a form (or a multipart upload) without a preflight: state-changing requests must come from a
trusted page, told by `Origin` (or, without it, `Referer`). Requests with neither header come
from scripts, not pages, and are welcome.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from server.core.settings import Settings
from server.web.network import lan_addresses
from server.web.security import header, reply

_LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")
_WILDCARD_HOSTS = ("0.0.0.0", "::", "")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
REFRESH_SECONDS = 30.0  # a laptop that joins the classroom's network after starting

UNTRUSTED_HOST = (
    "This server does not answer to that host name. Open it at http://localhost:<port>/, at "
    "this computer's network address or name, or add the name to UNROLLED_ALLOWED_HOSTS."
)
UNTRUSTED_ORIGIN = (
    "This request came from a page on another site, so it was refused. Use Unrolled's own page, "
    "or add that site to UNROLLED_ALLOWED_ORIGINS."
)


# -- origins ----------------------------------------------------------------------------------


def allowed_origins(settings: Settings) -> set[str]:
    """Exact scheme://host:port strings of the pages trusted to drive this server.

    By default: the served address and its local equivalents (127.0.0.1, localhost, [::1]);
    when serving on all interfaces, also this machine's name and addresses.
    """
    if settings.allowed_origins:
        return {o for o in map(normal_origin, settings.allowed_origins) if o}
    port = settings.port
    names: set[str] = set()
    host = settings.host.strip("[]")
    if host in _LOCAL_NAMES or host in ("127.0.0.1", "::1") or host in _WILDCARD_HOSTS:
        names.update(_LOCAL_NAMES)
    if host in _WILDCARD_HOSTS:
        names.update(machine_names())
    elif host not in ("127.0.0.1", "::1", "localhost"):
        names.add(f"[{host}]" if ":" in host else host)
    origins = set()
    for name in names:
        for scheme in ("http", "https"):
            origins.add(f"{scheme}://{name.lower()}:{port}")
    return origins


def machine_names() -> set[str]:
    """This machine's host name, fully qualified name, `<name>.local` (mDNS) and addresses."""
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
    return {n.lower() for n in names if n}


def normal_origin(origin: str) -> str | None:
    """`scheme://host:port` (port written out), or None if it is not an http(s) origin."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        return None
    if parts.username or parts.password:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port}"


def origin_allowed(origin: str | None, allowed: set[str]) -> bool:
    """No Origin header (a script, not a browser page) is allowed; otherwise an exact match.

    Parsing and re-assembling the origin means `http://127.0.0.1:8000.evil.com` cannot pass
    as a prefix match, and a default port is written out (`http://localhost` = `:80`).
    """
    if origin is None:
        return True
    parts = urlsplit(origin.strip())
    if parts.path not in ("", "/") or parts.query:
        return False
    return normal_origin(origin) in allowed


def page_origin(scope: Scope) -> str | None:
    """The origin of the page that sent the request: `Origin`, else `Referer`'s origin; None
    when there is neither (not a browser page). "null" (a sandboxed or file: page) stays."""
    origin = header(scope, b"origin")
    if origin is not None:
        return origin
    referer = header(scope, b"referer")
    if referer is None:
        return None
    parts = urlsplit(referer.strip())
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "null"


def same_origin(origin: str, scope: Scope) -> bool:
    """The page is this very server's, as the browser addressed it (the Host header)."""
    host = header(scope, b"host")
    if not host:
        return False
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme"))
    return normal_origin(origin) == normal_origin(f"{scheme}://{host}")


# -- host names -------------------------------------------------------------------------------


def host_name(value: str) -> str | None:
    """The name or address in a Host header, lower case, without port or trailing dot;
    None if the header is malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        name, sep, rest = value[1:].partition("]")
        if not sep or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        try:
            return str(ipaddress.IPv6Address(name))
        except ValueError:
            return None
    name, _, port = value.partition(":")
    if port and not port.isdigit():
        return None
    name = name.rstrip(".")
    if not name or not all(c.isalnum() or c in "-._" for c in name):
        return None
    return name


class TrustedHosts:
    """The Host names this server answers: loopback names and addresses (localhost,
    *.localhost, 127.0.0.0/8, ::1), this machine's names and network addresses, *.local (mDNS),
    the served host, the hosts of `allowed_origins`, and `allowed_hosts` (exact names, or
    `*.domain`; "*" = any)."""

    def __init__(self, settings: Settings):
        extra = [h.strip().lower() for h in settings.allowed_hosts]
        self.any = "*" in extra
        self.suffixes = tuple(h[1:] for h in extra if h.startswith("*."))
        self.names = {host_name(h) for h in extra if not h.startswith("*")} - {None}
        served = settings.host.strip("[]")
        if served not in _WILDCARD_HOSTS:
            self.names.add(host_name(f"[{served}]" if ":" in served else served))
        for origin in settings.allowed_origins:
            parts = urlsplit(origin.strip().lower())
            if parts.hostname:
                self.names.add(parts.hostname.strip("[]"))
        self._machine = self._machine_names()
        self._checked = time.monotonic()
        self._refreshing = threading.Lock()

    @staticmethod
    def _machine_names() -> frozenset[str]:
        return frozenset(host_name(n) or n for n in machine_names())

    def _trusted(self, name: str) -> bool:
        if name in self.names or name in self._machine:
            return True
        try:
            return ipaddress.ip_address(name).is_loopback
        except ValueError:
            pass
        if name == "localhost" or name.endswith((".localhost", ".local")):
            return True
        return any(name.endswith(s) and name != s[1:] for s in self.suffixes)

    async def trusted(self, value: str | None) -> bool:
        """Whether a request with this Host header is answered. No Host header at all
        (HTTP/1.0) cannot come from a rebinding page: a browser always sends one."""
        if self.any or value is None:
            return True
        name = host_name(value)
        if name is None:
            return False
        if self._trusted(name):
            return True
        if time.monotonic() - self._checked > REFRESH_SECONDS and self._refreshing.acquire(False):
            try:  # a name look-up may wait on the network: not on the event loop
                self._machine = await anyio.to_thread.run_sync(self._machine_names)
                self._checked = time.monotonic()
            finally:
                self._refreshing.release()
            return self._trusted(name)
        return False


class TrustMiddleware:
    """Refuses, before any route runs: a request whose Host is not trusted (400; a WebSocket
    is closed with 1008 before its handshake completes, which a browser sees as 403), and a
    state-changing request (not GET/HEAD/OPTIONS) or a WebSocket opened from a page on another
    origin (403). A page is trusted when it is this server's own (same origin as the Host it
    asked for), one of `allowed_origins` or one of `cors_origins`."""

    def __init__(self, app: ASGIApp, settings: Settings, origins: Iterable[str]):
        self.app = app
        self.hosts = TrustedHosts(settings)
        self.origins = set(origins) | {
            o for o in (normal_origin(c) for c in settings.cors_origins) if o
        }

    def _page_trusted(self, scope: Scope) -> bool:
        origin = page_origin(scope)
        if origin is None:
            return True  # a script, not a page in a browser
        return origin_allowed(origin, self.origins) or same_origin(origin, scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host_ok = await self.hosts.trusted(header(scope, b"host"))
        if kind == "websocket":
            if not host_ok or not self._page_trusted(scope):
                await send({"type": "websocket.close", "code": 1008, "reason": "not allowed"})
                return
        elif not host_ok:
            await reply(send, 400, UNTRUSTED_HOST)
            return
        elif scope["method"] not in SAFE_METHODS and not self._page_trusted(scope):
            await reply(send, 403, UNTRUSTED_ORIGIN)
            return
        await self.app(scope, receive, send)
