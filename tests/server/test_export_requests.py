"""The recorded requests of an exported file (server/export/page_requests.py): the table GET
/api/export builds through the running server equals the one the command line builds here, for
every model kind; the answers are the routes' own; a refusal is recorded as the route's; the
mirrors of the page's code (whatif.js, order.js) agree with it."""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path

import pytest

from server.core.settings import Settings
from server.export.page_requests import ORDER_PAIRS, parse_whatif
from server.export.view import in_process, parse_view, record
from server.models.registry import Registry

ROOT = Path(__file__).resolve().parents[2]


def offline_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="unrolled-offline">(.*?)</script>', html)
    return json.loads(m.group(1))


def answer(r: dict):
    return json.loads(gzip.decompress(base64.b64decode(r["json"])))


def table(data: dict) -> dict:
    return {
        (r["method"], r["path"], json.dumps(r["body"], sort_keys=True)): r for r in data["requests"]
    }


@pytest.mark.parametrize(
    "query",
    [
        {"model": "gru-reverse-attention", "text": "abcd", "whatif": "1:0,1,1,0"},
        {"model": "tree-sentiment", "text": "((the movie) (was good))", "target": "negative"},
        {"model": "gru-question", "text": "you are good", "view": "path", "overlay": "are you"},
    ],
)
def test_the_route_records_what_the_routes_answer(client, query):
    r = client.get("/api/export", params=query)
    assert r.status_code == 200, r.text
    got = table(offline_data(r.text))
    s = Settings(data_dir=client.app.state.settings.data_dir)
    registry = Registry(s.data_dir)
    here = record(parse_view(query, registry, s), in_process(s).bind(registry)).as_json()
    assert set(got) == set(table(here))
    for (method, path, body), rec in got.items():
        if "json" in rec:  # the same bytes the route answers with
            live = (
                client.request(method, path, json=json.loads(body))
                if method == "POST"
                else client.get(path)
            )
            assert live.status_code == 200 and answer(rec) == live.json(), path
        else:
            assert "frames" in rec and path == "/api/trace"


def test_a_seq2seq_export_holds_its_whatif_and_a_tree_its_label(client):
    data = offline_data(
        client.get(
            "/api/export", params={"model": "gru-reverse-attention", "text": "abc", "whatif": "0:2"}
        ).text
    )
    paths = [r["path"] for r in data["requests"]]
    assert paths == ["/api/seq2seq/trace", "/api/seq2seq/whatif"]
    assert data["requests"][1]["body"] == {
        "model": "gru-reverse-attention",
        "source": "abc",
        "top_k": 5,
        "t": 0,
        "focus": 2,
    }
    assert data["models"][0]["kind"] == "seq2seq"
    # a what-if that does not fit the trace is not asked for (the page drops it too)
    data = offline_data(
        client.get(
            "/api/export", params={"model": "gru-reverse-attention", "text": "abc", "whatif": "0:7"}
        ).text
    )
    assert [r["path"] for r in data["requests"]] == ["/api/seq2seq/trace"]


def test_a_refused_request_is_recorded_as_the_servers_refusal(client):
    # a control character in the overlay: the trace route refuses it with a sentence
    q = {"model": "rnn-hello", "text": "hello", "view": "path", "overlay": "he\x01l"}
    r = client.get("/api/export", params=q)
    assert r.status_code == 200, r.text
    rec = [x for x in offline_data(r.text)["requests"] if x["body"] and x["body"].get("top_k") == 1]
    assert len(rec) == 1 and "error" in rec[0]
    live = client.post("/api/trace", json=rec[0]["body"])
    assert live.status_code == rec[0]["error"]["status"] == 422
    assert live.json()["detail"] == rec[0]["error"]["detail"]
    # the main trace's refusal refuses the export itself
    bad = client.get("/api/export", params={"model": "tree-sentiment", "text": "((a b)"})
    assert bad.status_code == 422


def test_the_order_pairs_are_the_pages():
    js = (ROOT / "static/js/views/order.js").read_text(encoding="utf-8")
    body = re.search(r"const PAIRS = \{(.*?)\};", js, re.S).group(1)
    pairs = {k: (a, b) for k, a, b in re.findall(r'"([^"]+)": \["([^"]*)", "([^"]*)"\]', body)}
    assert pairs == ORDER_PAIRS


@pytest.mark.parametrize(
    ("raw", "S", "T", "want"),
    [
        ("0:2", 3, 4, {"t": 0, "focus": 2}),
        ("0:3", 3, 4, None),  # no source position 3
        ("4:0", 3, 4, None),  # no decoder step 4
        ("1:0,1,1", 3, 4, {"t": 1, "alpha": [0.0, 0.5, 0.5]}),
        ("1: 1,,3", 3, 4, {"t": 1, "alpha": [0.25, 0.0, 0.75]}),  # Number("") is 0
        ("1:0,0,0", 3, 4, None),  # weights that sum to 0
        ("1:1,-1,1", 3, 4, None),
        ("1:1,x,1", 3, 4, None),
        ("1:1,1", 3, 4, None),  # one weight per source token
        ("", 3, 4, None),
        ("١:0", 3, 4, None),  # only ASCII digits, as JavaScript's \\d
    ],
)
def test_parse_whatif_is_whatif_js(raw, S, T, want):
    assert parse_whatif(raw, S, T) == want
