"""One .npz per model: bit-exact round trips, and every kind of damaged file refused clearly."""

import io
import json

import numpy as np
import pytest

from engine.model import ModelConfig, SequenceModel
from engine.storage import META_KEY, ModelFileError, arrays_digest, load_model, save_model
from engine.tokenize import Vocabulary

KINDS = {
    "rnn": dict(cell="rnn"),
    "rnn_relu_stacked": dict(cell="rnn", nonlinearity="relu", num_layers=3),
    "lstm_bidirectional": dict(cell="lstm", num_layers=2, bidirectional=True),
    "lstm_peephole": dict(cell="lstm", peephole=True),
    "gru_embedding": dict(cell="gru", input_encoding="embedding", embed_size=3),
    "jordan": dict(cell="lstm", jordan=True),
    "classifier": dict(cell="gru", setup="many-to-one", output_size=2),
    "vectors_mse": dict(cell="rnn", vocab_size=None, input_size=2, output_size=3, loss="mse"),
}


def make(kind):
    kw = dict(vocab_size=4, hidden_size=5, seed=7)
    kw.update(KINDS[kind])
    return SequenceModel(ModelConfig(**kw))


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip_is_bit_exact(kind, tmp_path):
    model = make(kind)
    for w in model.params.values():  # not the initial weights: loading must not re-initialise
        w += np.random.default_rng(0).standard_normal(w.shape)
    vocab = Vocabulary.from_text("hélo") if model.config.vocab_size else None
    path = tmp_path / "model"  # no suffix: the file is written under exactly this name
    save_model(path, model, vocab=vocab, task="next-char", description="a tiny model ✓")
    got = load_model(path)
    assert got.model.config == model.config
    assert got.vocab == vocab and got.task == "next-char" and got.description == "a tiny model ✓"
    assert list(got.model.params) == list(model.params)
    for name, w in model.params.items():
        np.testing.assert_array_equal(got.model.params[name], w)
    x = [0, 1, 3] if model.config.vocab_size else np.ones((3, 2))
    np.testing.assert_array_equal(got.model.forward(x).outputs, model.forward(x).outputs)


def saved_arrays(tmp_path):
    path = tmp_path / "m.npz"
    save_model(path, make("lstm_bidirectional"))
    with np.load(path) as npz:
        return path, {k: npz[k] for k in npz.files}


def rewrite(arrays, fix_digest):
    arrays = dict(arrays)
    meta = json.loads(arrays[META_KEY].tobytes())
    if fix_digest:  # a consistent file, so the check after the digest is the one that fires
        meta["sha256"] = arrays_digest({k: v for k, v in arrays.items() if k != META_KEY})
    arrays[META_KEY] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_not_a_zip_and_truncated_files_are_refused(tmp_path):
    path, _ = saved_arrays(tmp_path)
    with pytest.raises(ModelFileError, match="not a readable model file"):
        load_model(b"this is not a zip file at all")
    data = path.read_bytes()
    with pytest.raises(ModelFileError):
        load_model(data[: len(data) // 2])


def test_tampered_arrays_fail_the_checksum(tmp_path):
    _, arrays = saved_arrays(tmp_path)
    arrays["head.bias"] = arrays["head.bias"] + 1e-12
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(rewrite(arrays, fix_digest=False))


def test_missing_extra_and_misshapen_arrays_are_refused(tmp_path):
    _, arrays = saved_arrays(tmp_path)
    missing = {k: v for k, v in arrays.items() if k != "rnn.weight_hh_l1_reverse"}
    with pytest.raises(ModelFileError, match="missing .*weight_hh_l1_reverse"):
        load_model(rewrite(missing, fix_digest=True))
    wrong = dict(arrays, **{"head.weight": arrays["head.weight"][:, :-1]})
    with pytest.raises(ModelFileError, match="head.weight has shape"):
        load_model(rewrite(wrong, fix_digest=True))
    ints = dict(arrays, **{"head.bias": arrays["head.bias"].astype(np.int64)})
    with pytest.raises(ModelFileError, match="dtype"):
        load_model(rewrite(ints, fix_digest=True))


def test_bad_metadata_and_pickles_are_refused(tmp_path):
    _, arrays = saved_arrays(tmp_path)
    no_meta = {k: v for k, v in arrays.items() if k != META_KEY}
    buf = io.BytesIO()
    np.savez(buf, **no_meta)
    with pytest.raises(ModelFileError, match="__metadata__"):
        load_model(buf.getvalue())
    buf = io.BytesIO()
    np.savez(buf, **dict(arrays, **{META_KEY: np.frombuffer(b"{oops", dtype=np.uint8)}))
    with pytest.raises(ModelFileError, match="JSON"):
        load_model(buf.getvalue())
    meta = json.loads(arrays[META_KEY].tobytes())
    meta["config"]["cell"] = "transformer"
    buf = io.BytesIO()
    np.savez(buf, **dict(arrays, **{META_KEY: np.frombuffer(json.dumps(meta).encode(), np.uint8)}))
    with pytest.raises(ModelFileError, match="cell must be"):
        load_model(buf.getvalue())
    buf = io.BytesIO()
    np.savez(buf, **dict(arrays, evil=np.array([{"a": 1}], dtype=object)))
    with pytest.raises(ModelFileError):
        load_model(buf.getvalue())


def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)


def test_the_vocabularys_normalisation_is_saved_and_files_without_it_still_load(tmp_path):
    model = make("gru_embedding")
    vocab = Vocabulary.from_text("abcd", normalize="lower")
    path = tmp_path / "m.npz"
    save_model(path, model, vocab=vocab)
    got = load_model(path)
    assert got.vocab.normalize == "lower" and got.metadata["vocab"]["normalize"] == "lower"
    assert got.vocab.read("ABCD").ids.tolist() == [0, 1, 2, 3]
    # a file written before vocabularies carried a normalisation: tokens are read as typed
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays[META_KEY].tobytes())
    del meta["vocab"]["normalize"]
    arrays[META_KEY] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    old = load_model(buf.getvalue())
    assert old.vocab.normalize is None and old.vocab.tokens == vocab.tokens
    assert old.vocab.read("A").unknown.tolist() == [True]


def test_saving_again_with_new_metadata_keeps_the_arrays_and_their_digest(tmp_path):
    model = make("lstm_bidirectional")
    save_model(tmp_path / "a.npz", model, vocab=Vocabulary.from_text("abcd"))
    first = load_model(tmp_path / "a.npz")
    vocab = Vocabulary(first.vocab.tokens, normalize="lower")
    save_model(tmp_path / "b.npz", first.model, vocab=vocab, extra={"example": "abc"})
    second = load_model(tmp_path / "b.npz")
    assert second.metadata["sha256"] == first.metadata["sha256"]
    for name, w in first.model.params.items():
        assert second.model.params[name].tobytes() == w.tobytes()
