"""Health, the page, static files with hashed URLs, plotly.js and the favicon."""

import re

from server.core.paths import STATIC_DIR, TEMPLATES_DIR
from server.web import assets


def test_health_is_ok(client):
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_page_and_embed_are_html_naming_the_app(client):
    for path in ("/", "/embed"):
        r = client.get(path)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        assert "Unrolled" in r.text


def test_page_links_assets_that_exist(client):
    page = client.get("/").text
    if not (TEMPLATES_DIR / "index.html").is_file():
        return  # no page yet: the fallback has no assets to check
    urls = re.findall(r'(?:src|href)="(/(?:static|vendor)/[^"]+)"', page)
    assert urls, "the page loads no local asset"
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_static_helper_adds_content_hash_and_long_cache(client, tmp_path):
    files = [p for p in STATIC_DIR.rglob("*") if p.is_file()] if STATIC_DIR.is_dir() else []
    if not files:
        assert assets.static("js/app.js") == "/static/js/app.js"  # no file: no hash
        return
    rel = files[0].relative_to(STATIC_DIR).as_posix()
    url = assets.static(rel)
    digest = url.split("?v=")[1]
    assert re.fullmatch(r"[0-9a-f]{12}", digest)
    fresh = client.get(url)
    assert fresh.status_code == 200
    assert "max-age=31536000" in fresh.headers["cache-control"]
    stale = client.get(f"/static/{rel}?v=000000000000")
    assert stale.headers["cache-control"] == "no-cache"


def test_hash_changes_when_the_file_changes(tmp_path):
    f = tmp_path / "a.js"
    f.write_text("one")
    first = assets.file_hash("a.js", tmp_path)
    f.write_text("two, longer")
    assert assets.file_hash("a.js", tmp_path) != first
    assert assets.file_hash("../etc/passwd", tmp_path) is None


def test_plotly_is_served_locally_with_its_version(client):
    url = assets.plotly_url()
    assert re.fullmatch(r"/vendor/plotly-\d+\.\d+\.\d+\.min\.js", url)
    r = client.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert "immutable" in r.headers["cache-control"]
    assert b"plotly" in r.content[:200]
    assert client.get("/vendor/plotly-0.0.1.min.js").status_code == 404


def test_favicon(client):
    for path in ("/favicon.svg", "/favicon.ico"):
        r = client.get(path)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("image/svg+xml")
        assert "<svg" in r.text


def test_unknown_path_is_json_404(client):
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert isinstance(r.json()["detail"], str)


def test_page_carries_the_students_address_only_when_listening_on_the_network(
    make_client, monkeypatch
):
    from server.web import network

    monkeypatch.setattr(network, "lan_addresses", lambda: ["169.254.3.4", "192.168.1.20"])
    shared = make_client(host="0.0.0.0", port=8123).get("/").text
    assert 'data-share-origin="http://192.168.1.20:8123"' in shared  # not the link-local one
    local = make_client(host="127.0.0.1", port=8123).get("/").text
    assert 'data-share-origin=""' in local


def test_page_says_when_the_server_answers_this_machine_only(make_client):
    from server.web.network import local_only

    assert 'data-local-only="1"' in make_client(host="127.0.0.1").get("/").text
    assert 'data-local-only=""' in make_client(host="0.0.0.0").get("/").text
    assert [local_only(h) for h in ("localhost", "::1", "[::1]", "127.0.0.2")] == [True] * 4
    assert [local_only(h) for h in ("0.0.0.0", "::", "192.168.1.20", "teacher.local")] == [
        False
    ] * 4
