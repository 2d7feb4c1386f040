"""`from unrolled import show`: the notebook helper (server/notebook/), under the project's name."""

from server.notebook import View, show

__all__ = ["View", "show"]
