"""Train in the page: a model on "hello" learns it (loss < 0.1, then generates "hello" at
temperature 0); pause, resume and stop; the snapshot scrubber retraces the sentence with
each snapshot's weights; a 2-layer LSTM (H = 128) on 20 kB trains with its progress shown."""

from __future__ import annotations

import json
import time

import pytest
from pagekit import HOSTILE, open_page, shot

pytestmark = pytest.mark.browser


def open_panel(page, server_url: str, query: str = "model=rnn-hello&text=hell") -> None:
    open_page(page, f"{server_url}/?{query}")
    page.click("#train-panel summary")
    page.wait_for_function("() => document.querySelectorAll('#train-source option').length === 4")


def set_field(page, name: str, value) -> None:
    page.fill(f"#train-{name}", str(value))
    page.dispatch_event(f"#train-{name}", "change")


def panel(page) -> dict:
    return page.evaluate(
        "() => ({state: document.getElementById('train-panel').dataset.state,"
        " step: Number(document.getElementById('train-panel').dataset.step)})"
    )


def wait_state(page, *states: str, timeout: float = 60000) -> None:
    page.wait_for_function(
        "(s) => s.includes(document.getElementById('train-panel').dataset.state)",
        arg=list(states),
        timeout=timeout,
    )


def job_status(page) -> dict:
    return page.evaluate(
        "async () => (await fetch('/api/train/' + sessionStorage.getItem('unrolled-train-job')))"
        ".json()"
    )


def scrub_to(page, index: int) -> str:
    """Move the snapshot scrubber; wait until the explorer traced that snapshot; its id."""
    snap_id = page.evaluate(
        """async (i) => {
            const s = document.getElementById('train-scrubber');
            s.value = String(i);
            s.dispatchEvent(new Event('input', {bubbles: true}));
            const job = await (await fetch('/api/train/' +
                sessionStorage.getItem('unrolled-train-job'))).json();
            return job.snapshots[i].id;
        }""",
        index,
    )
    page.wait_for_function(
        "(id) => { const tr = window.__unrolled.controller.trace; return tr && tr.model === id"
        " && document.getElementById('model-select').value === id; }",
        arg=snap_id,
    )
    return snap_id


def api_trace(page, model: str, text: str) -> dict:
    body = json.dumps({"model": model, "text": text})
    return page.evaluate(
        "async (body) => (await fetch('/api/trace', {method: 'POST', headers: "
        "{'Content-Type': 'application/json'}, body})).json()",
        body,
    )


def test_hello_learns_samples_hello_and_snapshots_change_the_cell(page, server_url):
    open_panel(page, server_url)
    page.select_option("#train-source", "hello")
    assert page.input_value("#train-text") == "hello" * 8
    page.select_option("#train-cell", "lstm")
    set_field(page, "hidden_size", 16)
    set_field(page, "steps", 200)
    set_field(page, "lr", 0.02)
    page.click("#train-start")
    wait_state(page, "done")
    status = job_status(page)
    assert status["state"] == "done" and status["loss"] < 0.1
    assert f"loss {status['loss']:.4f}" in page.text_content("#train-stats").replace("\xa0", " ")
    assert page.get_attribute("#train-progress", "value") == "200"
    assert page.locator("#train-curve .scatterlayer .trace").count() == 2  # curve + snapshots
    model_id = status["model_id"]
    page.wait_for_function(
        "(id) => [...document.querySelectorAll('#model-select option')].some(o => o.value === id)",
        arg=model_id,
    )
    href = page.get_attribute("#train-download", "href")
    assert href == f"/api/models/{model_id}/download"
    size = page.evaluate("async (u) => (await (await fetch(u)).arrayBuffer()).byteLength", href)
    assert size > 1000

    # the scrubber: the untrained weights and the trained ones on the same sentence
    first = scrub_to(page, 0)
    assert first == f"{status['id']}@0"
    text = page.evaluate("() => window.__unrolled.state.text")
    assert text == "hellohellohellohellohell"  # the start of the training text
    cell_untrained = page.inner_html("#cell-view")  # the gates' and states' colours
    eq_untrained = page.text_content("#equations")  # the same numbers, written out
    h_untrained = page.evaluate("() => window.__unrolled.controller.trace.steps.map(s => s.h)")
    assert h_untrained == [s["h"] for s in api_trace(page, first, text)["steps"]]
    last_index = len(status["snapshots"]) - 1
    last = scrub_to(page, last_index)
    assert last == f"{status['id']}@200"
    assert page.evaluate("() => window.__unrolled.state.text") == text  # the SAME sentence
    cell_trained = page.inner_html("#cell-view")
    eq_trained = page.text_content("#equations")
    h_trained = page.evaluate("() => window.__unrolled.controller.trace.steps.map(s => s.h)")
    assert h_trained == [s["h"] for s in api_trace(page, last, text)["steps"]]
    assert h_trained != h_untrained and cell_trained != cell_untrained
    assert eq_trained != eq_untrained
    assert eq_trained != eq_untrained
    assert page.text_content("#train-snap-label").startswith("step 200")
    assert page.text_content("#train-sample") == status["snapshots"][-1]["sample"]
    for w, h in ((1024, 768), (1920, 1080)):
        page.set_viewport_size({"width": w, "height": h})
        page.locator("#train-panel").evaluate("(el) => el.scrollIntoView()")
        page.wait_for_timeout(500)
        shot(page, f"train-hello-snapshot-{w}x{h}")
    page.set_viewport_size({"width": 1280, "height": 720})

    # the trained model generates "hello" at temperature 0
    page.click("#train-explore")
    page.wait_for_function("(id) => window.__unrolled.controller.trace?.model === id", arg=model_id)
    page.evaluate("() => window.__unrolled.state.set({text: 'h', temperature: 0, n: 9})")
    page.click("[role=tab][data-view='generate']")
    page.wait_for_function(
        "() => document.getElementById('gen-text')?.dataset.generated?.length === 9",
        timeout=15000,
    )
    assert page.get_attribute("#gen-text", "data-generated") == "ellohello"


def test_pause_resume_stop(page, server_url):
    open_panel(page, server_url)
    page.select_option("#train-source", "rhymes")
    set_field(page, "hidden_size", 64)
    set_field(page, "steps", 5000)
    page.click("#train-start")
    page.wait_for_function("() => Number(document.getElementById('train-panel').dataset.step) > 5")
    page.click("#train-pause")
    wait_state(page, "paused")
    held = panel(page)["step"]
    assert page.is_visible("#train-resume") and not page.is_visible("#train-pause")
    time.sleep(1.0)
    assert panel(page) == {"state": "paused", "step": held}  # the counter stopped
    assert job_status(page)["step"] == held
    page.click("#train-resume")
    page.wait_for_function(
        "(n) => Number(document.getElementById('train-panel').dataset.step) > n + 5",
        arg=held,
    )
    assert panel(page)["state"] == "running"
    page.click("#train-stop")
    wait_state(page, "done")
    status = job_status(page)
    assert status["stopped_early"] and held < status["step"] < 5000
    assert "stopped at step" in page.text_content("#train-message")
    page.wait_for_function(
        "(id) => [...document.querySelectorAll('#model-select option')].some(o => o.value === id)",
        arg=status["model_id"],
    )


def test_a_two_layer_lstm_on_20_kb_trains_with_progress(page, server_url):
    open_panel(page, server_url)
    page.select_option("#train-source", "source")  # the engine's own code: 20 000 characters
    assert len(page.input_value("#train-text")) > 19_000
    page.select_option("#train-cell", "lstm")
    set_field(page, "hidden_size", 128)
    set_field(page, "layers", 2)
    set_field(page, "seq_len", 50)
    set_field(page, "steps", 3000)
    set_field(page, "lr", 0.003)
    page.click("#train-start")
    page.wait_for_function(
        "() => Number(document.getElementById('train-panel').dataset.step) > 20", timeout=30000
    )
    first = panel(page)["step"]
    page.wait_for_function(
        "(n) => Number(document.getElementById('train-panel').dataset.step) > n + 20",
        arg=first,
        timeout=30000,
    )
    stats = page.text_content("#train-stats").replace("\xa0", " ")
    assert "steps/s" in stats and "left" in stats and "loss" in stats
    assert float(page.get_attribute("#train-progress", "value")) > first
    page.wait_for_function(
        "() => document.querySelector('#train-curve .scatterlayer .trace path')"
        "?.getAttribute('d')?.length > 20"
    )
    # the server still answers other students at once
    t0 = time.monotonic()
    page.evaluate("async () => (await fetch('/api/health')).json()")
    assert time.monotonic() - t0 < 1.0
    for w, h in ((1024, 768), (1920, 1080)):
        page.set_viewport_size({"width": w, "height": h})
        page.locator("#train-panel").evaluate("(el) => el.scrollIntoView()")
        page.wait_for_timeout(700)
        shot(page, f"train-panel-{w}x{h}")
    page.evaluate("() => window.__unrolled.state.set({theme: 'dark'})")
    page.set_viewport_size({"width": 1024, "height": 768})
    page.wait_for_timeout(700)
    shot(page, "train-panel-dark-1024x768")
    page.click("#train-stop")
    wait_state(page, "done")
    assert job_status(page)["stopped_early"]


def test_too_long_a_file_is_refused_before_it_is_sent(page, server_url, tmp_path):
    open_panel(page, server_url)
    limit = int(page.get_attribute("#train-panel", "data-max-text"))
    big = tmp_path / "big.txt"
    big.write_text("a" * (limit + 1))
    page.set_input_files("#train-file", str(big))
    page.wait_for_function(
        "() => document.getElementById('train-message').dataset.kind === 'error'"
    )
    msg = page.text_content("#train-message")
    assert "big.txt has" in msg and "at most" in msg and "train_max_text_chars" in msg
    ok = tmp_path / "poem.txt"
    ok.write_text("roses are red\nviolets are blue\n")
    page.set_input_files("#train-file", str(ok))
    page.wait_for_function("() => document.getElementById('train-message').dataset.kind === 'ok'")
    assert page.input_value("#train-text") == "roses are red\nviolets are blue\n"
    set_field(page, "hidden_size", 100000)
    page.click("#train-start")
    assert page.is_visible("#train-hidden_size-error")
    assert "Hidden size" in page.text_content("#train-hidden_size-error")
    assert panel(page)["state"] == "idle"


def test_hostile_training_text_stays_text(page, server_url):
    open_panel(page, server_url)
    text = " ".join(HOSTILE)
    page.fill("#train-text", text)
    set_field(page, "hidden_size", 8)
    set_field(page, "steps", 30)
    page.click("#train-start")
    wait_state(page, "done")
    status = job_status(page)
    assert page.text_content("#train-sample") == status["snapshots"][-1]["sample"]
    injected = "#train-panel img, #train-panel svg[onload], #train-panel script"
    assert page.locator(injected).count() == 0
    assert page.evaluate("() => window.__pwned") is None
