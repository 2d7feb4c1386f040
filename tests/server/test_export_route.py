"""GET /api/export: the page's state query -> one self-contained HTML file; 4xx on bad params.
And the notebook helper's output (server/notebook/)."""

from __future__ import annotations

import re

import pytest

from server.notebook.show import WIDGET_JS, View, show


def test_export_returns_an_html_attachment_with_the_view(client):
    r = client.get("/api/export", params={"model": "rnn-hello", "text": "hello", "t": "2"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert (
        r.headers["content-disposition"] == 'attachment; filename="unrolled-rnn-hello-hello.html"'
    )
    html = r.text
    assert '<script type="importmap">' in html and 'id="unrolled-offline"' in html
    assert "connect-src 'none'" in html  # the file's own CSP: no network
    # every module of static/js is in the import map, none fetched from anywhere
    assert "@unrolled/js/main.js" in html and "@unrolled/js/views/unrolled.js" in html
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert '"query":"model=rnn-hello\\u0026text=hello\\u0026t=2"' in html  # & as \u0026


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({}, 422, "model is required"),
        ({"model": "nope", "text": "hi"}, 404, "no model"),
        ({"model": "rnn-hello", "text": "hello", "clip": "abc"}, 422, "clip"),
        ({"model": "rnn-hello", "text": "hello", "clip": "-1"}, 422, "above 0"),
        ({"model": "rnn-hello", "text": "hello", "layer": "3"}, 422, "layer"),
        ({"model": "rnn-hello", "text": "hello", "page": "other"}, 422, "page"),
        ({"model": "rnn-hello", "text": "hello", "Bad-Key": "1"}, 422, "lower-case"),
        ({"model": "rnn-hello", "text": "h" * 5000}, 422, "at most"),
    ],
)
def test_bad_params_are_refused_with_a_sentence(client, params, status, words):
    r = client.get("/api/export", params=params)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_show_has_the_widget_and_the_html_fallback():
    view = show("rnn-hello", "hello", t=1)
    assert isinstance(view, View)
    bundle = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    fallback = bundle["text/html"]
    assert fallback.startswith("<iframe srcdoc=") and "&lt;script type=&quot;importmap" in fallback
    assert view.widget.html == view.html


def test_the_widget_module_ships_in_the_package_and_imports_nothing():
    js = WIDGET_JS.read_text(encoding="utf-8")
    assert "export default" in js
    assert not re.search(r"https?://", js) and "require(" not in js
    assert not re.search(r"^\s*import\b|\bimport\s*\(", js, re.M)  # no module loaded at all


def test_show_reads_an_npz_file_and_an_engine_model(tmp_path):
    from engine import load_model
    from server.core.paths import DEMO_MODELS_DIR

    by_path = show(str(DEMO_MODELS_DIR / "gru-question.npz"), "are you good")
    assert '"model":"gru-question"' in by_path.html
    loaded = load_model(DEMO_MODELS_DIR / "rnn-hello.npz")
    by_object = show(loaded.model, "hell", vocab=loaded.vocab)
    assert '"model":"notebook-model"' in by_object.html
    with pytest.raises(TypeError):
        show(loaded.model, "hell")
