"""POST /api/models/import: PyTorch-named arrays in an .npz become a model like any other."""

import io
import json
from pathlib import Path

import numpy as np
import pytest

VOCAB = ["a", "b", "c", "d", "e"]


def torch_like_lstm(V=5, H=6, out=5, seed=0, prefix="lstm.") -> dict[str, np.ndarray]:
    """Arrays shaped exactly like nn.LSTM(V, H) + nn.Linear(H, out) state dicts."""
    rng = np.random.default_rng(seed)
    return {
        f"{prefix}weight_ih_l0": rng.normal(0, 0.5, (4 * H, V)),
        f"{prefix}weight_hh_l0": rng.normal(0, 0.5, (4 * H, H)),
        f"{prefix}bias_ih_l0": rng.normal(0, 0.1, 4 * H),
        f"{prefix}bias_hh_l0": rng.normal(0, 0.1, 4 * H),
        "fc.weight": rng.normal(0, 0.5, (out, H)),
        "fc.bias": rng.normal(0, 0.1, out),
    }


def npz(arrays: dict, **kw) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays, **kw)
    return buf.getvalue()


def upload(client, data: bytes, **form):
    return client.post("/api/models/import", files={"file": ("model.npz", data)}, data=form)


def test_import_with_vocab_in_the_file(client):
    r = upload(client, npz(torch_like_lstm(), vocab=np.array(VOCAB)), name="my lstm")
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["source"] == "imported" and m["cell"] == "lstm" and m["vocab"] == VOCAB
    assert m["hidden_size"] == 6
    assert m["id"] in {x["id"] for x in client.get("/api/models").json()}
    t = client.post("/api/trace", json={"model": m["id"], "text": "abcde"})
    assert t.status_code == 200 and len(t.json()["steps"]) == 5


def test_import_with_vocab_as_form_field_and_labels(client):
    arrays = torch_like_lstm(out=2)
    r = upload(client, npz(arrays), vocab=json.dumps(VOCAB), labels='["no", "yes"]')
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["labels"] == ["no", "yes"] and m["setup"] == "many-to-one"
    t = client.post("/api/trace", json={"model": m["id"], "text": "abc"}).json()
    assert {p["token"] for p in t["steps"][-1]["top"]} == {"no", "yes"}


def test_imported_model_survives_a_restart(make_client, tmp_path):
    c = make_client()
    m = upload(c, npz(torch_like_lstm(), vocab=np.array(VOCAB))).json()
    again = make_client()
    assert again.get(f"/api/models/{m['id']}").json()["source"] == "imported"


@pytest.mark.parametrize(
    "data,form,words",
    [
        (b"not a zip", {}, "not an .npz"),
        (npz(torch_like_lstm()), {}, "vocabulary"),
        (npz({"x": np.zeros(3)}, vocab=np.array(VOCAB)), {}, "weight_ih_l0"),
        (npz(torch_like_lstm(), vocab=np.array(VOCAB[:3])), {}, "reads 5 inputs"),
        (npz(torch_like_lstm(), vocab=np.array(VOCAB)), {"cell": "gru"}, "lstm"),
        (npz(torch_like_lstm(out=3), vocab=np.array(VOCAB)), {}, "labels"),
        (npz(torch_like_lstm(), vocab=np.array(["a", "a", "b", "c", "d"])), {}, "duplicate"),
        (npz(torch_like_lstm(), vocab=np.array(VOCAB)), {"vocab": "[oops"}, "json"),
        (
            npz({**torch_like_lstm(), "fc.weight": np.full((5, 6), np.nan)}, vocab=np.array(VOCAB)),
            {},
            "nan",
        ),
    ],
)
def test_bad_uploads(client, data, form, words):
    r = upload(client, data, **form)
    assert r.status_code == 422, r.text
    assert words.lower() in r.json()["detail"].lower()


def test_a_bias_free_lstm_imports_and_proj_size_is_refused_in_a_sentence(client):
    arrays = {k: v for k, v in torch_like_lstm().items() if "bias_" not in k}
    r = upload(client, npz(arrays, vocab=np.array(VOCAB)))
    assert r.status_code == 201, r.text
    proj = {**torch_like_lstm(), "lstm.weight_hr_l0": np.zeros((3, 6))}
    r = upload(client, npz(proj, vocab=np.array(VOCAB)))
    assert r.status_code == 422 and "proj_size" in r.json()["detail"]
    assert "no place for" not in r.json()["detail"]


def test_pickles_are_never_loaded(client, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    arrays = torch_like_lstm()
    arrays["evil"] = np.array([Evil()], dtype=object)
    r = upload(client, npz(arrays, vocab=np.array(VOCAB)))
    assert r.status_code == 422 and "pickle" in r.json()["detail"].lower()
    assert not marker.exists()


def test_upload_size_cap(make_client):
    c = make_client(upload_max_bytes=2048)
    r = upload(c, npz(torch_like_lstm(V=5, H=32), vocab=np.array(VOCAB)))
    assert r.status_code == 413 and "too large" in r.json()["detail"].lower()


def test_unrolled_model_files_import_as_they_are(client):
    from server.core.paths import DEMO_MODELS_DIR

    r = upload(client, (DEMO_MODELS_DIR / "rnn-hello.npz").read_bytes())
    assert r.status_code == 201
    m = r.json()
    a = client.post("/api/trace", json={"model": m["id"], "text": "hell"}).json()
    b = client.post("/api/trace", json={"model": "rnn-hello", "text": "hell"}).json()
    assert a["steps"][-1]["h"] == b["steps"][-1]["h"]


@pytest.mark.torch
def test_real_torch_lstm_gives_torchs_predictions(client, tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(5, 3)
            self.lstm = torch.nn.LSTM(3, 7, num_layers=2, batch_first=True)
            self.fc = torch.nn.Linear(7, 5)

        def forward(self, ids):
            out, _ = self.lstm(self.embedding(ids))
            return torch.softmax(self.fc(out), dim=-1)

    net = Net().double()
    pt = tmp_path / "net.pt"
    torch.save(net.state_dict(), pt)
    (tmp_path / "vocab.json").write_text(json.dumps(VOCAB))
    from scripts.pt_to_npz import main as pt_to_npz

    out = tmp_path / "net.npz"
    pt_to_npz([str(pt), str(out), "--vocab", str(tmp_path / "vocab.json")])
    m = upload(client, out.read_bytes()).json()
    assert m["num_layers"] == 2
    t = client.post("/api/trace", json={"model": m["id"], "text": "badcab", "top_k": 5}).json()
    with torch.no_grad():
        probs = net(torch.tensor([[1, 0, 3, 2, 0, 1]]))[0].numpy()
    for step, p in zip(t["steps"], probs, strict=True):
        ours = {q["index"]: q["p"] for q in step["top"]}
        np.testing.assert_allclose([ours[i] for i in range(5)], p, atol=1e-10)


# -- an RNN's nonlinearity, and .pt files ---------------------------------------------------


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


def test_import_normalize_lower_reads_capitals_lower_case(client):
    r = upload(client, npz(torch_like_lstm(), vocab=np.array(VOCAB)), normalize="lower")
    assert r.status_code == 201, r.text
    assert r.json()["normalize"] == "lower"
    t = client.post("/api/trace", json={"model": r.json()["id"], "text": "ABc"}).json()
    assert t["tokens"] == ["A", "B", "c"] and t["tokens_seen"] == ["a", "b", "c"]
    assert t["tokens_unknown"] == []
    plain = upload(client, npz(torch_like_lstm(), vocab=np.array(VOCAB)), normalize="none")
    assert plain.json()["normalize"] is None


def test_import_normalize_lower_names_a_capital_token_and_not_the_vocabulary(client):
    vocab = ["a", "b", "Cq", "d", "e"]
    r = upload(client, npz(torch_like_lstm(), vocab=np.array(vocab)), normalize="lower")
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "'Cq'" in detail and "'d'" not in detail  # the offending token, not a dump
    bad = upload(client, npz(torch_like_lstm(), vocab=np.array(VOCAB)), normalize="upper")
    assert bad.status_code == 422


def test_import_normalize_overrides_an_unrolled_files_own(client):
    from tests.server.model_files import demo_file, model_file

    meta, arrays = demo_file("rnn-hello")
    r = upload(client, model_file(meta, arrays), normalize="none")
    assert r.status_code == 201, r.text
    assert r.json()["normalize"] is None
    kept = upload(client, model_file(meta, arrays)).json()
    assert kept["normalize"] == meta["vocab"]["normalize"]
