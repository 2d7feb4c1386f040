"""A classroom's burst: forward halves of one model go out together, first frames before BPTT.

Each student must get exactly their own sentence's numbers (the batch runs side by side, not
mixed), one bad trace must fail alone, and what a student waits for first (the forward half)
must not queue behind anyone's backward half."""

import asyncio
import json
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import websockets

from server.core.schemas import TraceRequest
from server.core.settings import Settings
from server.models.registry import Registry
from server.tracing import binary, build
from server.tracing.batches import Batches
from server.tracing.request import prepare
from server.tracing.service import TraceService
from server.tracing.slots import FIRST, LATER, Slots
from tests.server import real_server

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = [
    "twinkle, twinkle",
    "how i wonder",
    "up above the world so high",
    "mary had a little lamb",
    "its fleece was white as snow",
    "humpty dumpty sat on a wall",
    "jack and jill",
    "baa baa black sheep",
    "Hello, World!",
    "ok",
]


def _floats_close(a, b):
    """Two decoded traces equal, numbers within the rounding of a differently ordered sum."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _floats_close(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _floats_close(x, y)
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-10, abs=1e-12)
    else:
        assert a == b


# -- the pieces -----------------------------------------------------------------------------


def test_slots_let_the_first_frames_in_before_what_can_come_later():
    async def run():
        slots, order = Slots(1), []
        await slots.acquire()

        async def wait(name, priority):
            async with slots.hold(priority):
                order.append(name)

        arrivals = (("bptt 1", LATER), ("bptt 2", LATER), ("frame 1", FIRST), ("frame 2", FIRST))
        waiting = [asyncio.ensure_future(wait(n, p)) for n, p in arrivals]
        await asyncio.sleep(0)
        slots.release()
        await asyncio.gather(*waiting)
        return order, slots.free

    order, free = asyncio.run(run())
    assert order == ["frame 1", "frame 2", "bptt 1", "bptt 2"] and free == 1


def test_a_cancelled_waiter_does_not_keep_its_slot():
    async def run():
        slots = Slots(1)
        await slots.acquire()
        gone = asyncio.ensure_future(slots.acquire(LATER))
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
        slots.release()
        await asyncio.wait_for(slots.acquire(), 1)  # the slot came back, not to the cancelled
        return slots.free

    assert asyncio.run(run()) == 0


class _P:  # what Batches needs of a Prepared trace
    def __init__(self, i):
        self.key = ("model", 1, str(i))
        self.i = i


def test_requests_that_wait_together_go_together_up_to_the_limit():
    async def run():
        sent = []

        async def run_batch(form, ps):
            sent.append([p.i for p in ps])
            await asyncio.sleep(0.05)
            return [ValueError("no") if p.i == 3 else p.i * 10 for p in ps]

        batches = Batches(run_batch, lanes=1, max_tokens=8, size=lambda p: 2)  # 4 at most
        tasks = [asyncio.ensure_future(batches.submit(_P(i), "forward")) for i in range(10)]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        return sent, results, batches

    sent, results, batches = asyncio.run(run())
    assert sent == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]  # all ten waited: lanes=1
    assert [r if isinstance(r, int) else "error" for r in results] == [
        0, 10, 20, "error", 40, 50, 60, 70, 80, 90
    ]  # fmt: skip
    assert batches.waiting == 0 and batches.running == 0


def test_each_lane_takes_its_share_so_the_processes_finish_together():
    async def run():
        sent = []

        async def run_batch(form, ps):
            sent.append(len(ps))
            await asyncio.sleep(0.05)
            return [p.i for p in ps]

        batches = Batches(run_batch, lanes=2, max_tokens=1000, size=lambda p: 10)
        first = asyncio.ensure_future(batches.submit(_P(0), "forward"))
        await asyncio.sleep(0.01)  # the first goes at once, alone
        rest = [asyncio.ensure_future(batches.submit(_P(i), "forward")) for i in range(1, 41)]
        await asyncio.gather(first, *rest)
        return sent

    sent = asyncio.run(run())
    # the first alone; then the free lane takes half of the 40 (not all: the other lane is
    # about to be free), the next lane half of the rest, and so on
    assert sent[:3] == [1, 20, 10] and sum(sent) == 41 and len(sent) <= 8


def test_a_batch_that_fails_tells_every_student_in_it():
    async def run():
        async def run_batch(form, ps):
            raise RuntimeError("the process died")

        batches = Batches(run_batch, lanes=1, max_tokens=99, size=lambda p: 1)
        tasks = [asyncio.ensure_future(batches.submit(_P(i), "forward")) for i in range(3)]
        return await asyncio.gather(*tasks, return_exceptions=True)

    assert all(isinstance(r, RuntimeError) for r in asyncio.run(run()))


# -- the service ---------------------------------------------------------------------------


def _prepared(tmp_path, model="lstm-rhymes", texts=SENTENCES, **extra):
    s = Settings(data_dir=tmp_path, trace_processes=0)
    reg = Registry(s.data_dir)
    return s, reg, [prepare(TraceRequest(model=model, text=t, **extra), reg, s) for t in texts]


def test_build_many_gives_each_trace_what_it_gets_alone(tmp_path):
    s, _, ps = _prepared(tmp_path, "gru-blank-bi", [t.lower() for t in SENTENCES])
    for form in ("forward-binary", "forward"):
        answers = build.build_many(ps, s, form)
        for p, (ok, computed) in zip(ps, answers, strict=True):
            alone = build.build(p, s, form)
            assert ok
            if form == "forward-binary":
                _floats_close(binary.unpack(computed.payload), binary.unpack(alone.payload))
            else:
                _floats_close(
                    [json.loads(f) for f in computed.payload],
                    [json.loads(f) for f in alone.payload],
                )


def test_one_trace_that_fails_in_a_batch_fails_alone(tmp_path, monkeypatch):
    s, _, ps = _prepared(tmp_path)
    real = build.build

    def build_one(p, s, form, run=None):
        if p is ps[2]:
            raise ValueError("boom")
        return real(p, s, form, run)

    monkeypatch.setattr(build, "build", build_one)
    answers = build.build_many(ps, s, "forward-binary")
    assert [ok for ok, _ in answers] == [True, True, False] + [True] * (len(ps) - 3)
    message, status = answers[2][1]
    assert status == 500 and "could not be computed" in message


def test_a_burst_is_computed_in_batches_and_bptt_comes_after_every_first_frame(tmp_path):
    s, reg, ps = _prepared(tmp_path)
    s = s.model_copy(update={"trace_batch_tokens": 40})  # several batches: BPTT could cut in
    service = TraceService(s, reg)
    events = []
    real_many, real_one = service._build_many, service._build

    def build_many(batch, form):
        events.append(("forward", len(batch)))
        time.sleep(0.05)  # long enough for the others to arrive and wait
        return real_many(batch, form)

    def build_one(p, form):
        events.append((form.partition("-")[0], 1))
        return real_one(p, form)

    service._build_many, service._build = build_many, build_one

    async def student(p):
        forward = await service.compute(p, "forward-binary")
        backward = await service.compute(p, "backward-binary")
        return forward, backward

    async def burst():
        return await asyncio.gather(*(student(p) for p in ps))

    results = asyncio.run(burst())
    forwards = [n for kind, n in events if kind == "forward"]
    assert sum(forwards) == len(ps) and max(forwards) > 1  # batched
    last_forward = max(i for i, (kind, _) in enumerate(events) if kind == "forward")
    first_backward = min(i for i, (kind, _) in enumerate(events) if kind == "backward")
    assert first_backward > last_forward  # every first frame before any BPTT
    for p, (forward, backward) in zip(ps, results, strict=True):
        alone = build.build(p, s, "forward-binary")
        _floats_close(binary.unpack(forward.payload), binary.unpack(alone.payload))
        assert binary.unpack(backward.payload)[-1]["phase"] == "done"
    assert service.active == service.waiting == 0
    # the same service in another event loop (a second TestClient on the same app)
    ps[:] = [
        prepare(TraceRequest(model="lstm-rhymes", text=t + " again"), reg, s) for t in SENTENCES
    ]
    assert len(asyncio.run(burst())) == len(ps)


# -- a real server, real trace processes, real sockets ---------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc, url = real_server.start(tmp_path_factory.mktemp("data"), UNROLLED_WS_RATE="100")
    yield url
    real_server.stop(proc)


async def _student(ws_url: str, text: str, go: asyncio.Event) -> list:
    async with websockets.connect(ws_url, max_size=None) as ws:
        await go.wait()
        body = {"model": "gru-blank-bi", "text": text, "encoding": "binary"}
        await ws.send(json.dumps(body))
        frames = []
        while not frames or frames[-1].get("phase") not in ("done", None):
            message = await ws.recv()
            got = binary.unpack(message) if isinstance(message, bytes) else [json.loads(message)]
            frames.extend(got)
        return frames


async def _classroom(ws_url: str, texts: list[str]) -> list:
    go = asyncio.Event()
    students = [asyncio.ensure_future(_student(ws_url, t, go)) for t in texts]
    await asyncio.sleep(0.3)
    go.set()
    return await asyncio.gather(*students)


def test_every_student_of_a_burst_gets_their_own_sentences_trace(server):
    texts = [f"{t} {i}".lower() for i, t in enumerate(SENTENCES * 2)]  # 20 different ones
    traces = asyncio.run(_classroom(server.replace("http://", "ws://") + "ws", texts))
    for text, frames in zip(texts, traces, strict=True):
        http = httpx.post(server + "api/trace", json={"model": "gru-blank-bi", "text": text})
        expected = http.json()
        forward = [f for f in frames if f["phase"] == "forward"]
        backward = [f for f in frames if f["phase"] == "backward"]
        assert [f["token"] for f in forward] == expected["tokens"]
        _floats_close([f["h"] for f in forward], [s["h"] for s in expected["steps"]])
        _floats_close([f["gates"] for f in forward], [s["gates"] for s in expected["steps"]])
        _floats_close(
            [b["dh"] for b in reversed(backward)], [b["dh"] for b in expected["backward"]]
        )
        assert frames[-1]["loss"] == pytest.approx(expected["loss"], rel=1e-10)
        assert np.isfinite(frames[-1]["global_norm"])
