"""POST /api/seq2seq/trace, /api/seq2seq/whatif and /api/tree/trace on the shipped demo models:
the shapes the page reads, the numbers equal to the engine's, and bad input refused with a 4xx
saying what to change (never a 500: conftest's no_server_errors)."""

from __future__ import annotations

import numpy as np
import pytest

from engine import attention
from engine.seq2seq_decode import whatif
from engine.storage import load_model
from server.core.paths import DEMO_MODELS_DIR

ATT, PLAIN, TREE = "gru-reverse-attention", "gru-reverse", "tree-sentiment"


def post(client, path, body, status=200):
    r = client.post(path, json=body)
    assert r.status_code == status, r.text[:300]
    return r.json()


def test_models_list_says_each_kind(client):
    models = {m["id"]: m for m in client.get("/api/models").json()}
    assert models["rnn-hello"]["kind"] == "sequence"
    assert models[ATT]["kind"] == "seq2seq" and models[ATT]["attention"] == "general"
    assert models[PLAIN]["kind"] == "seq2seq" and models[PLAIN]["attention"] is None
    assert models[TREE]["kind"] == "tree" and models[TREE]["cell"] == "tree"
    detail = client.get(f"/api/models/{ATT}").json()
    assert detail["setup"] == "seq2seq" and "<eos>" in detail["target_vocab"]
    assert client.get(f"/api/models/{TREE}").json()["labels"] == ["negative", "positive"]


def test_greedy_trace_shapes_and_numbers(client):
    body = post(client, "/api/seq2seq/trace", {"model": ATT, "source": "abcde"})
    assert body["mode"] == "greedy" and body["kind"] == "seq2seq"
    S, T, H = 5, len(body["decoder"]), body["hidden_size"]
    assert len(body["encoder"]) == S and body["encoder"][0]["token"] == "a"
    assert body["output"]["text"] == "edcba" and body["output"]["ended"]
    assert [d["predicted_token"] for d in body["decoder"]] == body["output"]["tokens"]
    assert body["decoder"][0]["input_token"] == "<bos>"
    assert len(body["alpha"]) == T and all(len(row) == S for row in body["alpha"])
    for d in body["decoder"]:
        assert abs(sum(d["alpha"]) - 1) < 1e-12 and len(d["ctx"]) == H and len(d["h_tilde"]) == H
        assert set(d["gates"]) == {"r", "z", "n"}
    assert body["context"]["h"] == body["encoder"][-1]["h"]
    back = body["backward"]
    assert len(back["encoder"]) == S and len(back["decoder"]) == T
    for e in back["encoder"]:
        np.testing.assert_allclose(
            np.add(e["dh_attn"], e["dh_rec"]), e["dh"], rtol=1e-12, atol=1e-15
        )
    np.testing.assert_allclose(back["context"]["dh"], back["encoder"][-1]["dh_rec"], atol=1e-15)
    # the engine's own numbers
    model = load_model(DEMO_MODELS_DIR / f"{ATT}.npz")
    run = model.model.forward(model.vocab.encode("abcde"), model.target_vocab.encode("edcba"))
    np.testing.assert_allclose(body["alpha"], run.att.alpha, rtol=1e-12)
    np.testing.assert_allclose(body["loss"], run.loss, rtol=1e-12)
    res = run.backward()
    np.testing.assert_allclose([e["dh_attn"] for e in back["encoder"]], res.dHbar_attn, atol=1e-14)
    # each attention line's share of dL/dh̄_s: its norm, and together they make dh_attn
    lines = attention.line_gradients(run.att, res.attention, model.model.attn_params)
    shown = [d["dh_enc_norm"] for d in back["decoder"]]
    np.testing.assert_allclose(shown, np.linalg.norm(lines, axis=2), rtol=1e-12)
    assert np.shape(shown) == (T, S) and min(map(min, shown)) >= 0
    np.testing.assert_allclose(lines.sum(axis=0), res.dHbar_attn, atol=1e-13)


def test_teacher_forcing_and_lstm_free_fields(client):
    body = post(client, "/api/seq2seq/trace", {"model": PLAIN, "source": "abc", "target": "cba"})
    assert body["mode"] == "teacher" and body["alpha"] is None
    assert [d["input_token"] for d in body["decoder"]] == ["<bos>", "c", "b", "a"]
    assert [d["target_token"] for d in body["decoder"]] == ["c", "b", "a", "<eos>"]
    assert abs(sum(d["loss"] for d in body["decoder"]) - body["loss"]) < 1e-12
    assert all(np.allclose(e["dh_attn"], 0) for e in body["backward"]["encoder"])
    assert "alpha" not in body["decoder"][0]


def test_unknown_source_tokens_are_read_as_zero_vectors(client):
    body = post(client, "/api/seq2seq/trace", {"model": ATT, "source": "aBz"})
    assert body["source"]["unknown"] == [2] and body["source"]["normalize"] == "lower"
    assert body["encoder"][1]["seen_as"] == "b"  # read lower-case
    z = body["encoder"][2]
    assert z["unknown"] and z["seen_as"] is None and z["input_index"] is None


def test_sampling_is_seeded(client):
    req = {"model": ATT, "source": "abcdef", "temperature": 2.0, "seed": 3, "max_len": 8}
    a = post(client, "/api/seq2seq/trace", req)
    assert a["mode"] == "sample" and len(a["decoder"]) <= 8
    assert a["output"] == post(client, "/api/seq2seq/trace", req)["output"]


def test_whatif_changes_the_prediction_as_the_engine_does(client):
    source = "abcdefg"
    base = post(client, "/api/seq2seq/trace", {"model": ATT, "source": source})
    t = 0  # step 0 should say "g"; put all its attention on "a" instead
    w = post(client, "/api/seq2seq/whatif", {"model": ATT, "source": source, "t": t, "focus": 0})
    assert w["intervention"] is True and w["alpha"] == [1.0] + [0.0] * 6
    assert w["alpha_model"] == base["decoder"][t]["alpha"]
    assert w["predicted_model"]["token"] == "g"
    loaded = load_model(DEMO_MODELS_DIR / f"{ATT}.npz")
    run = loaded.model.forward(loaded.vocab.encode(source), loaded.target_vocab.encode("gfedcba"))
    eng = whatif(run, t, [1.0] + [0.0] * 6)
    np.testing.assert_allclose([q["p"] for q in w["top"]], np.sort(eng.probs)[::-1][:5], rtol=1e-12)
    # the attention model writes the letter it attends to: moved onto "a", step 0 writes "a"
    assert w["changed"] and w["predicted"]["token"] == "a"
    assert w["continuation"]["tokens"][0] == w["predicted"]["token"]
    same = post(
        client,
        "/api/seq2seq/whatif",
        {"model": ATT, "source": source, "t": 2, "alpha": base["decoder"][2]["alpha"]},
    )
    assert not same["changed"] and same["continuation"]["text"] == base["output"]["text"]


def test_tree_trace_shapes(client):
    body = post(
        client, "/api/tree/trace", {"model": TREE, "text": "((the movie) (was (not good)))"}
    )
    assert body["bracketed"] == "((the movie) (was (not good)))" and not body["default_tree"]
    nodes = body["nodes"]
    assert len(nodes) == 9 and body["root"] == 8
    assert [n["word"] for n in nodes if n["word"]] == ["the", "movie", "was", "not", "good"]
    assert nodes[-1]["predicted_label"] == "negative"
    assert nodes[-1]["phrase"] == "the movie was not good"
    for n in nodes:
        assert len(n["h"]) == body["hidden_size"] and abs(sum(n["probs"]) - 1) < 1e-12
        assert all(c < n["id"] for c in n["children"])
    back = body["backward"]["nodes"]
    assert len(back) == 9 and back[0]["dpre"] is None and back[-1]["dpre"] is not None
    plain = post(client, "/api/tree/trace", {"model": TREE, "text": "The movie was NOT good"})
    assert plain["default_tree"] and plain["bracketed"] == "(The (movie (was (NOT good))))"
    assert plain["unknown"] == []  # lower-cased before lookup
    labelled = post(client, "/api/tree/trace", {"model": TREE, "text": "good", "label": "negative"})
    assert labelled["target_label"] == "negative" and labelled["loss"] > 0.5


@pytest.mark.parametrize(
    "path,body,status,words",
    [
        ("/api/seq2seq/trace", {"model": "nope", "source": "ab"}, 404, "no model"),
        ("/api/seq2seq/trace", {"model": "rnn-hello", "source": "ab"}, 422, "/api/trace"),
        ("/api/seq2seq/trace", {"model": ATT, "source": ""}, 422, "source"),
        (
            "/api/seq2seq/trace",
            {"model": ATT, "source": "ab", "target": "xy"},
            422,
            "cannot produce",
        ),
        ("/api/seq2seq/trace", {"model": ATT, "source": "ab", "target": "<eos>"}, 422, "cannot"),
        ("/api/seq2seq/trace", {"model": ATT, "source": "ab", "max_len": 10_000}, 422, "at most"),
        ("/api/seq2seq/trace", {"model": ATT, "source": "a" * 5000}, 422, "at most"),
        ("/api/seq2seq/trace", {"model": ATT, "source": "ab", "temperature": -1}, 422, ""),
        ("/api/seq2seq/trace", {"model": ATT, "source": "a\x00b"}, 422, "NUL"),
        (
            "/api/seq2seq/whatif",
            {"model": PLAIN, "source": "ab", "t": 0, "focus": 0},
            422,
            "no attention",
        ),
        ("/api/seq2seq/whatif", {"model": ATT, "source": "ab", "t": 0}, 422, "either alpha"),
        ("/api/seq2seq/whatif", {"model": ATT, "source": "ab", "t": 0, "focus": 5}, 422, "focus"),
        (
            "/api/seq2seq/whatif",
            {"model": ATT, "source": "ab", "t": 50, "focus": 0},
            422,
            "decoder steps",
        ),
        (
            "/api/seq2seq/whatif",
            {"model": ATT, "source": "ab", "t": 0, "alpha": [1]},
            422,
            "2 weights",
        ),
        (
            "/api/seq2seq/whatif",
            {"model": ATT, "source": "ab", "t": 0, "alpha": [0.9, 0.3]},
            422,
            "sum to 1",
        ),
        (
            "/api/seq2seq/whatif",
            {"model": ATT, "source": "ab", "t": 0, "alpha": [2, -1]},
            422,
            ">= 0",
        ),
        ("/api/tree/trace", {"model": TREE, "text": "(not good"}, 422, "never closed"),
        ("/api/tree/trace", {"model": TREE, "text": "not good)"}, 422, "closes no"),
        ("/api/tree/trace", {"model": TREE, "text": "(not good) now"}, 422, "outside"),
        ("/api/tree/trace", {"model": TREE, "text": "()"}, 422, "empty"),
        ("/api/tree/trace", {"model": TREE, "text": "good", "label": "meh"}, 422, "classes"),
        ("/api/tree/trace", {"model": TREE, "text": "good", "label": 7}, 422, "label"),
        ("/api/tree/trace", {"model": ATT, "text": "good"}, 422, "/api/seq2seq/trace"),
        ("/api/trace", {"model": TREE, "text": "good"}, 422, "/api/tree/trace"),
        ("/api/sample", {"model": ATT, "prime": "ab"}, 422, "encoder–decoder"),
    ],
)
def test_bad_input_is_a_clear_4xx(client, path, body, status, words):
    r = client.post(path, json=body)
    assert r.status_code == status, r.text[:300]
    assert words.lower() in r.json()["detail"].lower()


def test_limits_are_stated_in_openapi(make_client):
    c = make_client(max_decode_tokens=40, max_text_chars=300)
    schemas = c.get("/openapi.json").json()["components"]["schemas"]
    props = schemas["Seq2SeqTraceRequest"]["properties"]
    assert props["source"]["maxLength"] == 300
    assert any(p.get("maximum") == 40 for p in props["max_len"]["anyOf"])
    assert schemas["TreeTraceRequest"]["properties"]["text"]["maxLength"] == 300
    r = c.post("/api/seq2seq/trace", json={"model": ATT, "source": "ab", "max_len": 41})
    assert r.status_code == 422 and "40" in r.json()["detail"]


def test_routes_run_in_trace_processes_too(make_client):
    c = make_client(trace_processes=1)
    body = post(c, "/api/seq2seq/trace", {"model": ATT, "source": "abc"})
    assert body["output"]["text"] == "cba"
    assert (
        post(c, "/api/tree/trace", {"model": TREE, "text": "not bad"})["nodes"][-1][
            "predicted_label"
        ]
        == "positive"
    )
    r = c.post("/api/seq2seq/whatif", json={"model": ATT, "source": "ab", "t": 9, "focus": 0})
    assert r.status_code == 422


MARKER = "Zq7xMarkerx7qZ"


@pytest.mark.parametrize(
    "path,base",
    [
        ("/api/seq2seq/trace", {"model": ATT, "source": "abc"}),
        ("/api/seq2seq/whatif", {"model": ATT, "source": "abc", "t": 0, "focus": 0}),
        ("/api/tree/trace", {"model": TREE, "text": "(not good)"}),
    ],
)
def test_no_error_repeats_what_was_sent(client, path, base):
    fields = ["model", "source", "target", "max_len", "temperature", "seed", "top_k", "t"]
    fields += ["alpha", "focus", "text", "label"]
    shapes = [MARKER, [MARKER], f"ab{MARKER}c", f"(not {MARKER}", f"({MARKER} good))"]
    for field in fields:
        for shape in shapes:
            r = client.post(path, json={**base, field: shape})
            assert r.status_code < 500, (field, shape, r.text)
            if r.status_code >= 400:
                assert MARKER not in r.text, (field, shape, r.text)


@pytest.mark.parametrize("model_id", [ATT, TREE])
def test_shipped_files_import_and_trace_under_a_new_id(client, model_id):
    data = (DEMO_MODELS_DIR / f"{model_id}.npz").read_bytes()
    r = client.post("/api/models/import", files={"file": ("m.npz", data)}, data={"name": "mine"})
    assert r.status_code == 201, r.text[:300]
    new = r.json()
    assert new["source"] == "imported" and new["kind"] == (
        "tree" if model_id == TREE else "seq2seq"
    )
    if model_id == TREE:
        body = post(client, "/api/tree/trace", {"model": new["id"], "text": "not good"})
        assert body["nodes"][-1]["predicted_label"] == "negative"
    else:
        body = post(client, "/api/seq2seq/trace", {"model": new["id"], "source": "abc"})
        assert body["output"]["text"] == "cba"


def _with_meta(model_id: str, change) -> bytes:
    import io
    import json

    with np.load(DEMO_MODELS_DIR / f"{model_id}.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["__metadata__"].tobytes())
    change(meta)
    arrays["__metadata__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize(
    "model_id,change,words",
    [
        (ATT, lambda m: m["config"].update(hidden_size=5000), "hidden size"),
        (ATT, lambda m: m["config"].update(attention="luong"), "attention"),
        (ATT, lambda m: m.pop("target_vocab"), "target_vocab"),
        (ATT, lambda m: m["config"].update(bos_id=3), "<bos>"),
        (ATT, lambda m: m.update(kind="graph"), "kind"),
        (TREE, lambda m: m.pop("labels"), "label"),
        (TREE, lambda m: m["config"].update(num_classes=3), "label"),
        (TREE, lambda m: m["config"].update(vocab_size="7"), "whole number"),
    ],
)
def test_bad_kind_metadata_is_refused_at_import(client, model_id, change, words):
    data = _with_meta(model_id, change)
    r = client.post("/api/models/import", files={"file": ("m.npz", data)}, data={"name": "x"})
    assert r.status_code == 422, r.text[:300]
    assert words.lower() in r.json()["detail"].lower()


def test_websocket_refuses_other_kinds_with_their_route(client):
    import json

    with client.websocket_connect("/ws") as ws:
        for msg, route in [
            ({"type": "trace", "model": PLAIN, "text": "ab"}, "/api/seq2seq/trace"),
            ({"type": "feed", "model": TREE, "text": "good"}, "/api/tree/trace"),
            ({"type": "sample", "model": ATT, "prime": "a"}, "/api/seq2seq/trace"),
        ]:
            ws.send_text(json.dumps(msg))
            answer = ws.receive_json()
            assert answer["type"] == "error" and route in answer["message"]
    r = client.post("/api/gradcheck", json={"model": TREE, "text": "good", "t": 0, "unit": 0})
    assert r.status_code == 422 and "/api/tree/trace" in r.json()["detail"]
