"""Classroom rooms: opening, joining, following, refusals, limits and expiry, in process and
through a real Redis (`redis-server`, started on a free port; two uvicorn workers behind one
Redis are test_rooms_workers.py)."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack

import pytest
from starlette.websockets import WebSocketDisconnect

from server.rooms.codes import ALPHABET, LENGTH
from tests.server.redis_server import needs_redis


@pytest.fixture(params=["in-process", pytest.param("redis", marks=needs_redis)])
def broker(request):
    """The broker URL setting: "" (in-process) or a real Redis, emptied for each test."""
    if request.param != "redis":
        return ""
    url = request.getfixturevalue("redis_url")
    import redis

    with redis.Redis.from_url(url) as r:
        r.flushall()
    return url


@pytest.fixture
def rooms_client(make_client, broker):
    """make(**settings) -> a TestClient; its `sockets` (an ExitStack) close at the test's end,
    before the app stops (a TestClient waits for every socket it opened)."""
    with ExitStack() as sockets:

        def make(**overrides):
            client = make_client(broker_url=broker, **overrides)
            client.sockets = sockets
            return client

        yield make


def open_room(client) -> dict:
    r = client.post("/api/rooms")
    assert r.status_code == 201, r.text
    return r.json()


def receive(ws, kind: str) -> dict:
    """The next message of this kind (presence counts may come in between)."""
    for _ in range(20):
        message = ws.receive_json()
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message")


def teacher(client, room: dict):
    ws = client.sockets.enter_context(client.websocket_connect(f"/ws/room/{room['code']}"))
    assert receive(ws, "room")["role"] == "student"
    ws.send_json({"type": "teach", "secret": room["secret"]})
    receive(ws, "teaching")
    return ws


def student(client, code: str):
    ws = client.sockets.enter_context(client.websocket_connect(f"/ws/room/{code}"))
    return ws, receive(ws, "room")


# -- opening and looking up ---------------------------------------------------------------


def test_a_room_has_a_short_unambiguous_code_a_link_and_a_qr_code(rooms_client):
    client = rooms_client()
    room = open_room(client)
    code = room["code"]
    assert len(code) == LENGTH and all(c in ALPHABET for c in code)
    assert not set(code) & set("01ILO")
    assert room["link"].endswith(f"/?room={code}") and len(room["secret"]) >= 32
    info = client.get(f"/api/rooms/{code.lower()}").json()  # typed in lower case: the same room
    assert info["code"] == code and info["students"] == 0 and info["state"] is None
    assert "secret" not in json.dumps(info)
    svg = client.get(room["qr"])
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg") and "<script" not in svg.text
    assert len({open_room(client)["code"] for _ in range(5)}) == 5


@pytest.mark.parametrize("bad", ["abc", "K7M2Q0", "KKKKKKK", "%3Cb%3E", "IIIIII"])
def test_a_bad_code_is_a_422_with_a_sentence(rooms_client, bad):
    client = rooms_client()
    for path in (f"/api/rooms/{bad}", f"/api/rooms/{bad}/qr.svg"):
        r = client.get(path)
        assert r.status_code == 422, (path, r.text)
        assert "6 letters and digits" in r.json()["detail"]
    with client.websocket_connect(f"/ws/room/{bad}") as ws:
        message = ws.receive_json()
        assert message["type"] == "error" and message["status"] == 422
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4422


def test_an_unknown_room_is_a_404_with_a_sentence(rooms_client):
    client = rooms_client()
    r = client.get("/api/rooms/ABCDEF")
    assert r.status_code == 404 and "No room with this code is open" in r.json()["detail"]
    assert "ABCDEF" not in r.json()["detail"]  # input is never echoed
    assert client.put("/api/rooms/ABCDEF/state", json={"state": {}}).status_code == 404
    with client.websocket_connect("/ws/room/ABCDEF") as ws:
        assert ws.receive_json()["status"] == 404
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4404


# -- following ------------------------------------------------------------------------------


def test_students_follow_the_teacher_and_a_late_joiner_gets_the_current_state(rooms_client):
    client = rooms_client()
    room = open_room(client)
    with ExitStack() as stack:
        students = []
        for _ in range(3):
            ws, hello = student(client, room["code"])
            stack.callback(ws.__exit__, None, None, None)
            students.append(ws)
            assert hello["seq"] == 0
        t = teacher(client, room)
        stack.callback(t.__exit__, None, None, None)
        for step in range(3):
            state = {"model": "rnn-hello", "text": "hello", "t": step, "phase": "forward"}
            t.send_json({"type": "state", "state": state})
            assert receive(t, "published")["seq"] == step + 1
            for ws in students:
                got = receive(ws, "state")
                assert got == {"type": "state", "seq": step + 1, "state": state}
        late, hello = student(client, room["code"])
        stack.callback(late.__exit__, None, None, None)
        assert hello["students"] == 4 and hello["seq"] == 3
        assert receive(late, "state")["state"]["t"] == 2  # before any new step
        info = client.get(f"/api/rooms/{room['code']}").json()
        assert info["students"] == 4 and info["seq"] == 3 and info["state"]["t"] == 2
        t.send_json({"type": "state", "state": {"view": "gradients", "unit": 3}})
        assert receive(late, "state")["state"] == {"view": "gradients", "unit": 3}


def test_the_teacher_sees_how_many_students_follow(rooms_client):
    client = rooms_client()
    room = open_room(client)

    def students_become(n: int) -> None:  # presence messages are coalesced: the last one counts
        for _ in range(20):
            if receive(t, "presence")["students"] == n:
                return
        raise AssertionError(f"never {n} students")

    with ExitStack() as stack:
        t = teacher(client, room)
        stack.callback(t.__exit__, None, None, None)
        a, _ = student(client, room["code"])
        stack.callback(a.__exit__, None, None, None)
        students_become(1)
        b, _ = student(client, room["code"])
        students_become(2)
        b.__exit__(None, None, None)
        students_become(1)


def test_the_teacher_closes_the_room_and_every_student_is_told(rooms_client):
    client = rooms_client()
    room = open_room(client)
    ws, _ = student(client, room["code"])
    r = client.delete(f"/api/rooms/{room['code']}", headers={"X-Room-Secret": room["secret"]})
    assert r.status_code == 200 and r.json() == {"code": room["code"], "closed": True}
    assert receive(ws, "closed")["message"]
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert closed.value.code == 4410
    assert client.get(f"/api/rooms/{room['code']}").status_code == 404


# -- only the teacher drives --------------------------------------------------------------


def test_a_student_cannot_drive_the_room(rooms_client):
    client = rooms_client()
    room = open_room(client)
    t = teacher(client, room)
    t.send_json({"type": "state", "state": {"t": 1}})
    receive(t, "published")
    ws, _ = student(client, room["code"])
    receive(ws, "state")
    for attempt in (
        {"type": "state", "state": {"t": 9}},
        {"type": "close"},
        {"type": "teach", "secret": "guessed-" + room["secret"][:8]},
        {"type": "teach"},
    ):
        ws.send_json(attempt)
        refusal = receive(ws, "error")
        assert refusal["status"] == 403 and "Only the teacher" in refusal["message"]
    ws.send_json({"type": "state", "state": {"t": 9}})  # still a student after a wrong secret
    assert receive(ws, "error")["status"] == 403
    url = f"/api/rooms/{room['code']}"
    for headers in ({}, {"X-Room-Secret": "wrong"}):
        r = client.put(url + "/state", json={"state": {"t": 9}}, headers=headers)
        assert r.status_code == 403 and "Only the teacher" in r.json()["detail"]
        assert client.delete(url, headers=headers).status_code == 403
    info = client.get(url).json()
    assert info["seq"] == 1 and info["state"] == {"t": 1}  # nothing moved
    ws.send_json({"type": "ping"})
    assert receive(ws, "pong")  # the socket stayed open
    ok = client.put(
        url + "/state", json={"state": {"t": 2}}, headers={"X-Room-Secret": room["secret"]}
    )
    assert ok.status_code == 200 and ok.json()["seq"] == 2
    assert receive(ws, "state")["state"] == {"t": 2}
    ws.__exit__(None, None, None)
    t.__exit__(None, None, None)


def test_pages_of_other_sites_cannot_open_or_move_a_room(rooms_client):
    client = rooms_client()
    evil = {"origin": "http://evil.example"}
    r = client.post("/api/rooms", headers=evil)
    assert r.status_code == 403 and "another site" in r.json()["detail"]
    room = open_room(client)
    secret = {"X-Room-Secret": room["secret"]}
    url = f"/api/rooms/{room['code']}"
    assert client.put(url + "/state", json={"state": {}}, headers=evil | secret).status_code == 403
    assert client.delete(url, headers=evil | secret).status_code == 403
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect(f"/ws/room/{room['code']}", headers=evil) as ws:
            ws.receive_json()
    r = client.post("/api/rooms", headers={"host": "evil.example"})
    assert r.status_code == 400


# -- what a teacher may publish -----------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        [1, 2],
        "t=3",
        {"t": {"nested": 1}},
        {"t": [1]},
        {"Bad-Name": 1},
        {"": 1},
        {f"p{i}": i for i in range(65)},
    ],
)
def test_a_state_that_is_not_a_flat_object_is_a_422(rooms_client, state):
    client = rooms_client()
    room = open_room(client)
    r = client.put(
        f"/api/rooms/{room['code']}/state",
        json={"state": state},
        headers={"X-Room-Secret": room["secret"]},
    )
    assert r.status_code == 422 and isinstance(r.json()["detail"], str), r.text
    t = teacher(client, room)
    t.send_json({"type": "state", "state": state})
    assert receive(t, "error")["status"] == 422
    t.send_json({"type": "x"})
    assert receive(t, "error")["status"] == 422
    t.__exit__(None, None, None)


def test_limits_are_settings_stated_in_openapi(rooms_client):
    client = rooms_client(room_max_message_bytes=300, max_rooms=2, room_max_students=2)
    schema = client.get("/openapi.json").json()
    post = schema["paths"]["/api/rooms"]["post"]
    assert post["x-limits"] == {"max_rooms": 2, "room_max_students": 2, "room_idle_ttl": 3600.0}
    assert "max_rooms = 2" in post["description"]
    assert (
        schema["paths"]["/api/rooms/{code}/state"]["put"]["x-limits"]["room_max_message_bytes"]
        == 300
    )

    room = open_room(client)
    secret = {"X-Room-Secret": room["secret"]}
    big = {"text": "x" * 400}
    r = client.put(f"/api/rooms/{room['code']}/state", json={"state": big}, headers=secret)
    assert r.status_code == 413 and "room_max_message_bytes" in r.json()["detail"]
    t = teacher(client, room)
    t.send_json({"type": "state", "state": big})
    assert receive(t, "error")["status"] == 413
    t.send_json({"type": "state", "state": {"text": "x" * 5000}})  # past the socket's cap
    assert receive(t, "error")["status"] == 413

    a, _ = student(client, room["code"])
    b, _ = student(client, room["code"])
    with client.websocket_connect(f"/ws/room/{room['code']}") as c:
        refusal = c.receive_json()
        assert refusal["status"] == 429 and "room_max_students" in refusal["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            c.receive_json()
        assert closed.value.code == 4429
    open_room(client)
    r = client.post("/api/rooms")
    assert r.status_code == 429 and "max_rooms" in r.json()["detail"]
    for ws in (a, b, t):
        ws.__exit__(None, None, None)


def test_a_socket_sending_too_fast_is_told_so(rooms_client):
    client = rooms_client(room_rate=2)
    room = open_room(client)
    ws, _ = student(client, room["code"])
    for _ in range(8):
        ws.send_json({"type": "ping"})
    kinds = [ws.receive_json() for _ in range(8)]
    refused = [m for m in kinds if m["type"] == "error"]
    assert refused and refused[0]["status"] == 429 and "per second" in refused[0]["message"]
    ws.__exit__(None, None, None)


def test_an_idle_room_expires_but_not_while_someone_follows_it(rooms_client):
    client = rooms_client(room_idle_ttl=0.6)
    idle = open_room(client)
    followed = open_room(client)
    ws, _ = student(client, followed["code"])
    time.sleep(1.5)
    assert client.get(f"/api/rooms/{idle['code']}").status_code == 404
    assert client.get(f"/api/rooms/{followed['code']}").status_code == 200
    ws.__exit__(None, None, None)
    time.sleep(1.5)
    assert client.get(f"/api/rooms/{followed['code']}").status_code == 404
    # an expired room no longer counts against max_rooms
    assert client.post("/api/rooms").status_code == 201
