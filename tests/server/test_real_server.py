"""The command line against a real uvicorn process on a free port, with real sockets."""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets

from tests.server import real_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc, url = real_server.start(
        tmp_path_factory.mktemp("data"), cwd=tmp_path_factory.mktemp("cwd")
    )
    assert not url.endswith(":0/")
    yield url
    real_server.stop(proc)


def test_health_and_page(server):
    assert httpx.get(server + "api/health").json() == {"status": "ok"}
    page = httpx.get(server)
    assert page.status_code == 200 and "Unrolled" in page.text


async def _trace_over_ws(url: str, origin: str | None) -> list[dict]:
    headers = {"Origin": origin} if origin else {}
    async with websockets.connect(url, additional_headers=headers) as ws:
        await ws.send(json.dumps({"model": "gru-question", "text": "are you good"}))
        frames = [json.loads(await ws.recv())]
        while frames[-1].get("phase") != "done":
            frames.append(json.loads(await ws.recv()))
        return frames


def test_websocket_trace(server):
    ws_url = server.replace("http://", "ws://") + "ws"
    frames = asyncio.run(_trace_over_ws(ws_url, None))
    assert [f["phase"] for f in frames].count("forward") == 3
    own = server.rstrip("/")
    assert asyncio.run(_trace_over_ws(ws_url, own))[-1]["phase"] == "done"


@pytest.mark.parametrize("origin", ["http://evil.com", "{own}.evil.com"])
def test_websocket_from_another_site_is_refused(server, origin):
    ws_url = server.replace("http://", "ws://") + "ws"
    origin = origin.format(own=server.rstrip("/"))
    with pytest.raises(websockets.exceptions.InvalidStatus) as e:
        asyncio.run(_trace_over_ws(ws_url, origin))
    assert e.value.response.status_code == 403


async def _leave_mid_stream(ws_url: str) -> None:
    # close_timeout: like a closed browser tab, do not wait for the server to drain its frames
    async with websockets.connect(ws_url, close_timeout=0.1) as ws:
        await ws.send(json.dumps({"model": "lstm-rhymes", "text": "twinkle " * 60}))
        assert json.loads(await ws.recv())["phase"] == "start"
    # closed after the first frame; the server must carry on serving others


def test_disconnect_mid_stream_then_serve_others(server):
    ws_url = server.replace("http://", "ws://") + "ws"
    for _ in range(5):
        asyncio.run(_leave_mid_stream(ws_url))
    assert httpx.get(server + "api/health", timeout=2).status_code == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        stats = httpx.get(server + "api/stats").json()
        if stats["sockets"] == stats["streams"] == stats["traces_active"] == 0:
            break
        time.sleep(0.05)
    assert stats == {**stats, "sockets": 0, "streams": 0, "traces_active": 0}
    assert asyncio.run(_trace_over_ws(ws_url, None))[-1]["phase"] == "done"


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_stopping_the_server_stops_its_workers_quietly(tmp_path, how):
    """Ctrl-C in the teacher's terminal (SIGINT to the whole process group) or a SIGTERM: the
    server shuts down, prints no traceback and leaves no worker process behind."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "UNROLLED_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--port", "0", "--no-browser"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = re.search(r"http://127\.0\.0\.1:\d+/", proc.stdout.readline()).group(0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            r = httpx.post(url + "api/trace", json={"model": "rnn-hello", "text": "hello"})
            break
        except httpx.TransportError:
            time.sleep(0.1)
    assert r.status_code == 200
    workers = _children(proc.pid)
    assert len(workers) >= 2  # the trace worker processes
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.terminate()
    out, _ = proc.communicate(timeout=30)
    assert "Traceback" not in out and "Application shutdown complete" in out
    if how == "ctrl-c":
        assert proc.returncode == 0 and "Unrolled stopped." in out, out
    else:  # uvicorn shuts down, then lets the signal end the process, as is the custom
        assert proc.returncode in (0, -signal.SIGTERM), out
    time.sleep(0.2)
    assert not [w for w in workers if _alive(w)]
