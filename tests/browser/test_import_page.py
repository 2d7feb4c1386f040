"""Bring your own model from the page: the file cannot say an RNN's nonlinearity, so the page
asks; the imported model is traced with it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from pagekit import open_page, shot

from engine.model import ModelConfig, SequenceModel
from engine.tokenize import Vocabulary

pytestmark = pytest.mark.browser

VOCAB = "helo"
H = 6


def state_dict() -> dict[str, np.ndarray]:
    """A 'PyTorch' nn.RNN + nn.Linear state dict (as pt_to_npz.py writes it), weights large
    enough that tanh and ReLU give visibly different states."""
    rng = np.random.default_rng(7)
    V = len(VOCAB)
    return {
        "rnn.weight_ih_l0": rng.normal(0, 1.5, (H, V)),
        "rnn.weight_hh_l0": rng.normal(0, 0.8, (H, H)),
        "rnn.bias_ih_l0": rng.normal(0, 0.5, H),
        "rnn.bias_hh_l0": rng.normal(0, 0.5, H),
        "fc.weight": rng.normal(0, 1, (V, H)),
        "fc.bias": np.zeros(V),
    }


def npz_bytes() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **state_dict())
    return buf.getvalue()


def expected_h(text: str, nonlinearity: str) -> np.ndarray:
    sd = state_dict()
    cfg = ModelConfig(cell="rnn", vocab_size=len(VOCAB), hidden_size=H, nonlinearity=nonlinearity)
    model = SequenceModel(cfg)
    model.load_state_dict({"rnn." + k.split(".", 1)[1] if k.startswith("rnn.") else
                           k.replace("fc.", "head."): v for k, v in sd.items()})  # fmt: skip
    ids = Vocabulary(list(VOCAB), level="char").encode(text)
    return model.forward(ids).tapes[0][0].h


def test_an_rnn_state_dict_is_imported_with_the_nonlinearity_the_teacher_chose(page, server_url):
    open_page(page, f"{server_url}/")
    page.click("#import-panel summary")
    page.set_input_files(
        "[data-import-form] input[name=file]",
        files=[
            {"name": "my-rnn.npz", "mimeType": "application/octet-stream", "buffer": npz_bytes()}
        ],
    )
    page.fill("[data-import-form] textarea[name=vocab]", VOCAB)
    page.click("[data-import-form] button[type=submit]")
    status = page.locator("[data-import-status]")
    # not chosen: the server refuses, and the page says why
    page.wait_for_function(
        "() => document.querySelector('[data-import-status]').dataset.kind === 'error'"
    )
    assert "nonlinearity" in status.text_content()
    # the browser logs the refused request (a 422) as a console error: that one is expected
    refused = [m for m in page.watch.console_errors if "422" in m]
    assert len(refused) == 1
    page.watch.console_errors.remove(refused[0])
    shot(page, "import-needs-nonlinearity")

    page.check("[data-import-form] input[name=nonlinearity][value=relu]")
    page.click("[data-import-form] button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('[data-import-status]').dataset.kind === 'ok'"
    )
    model_id = page.input_value("#model-select")
    assert model_id.startswith("my-rnn")
    page.fill("#text-input", "hell")
    page.wait_for_function(
        "(id) => window.__unrolled.controller.trace && window.__unrolled.controller.trace.model"
        " === id && window.__unrolled.controller.trace.tokens.join('') === 'hell'",
        arg=model_id,
    )
    trace_h = page.evaluate("window.__unrolled.controller.trace.steps.map((s) => s.h)")
    assert np.allclose(trace_h, expected_h("hell", "relu"), atol=1e-12)
    assert not np.allclose(trace_h, expected_h("hell", "tanh"), atol=1e-3)
    assert "ReLU" in page.text_content("#equations")
    shot(page, "import-relu-traced")
