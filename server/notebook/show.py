"""`show(model, "are you good")` in a notebook: the exported view (server.export), live.

The output carries two representations: an anywidget (`widget.js`, shipped in this package:
no CDN, no require.js) that puts the exported page in an iframe sized to its content, and a
`text/html` one, the same page in an `<iframe srcdoc>`, which survives nbconvert, GitHub's
viewer and front ends without the widget manager. The page inside needs no network.

    from unrolled import show
    show("lstm-rhymes", "twinkle twinkle", t=3, view="gradients")
    show("my_model.npz", "hello")
    show(model, "hello", vocab=vocab)      # an engine SequenceModel and its Vocabulary
"""

from __future__ import annotations

import html as html_lib
import shutil
import tempfile
from pathlib import Path

from engine.model import SequenceModel
from server.core.settings import Settings
from server.export.view import export_html, in_process, parse_view
from server.models.registry import Registry

WIDGET_JS = Path(__file__).with_name("widget.js")
HEIGHTS = {"embed": 620, "explorer": 1900}  # px before the page says how tall it is


def _registry(model, vocab, settings: Settings, tmp: Path) -> tuple[Registry, str]:
    """A registry holding `model` (an id, an .npz path, or an engine model) and its id."""
    if isinstance(model, SequenceModel):
        from engine import save_model

        if vocab is None:
            raise TypeError("show(model, text, vocab=...): an engine model needs its Vocabulary")
        save_model(tmp / "model.npz", model, vocab, None, "A model from this notebook.",
                   {"id": "notebook-model", "name": "notebook-model"})  # fmt: skip
        return Registry(tmp / "data", demo_dir=tmp), "notebook-model"
    path = Path(str(model))
    if path.suffix == ".npz" or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"no model file at {path}")
        shutil.copyfile(path, tmp / path.name)
        registry = Registry(tmp / "data", demo_dir=tmp)
        entries = registry.list()
        if not entries:
            problems = "; ".join(why for _, why in registry.problems.values())
            raise ValueError(f"{path} is not an Unrolled model file: {problems}")
        return registry, entries[0].id
    return Registry(settings.data_dir), str(model)


def export(model, text: str | None = None, *, vocab=None, page: str = "embed", **state) -> str:
    """The self-contained HTML of the view (what `show` displays)."""
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="unrolled-nb-") as tmp:
        registry, model_id = _registry(model, vocab, settings, Path(tmp))
        query = {"model": model_id, **({"text": text} if text else {})}
        query.update({k: str(v) for k, v in state.items() if v is not None})
        view = parse_view(query, registry, settings, page=page)
        return export_html(view, registry, settings, in_process(settings))


def iframe(page_html: str, height: int) -> str:
    """The page in an <iframe srcdoc> (escaped: the attribute holds the whole document)."""
    return (
        f'<iframe srcdoc="{html_lib.escape(page_html, quote=True)}" '
        f'style="width:100%;height:{height}px;border:0" title="Unrolled" '
        'onload="try{this.style.height=this.contentDocument.documentElement.scrollHeight+'
        "'px'}catch(e){}\"></iframe>"
    )


class View:
    """What `show` returns: displays as the widget where a widget manager runs, else as HTML."""

    def __init__(self, page_html: str, page: str):
        self.html = page_html
        self.page = page
        self.height = HEIGHTS[page]
        self._widget = None

    @property
    def widget(self):
        """The anywidget, or None without anywidget (pip install 'unrolled[notebook]')."""
        if self._widget is None:
            try:
                from server.notebook.widget import UnrolledWidget
            except ImportError:
                return None
            self._widget = UnrolledWidget(html=self.html, height=self.height)
        return self._widget

    def _repr_html_(self) -> str:
        return iframe(self.html, self.height)

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": "Unrolled view", "text/html": self._repr_html_()}
        widget = self.widget
        if widget is not None:
            data = widget._repr_mimebundle_()
            if isinstance(data, tuple):
                data = data[0]
            bundle.update({k: v for k, v in (data or {}).items() if k != "text/plain"})
        return bundle

    def save(self, path: str | Path) -> Path:
        """Write the self-contained HTML file."""
        Path(path).write_text(self.html, encoding="utf-8")
        return Path(path)


def show(model, text: str | None = None, *, vocab=None, page: str = "embed", **state) -> View:
    """Display `model` reading `text` in a notebook. `model`: a model id (the demos: rnn-hello,
    lstm-rhymes, ...), a path to an .npz model file, or an engine SequenceModel (with `vocab=`).
    `page`: "embed" (the compact view) or "explorer" (the whole page). Any state of the page's
    URL as a keyword: t=3, phase="backward", view="gradients", unit=2, theme="dark", ..."""
    return View(export(model, text, vocab=vocab, page=page, **state), page)
