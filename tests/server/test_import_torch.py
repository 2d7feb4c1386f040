"""POST /api/models/import of PyTorch's own files: an RNN's nonlinearity, .pt state dicts
(never a pickled model), and scripts/pt_to_npz.py; traced, they give torch's numbers."""

import io
import json
from pathlib import Path

import numpy as np
import pytest

from tests.server.test_import import VOCAB, npz, torch_like_lstm, upload


def torch_relu_rnn(torch):
    """nn.RNN(nonlinearity="relu") with an embedding and a head, in float64."""
    torch.manual_seed(1)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(5, 3)
            self.rnn = torch.nn.RNN(3, 6, num_layers=2, nonlinearity="relu", batch_first=True)
            self.fc = torch.nn.Linear(6, 5)

        def forward(self, ids):
            out, _ = self.rnn(self.embedding(ids))
            return torch.softmax(self.fc(out), dim=-1)

    return Net().double()


def assert_traces_like_torch(client, model_id, net, torch):
    t = client.post("/api/trace", json={"model": model_id, "text": "badcab", "top_k": 5}).json()
    with torch.no_grad():
        probs = net(torch.tensor([[1, 0, 3, 2, 0, 1]]))[0].numpy()
    for step, p in zip(t["steps"], probs, strict=True):
        ours = {q["index"]: q["p"] for q in step["top"]}
        np.testing.assert_allclose([ours[i] for i in range(5)], p, rtol=1e-9, atol=1e-12)


@pytest.mark.torch
def test_relu_rnn_via_pt_to_npz_traces_like_torch(client, tmp_path):
    torch = pytest.importorskip("torch")
    from scripts.pt_to_npz import main as pt_to_npz

    net = torch_relu_rnn(torch)
    torch.save(net.state_dict(), tmp_path / "net.pt")
    (tmp_path / "vocab.json").write_text(json.dumps(VOCAB))
    args = [
        str(tmp_path / "net.pt"),
        str(tmp_path / "net.npz"),
        "--vocab",
        str(tmp_path / "vocab.json"),
    ]
    with pytest.raises(SystemExit, match="--nonlinearity"):
        pt_to_npz(args)  # a state dict does not say: the script asks
    pt_to_npz([*args, "--nonlinearity", "relu"])
    m = upload(client, (tmp_path / "net.npz").read_bytes()).json()
    assert m["cell"] == "rnn" and m["nonlinearity"] == "relu"
    listed = {x["id"]: x for x in client.get("/api/models").json()}
    assert listed[m["id"]]["nonlinearity"] == "relu"
    assert listed["rnn-hello"]["nonlinearity"] == "tanh"
    assert listed["lstm-rhymes"]["nonlinearity"] is None
    assert_traces_like_torch(client, m["id"], net, torch)


@pytest.mark.torch
def test_pt_to_npz_reads_the_nonlinearity_from_a_module(client):
    torch = pytest.importorskip("torch")
    from scripts.pt_to_npz import convert

    net = torch_relu_rnn(torch)
    m = upload(client, npz(convert(net, VOCAB, None))).json()
    assert m["nonlinearity"] == "relu"
    assert_traces_like_torch(client, m["id"], net, torch)


def rnn_arrays(H=4, V=5):
    rng = np.random.default_rng(0)
    return {
        "rnn.weight_ih_l0": rng.normal(size=(H, V)),
        "rnn.weight_hh_l0": rng.normal(size=(H, H)),
        "rnn.bias_ih_l0": np.zeros(H),
        "rnn.bias_hh_l0": np.zeros(H),
    }


def test_an_rnn_state_dict_needs_its_nonlinearity(client):
    r = upload(client, npz(rnn_arrays(), vocab=np.array(VOCAB)))
    assert r.status_code == 422
    assert "nonlinearity is required" in r.json()["detail"]
    assert "relu" in r.json()["detail"] and "tanh" in r.json()["detail"]
    assert {m["source"] for m in client.get("/api/models").json()} == {"demo"}
    r = upload(client, npz(rnn_arrays(), vocab=np.array(VOCAB)), nonlinearity="relu")
    assert r.status_code == 201 and r.json()["nonlinearity"] == "relu"
    # an LSTM has no such choice: not required, and ignored if the page sends one
    r = upload(client, npz(torch_like_lstm(), vocab=np.array(VOCAB)), nonlinearity="relu")
    assert r.status_code == 201 and r.json()["nonlinearity"] is None


def test_a_relu_rnn_really_runs_relu(client):
    """Same weights, two choices: a negative pre-activation is cut to 0 only with relu."""
    arrays = {**rnn_arrays(), "rnn.weight_ih_l0": -np.ones((4, 5))}
    ids = {
        nl: upload(client, npz(arrays, vocab=np.array(VOCAB)), nonlinearity=nl).json()["id"]
        for nl in ("tanh", "relu")
    }
    h = {
        nl: client.post("/api/trace", json={"model": i, "text": "a"}).json()["steps"][0]["h"]
        for nl, i in ids.items()
    }
    np.testing.assert_allclose(h["tanh"], np.tanh(-1.0) * np.ones(4))
    assert h["relu"] == [0.0] * 4


def small_pt_file(torch) -> bytes:
    net = torch_relu_rnn(torch)
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    return buf.getvalue()


@pytest.mark.torch
def test_a_pt_state_dict_uploads_as_it_is(client):
    torch = pytest.importorskip("torch")
    net = torch_relu_rnn(torch)
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    files = {"file": ("net.pt", buf.getvalue())}
    r = client.post("/api/models/import", files=files, data={"vocab": json.dumps(VOCAB)})
    assert r.status_code == 422 and "nonlinearity" in r.json()["detail"]
    form = {"vocab": json.dumps(VOCAB), "nonlinearity": "relu"}
    r = client.post("/api/models/import", files=files, data=form)
    assert r.status_code == 201, r.text
    assert r.json()["num_layers"] == 2 and r.json()["nonlinearity"] == "relu"
    assert_traces_like_torch(client, r.json()["id"], net, torch)


@pytest.mark.torch
def test_a_whole_pickled_model_is_refused_and_never_run(client, tmp_path):
    torch = pytest.importorskip("torch")
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for obj in (torch.nn.RNN(3, 4), {"w": Evil()}):
        buf = io.BytesIO()
        torch.save(obj, buf)
        r = client.post("/api/models/import", files={"file": ("m.pt", buf.getvalue())})
        assert r.status_code == 422, r.text
        assert "model.state_dict()" in r.json()["detail"]
    assert not marker.exists()
    old_format = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, old_format, _use_new_zipfile_serialization=False)
    r = client.post("/api/models/import", files={"file": ("m.pt", old_format.getvalue())})
    assert r.status_code == 422 and "pickle" in r.json()["detail"]


def fake_torch_zip() -> bytes:
    """The layout torch.save writes (archive/data.pkl ...), for a server that has no torch."""
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        zf.writestr("archive/version", b"3\n")
    return buf.getvalue()


def test_without_torch_a_pt_file_gets_how_to_convert_it(client, monkeypatch):
    try:
        import torch

        data = small_pt_file(torch)  # a real one where torch is here
    except ImportError:
        data = fake_torch_zip()
    monkeypatch.setitem(__import__("sys").modules, "torch", None)  # import torch -> ImportError
    r = client.post("/api/models/import", files={"file": ("model.pt", data)})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "no PyTorch" in detail and "pip install torch" in detail
    assert "python scripts/pt_to_npz.py model.pt" in detail


@pytest.mark.torch
def test_pt_to_npz_on_a_whole_model_says_what_to_do(tmp_path):
    torch = pytest.importorskip("torch")
    import subprocess
    import sys

    torch.save(torch.nn.RNN(3, 4), tmp_path / "whole.pt")
    script = Path(__file__).resolve().parents[2] / "scripts" / "pt_to_npz.py"
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "whole.pt"), str(tmp_path / "out.npz")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert "model.state_dict()" in run.stderr and "whole pickled model" in run.stderr
    assert not (tmp_path / "out.npz").exists()


@pytest.mark.torch
def test_a_pt_file_claiming_a_huge_tensor_is_refused_without_allocating_it(client):
    torch = pytest.importorskip("torch")
    import resource
    import zipfile

    buf = io.BytesIO()
    torch.save({"w": torch.zeros(2, dtype=torch.float64)}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    pkl = next(n for n in src.namelist() if n.endswith("data.pkl"))
    # the pickle says shape (2,) and 2 elements of storage: make both 100,000,000 (800 MB)
    lying = src.read(pkl).replace(b"K\x02\x85", b"J\x00\xe1\xf5\x05\x85")
    lying = lying.replace(b"cpu\x94K\x02t", b"cpu\x94J\x00\xe1\xf5\x05t")
    if lying == src.read(pkl):
        pytest.skip("this torch version pickles tensors differently")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for info in src.infolist():
            zf.writestr(info.filename, lying if info.filename == pkl else src.read(info))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = client.post("/api/models/import", files={"file": ("m.pt", out.getvalue())})
    assert r.status_code == 422
    grew_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grew_kb < 200_000, f"peak memory grew by {grew_kb / 1000:.0f} MB"
