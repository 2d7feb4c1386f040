"""POST /api/models/import: PyTorch-named arrays in an .npz become a model like any other."""

import io
import json

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
