"""Training jobs from the page's side: seq_len, pause / resume / stop, snapshots as model ids,
the loss history, the presets and the model download; 4xx for bad input."""

import io
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pytest

from engine.storage import load_model
from server.training.status import StatusFiles

HELLO = {"task": "text", "text": "hello" * 8, "cell": "lstm", "hidden_size": 16, "lr": 0.05}


def wait_for(client, job_id, test, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/train/{job_id}").json()
        if test(status):
            return status
        time.sleep(0.03)
    raise AssertionError(f"job {job_id}: {status['state']} at step {status['step']}")


def finished(status):
    return status["state"] in ("done", "cancelled", "failed")


def trace(client, model, text="hell"):
    r = client.post("/api/trace", json={"model": model, "text": text})
    assert r.status_code == 200, r.text
    return r.json()


def test_snapshots_are_models_and_the_last_is_the_saved_model(client):
    r = client.post("/api/train", json={**HELLO, "steps": 120, "seq_len": 10})
    assert r.status_code == 202, r.text
    done = wait_for(client, r.json()["id"], finished)
    assert done["state"] == "done" and not done["stopped_early"]
    snaps = done["snapshots"]
    steps = [s["step"] for s in snaps]
    assert steps[0] == 0 and steps[-1] == 120 and steps == sorted(steps)
    assert len(snaps) <= 20 and all(s["id"] == f"{done['id']}@{s['step']}" for s in snaps)
    assert snaps[0]["loss"] is None and snaps[-1]["loss"] == pytest.approx(done["loss"])
    assert all(s["sample"].startswith("h") and len(s["sample"]) == 61 for s in snaps)
    # the loss curve: steps rising to the end, the last point the final loss
    hist = done["history"]
    assert hist[-1] == [120, pytest.approx(done["loss"], abs=1e-6)] and len(hist) <= 400
    assert [h[0] for h in hist] == sorted(h[0] for h in hist)
    assert done["steps_per_second"] > 0 and done["elapsed_seconds"] > 0
    # the untrained snapshot and the trained one trace the same sentence differently; the last
    # one is exactly the saved model
    first, last = trace(client, snaps[0]["id"]), trace(client, snaps[-1]["id"])
    saved = trace(client, done["model_id"])
    assert first["steps"][1]["h"] != last["steps"][1]["h"]
    assert last["steps"] == saved["steps"]
    assert [s["top"][0]["token"] for s in saved["steps"][:3]] == ["e", "l", "l"]
    detail = client.get(f"/api/models/{snaps[1]['id']}").json()
    assert detail["source"] == "snapshot" and detail["cell"] == "lstm"
    assert all(m["source"] != "snapshot" for m in client.get("/api/models").json())


def test_download_gives_the_npz(client):
    r = client.post("/api/train", json={**HELLO, "steps": 30})
    done = wait_for(client, r.json()["id"], finished)
    got = client.get(f"/api/models/{done['model_id']}/download")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/octet-stream"
    assert f'filename="{done["model_id"]}.npz"' in got.headers["content-disposition"]
    loaded = load_model(io.BytesIO(got.content))
    assert loaded.model.config.cell == "lstm" and loaded.model.config.hidden_size == 16
    snap = client.get(f"/api/models/{done['snapshots'][0]['id']}/download")
    assert snap.status_code == 200 and "-step-0.npz" in snap.headers["content-disposition"]
    first = load_model(io.BytesIO(snap.content)).model.params
    assert any(not np.array_equal(first[k], loaded.model.params[k]) for k in first)
    assert client.get("/api/models/rnn-hello/download").status_code == 200
    assert client.get("/api/models/nope/download").status_code == 404


def test_pause_resume_then_stop_keeps_the_model(client):
    r = client.post("/api/train", json={**HELLO, "hidden_size": 64, "steps": 5000})
    job = r.json()["id"]
    wait_for(client, job, lambda s: s["step"] >= 5)
    assert client.post(f"/api/train/{job}/pause").status_code == 200
    paused = wait_for(client, job, lambda s: s["state"] == "paused")
    time.sleep(0.4)
    still = client.get(f"/api/train/{job}").json()
    assert still["state"] == "paused" and still["step"] == paused["step"]
    assert still["elapsed_seconds"] == paused["elapsed_seconds"]  # a pause is not training time
    assert client.post(f"/api/train/{job}/resume").json()["state"] in ("paused", "running")
    moved = wait_for(client, job, lambda s: s["step"] > paused["step"] + 3)
    assert moved["state"] == "running"
    assert client.post(f"/api/train/{job}/stop").status_code == 200
    done = wait_for(client, job, finished)
    assert done["state"] == "done" and done["stopped_early"] and done["step"] < 5000
    assert done["snapshots"][-1]["step"] == done["step"]
    detail = client.get(f"/api/models/{done['model_id']}").json()
    assert detail["source"] == "trained" and "stopped early" in detail["description"]
    assert client.post(f"/api/train/{job}/pause").status_code == 409
    assert client.post(f"/api/train/{job}/stop").status_code == 409


def test_cancel_keeps_nothing(client):
    r = client.post("/api/train", json={**HELLO, "hidden_size": 64, "steps": 5000})
    job = r.json()["id"]
    status = wait_for(client, job, lambda s: len(s["snapshots"]) >= 1)
    snap = status["snapshots"][0]["id"]
    client.delete(f"/api/train/{job}")
    done = wait_for(client, job, finished)
    assert done["state"] == "cancelled" and done["model_id"] is None and done["snapshots"] == []
    r = client.post("/api/trace", json={"model": snap, "text": "he"})
    assert r.status_code == 404 and "snapshot" in r.json()["detail"]


def test_snapshots_thin_out_to_the_limit(make_client):
    c = make_client(train_max_snapshots=5)
    r = c.post("/api/train", json={**HELLO, "steps": 64, "snapshot_every": 1})
    done = wait_for(c, r.json()["id"], finished)
    steps = [s["step"] for s in done["snapshots"]]
    assert len(steps) <= 5 and steps[0] == 0 and steps[-1] == 64
    # the dropped ones are gone, the kept ones trace
    kept = set(steps)
    gone = next(k for k in range(1, 64) if k not in kept)
    r = c.post("/api/trace", json={"model": f"{done['id']}@{gone}", "text": "h"})
    assert r.status_code == 404
    trace(c, done["snapshots"][2]["id"])


def test_control_from_another_process_and_snapshots_after_a_restart(make_client, tmp_path):
    c = make_client()
    r = c.post("/api/train", json={**HELLO, "hidden_size": 64, "steps": 5000})
    job = r.json()["id"]
    wait_for(c, job, lambda s: s["step"] >= 3)
    other = StatusFiles(tmp_path / "data")  # what another worker does
    other.request(job, "pause")
    wait_for(c, job, lambda s: s["state"] == "paused")
    other.request(job, "pause", on=False)
    wait_for(c, job, lambda s: s["state"] == "running")
    other.request(job, "stop")
    done = wait_for(c, job, finished)
    assert done["state"] == "done" and done["stopped_early"]
    c.__exit__(None, None, None)
    again = make_client()
    trace(again, done["snapshots"][-1]["id"])
    assert again.get(f"/api/models/{done['model_id']}").status_code == 200


def test_presets(make_client):
    c = make_client(train_max_text_chars=3000)
    presets = {p["id"]: p for p in c.get("/api/train/presets").json()}
    assert set(presets) == {"hello", "rhymes", "source"}
    assert presets["hello"]["text"] == "hello" * 8
    assert presets["rhymes"]["text"].startswith("twinkle, twinkle")
    src = presets["source"]["text"]
    assert src.startswith("# ---- engine/cells/rnn.py ----\n") and len(src) <= 3000
    assert src.endswith("\n") and "def step_forward" in src
    r = c.post("/api/train", json={"task": "text", "text": src, "steps": 2, "hidden_size": 8})
    assert r.status_code == 202


@pytest.mark.parametrize(
    "body,words",
    [
        ({**HELLO, "seq_len": 10_000}, "seq_len: at most"),
        ({**HELLO, "seq_len": 0}, "seq_len"),
        ({**HELLO, "snapshot_every": 0}, "snapshot_every"),
        ({**HELLO, "snapshot_every": 10**7}, "snapshot_every: at most"),
    ],
)
def test_bad_requests(client, body, words):
    r = client.post("/api/train", json=body)
    assert r.status_code == 422 and words in r.json()["detail"]


def test_unknown_jobs_and_snapshots(client):
    for action in ("pause", "resume", "stop"):
        r = client.post(f"/api/train/0123456789ab/{action}")
        assert r.status_code == 404 and "no training job" in r.json()["detail"]
    r = client.post("/api/trace", json={"model": "0123456789ab@5", "text": "h"})
    assert r.status_code == 404 and "snapshot" in r.json()["detail"]
    assert client.post("/api/trace", json={"model": "../x@1", "text": "h"}).status_code == 404
    assert client.get("/api/models/0123456789ab@5/download").status_code == 404


def test_openapi_states_the_limits(make_client):
    c = make_client(train_max_seq_len=77)
    props = c.get("/openapi.json").json()["components"]["schemas"]["TrainRequest"]["properties"]
    assert props["seq_len"]["maximum"] == 77


def test_a_server_that_stops_keeps_what_its_jobs_learned(make_client):
    c = make_client()
    job = c.post("/api/train", json={**HELLO, "hidden_size": 64, "steps": 5000}).json()["id"]
    wait_for(c, job, lambda s: s["step"] >= 3)
    c.__exit__(None, None, None)  # the server stops (Ctrl-C)
    again = make_client()
    status = again.get(f"/api/train/{job}").json()
    assert status["state"] == "done" and status["stopped_early"]
    assert again.get(f"/api/models/{status['model_id']}").json()["source"] == "trained"


def test_a_forgotten_pause_stops_the_job_keeping_its_model(make_client):
    c = make_client(train_max_pause_seconds=0.3)
    job = c.post("/api/train", json={**HELLO, "hidden_size": 64, "steps": 5000}).json()["id"]
    wait_for(c, job, lambda s: s["step"] >= 3)
    c.post(f"/api/train/{job}/pause")
    done = wait_for(c, job, finished)
    assert done["state"] == "done" and done["stopped_early"] and done["model_id"]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_training_runs_in_a_process_of_lower_priority(make_client):
    c = make_client(train_nice=7)
    job = c.post("/api/train", json={**HELLO, "hidden_size": 64, "steps": 5000}).json()["id"]
    wait_for(c, job, lambda s: s["step"] >= 1)
    (child,) = [p for p in multiprocessing.active_children() if p.name == f"train-{job}"]
    nice = lambda pid: int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])  # noqa: E731
    assert nice(child.pid) == nice(os.getpid()) + 7
    c.delete(f"/api/train/{job}")
    wait_for(c, job, finished)
