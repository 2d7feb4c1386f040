"""/docs works in a browser with no internet: Swagger UI from local files, under the CSP."""

import pytest

pytestmark = pytest.mark.browser


def test_api_docs_list_the_operations(page, server_url):
    page.goto(f"{server_url}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=15_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    joined = " ".join(paths)
    for path in ("/api/trace", "/api/gradcheck", "/api/models/import", "/api/train"):
        assert path in joined, paths
    # every request stayed on this server (page.watch: no foreign host, no CSP error)


def test_redoc_renders_from_local_files_only(page, server_url):
    """ReDoc's bundle loads its sidebar logo from the internet; it is served without it, so
    /redoc makes no request off this server and logs no CSP error (page.watch checks both)."""
    page.goto(f"{server_url}/redoc")
    page.wait_for_selector('text="/api/trace"', timeout=20_000)
    assert page.locator("img[src*='redoc.ly']").count() == 0
