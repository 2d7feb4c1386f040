"""The trace's all-cells overview (engine/overview.py): every layer's and direction's ‖h_t‖ and
‖dL/dh_t‖ (and its two parts), in original time, equal to norms taken from the engine's run."""

import numpy as np
import pytest

from engine.model import ModelConfig, SequenceModel
from engine.targets import default_targets
from engine.trace import build_trace, step_record

IDS = [0, 1, 2, 3, 1, 0, 2]


def make(**kw):
    base = dict(cell="lstm", vocab_size=4, hidden_size=5, num_layers=2, bidirectional=True, seed=4)
    base.update(kw)
    return SequenceModel(ModelConfig(**base))


def norms(a):
    return np.linalg.norm(a, axis=1)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_forward_overview_is_every_cells_h_norm_in_original_time(cell):
    model = make(cell=cell)
    tr = build_trace(model, IDS, layer=0, direction=0)
    run = model.forward(IDS)
    h_norm = tr["overview"]["h_norm"]
    assert len(h_norm) == 2 and all(len(layer) == 2 for layer in h_norm)
    for li in range(2):
        assert np.allclose(h_norm[li][0], norms(run.tapes[li][0].h), rtol=1e-13)
        # the reverse tape runs backwards: its step k is original step T-1-k
        assert np.allclose(h_norm[li][1], norms(run.tapes[li][1].h)[::-1], rtol=1e-13)
    # the layer's output [h_fwd, h_rev] at t, as the head (or the layer above) reads it
    top = np.hypot(h_norm[1][0], h_norm[1][1])
    assert np.allclose(top, norms(run.top), rtol=1e-13)
    # the shown cell's own frames agree
    assert np.allclose(h_norm[0][0], [np.linalg.norm(s["h"]) for s in tr["steps"]], rtol=1e-13)


def test_backward_overview_is_every_cells_gradient_and_its_two_parts():
    model = make()
    run = model.forward(IDS)
    res = run.backward(default_targets(model, run))
    for layer, direction in [(0, 1), (1, 0)]:
        tr = build_trace(model, IDS, layer=layer, direction=direction, clip=0.01)
        ob = tr["overview_backward"]
        for li in range(2):
            for d in range(2):
                flip = (lambda a: a[::-1]) if d == 1 else (lambda a: a)  # noqa: E731
                g, dh_in = res.cells[li][d], res.dh_in[li][d]
                assert np.allclose(ob["dh_norm"][li][d], flip(norms(g.dh)), rtol=1e-12)
                assert np.allclose(ob["dh_in_norm"][li][d], flip(norms(dh_in)), rtol=1e-12)
                assert np.allclose(ob["dh_next_norm"][li][d], flip(norms(g.dh - dh_in)), rtol=1e-12)
        # clipping scales parameter gradients, not these BPTT signals; the shown cell agrees
        shown = [b["dh_norm"] for b in tr["backward"]]
        assert np.allclose(ob["dh_norm"][layer][direction], shown, rtol=1e-12)


def test_the_parts_of_the_gradient_are_where_they_come_from():
    """Many-to-one: only the last step's top layer gets a gradient from the head; nothing comes
    from after the last step, nor (the reverse direction's next step is t-1) from before t = 0."""
    model = make(cell="gru", setup="many-to-one", output_size=3)
    tr = build_trace(model, IDS, targets=[2])
    ob = tr["overview_backward"]
    T = len(IDS)
    top_in = np.array(ob["dh_in_norm"][1][0])
    assert top_in[-1] > 0 and np.all(top_in[:-1] == 0)
    assert ob["dh_next_norm"][1][0][-1] == 0  # no step after the last in the forward direction
    assert ob["dh_next_norm"][1][1][0] == 0  # ... and none before step 0 in the reverse one
    assert all(v > 0 for v in ob["dh_norm"][0][0][: T - 1])  # it flows down and back


def test_a_single_cell_model_has_a_one_by_one_overview_and_jordan_is_said():
    model = SequenceModel(ModelConfig(cell="rnn", vocab_size=4, hidden_size=3, jordan=True))
    tr = build_trace(model, IDS)
    assert tr["jordan"] is True and tr["peepholes"] is None
    assert len(tr["overview"]["h_norm"]) == 1 and len(tr["overview"]["h_norm"][0]) == 1
    assert np.allclose(
        tr["overview"]["h_norm"][0][0], [np.linalg.norm(s["h"]) for s in tr["steps"]]
    )


def test_peepholes_are_the_shown_cells_weights():
    model = make(peephole=True)
    tr = build_trace(model, IDS, layer=1, direction=1)
    for name in ("w_ci", "w_cf", "w_co"):
        assert tr["peepholes"][name] == model.params[f"rnn.{name}_l1_reverse"].tolist()
    assert build_trace(make(), IDS)["peepholes"] is None


def test_a_live_step_carries_every_layers_h_norm():
    model = make(cell="lstm", bidirectional=False, num_layers=3)
    state, frame = step_record(model, None, 2)
    _, rec = model.step(2)
    assert np.shape(frame["h_norms"]) == (3, 1)
    want = [[np.linalg.norm(r[0]["h"])] for r in rec["layers"]]
    assert np.allclose(frame["h_norms"], want, rtol=1e-13)
