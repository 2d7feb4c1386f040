"""Fixtures for the browser tests: a real server process, trained models, Chromium via Playwright.

The server runs as `python -m server --port 0 --no-browser` with its own data folder; the tests
train three tiny character models through the API (RNN, LSTM, GRU on the same text), so the
Compare view has a matched trio and hostile characters are in the vocabulary. The data folder
also starts with a few untrained models the demos lack (SHAPED_MODELS: a ReLU RNN, stacked
and bidirectional cells), written with the engine before the server starts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from pagekit import CHROMIUM, TRAIN_TEXT, Watch

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]


def _json(url: str, body: dict | None = None) -> dict | list:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


# id -> ModelConfig fields; char models over SHAPED_TEXT, random weights (shapes, not skill).
SHAPED_TEXT = "hello world"
SHAPED_MODELS = {
    "relu-rnn": {"cell": "rnn", "nonlinearity": "relu", "hidden_size": 6},
    "deep-gru": {"cell": "gru", "num_layers": 2, "hidden_size": 6},
    "deep-bi-lstm": {"cell": "lstm", "num_layers": 2, "bidirectional": True, "hidden_size": 5},
    # the cell diagram's test (test_diagram_page.py): one plain cell of each kind, and peepholes
    "plain-lstm": {"cell": "lstm", "hidden_size": 6},
    "plain-gru": {"cell": "gru", "hidden_size": 6},
    "tanh-rnn": {"cell": "rnn", "hidden_size": 6},
    # the architectures of the unrolled view (test_layers_page.py); "example": the text to show
    "stack3-bi-lstm": {"cell": "lstm", "num_layers": 3, "bidirectional": True, "hidden_size": 8},
    "one-to-one-rnn": {"cell": "rnn", "setup": "one-to-one", "hidden_size": 6, "example": "h"},
    "one-to-many-gru": {"cell": "gru", "setup": "one-to-many", "hidden_size": 6, "example": "h"},
    "many-to-one-lstm": {"cell": "lstm", "setup": "many-to-one", "hidden_size": 6},
    "jordan-rnn": {"cell": "rnn", "jordan": True, "hidden_size": 6},
    "peephole-lstm": {"cell": "lstm", "peephole": True, "hidden_size": 6},
}


def seed_models(data_dir: Path) -> None:
    """Write SHAPED_MODELS where the server finds user models (<data_dir>/models/*.npz)."""
    from engine import ModelConfig, SequenceModel, Vocabulary, save_model

    vocab = Vocabulary.from_text(SHAPED_TEXT, level="char")
    (data_dir / "models").mkdir(parents=True, exist_ok=True)
    for model_id, fields in SHAPED_MODELS.items():
        fields = dict(fields)
        example = fields.pop("example", SHAPED_TEXT)
        model = SequenceModel(ModelConfig(vocab_size=len(vocab), seed=1, **fields))
        extra = {"id": model_id, "source": "imported", "example": example, "name": model_id}
        desc = f"An untrained {fields['cell'].upper()} for the browser tests."
        save_model(data_dir / "models" / f"{model_id}.npz", model, vocab, "next-char", desc, extra)


def start_server(data_dir: Path, host: str = "127.0.0.1"):
    """`python -m server` on a free port; returns (process, its http://127.0.0.1:<port> URL)."""
    env = {**os.environ, "UNROLLED_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--host", host, "--port", "0", "--no-browser"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url, seen, deadline = None, [], time.monotonic() + 30
    while time.monotonic() < deadline and url is None:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        m = re.search(r"(http://[\w.\-\[\]:]+:\d+)/?", line)
        if m:
            url = m.group(1)
    if url is None:
        proc.kill()
        pytest.fail("the server did not start:\n" + "".join(seen))
    deadline = time.monotonic() + 60  # wait until it answers (a loaded machine is slow)
    while time.monotonic() < deadline:
        try:
            _json(f"{url}/api/health")
            break
        except OSError:
            time.sleep(0.1)
    # Drain the log in the background so the pipe never fills up.
    import threading

    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, url


def stop_server(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def server_url(tmp_path_factory):
    """A real Unrolled server on a free port, stopped at the end of the session."""
    data_dir = tmp_path_factory.mktemp("unrolled-data")
    seed_models(data_dir)
    proc, url = start_server(data_dir)
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def network_server_url(tmp_path_factory):
    """A second server listening on every interface (--host 0.0.0.0), as in a classroom."""
    proc, url = start_server(tmp_path_factory.mktemp("unrolled-net"), host="0.0.0.0")
    yield url
    stop_server(proc)


def train(
    server_url: str, cell: str, name: str, text: str = TRAIN_TEXT, hidden: int = 8, steps: int = 20
) -> str:
    """Train a small char model through the API; returns its model id."""
    job = _json(
        f"{server_url}/api/train",
        {
            "task": "text",
            "text": text,
            "cell": cell,
            "hidden_size": hidden,
            "steps": steps,
            "name": name,
        },
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = _json(f"{server_url}/api/train/{job['id']}")
        if status["state"] == "done":
            return status["model_id"]
        if status["state"] in ("failed", "cancelled"):
            pytest.fail(f"training {cell} failed: {status}")
        time.sleep(0.2)
    pytest.fail(f"training {cell} did not finish")


@pytest.fixture(scope="session")
def trio(server_url) -> dict[str, str]:
    """RNN, LSTM and GRU char models trained on the same text: {"rnn": id, ...}."""
    return {cell: train(server_url, cell, f"same-{cell}") for cell in ("rnn", "lstm", "gru")}


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (CI installs Debian's chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context, server_url):
    page = context.new_page()
    page.watch = Watch(page, server_url)
    yield page
    page.watch.assert_clean()


@pytest.fixture(scope="session")
def host_pages():
    """A second local web server (another origin) for pages that embed /embed in an iframe.

    Register a page with `host_pages.pages["/x.html"] = html`; open `host_pages.url + "/x.html"`.
    """
    import http.server
    import threading

    pages: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body = pages.get(self.path)
            if body is None:  # e.g. the browser asking for /favicon.ico
                self.send_response(204)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    httpd.pages = pages
    httpd.url = f"http://localhost:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
