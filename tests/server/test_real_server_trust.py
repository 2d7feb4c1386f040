"""Against a real uvicorn process: foreign Host names and pages are refused, and slow clients
(slowloris: headers or a body sent a byte at a time) are cut off, with raw sockets."""

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 1.0  # header_timeout and body_timeout of this server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "UNROLLED_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "UNROLLED_TRACE_PROCESSES": "0",
        "UNROLLED_ALLOWED_HOSTS": "[]",
        "UNROLLED_HEADER_TIMEOUT": str(TIMEOUT),
        "UNROLLED_BODY_TIMEOUT": str(TIMEOUT),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--port", "0", "--no-browser"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        port = int(re.search(r"127\.0\.0\.1:(\d+)/", proc.stdout.readline()).group(1))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_foreign_host_and_origin_are_refused(server):
    url = f"http://127.0.0.1:{server}"
    for host in (f"127.0.0.1:{server}", f"localhost:{server}", "teachers-laptop.local"):
        page = httpx.get(url + "/", headers={"host": host})
        assert page.status_code == 200 and "Unrolled" in page.text, host
    r = httpx.get(url + "/api/health", headers={"host": "evil.example"})
    assert r.status_code == 400 and "evil" not in r.text
    train = {"task": "hello", "steps": 2, "hidden_size": 2}
    r = httpx.post(url + "/api/train", json=train, headers={"origin": "http://evil.example"})
    assert r.status_code == 403 and "another site" in r.json()["detail"]
    upload = {"file": ("m.npz", b"PK...")}
    r = httpx.post(url + "/api/models/import", files=upload, headers={"origin": "null"})
    assert r.status_code == 403
    r = httpx.post(url + "/api/train", json=train, headers={"origin": url})
    assert r.status_code == 202
    httpx.delete(url + f"/api/train/{r.json()['id']}")


@pytest.mark.parametrize("headers", [{"Host": "evil.example"}, {"Origin": "http://evil.example"}])
def test_foreign_websocket_handshake_is_refused(server, headers):
    async def connect():
        uri = f"ws://127.0.0.1:{server}/ws"
        if "Host" in headers:
            uri = f"ws://evil.example:{server}/ws"  # a name that (rebound) points here
            sock = socket.create_connection(("127.0.0.1", server))
            async with websockets.connect(uri, sock=sock):
                pass
        else:
            async with websockets.connect(uri, additional_headers=headers):
                pass

    with pytest.raises(InvalidStatus) as e:
        asyncio.run(asyncio.wait_for(connect(), 10))
    assert e.value.response.status_code == 403


def _read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    start, data = time.monotonic(), b""
    sock.settimeout(limit)
    while True:
        try:
            chunk = sock.recv(4096)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    return data, time.monotonic() - start


def test_a_silent_connection_is_closed(server):
    with socket.create_connection(("127.0.0.1", server)) as sock:
        data, took = _read_until_closed(sock, 5 * TIMEOUT)
    assert took < 3 * TIMEOUT
    assert data.startswith(b"HTTP/1.1 408")


def test_headers_sent_a_byte_at_a_time_are_cut_off(server):
    request = b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 1000
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", server)) as sock:
        closed = False
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.05)
            if time.monotonic() - start > 5 * TIMEOUT:
                break
        data, _ = _read_until_closed(sock, 2 * TIMEOUT)
    assert closed or data.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - start < 5 * TIMEOUT


def test_a_body_sent_too_slowly_gets_408(server):
    head = (
        b"POST /api/trace HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(head + b'{"model": ')
        data, took = _read_until_closed(sock, 5 * TIMEOUT)
    assert took < 3 * TIMEOUT
    assert data.startswith(b"HTTP/1.1 408") and b"took longer than 1 s" in data


def test_a_normal_client_is_not_cut_off(server):
    with httpx.Client(base_url=f"http://127.0.0.1:{server}") as client:
        for _ in range(3):
            r = client.post("/api/trace", json={"model": "rnn-hello", "text": "hell"})
            assert r.status_code == 200
            time.sleep(TIMEOUT * 1.2)  # idle between requests: keep-alive, not a slow header
        assert client.get("/api/health").status_code == 200
