"""DNS rebinding (the Host names the server answers) and CSRF (which pages may change its state)."""

import io

import numpy as np
import pytest
from starlette.websockets import WebSocketDisconnect

from server.web.trust import host_name
from tests.server.helpers import trace_body

EVIL = "evil.example"


@pytest.fixture
def classroom(make_client, monkeypatch):
    """A server on all interfaces of a laptop called teachers-laptop at 192.168.1.5, with no
    extra host names allowed (the tests' own "testserver" is left out on purpose)."""
    monkeypatch.setattr("server.web.trust.lan_addresses", lambda: ["192.168.1.5"])
    monkeypatch.setattr("socket.gethostname", lambda: "teachers-laptop")
    monkeypatch.setattr("socket.getfqdn", lambda: "teachers-laptop.lan")
    # max_training_jobs: a cancelled job may still be stopping when the next one starts
    client = make_client(host="0.0.0.0", port=8000, allowed_hosts=[], max_training_jobs=10)
    client.base_url = "http://localhost:8000"
    return client


def _post_trace(client, host, origin=None):
    headers = {"host": host} | ({"origin": origin} if origin else {})
    return client.post("/api/trace", json=trace_body(), headers=headers)


@pytest.mark.parametrize(
    "host",
    [
        "localhost:8000",
        "127.0.0.1:8000",
        "[::1]:8000",
        "LOCALHOST",
        "localhost.:8000",
        "unrolled.localhost:8000",
        "192.168.1.5:8000",
        "192.168.1.5",
        "teachers-laptop:8000",
        "teachers-laptop.local:8000",
        "teachers-laptop.lan:8000",
    ],
)
def test_page_and_api_work_at_every_trusted_name(classroom, host):
    origin = f"http://{host}"
    page = classroom.get("/", headers={"host": host})
    assert page.status_code == 200 and "Unrolled" in page.text
    assert classroom.get("/api/models", headers={"host": host}).status_code == 200
    # the page's own requests: same origin as the name it was opened at
    assert _post_trace(classroom, host, origin).status_code == 200
    with classroom.websocket_connect("/ws", headers={"host": host, "origin": origin}) as ws:
        ws.send_json(trace_body())
        assert ws.receive_json()["phase"] == "start"


@pytest.mark.parametrize(
    "host",
    [
        f"{EVIL}:8000",
        EVIL,
        "127.0.0.1.evil.example",
        "192.168.1.5.nip.io:8000",
        "localhost.evil.example",
        "local",
        "192.168.1.50:8000",
        "[::1",
        "localhost:80:80",
        "a b",
    ],
)
def test_a_foreign_host_is_refused_everywhere(classroom, host):
    for r in (
        classroom.get("/", headers={"host": host}),
        classroom.get("/api/health", headers={"host": host}),
        _post_trace(classroom, host),
    ):
        assert r.status_code == 400
        detail = r.json()["detail"]
        assert "host name" in detail and "UNROLLED_ALLOWED_HOSTS" in detail
        assert EVIL not in detail and "nip.io" not in detail  # never echoed
        assert r.headers["x-content-type-options"] == "nosniff"
    with pytest.raises(WebSocketDisconnect) as e:
        with classroom.websocket_connect("/ws", headers={"host": host}):
            pass
    assert e.value.code == 1008


def test_a_foreign_origin_cannot_change_anything(classroom):
    """A page on another site may POST a form or an upload without asking first; the server
    must refuse it before anything is started or stored."""
    host = "localhost:8000"
    train = {"task": "hello", "steps": 5, "hidden_size": 4}
    upload = {"file": ("m.npz", io.BytesIO(_tiny_npz()), "application/octet-stream")}
    for headers in (
        {"origin": f"http://{EVIL}"},
        {"origin": "null"},  # a sandboxed iframe or a file: page
        {"origin": "http://localhost:8000.evil.example"},
        {"referer": f"http://{EVIL}/attack.html"},  # an old browser sends no Origin
    ):
        headers = {"host": host, **headers}
        for r in (
            classroom.post("/api/train", json=train, headers=headers),
            classroom.post(
                "/api/models/import", files=upload, data={"vocab": '["a","b"]'}, headers=headers
            ),
            classroom.delete("/api/train/abc", headers=headers),
            classroom.post("/api/trace", json=trace_body(), headers=headers),
            classroom.post("/api/gradcheck", json=trace_body(t=0, unit=0), headers=headers),
        ):
            assert r.status_code == 403, r.text
            assert "another site" in r.json()["detail"]
            assert EVIL not in r.text
    assert classroom.app.state.jobs.jobs == {}
    assert {m["source"] for m in classroom.get("/api/models").json()} == {"demo"}
    # reading is not changing: the model list is no secret
    assert classroom.get("/api/models", headers={"origin": f"http://{EVIL}"}).status_code == 200
    with pytest.raises(WebSocketDisconnect):
        with classroom.websocket_connect("/ws", headers={"origin": f"http://{EVIL}"}):
            pass


def test_scripts_and_the_servers_own_page_may_change_things(classroom):
    train = {"task": "hello", "steps": 5, "hidden_size": 4}
    for headers in (
        {},  # curl, a Python script
        {"origin": "http://localhost:8000"},
        {"origin": "http://192.168.1.5:8000"},
        {"referer": "http://teachers-laptop.local:8000/"},
    ):
        r = classroom.post("/api/train", json=train, headers={"host": "localhost:8000", **headers})
        assert r.status_code == 202, (headers, r.text)
        classroom.delete(f"/api/train/{r.json()['id']}", headers={"host": "localhost:8000"})


def test_more_hosts_and_origins_can_be_allowed(make_client):
    c = make_client(
        allowed_hosts=["class.example", "*.school.example"],
        allowed_origins=["https://class.example"],
        cors_origins=["https://tools.example"],
    )
    for host in ("class.example", "unrolled.school.example:8000", "localhost"):
        assert c.get("/api/health", headers={"host": host}).status_code == 200, host
    for host in ("school.example", "evil.example", "class.example.evil.example"):
        assert c.get("/api/health", headers={"host": host}).status_code == 400, host
    for origin in ("https://class.example", "https://tools.example"):
        r = _post_trace(c, "class.example", origin)
        assert r.status_code == 200, origin
    assert _post_trace(c, "class.example", "https://evil.example").status_code == 403
    anything = make_client(allowed_hosts=["*"])
    assert anything.get("/api/health", headers={"host": EVIL}).status_code == 200


@pytest.mark.parametrize(
    "value,name",
    [
        ("LocalHost:8000", "localhost"),
        ("[::1]:8000", "::1"),
        ("[0:0:0:0:0:0:0:1]", "::1"),
        ("example.com.", "example.com"),
        ("[::1]x", None),
        ("host:port", None),
        ("", None),
        ("a/b", None),
    ],
)
def test_host_header_parsing(value, name):
    assert host_name(value) == name


def _tiny_npz() -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(
        buf,
        weight_ih_l0=rng.standard_normal((2, 2)),
        weight_hh_l0=rng.standard_normal((2, 2)),
        bias_ih_l0=np.zeros(2),
        bias_hh_l0=np.zeros(2),
    )
    return buf.getvalue()
