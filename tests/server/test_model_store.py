"""The model store: a quota that refuses and never deletes, and saves that leave nothing behind."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.server.model_files import demo_file, model_file, poisoned, upload, user_models

# -- the quota --------------------------------------------------------------------------------


def test_past_the_model_quota_uploads_are_refused_and_nothing_is_deleted(make_client, settings):
    c = make_client(max_user_models=2)
    kept = [upload(c, poisoned(example=f"he{i}")).json()["id"] for i in range(2)]
    r = upload(c, poisoned(example="hell"))
    assert r.status_code == 409
    assert "max_user_models" in r.json()["detail"] and "deleted" in r.json()["detail"]
    assert sorted(m["id"] for m in user_models(c)) == sorted(kept)
    assert sorted(p.name for p in (settings.data_dir / "models").iterdir()) == sorted(
        f"{i}.npz" for i in kept
    )


def test_past_the_disk_quota_uploads_are_refused(make_client, settings):
    c = make_client(max_user_models_mb=0)
    r = upload(c, poisoned())
    assert r.status_code == 409 and "max_user_models_mb" in r.json()["detail"]
    assert user_models(c) == []
    assert list((settings.data_dir / "models").glob("*")) == []


def test_the_model_list_has_no_vocabularies(client):
    meta, arrays = demo_file("gru-question")
    m = upload(client, model_file(meta, arrays)).json()
    assert len(m["vocab"]) == 31  # the detail has it...
    listed = client.get("/api/models").json()
    assert all("vocab" not in x and "labels" not in x for x in listed)  # ...the list does not
    assert len(client.get("/api/models").content) < 800 * len(listed)


# -- saves ------------------------------------------------------------------------------------

KILLED_SAVE = """
import os, signal, sys
from pathlib import Path
from server.models import registry as reg
from engine.storage import load_model

def save_then_die(f, *args, **kwargs):
    f.write(b"PK half a model")
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)

r = reg.Registry(Path(sys.argv[1]))
m = load_model(reg.DEMO_MODELS_DIR / "rnn-hello.npz")
reg.save_model = save_then_die
r.add(m.model, m.vocab, source="trained", name="x", task="next-char", description="x")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_save_leaves_no_temp_file_at_the_next_start(make_client, settings):
    run = subprocess.run(
        [sys.executable, "-c", KILLED_SAVE, str(settings.data_dir)], capture_output=True
    )
    assert run.returncode == -9, run.stderr
    folder = settings.data_dir / "models"
    assert [p.suffix for p in folder.iterdir()] == [".tmp"]  # what the killed save left
    c = make_client()
    assert list(folder.iterdir()) == []
    assert user_models(c) == []


def test_a_temp_file_being_written_by_a_live_process_is_kept(make_client, settings):
    import os

    folder = settings.data_dir / "models"
    folder.mkdir(parents=True)
    live = folder / f".x-123456.{os.getppid()}.tmp"
    live.write_bytes(b"being written")
    old_style = folder / "x-abcdef.tmp"
    old_style.write_bytes(b"left by an older version")
    make_client()
    assert live.exists() and not old_style.exists()


def test_a_file_that_turns_bad_or_goes_away_is_no_longer_served(client, settings):
    folder = settings.data_dir / "models"
    folder.mkdir(parents=True)
    planted = folder / "planted.npz"
    planted.write_bytes(poisoned(source="trained", id="planted"))
    registry = client.app.state.registry
    registry.rescan()
    assert [m["id"] for m in user_models(client)] == ["planted"]
    planted.write_bytes(poisoned(source="trained", id="planted", example=123))
    registry.rescan()
    assert user_models(client) == []
    planted.write_bytes(poisoned(source="trained", id="planted"))
    registry.rescan()
    assert [m["id"] for m in user_models(client)] == ["planted"]
    planted.unlink()
    registry.rescan()
    assert user_models(client) == []


def test_training_past_the_model_quota_is_refused_before_it_trains(make_client):
    c = make_client(max_user_models=1)
    upload(c, poisoned(example="he"))
    r = c.post("/api/train", json={"task": "hello", "cell": "rnn", "hidden_size": 8, "steps": 50})
    assert r.status_code == 409 and "max_user_models" in r.json()["detail"]
    assert len(user_models(c)) == 1
