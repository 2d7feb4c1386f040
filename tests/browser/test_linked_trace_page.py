"""A link that names the model and the text asks for its trace at once, beside the models list.

The first trace is asked for as soon as the socket is open (not after the models list came
back), and only once; a link whose model is gone still ends on a drawn network, with no error
left on screen; a one-to-many model (its number of steps is only known from the models list)
is traced with its own steps."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from pagekit import open_page

pytestmark = pytest.mark.browser


def trace_messages(page) -> list[dict]:
    """The trace messages the page has sent on its WebSocket."""
    messages = [json.loads(m) for m in page.watch.ws_sent if m.startswith("{")]
    return [m for m in messages if m.get("type") == "trace"]


def test_a_linked_sentence_is_traced_once(page, server_url):
    open_page(page, f"{server_url}/?model=lstm-rhymes&text={quote('Twinkle, twinkle!')}")
    sent = trace_messages(page)
    assert [m["model"] for m in sent] == ["lstm-rhymes"] and sent[0]["text"] == "Twinkle, twinkle!"
    tokens = page.evaluate("() => window.__unrolled.controller.trace.tokens")
    assert "".join(tokens) == "Twinkle, twinkle!"
    assert page.locator("svg.unrolled g.step").count() == len(tokens)


def test_the_linked_trace_does_not_wait_for_the_models_list(page, server_url):
    held = []
    page.route("**/api/models", lambda route: held.append(route))  # never answered
    page.goto(f"{server_url}/?model=lstm-rhymes&text=twinkle")
    page.wait_for_function("() => window.__unrolled && window.__unrolled.controller")
    for _ in range(100):
        if trace_messages(page):
            break
        page.wait_for_timeout(100)
    # asked for while the list is held
    assert held and [m["text"] for m in trace_messages(page)] == ["twinkle"]
    for route in held:
        route.abort()
    page.wait_for_function(
        "() => document.querySelector('#error-box')?.textContent.includes('model')"
    )
    page.watch.console_errors[:] = [
        e for e in page.watch.console_errors if "Failed to load" not in e
    ]
    page.watch.failed[:] = [f for f in page.watch.failed if "/api/models" not in f]


def test_a_link_to_a_model_that_is_gone_ends_on_the_first_model(page, server_url):
    open_page(page, f"{server_url}/?model=no-such-model&text=hello")
    sent = trace_messages(page)
    first = page.evaluate("() => window.__unrolled.controller.models[0].id")
    assert page.evaluate("() => window.__unrolled.state.model") == first
    assert page.evaluate("() => window.__unrolled.controller.trace.model") == first
    assert [m["model"] for m in sent] == [first]  # nothing asked of a model that is not there
    tokens = page.evaluate("() => window.__unrolled.controller.trace.tokens")
    assert page.locator("svg.unrolled g.step").count() == len(tokens) >= 1
    assert not page.locator("#error-box").is_visible()


def test_an_encoder_decoder_link_is_not_asked_for_a_sequence_trace(page, server_url):
    open_page(page, f"{server_url}/?model=gru-reverse&text=abcdef")
    assert trace_messages(page) == []  # its trace is its own POST (kinds.js)
    assert page.evaluate("() => window.__unrolled.controller.trace.model") == "gru-reverse"


def test_a_one_to_many_link_runs_its_own_number_of_steps(page, server_url):
    open_page(page, f"{server_url}/?model=lstm-digits&text=7")
    sent = trace_messages(page)
    steps = page.evaluate("() => window.__unrolled.controller.trace.steps.length")
    model_steps = page.evaluate(
        "() => window.__unrolled.controller.models.find((m) => m.id === 'lstm-digits').steps"
    )
    assert steps == (model_steps or 10) and steps > 1
    assert sent[-1].get("steps") in (None, steps)
