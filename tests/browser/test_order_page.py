"""Order matters (the page): the same words in another order give a bag-of-words network the
same input vector and the same answer, while the recurrent model tells them apart; the numbers
are the API's. Also: dropping a model file onto the page imports it, unknown tokens are marked
on the plots' token axes, and the main player's keys drive the Generate tab."""

from __future__ import annotations

import json
import urllib.request

import pytest
from pagekit import open_page, shot

from engine.storage import save_model
from engine.tokenize import Vocabulary

pytestmark = pytest.mark.browser


def api(server_url: str, path: str, body: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{server_url}{path}", data=data, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def wait_order(page) -> None:
    page.wait_for_function(
        "() => { const v = document.getElementById('view-order');"
        " return !v.dataset.busy && v.querySelectorAll('.order-matrix').length === 2; }",
        timeout=15000,
    )


def shown(page) -> dict:
    """What the view shows, read from the DOM."""
    cells = page.locator(".order-table td")
    answers = {
        (cells.nth(i).get_attribute("data-model"), cells.nth(i).get_attribute("data-sentence")): (
            cells.nth(i).get_attribute("data-label"),
            float(cells.nth(i).get_attribute("data-p")),
        )
        for i in range(cells.count())
    }
    vectors = [
        json.loads(page.get_attribute(f".order-matrix[data-sentence='{s}']", "data-vector"))
        for s in "AB"
    ]
    return {"answers": answers, "vectors": vectors}


def test_the_two_sentences_give_one_bag_and_two_recurrent_answers(page, server_url):
    open_page(page, f"{server_url}/?model=gru-question&text=you+are+good&view=order")
    wait_order(page)
    assert page.input_value("#order-a") == "you are good"
    assert page.input_value("#order-b") == "are you good"
    seen = shown(page)
    a = api(server_url, "/api/bow/predict", {"model": "bow-question", "text": "you are good"})
    b = api(server_url, "/api/bow/predict", {"model": "bow-question", "text": "are you good"})
    assert seen["vectors"][0] == seen["vectors"][1] == [[e["id"], e["count"]] for e in a["bag"]]
    assert page.get_attribute("#view-order", "data-same-vector") == "1"
    ans = seen["answers"]
    assert ans[("bow", "A")] == ans[("bow", "B")]  # necessarily the same answer
    i = a["labels"].index(a["label"])
    assert ans[("bow", "A")] == (a["label"], pytest.approx(a["probs"][i], abs=1e-12))
    assert ans[("rnn", "A")][0] == "statement" and ans[("rnn", "B")][0] == "question"
    for s, r in (("A", a), ("B", b)):
        c = r["companion"]
        assert ans[("rnn", s)] == (
            c["label"],
            pytest.approx(c["probs"][r["labels"].index(c["label"])]),
        )
    # the one-hot rows: one 1 per token, and the sum row is x
    rows = page.locator(".order-matrix[data-sentence='A'] tr[data-t]")
    assert rows.count() == 3
    for t in range(3):
        assert rows.nth(t).locator("td.one").count() == 1
    listed = {m["id"]: m for m in api(server_url, "/api/bow")}
    ev = listed["bow-question"]["evaluation"]
    text = page.text_content("#order-accuracy")
    assert (
        f"{100 * ev['accuracy']:.1f}%" in text and f"{100 * ev['companion_accuracy']:.1f}%" in text
    )
    shot(page.locator("#view-order"), "order-question")


def test_the_sentences_are_editable_and_in_the_url(page, server_url):
    url = f"{server_url}/?model=lstm-sentiment&text=good&view=order&bow=bow-sentiment"
    open_page(page, url)
    wait_order(page)
    assert page.input_value("#order-a") == "it was good , not bad"
    seen = shown(page)
    assert seen["vectors"][0] == seen["vectors"][1]
    assert seen["answers"][("rnn", "A")][0] == "positive"
    assert seen["answers"][("rnn", "B")][0] == "negative"
    page.fill("#order-a", "not bad at all")
    page.fill("#order-b", "Zorblat good")
    page.wait_for_function("() => location.search.includes('order_b=Zorblat')", timeout=5000)
    page.wait_for_function(
        "() => document.getElementById('view-order').dataset.sameVector === '0'", timeout=15000
    )
    wait_order(page)
    unknown = page.locator(".order-matrix[data-sentence='B'] th.tok.unknown")
    assert unknown.count() == 1 and unknown.text_content() == "‹Zorblat›?"
    assert shown(page)["answers"][("rnn", "A")][0] == "positive"
    for width, height in ((1024, 768), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        wait_order(page)
        page.locator("#view-order").scroll_into_view_if_needed()
        shot(page, f"order-sentiment-{width}x{height}")
    assert page.input_value("#order-b") == "Zorblat good"  # from the URL


def test_dropping_a_model_file_on_the_page_imports_it(page, server_url, tmp_path):
    from engine.model import ModelConfig, SequenceModel

    vocab = Vocabulary(list("abc"), level="char")
    path = tmp_path / "dropped.npz"
    model = SequenceModel(ModelConfig(cell="gru", vocab_size=3, hidden_size=4, seed=2))
    save_model(path, model, vocab, "next-char", "A GRU dropped on the page.", {"example": "abc"})
    open_page(page, f"{server_url}/")
    data = list(path.read_bytes())
    page.evaluate(
        """([bytes, name]) => {
          const file = new File([new Uint8Array(bytes)], name);
          const dt = new DataTransfer();
          dt.items.add(file);
          const target = document.querySelector('.tokens') || document.body;
          for (const type of ['dragenter', 'dragover', 'drop']) {
            const init = { dataTransfer: dt, bubbles: true, cancelable: true };
            target.dispatchEvent(new DragEvent(type, init));
          }
        }""",
        [data, "dropped.npz"],
    )
    assert page.is_visible("[data-import-form] input[name=file]")  # the panel opened
    status = page.locator("[data-import-status]")
    assert "dropped.npz" in status.text_content()
    page.select_option("[data-import-form] select[name=normalize]", "lower")
    page.click("[data-import-form] button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('[data-import-status]').dataset.kind === 'ok'",
        timeout=15000,
    )
    model_id = page.input_value("#model-select")
    detail = api(server_url, f"/api/models/{model_id}")
    assert detail["normalize"] == "lower" and detail["vocab"] == ["a", "b", "c"]
    shot(page.locator("#import-panel"), "import-dropped")
    # a file that is not a model is refused on the page, by name, before any request
    page.evaluate(
        """() => {
          const dt = new DataTransfer();
          dt.items.add(new File(['hello'], 'notes.txt'));
          const init = { dataTransfer: dt, bubbles: true, cancelable: true };
          document.body.dispatchEvent(new DragEvent('drop', init));
        }"""
    )
    assert "notes.txt is not a model file" in status.text_content()


def test_unknown_tokens_are_marked_on_the_plot_axes(page, server_url):
    open_page(page, f"{server_url}/?model=gru-question&text=are+you+zorblat&view=heatmaps")
    page.wait_for_selector("#view-heatmaps .plot g.xtick text", state="attached", timeout=60000)
    ticks = page.locator("#view-heatmaps .plot").first.locator("g.xtick text")
    labels = [ticks.nth(i).text_content() for i in range(ticks.count())]
    assert labels == ["are", "you", "‹zorblat›?"]
    hover = page.evaluate(
        "() => document.querySelector('#view-heatmaps .plot').data[0].customdata[0][2]"
    )
    assert hover == "‹zorblat›? read as the zero vector"
    page.click("[role=tab][data-view='gradients']")
    page.wait_for_selector("#view-gradients .plot g.xtick text", state="attached", timeout=60000)
    ticks = page.locator("#view-gradients .plot").first.locator("g.xtick text")
    assert ticks.nth(2).text_content() == "‹zorblat›?"
    shot(page.locator("#view-gradients .plot").first, "gradients-unknown-axis")


def test_the_main_players_keys_step_through_the_generation(page, server_url):
    open_page(page, f"{server_url}/?model=rnn-hello&text=h&view=generate&temperature=0&n=8")
    page.wait_for_function(
        "() => Number(document.getElementById('view-generate').dataset.generations || 0) > 0",
        timeout=15000,
    )
    step = lambda: page.get_attribute("#gen-step-label", "data-step")  # noqa: E731
    t_before = page.get_attribute("#step-label", "data-t")
    page.click("#btn-first")  # the main player's button drives the generation
    assert step() == "0"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert step() == "2"
    page.keyboard.press("ArrowLeft")
    assert step() == "1"
    page.click("#btn-fwd")
    assert step() == "2"
    page.keyboard.press("End")
    assert step() == "7"
    page.keyboard.press("Home")
    page.evaluate("() => document.activeElement.blur()")  # Space must not also click a button
    page.keyboard.press("Space")  # plays the generation to its end
    page.wait_for_function(
        "() => document.getElementById('gen-step-label').dataset.step === '7'", timeout=15000
    )
    assert page.get_attribute("#step-label", "data-t") == t_before  # the trace stayed put
    page.click("[role=tab][data-view='heatmaps']")  # another tab: the keys drive the trace again
    page.keyboard.press("End")
    assert page.get_attribute("#step-label", "data-phase") == "backward"
    assert step() == "7"
