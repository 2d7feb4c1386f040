"""Where the page lives, found from this file, never from the working directory.

Installed (wheel): server/static and server/templates sit beside this module.
Source checkout: static/ and templates/ sit at the top of the repository, one level up.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # server/
DEMO_MODELS_DIR = PACKAGE_DIR / "demo_models"


def _find(name: str) -> Path:
    for candidate in (PACKAGE_DIR / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    # Neither exists yet (a fresh checkout without the page): point at the source layout.
    return PACKAGE_DIR.parent / name


STATIC_DIR = _find("static")
TEMPLATES_DIR = _find("templates")
