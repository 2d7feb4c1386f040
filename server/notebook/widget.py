"""The anywidget: its ES module (widget.js) ships beside this file and is read from disk."""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets


class UnrolledWidget(anywidget.AnyWidget):
    _esm = Path(__file__).with_name("widget.js")
    html = traitlets.Unicode("").tag(sync=True)  # the exported page (server.export)
    height = traitlets.Int(620).tag(sync=True)  # px until the page says how tall it is
