"""`unrolled train`: a model trained from the command line is saved where the page lists it."""

import re

import numpy as np
import pytest

from engine.heads import loss_forward
from engine.tasks import BUILTIN
from server import cli
from server.models.registry import Registry


def _saved_id(out: str) -> str:
    found = re.search(r"saved model (\S+) in ", out)
    assert found, out
    return found.group(1)


def test_train_hello_learns_it_and_the_registry_lists_the_model(tmp_path, capsys):
    cli.main(["train", "hello", "--steps", "300", "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    shown = re.search(r"loss per token ([\d.]+)", out)
    assert shown and float(shown.group(1)) < 0.1, out
    assert "sample:" in out  # a language model shows samples as it learns
    model_id = _saved_id(out)

    entry = Registry(tmp_path).get(model_id)
    assert entry is not None and entry.source == "trained"
    assert model_id in [e.id for e in Registry(tmp_path).list()]
    assert entry.task == "next-char" and entry.meta["example"] == "hell"
    # the saved weights spell hello: mean loss per character below 0.1
    ids = entry.vocab.encode(BUILTIN["hello"].text)
    run = entry.model.forward(ids[:-1])
    assert float(loss_forward("ce", run.outputs, np.asarray(ids[1:])).mean()) < 0.1


def test_train_a_text_file_with_options(tmp_path, capsys):
    text = tmp_path / "poem.txt"
    text.write_text("the cat sat on the mat. " * 4, encoding="utf-8")
    data = tmp_path / "data"
    cli.main(
        ["train", "--text-file", str(text), "--cell", "gru", "--hidden", "8", "--layers", "2",
         "--steps", "20", "--lr", "0.02", "--seq-len", "10", "--seed", "3", "--name", "Cat poem",
         "--data-dir", str(data)]
    )  # fmt: skip
    model_id = _saved_id(capsys.readouterr().out)
    assert model_id.startswith("cat-poem-")
    entry = Registry(data).get(model_id)
    cfg = entry.model.config
    assert (cfg.cell, cfg.hidden_size, cfg.num_layers, cfg.seed) == ("gru", 8, 2, 3)


def test_train_classifier_reports_accuracy(tmp_path, capsys):
    cli.main(["train", "question", "--steps", "30", "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "accuracy" in out and "sample:" not in out
    assert Registry(tmp_path).get(_saved_id(out)).labels == ["statement", "question"]


@pytest.mark.parametrize(
    "args", [[], ["hello", "--text-file", "x.txt"], ["hello", "--steps", "0"], ["nope"]]
)
def test_train_refuses_bad_arguments(args, tmp_path):
    with pytest.raises(SystemExit) as e:
        cli.main(["train", *args, "--data-dir", str(tmp_path)])
    assert e.value.code == 2
    assert not (tmp_path / "models").exists()


def test_missing_text_file_is_said(tmp_path):
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "--text-file", str(tmp_path / "none.txt"), "--data-dir", str(tmp_path)])
    assert "cannot read" in str(e.value.code)
