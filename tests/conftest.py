"""Shared test set-up: the repository root is importable without installing the package."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Starlette's TestClient asks for http://testserver/, a name the server does not answer by
# default (server.web.trust); as Django's test runner does, the tests add it to the names
# allowed. Tests of the Host check pass their own `allowed_hosts`.
os.environ.setdefault("UNROLLED_ALLOWED_HOSTS", '["testserver"]')


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API keeps an event loop running in this thread for
    the rest of the session, which tests that call asyncio.run() cannot share. Every test under
    tests/browser/ is a browser test, marked or not."""
    for item in items:
        if "browser" in Path(item.path).parts and item.get_closest_marker("browser") is None:
            item.add_marker("browser")
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
