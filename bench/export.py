"""The exported file's size for a 50-token sentence with H = 64, the size of an export of each
tab and model kind (the demo models), and the GIF export time for 20 frames (headless
Chromium), printed as figures.

    PYTHONPATH=. python bench/export.py
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, before bench/
from engine import ModelConfig, SequenceModel, Vocabulary, save_model  # noqa: E402
from server.core.settings import Settings  # noqa: E402
from server.export import bundle  # noqa: E402
from server.export.render import RenderError, render  # noqa: E402
from server.export.view import export_html, in_process, parse_view  # noqa: E402
from server.models.registry import Registry  # noqa: E402

TEXT = "the quick brown fox jumps over the lazy dog again!"  # 50 characters = 50 tokens
# one export of each tab and model kind, on the shipped demo models
VIEWS = [
    ("heatmaps", {"model": "lstm-rhymes", "text": "twinkle twinkle little star"}),
    ("compare", {"model": "lstm-rhymes", "text": "twinkle twinkle little star", "view": "compare"}),
    ("path + overlay", {"model": "gru-question", "text": "you are good", "view": "path",
                        "overlay": "are you good"}),
    ("units + span", {"model": "lstm-rhymes", "text": "twinkle, twinkle, little star",
                      "view": "units", "span": "9-15"}),
    ("diagram", {"model": "lstm-rhymes", "text": "twinkle", "view": "diagram", "t": "2"}),
    ("order", {"model": "lstm-sentiment", "text": "the movie was not bad at all", "view": "order"}),
    ("seq2seq + what-if", {"model": "gru-reverse-attention", "text": "abcdefgh",
                           "whatif": "1:0,1,1,0,0,0,0,0"}),
    ("tree", {"model": "tree-sentiment", "text": "((the movie) (was (not good)))"}),
    ("present=1", {"model": "rnn-hello", "text": "hello", "present": "1"}),
]  # fmt: skip


def main() -> None:
    assert len(TEXT) == 50
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        (data / "models").mkdir()
        vocab = Vocabulary.from_text(TEXT, level="char")
        for cell in ("rnn", "lstm", "gru"):
            model = SequenceModel(
                ModelConfig(vocab_size=len(vocab), cell=cell, hidden_size=64, seed=1)
            )
            save_model(data / "models" / f"{cell}64.npz", model, vocab, "next-char", "",
                       {"id": f"{cell}64", "source": "trained", "example": TEXT})  # fmt: skip
        s = Settings(data_dir=data)
        registry = Registry(data)
        print(f"plotly.js packed (gzip + base64): {len(bundle.plotly_packed()) / 1e6:.2f} MB")
        mods = bundle.import_map(bundle.modules())
        print(f"page modules (import map, base64): {len(mods) / 1e3:.0f} KB")
        for cell in ("rnn", "lstm", "gru"):
            view = parse_view({"model": f"{cell}64", "text": TEXT}, registry, s)
            t0 = time.perf_counter()
            html = export_html(view, registry, s, in_process(s))
            ms = (time.perf_counter() - t0) * 1000
            m = re.search(r'id="unrolled-offline">(.*?)</script>', html, re.S)
            print(
                f"{cell.upper()} H=64, 50 tokens: file {len(html.encode()) / 1e6:.2f} MB, "
                f"of which the trace data {len(m.group(1)) / 1e6:.2f} MB; built in {ms:.0f} ms"
            )
        for name, query in VIEWS:
            view = parse_view(query, registry, s)
            t0 = time.perf_counter()
            html = export_html(view, registry, s, in_process(s))
            ms = (time.perf_counter() - t0) * 1000
            m = re.search(r'id="unrolled-offline">(.*?)</script>', html, re.S)
            n = m.group(1).count('"method"')
            print(
                f"{name} ({query['model']}): file {len(html.encode()) / 1e6:.2f} MB, of which "
                f"the recorded answers {len(m.group(1)) / 1e3:.0f} KB ({n} requests); "
                f"built in {ms:.0f} ms"
            )
        view = parse_view({"model": "lstm64", "text": TEXT}, registry, s)
        html = export_html(view, registry, s, in_process(s))
        t0 = time.perf_counter()
        try:
            what = render(html, "gif", data / "a.gif", steps=(0, 19))
        except RenderError as e:
            sys.exit(f"GIF: skipped ({e})")
        seconds = time.perf_counter() - t0
        size = (data / "a.gif").stat().st_size / 1e6
        print(f"GIF export, 20 frames of the LSTM's unrolled network: {seconds:.1f} s ({what}, "
              f"{size:.2f} MB, Chromium start included)")  # fmt: skip


if __name__ == "__main__":
    main()
