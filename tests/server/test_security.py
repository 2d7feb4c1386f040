"""Security headers, CORS (off unless configured) and the WebSocket origin rules."""

import pytest

from server.core.settings import Settings
from server.web.trust import allowed_origins, origin_allowed
from tests.server.helpers import trace_body


@pytest.mark.parametrize("path", ["/", "/api/health", "/api/models", "/favicon.svg", "/nope"])
def test_headers_on_every_response(client, path):
    h = client.get(path).headers
    csp = h["content-security-policy"]
    for part in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "frame-ancestors 'none'",
    ):
        assert part in csp
    assert "connect-src 'self' ws://testserver wss://testserver" in csp
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"]
    assert h["x-frame-options"] == "DENY"


def test_headers_on_errors_too(client):
    r = client.post("/api/trace", json=trace_body(text="x" * 1_000_000))
    assert r.status_code == 413
    assert r.headers["x-content-type-options"] == "nosniff"


def test_embed_may_be_framed(client, make_client):
    h = client.get("/embed").headers
    assert "x-frame-options" not in h
    assert "frame-ancestors *" in h["content-security-policy"]
    strict = make_client(frame_ancestors="https://school.example")
    h = strict.get("/embed").headers
    assert "frame-ancestors https://school.example" in h["content-security-policy"]


def test_cors_is_off_by_default(client, make_client):
    r = client.get("/api/models", headers={"origin": "http://evil.com"})
    assert "access-control-allow-origin" not in r.headers
    on = make_client(cors_origins=["https://school.example"])
    r = on.get("/api/models", headers={"origin": "https://school.example"})
    assert r.headers["access-control-allow-origin"] == "https://school.example"


def test_default_origins_follow_host_and_port():
    allowed = allowed_origins(Settings(host="127.0.0.1", port=8123))
    assert {"http://127.0.0.1:8123", "http://localhost:8123", "http://[::1]:8123"} <= allowed
    assert not any(o.endswith(":8000") for o in allowed)
    assert allowed_origins(Settings(allowed_origins=["https://A.example:443/"])) == {
        "https://a.example:443"
    }


@pytest.mark.parametrize(
    "origin,ok",
    [
        (None, True),
        ("http://127.0.0.1:8000", True),
        ("HTTP://LOCALHOST:8000", True),
        ("http://127.0.0.1:8000/", True),
        ("http://127.0.0.1:8000.evil.com", False),
        ("http://127.0.0.1.evil.com:8000", False),
        ("http://evil.com", False),
        ("http://user@127.0.0.1:8000", False),
        ("ftp://127.0.0.1:8000", False),
        ("http://127.0.0.1:99999", False),
        ("", False),
        ("null", False),
    ],
)
def test_origin_matching_is_exact(origin, ok):
    allowed = allowed_origins(Settings(host="127.0.0.1", port=8000))
    assert origin_allowed(origin, allowed) is ok


def test_classroom_server_trusts_its_own_network_addresses(monkeypatch):
    """`unrolled --host 0.0.0.0`: a student's page at http://<laptop's LAN address>:8000 may open
    the WebSocket; a look-alike address or another machine's may not."""
    monkeypatch.setattr("server.web.trust.lan_addresses", lambda: ["192.168.1.5"])
    allowed = allowed_origins(Settings(host="0.0.0.0", port=8000))
    assert origin_allowed("http://192.168.1.5:8000", allowed)
    assert origin_allowed("http://localhost:8000", allowed)
    assert not origin_allowed("http://192.168.1.50:8000", allowed)
    assert not origin_allowed("http://192.168.1.5:8000.evil.com", allowed)
    assert not origin_allowed("http://192.168.1.5:9000", allowed)


def test_classroom_server_trusts_its_local_network_name(monkeypatch):
    """Students may type the laptop's mDNS name (Bonjour, Avahi) instead of its address."""
    monkeypatch.setattr("server.web.trust.lan_addresses", lambda: [])
    monkeypatch.setattr("socket.gethostname", lambda: "teachers-laptop")
    allowed = allowed_origins(Settings(host="0.0.0.0", port=8000))
    assert origin_allowed("http://teachers-laptop.local:8000", allowed)
    assert origin_allowed("http://teachers-laptop:8000", allowed)
    assert not origin_allowed("http://teachers-laptop.local.evil.com:8000", allowed)
    # served on 127.0.0.1 only: no network names at all
    assert not origin_allowed("http://teachers-laptop.local:8000", allowed_origins(Settings()))


def test_lan_addresses_are_this_machines_and_not_loopback():
    import ipaddress

    from server.web.network import lan_addresses

    for address in lan_addresses():
        assert not ipaddress.ip_address(address).is_loopback
