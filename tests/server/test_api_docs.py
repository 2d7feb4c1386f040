"""/docs and /redoc come from files of installed packages, on this server, under its CSP."""

import re
from urllib.parse import urlsplit

import pytest


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_use_only_local_assets(client, path):
    page = client.get(path)
    assert page.status_code == 200
    html = page.text
    assert "Unrolled" in html
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp  # the same policy as the page: no CDN, no inline script
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, url  # on this very server
        r = client.get(url)
        assert r.status_code == 200, url
        assert len(r.content) > 100, url
    spec = re.search(r'(?:data-openapi|spec-url)="([^"]+)"', html).group(1)
    assert client.get(spec).json()["info"]["title"] == "Unrolled"


def test_api_doc_assets_are_cached_and_compressed(client):
    html = client.get("/docs").text
    bundle = re.search(r'src="(/docs/assets/swagger-ui-bundle\.js[^"]*)"', html).group(1)
    r = client.get(bundle, headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert "immutable" in r.headers["cache-control"]
    assert client.get("/docs/assets/nope.js").status_code == 404
