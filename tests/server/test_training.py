"""Training jobs: start, progress, cancel, finish, and the model outliving the server."""

import time

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.core.settings import Settings


def wait_for(client, job_id, states=("done", "cancelled", "failed"), timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/train/{job_id}").json()
        if status["state"] in states:
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {status['state']}")


def test_train_on_own_text_then_trace_it_after_a_restart(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    text = "abcabcabcabc abcabc"
    with TestClient(create_app(settings)) as c:
        r = c.post(
            "/api/train",
            json={
                "task": "text",
                "text": text,
                "cell": "gru",
                "hidden_size": 12,
                "steps": 150,
                "lr": 0.05,
                "name": "my abc",
            },
        )
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["state"] in ("queued", "running") and job["steps"] == 150
        done = wait_for(c, job["id"])
        assert done["state"] == "done" and done["step"] == 150
        assert done["loss"] < 1.0 and done["model_id"].startswith("my-abc")
        assert done["sample"]  # sample text shown during training
        models = {m["id"]: m for m in c.get("/api/models").json()}
        assert models[done["model_id"]]["source"] == "trained"
    # a new server on the same data dir still has the model, and it learned the pattern
    with TestClient(create_app(settings)) as c:
        trained = c.get(f"/api/models/{done['model_id']}").json()
        assert trained["source"] == "trained" and trained["cell"] == "gru"
        t = c.post("/api/trace", json={"model": done["model_id"], "text": "abcab"}).json()
        assert [s["top"][0]["token"] for s in t["steps"][:4]] == ["b", "c", "a", "b"]


def test_builtin_classifier_task(client):
    r = client.post(
        "/api/train", json={"task": "question", "cell": "rnn", "hidden_size": 8, "steps": 30}
    )
    done = wait_for(client, r.json()["id"])
    assert done["state"] == "done"
    detail = client.get(f"/api/models/{done['model_id']}").json()
    assert detail["labels"] == ["statement", "question"] and detail["vocab_kind"] == "word"
    assert [t["id"] for t in client.get("/api/train/tasks").json()] == [
        "hello",
        "rhymes",
        "question",
        "text",
    ]


def test_progress_streams_over_websocket(client):
    r = client.post("/api/train", json={"task": "rhymes", "hidden_size": 16, "steps": 60})
    job_id = r.json()["id"]
    with client.websocket_connect(f"/ws/train/{job_id}") as ws:
        updates = []
        while not updates or updates[-1]["state"] not in ("done", "failed", "cancelled"):
            updates.append(ws.receive_json())
    assert updates[-1]["state"] == "done"
    assert all(u["type"] == "progress" for u in updates)
    steps = [u["step"] for u in updates]
    assert steps == sorted(steps) and steps[-1] == 60
    assert any(u["eta_seconds"] is not None for u in updates)


def test_cancel(client):
    r = client.post("/api/train", json={"task": "rhymes", "hidden_size": 64, "steps": 5000})
    job_id = r.json()["id"]
    wait_for(client, job_id, states=("running",))
    assert client.delete(f"/api/train/{job_id}").status_code == 200
    status = wait_for(client, job_id)
    assert status["state"] == "cancelled" and status["model_id"] is None
    assert status["step"] < 5000
    assert all(m["source"] == "demo" for m in client.get("/api/models").json())


@pytest.mark.parametrize(
    "body,status,words",
    [
        ({"task": "text", "text": "ab", "hidden_size": 10_000}, 422, "hidden_size"),
        ({"task": "text", "text": "ab", "layers": 50}, 422, "layers"),
        ({"task": "text", "text": "ab", "steps": 10**6}, 422, "steps"),
        ({"task": "text"}, 422, "text"),
        ({"task": "juggling"}, 422, "choose one of hello"),
        ({"task": "text", "text": "ab", "cell": "transformer"}, 422, "cell"),
        ({"task": "text", "text": "a\x00b"}, 422, "nul"),
        ({"task": "text", "text": "ab", "lr": -1}, 422, "lr"),
    ],
)
def test_bad_training_requests(client, body, status, words):
    r = client.post("/api/train", json=body)
    assert r.status_code == status
    assert words in r.json()["detail"].lower()


def test_job_limit_and_unknown_job(make_client):
    c = make_client(max_training_jobs=1)
    first = c.post("/api/train", json={"task": "rhymes", "steps": 5000, "hidden_size": 64})
    second = c.post("/api/train", json={"task": "hello", "steps": 10})
    assert second.status_code == 429 and "already running" in second.json()["detail"]
    c.delete(f"/api/train/{first.json()['id']}")
    assert c.get("/api/train/nope").status_code == 404
    assert c.delete("/api/train/nope").status_code == 404
    with c.websocket_connect("/ws/train/nope") as ws:
        assert ws.receive_json()["type"] == "error"
