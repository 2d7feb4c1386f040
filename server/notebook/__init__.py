"""Notebooks: `show(model, text)` displays a view as a widget, with a self-contained HTML fallback."""

from server.notebook.show import View, show

__all__ = ["View", "show"]
