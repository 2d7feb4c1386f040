"""Model files that lie: bad metadata, sizes that would not fit, too many of them, half-saved.

No file, uploaded or found in the data dir, may break the model list for everyone."""

from __future__ import annotations

import copy
import io
import json
import logging
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.storage import META_KEY
from tests.server.model_files import DEMO_IDS, demo_file, model_file, poisoned, upload, user_models

# -- metadata ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field,value",
    [
        ("example", 123),
        ("description", ["a", "list"]),
        ("vocab", None),
        ("labels", 5),
        ("labels", ["x", 7]),
        ("task", {"no": 1}),
        ("name", 3.5),
        ("source", "demo!"),
        ("config", {"cell": "rnn"}),
        ("version", "1"),
    ],
)
def test_poisoned_metadata_is_refused_naming_the_field(client, field, value):
    r = upload(client, poisoned(**{field: value}))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert f"'{field}" in detail
    if value not in (None, "1"):
        assert json.dumps(value) not in detail  # the value is not repeated
    assert user_models(client) == []  # nothing stored, the list still answers


def test_config_values_are_typed_strictly(client):
    meta, arrays = demo_file()
    for key, value in [("hidden_size", "8"), ("bidirectional", 1), ("cell", "transformer")]:
        bad = copy.deepcopy(meta)
        bad["config"][key] = value
        r = upload(client, model_file(bad, arrays))
        assert r.status_code == 422 and f"'config.{key}'" in r.json()["detail"], r.text
    assert user_models(client) == []


def test_labels_must_match_the_outputs(client):
    r = upload(client, poisoned(labels=["a", "b", "c"]))  # rnn-hello has 4 outputs
    assert r.status_code == 422 and "4 outputs" in r.json()["detail"]


def test_a_bad_file_in_the_data_dir_is_skipped_not_served(make_client, settings, caplog):
    caplog.set_level(logging.WARNING, logger="unrolled")
    folder = settings.data_dir / "models"
    folder.mkdir(parents=True)
    (folder / "poison.npz").write_bytes(poisoned(example=123, id="poison"))
    (folder / "fake-demo.npz").write_bytes(poisoned(id="rnn-hello", source="trained"))
    (folder / "garbage.npz").write_bytes(b"not a zip")
    good = make_client()
    kept = upload(good, poisoned(example="hello")).json()["id"]
    again = make_client()  # a restart reads the folder again
    models = again.get("/api/models").json()
    assert {m["id"] for m in models} == DEMO_IDS | {kept}
    assert again.get("/api/models/poison").status_code == 404
    rnn_hello = again.get("/api/models/rnn-hello").json()
    assert rnn_hello["source"] == "demo"  # a user file cannot take a demo's id
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert {"poison.npz", "fake-demo.npz", "garbage.npz"} <= {m.split()[2] for m in skipped}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
META, _ = demo_file()
PATHS = [(k,) for k in META] + [("config", k) for k in META["config"]]
PATHS += [("vocab", k) for k in META["vocab"]] + [("labels",), ("id",), ("source",)]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    mutations=st.lists(
        st.tuples(st.sampled_from(PATHS), st.one_of(st.just("<delete>"), JSON_VALUES)),
        min_size=1,
        max_size=3,
    )
)
def test_no_metadata_mutation_gives_a_500(client, settings, mutations):
    meta, arrays = demo_file()
    for path, value in mutations:
        where = meta
        for key in path[:-1]:
            if not isinstance(where.get(key), dict):
                where[key] = {}
            where = where[key]
        if value == "<delete>":
            where.pop(path[-1], None)
        else:
            where[path[-1]] = value
    data = model_file(meta, arrays)
    r = upload(client, data)
    assert r.status_code in (201, 422), r.text
    (settings.data_dir / "models").mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "models" / "planted.npz").write_bytes(data)  # as if left on disk
    client.app.state.registry.rescan()
    listed = client.get("/api/models")
    assert listed.status_code == 200
    for m in listed.json():
        assert client.get(f"/api/models/{m['id']}").status_code == 200


# -- sizes: refused from the headers and the metadata, before anything is allocated ----------


def refused_quickly_and_lightly(client, data: bytes, words: str) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    r = upload(client, data)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"]
    assert peak < 50e6, f"{peak / 1e6:.0f} MB allocated to refuse a {len(data)} byte file"
    assert elapsed < 2.0, elapsed


def test_a_small_file_claiming_a_huge_hidden_size_is_refused_at_once(client):
    meta, arrays = demo_file()
    meta["config"]["hidden_size"] = 20000  # the arrays still hold H=8: 3 GB to build
    data = model_file(meta, arrays)
    assert len(data) < 10_000
    refused_quickly_and_lightly(client, data, "hidden size is 20000")


def test_a_file_claiming_many_parameters_is_refused_at_once(client):
    meta, arrays = demo_file()
    meta["config"].update(hidden_size=1000, num_layers=6)
    refused_quickly_and_lightly(client, model_file(meta, arrays), "parameters")


def npy_member(shape: tuple[int, ...], data: bytes = b"") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    return buf.getvalue() + data


@pytest.mark.parametrize("with_metadata", [False, True])
def test_an_npy_header_claiming_a_huge_array_is_refused(client, with_metadata):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("weight_hh_l0.npy", npy_member((100000, 100000), b"\0" * 64))
        zf.writestr("weight_ih_l0.npy", npy_member((1, 1), b"\0" * 8))
        if with_metadata:
            meta, _ = demo_file()
            blob = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
            arr = io.BytesIO()
            np.lib.format.write_array(arr, blob)
            zf.writestr(f"{META_KEY}.npy", arr.getvalue())
    refused_quickly_and_lightly(client, buf.getvalue(), "more data than the file holds")


def test_too_many_real_numbers_are_refused_from_the_headers(make_client):
    c = make_client(import_max_parameters=1000)
    arrays = {"weight_ih_l0": np.zeros((40, 50)), "weight_hh_l0": np.zeros((40, 10))}
    r = upload(c, model_file({"format": "unrolled-model"}, arrays))
    assert r.status_code == 422 and "import_max_parameters" in r.json()["detail"]


def test_a_state_dict_without_a_head_is_sized_before_it_is_built(make_client):
    """No output layer: the importer builds a random one, V x H; sized first."""
    c = make_client(import_max_parameters=2000)
    H, V = 30, 40
    rng = np.random.default_rng(0)
    arrays = {
        "weight_ih_l0": rng.normal(size=(H, V)),
        "weight_hh_l0": rng.normal(size=(H, H)),
        "bias_ih_l0": np.zeros(H),
        "bias_hh_l0": np.zeros(H),
    }  # 2,160 numbers
    tokens = np.array([f"t{i}" for i in range(V)])
    r = upload(c, _npz(arrays, vocab=tokens), nonlinearity="tanh")
    assert r.status_code == 422 and "parameters" in r.json()["detail"], r.text


def _npz(arrays, **kw) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays, **kw)
    return buf.getvalue()


def test_a_state_dict_claiming_a_million_layers_is_refused(client):
    rng = np.random.default_rng(0)
    arrays = {
        "weight_ih_l0": rng.normal(size=(4, 5)),
        "weight_hh_l0": rng.normal(size=(4, 4)),
        "bias_ih_l0": np.zeros(4),
        "bias_hh_l0": np.zeros(4),
        "weight_ih_l999999": np.zeros((1, 1)),
    }
    r = upload(client, _npz(arrays, vocab=np.array(list("abcde"))), nonlinearity="tanh")
    assert r.status_code == 422 and "layers" in r.json()["detail"]


@settings(max_examples=60, deadline=None)
@given(
    cell=st.sampled_from(["rnn", "lstm", "gru"]),
    vocab=st.integers(1, 7),
    hidden=st.integers(1, 6),
    layers=st.integers(1, 3),
    bidirectional=st.booleans(),
    embed=st.none() | st.integers(1, 4),
    labels=st.none() | st.integers(1, 4),
    extra=st.sampled_from(["", "peephole", "jordan"]),
)
def test_the_size_check_counts_what_the_engine_builds(
    cell, vocab, hidden, layers, bidirectional, embed, labels, extra
):
    """The limit is checked on a count made without building the model: it must be exact."""
    from engine.model import ModelConfig, SequenceModel
    from server.models.limits import parameter_count

    jordan = extra == "jordan"
    cfg = ModelConfig(
        cell=cell,
        vocab_size=vocab,
        input_encoding="embedding" if embed else "onehot",
        embed_size=embed,
        hidden_size=hidden,
        num_layers=1 if jordan else layers,
        bidirectional=bidirectional and not jordan,
        output_size=labels,
        peephole=extra == "peephole" and cell == "lstm",
        jordan=jordan,
    )
    built = SequenceModel(cfg).params
    assert parameter_count(cfg) == sum(a.size for a in built.values())
