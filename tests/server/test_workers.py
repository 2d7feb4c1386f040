"""`unrolled --workers 2`, for real: every worker process sees the same models and the same
training jobs, at once, whichever worker a student's connection lands on."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from websockets.sync.client import connect

from tests.server.test_import import VOCAB, npz, torch_like_lstm

ROOT = Path(__file__).resolve().parents[2]
FINISHED = ("done", "cancelled", "failed")


@contextmanager
def serving(data_dir: Path, *args: str):
    """A real server (`python -m server ...`) on a free port; yields (url, process). Its output
    goes to a file (a pipe nobody reads would fill up with access logs and block it)."""
    log = data_dir.parent / f"{data_dir.name}-server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server", "--port", "0", "--no-browser", *args],
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "UNROLLED_DATA_DIR": str(data_dir),
                "UNROLLED_TRACE_PROCESSES": "1",  # traces of the imported model run there
            },
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            url = re.search(r"serving at (http://127\.0\.0\.1:\d+/)", log.read_text())
            time.sleep(0.05)
        assert url, log.read_text()
        url = url.group(1)
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)


def client_on_each_worker(url: str) -> tuple[httpx.Client, httpx.Client]:
    """Two keep-alive clients on different worker processes. A /ws held open on one worker
    shows in that worker's /api/stats only, which tells the workers apart."""
    with connect(url.replace("http", "ws") + "ws"):
        found: dict[int, httpx.Client] = {}  # sockets open on its worker -> a client there
        deadline = time.monotonic() + 60  # until both workers have started
        while len(found) < 2 and time.monotonic() < deadline:
            client = httpx.Client(base_url=url, timeout=10)
            sockets = client.get("/api/stats").json()["sockets"]
            if sockets in found:
                client.close()
            else:
                found[sockets] = client
        assert len(found) == 2, "only one worker answered"
        return found[1], found[0]


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("data"), "--workers", "2") as (url, _):
        here, there = client_on_each_worker(url)
        yield url, here, there
        here.close()
        there.close()


def new_connection(url: str, method: str, path: str, **kw) -> httpx.Response:
    return httpx.request(method, url + path.lstrip("/"), timeout=10, **kw)


def test_a_model_imported_on_one_worker_is_listed_by_every_worker_at_once(two_workers):
    url, here, there = two_workers
    r = here.post(
        "/api/models/import",
        files={"file": ("model.npz", npz(torch_like_lstm(), vocab=np.array(VOCAB)))},
        data={"name": "shared"},
    )
    assert r.status_code == 201, r.text
    model_id = r.json()["id"]
    assert model_id in [m["id"] for m in there.get("/api/models").json()]
    assert there.get(f"/api/models/{model_id}").status_code == 200
    for _ in range(30):  # new connections: both workers, in whatever order they accept
        assert model_id in [m["id"] for m in new_connection(url, "GET", "/api/models").json()]
    for client in (here, there):  # and each worker's trace process traces it
        trace = client.post("/api/trace", json={"model": model_id, "text": "abc"})
        assert trace.status_code == 200, trace.text


def poll(client_or_url, job_id: str) -> dict:
    if isinstance(client_or_url, str):
        r = new_connection(client_or_url, "GET", f"/api/train/{job_id}")
    else:
        r = client_or_url.get(f"/api/train/{job_id}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_until(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"waited {timeout} s for {what}")


LONG_JOB = {"task": "rhymes", "cell": "lstm", "hidden_size": 64, "steps": 5000}


def test_a_training_job_is_watched_and_cancelled_from_any_worker(two_workers):
    url, here, there = two_workers
    first = here.post("/api/train", json=LONG_JOB)
    assert first.status_code == 202, first.text
    job_id = first.json()["id"]
    # the other worker knows it at once, and sees its steps advance
    assert poll(there, job_id)["state"] in ("queued", "running")
    step = wait_until(lambda: poll(there, job_id)["step"], "a first step")
    wait_until(lambda: poll(there, job_id)["step"] > step, "the steps to advance")
    steps = [poll(url, job_id)["step"] for _ in range(20)]  # new connections, both workers
    assert all(s >= step for s in steps) and steps[-1] > step
    # the job limit (2 by default) counts the jobs of every worker
    second = there.post("/api/train", json=LONG_JOB)
    assert second.status_code == 202, second.text
    third = new_connection(url, "POST", "/api/train", json=LONG_JOB)
    assert third.status_code == 429 and "already running" in third.json()["detail"]
    # each is cancelled from the worker that does not run it
    for client, job in ((there, job_id), (here, second.json()["id"])):
        assert client.delete(f"/api/train/{job}").status_code == 200
    for job in (job_id, second.json()["id"]):
        final = wait_until(
            lambda job=job: (s := poll(url, job))["state"] in FINISHED and s, "the cancel", 10
        )
        assert final["state"] == "cancelled" and final["step"] < 5000
        assert poll(here, job) == poll(there, job) == final


def test_a_training_job_streams_over_the_websocket_of_any_worker(two_workers):
    url, here, there = two_workers
    short_job = {"task": "rhymes", "cell": "gru", "hidden_size": 32, "steps": 400}
    jobs = [c.post("/api/train", json=short_job).json()["id"] for c in (here, there)]
    # one of the two sockets is on the other worker, whichever worker each lands on
    sockets = [connect(url.replace("http", "ws") + f"ws/train/{j}", open_timeout=10) for j in jobs]
    for ws in sockets:
        with ws:
            updates = [json.loads(ws.recv(timeout=30))]
            while updates[-1]["state"] not in FINISHED:
                updates.append(json.loads(ws.recv(timeout=30)))
        assert updates[-1]["state"] == "done" and updates[-1]["step"] == 400
        steps = [u["step"] for u in updates]
        assert steps == sorted(steps) and len(set(steps)) > 2  # progress, not just the end
        model_id = updates[-1]["model_id"]
        assert model_id in [m["id"] for m in there.get("/api/models").json()]
        assert model_id in [m["id"] for m in here.get("/api/models").json()]


def test_a_job_of_a_server_that_died_shows_as_failed(tmp_path):
    data = tmp_path / "data"
    with serving(data) as (url, proc):
        job_id = httpx.post(url + "api/train", json=LONG_JOB).json()["id"]
        wait_until(lambda: poll(url, job_id)["step"] > 0, "a first step")
        os.killpg(proc.pid, signal.SIGKILL)  # no shutdown: the job cannot say it stopped
        proc.wait(timeout=10)
    with serving(data) as (url, _):
        failed = wait_until(
            lambda: (s := poll(url, job_id))["state"] == "failed" and s, "failed", 15
        )
        assert "stopped" in failed["error"] and "start it again" in failed["error"]
        assert httpx.post(url + "api/train", json=LONG_JOB).status_code == 202  # no slot held
