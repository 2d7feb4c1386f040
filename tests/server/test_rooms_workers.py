"""Classroom rooms with two uvicorn workers behind one real Redis: students on either worker
follow a teacher on the other, and a late joiner on each gets the current state."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from contextlib import ExitStack

import httpx
from websockets.sync.client import connect

from tests.server.redis_server import needs_redis
from tests.server.test_workers import client_on_each_worker, serving


def ws_url(url: str, code: str) -> str:
    return url.replace("http", "ws", 1) + f"ws/room/{code}"


def messages(ws, kind: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=deadline - time.monotonic()))
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message")


@needs_redis
def test_students_on_either_worker_follow_a_teacher_on_the_other(redis_url, tmp_path, monkeypatch):
    monkeypatch.setenv("UNROLLED_BROKER_URL", redis_url)
    with serving(tmp_path / "data", "--workers", "2") as (url, _), ExitStack() as stack:
        for client in client_on_each_worker(url):  # both workers are up
            client.close()
        room = httpx.post(url + "api/rooms", timeout=10).json()
        code = room["code"]
        sockets: list[tuple[object, int]] = []  # (socket, its worker's pid)
        deadline = time.monotonic() + 60
        per_worker = Counter()
        while len(per_worker) < 2 or min(per_worker.values()) < 2:  # a teacher + a student each
            assert time.monotonic() < deadline and len(sockets) < 200, per_worker
            ws = stack.enter_context(connect(ws_url(url, code)))
            sockets.append((ws, messages(ws, "room")["worker"]))
            per_worker[sockets[-1][1]] += 1
            time.sleep(0.02)  # the kernel hands a burst of connections to one worker
        pids = {pid for _, pid in sockets}
        assert len(pids) == 2
        for teacher_pid in pids:  # a teacher on each worker in turn
            t = next(ws for ws, pid in sockets if pid == teacher_pid)
            t.send(json.dumps({"type": "teach", "secret": room["secret"]}))
            messages(t, "teaching")
            students = [(ws, pid) for ws, pid in sockets if ws is not t]
            assert {pid for _, pid in students} == pids  # students on both workers
            for step in range(3):
                state = {"model": "rnn-hello", "t": step, "teacher": teacher_pid}
                t.send(json.dumps({"type": "state", "state": state}))
                for ws, _ in students:
                    got = messages(ws, "state")
                    while got["state"] != state:  # a state of the previous teacher's turn
                        got = messages(ws, "state")
            sockets.remove((t, teacher_pid))
            t.close()
        # a late joiner on each worker gets the current state at once
        seen = set()
        while seen != pids:
            assert time.monotonic() < deadline
            ws = stack.enter_context(connect(ws_url(url, code)))
            seen.add(messages(ws, "room")["worker"])
            assert messages(ws, "state")["state"]["t"] == 2
        info = httpx.get(url + f"api/rooms/{code}", timeout=10).json()
        assert info["students"] >= len(sockets) and info["seq"] == 6
        assert os.environ["UNROLLED_BROKER_URL"] == redis_url
