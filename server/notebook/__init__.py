"""Notebooks: `show(model, text)` displays a view as a widget, with an HTML fallback."""

from server.notebook.show import View, show

__all__ = ["View", "show"]
