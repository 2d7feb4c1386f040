"""Text assets go gzipped to browsers that accept it (server/gzipped.py); HEAD works on pages."""

import gzip
import os

import pytest
from starlette.datastructures import Headers

from server.core.paths import STATIC_DIR
from server.web import assets
from server.web.gzipped import accepts_gzip, compressed

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
IDENTITY = {"Accept-Encoding": "identity"}


def test_plotly_goes_gzipped_and_is_the_same_file(client):
    url = assets.plotly_url()
    original = assets.plotly_file().read_bytes()
    zipped = client.get(url, headers=GZIP)
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "accept-encoding"
    assert int(zipped.headers["content-length"]) < 0.4 * len(original)  # 4.8 MB -> ~1.5 MB
    assert zipped.content == original  # (httpx un-gzips it)
    plain = client.get(url, headers=IDENTITY)
    assert "content-encoding" not in plain.headers and plain.content == original
    assert plain.headers["vary"] == "accept-encoding"


def test_static_module_gzipped_keeps_its_etag_and_long_cache(client):
    url = assets.static("js/api.js")
    original = (STATIC_DIR / "js" / "api.js").read_bytes()
    r = client.get(url, headers=GZIP)
    assert r.headers["content-encoding"] == "gzip" and r.content == original
    assert r.headers["cache-control"] == assets.LONG_CACHE
    etag = r.headers["etag"]
    assert etag.startswith('W/"')
    again = client.get(url, headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_only_text_files_are_gzipped_and_a_changed_file_is_gzipped_again(tmp_path):
    png = tmp_path / "x.png"
    png.write_bytes(b"\x89PNG\r\n" + bytes(range(256)))
    assert compressed(png) is None  # not text: sent as it is
    js = tmp_path / "x.js"
    js.write_text("let a = 1;\n" * 100)
    assert gzip.decompress(compressed(js)) == js.read_bytes()
    js.write_text("let b = 2;\n" * 100)
    os.utime(js, ns=(1, 1))  # another mtime, as an edited file has
    assert gzip.decompress(compressed(js)) == js.read_bytes()


@pytest.mark.parametrize(
    "value, ok",
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("gzip;q=0", False),
        ("identity", False),
        ("*", True),
        ("", False),
        ("gzip;q=oops", False),
    ],
)
def test_accept_encoding_is_read_as_http_says(value, ok):
    assert accepts_gzip(Headers({"accept-encoding": value})) is ok


@pytest.mark.parametrize("path", ["/", "/embed"])
def test_head_on_pages_answers_like_get(client, path):
    r = client.head(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")


def test_a_warm_module_is_answered_from_memory_until_it_changes(client, tmp_path, monkeypatch):
    assets.warm_static()
    url = assets.static("js/api.js")
    original = (STATIC_DIR / "js" / "api.js").read_bytes()
    read = []
    monkeypatch.setattr(assets.StaticFiles, "get_response", lambda *a: read.append(a))
    r = client.get(url, headers=GZIP)  # (StaticFiles is never asked)
    assert r.status_code == 200 and r.content == original and not read
    assert r.headers["content-encoding"] == "gzip" and r.headers["vary"] == "accept-encoding"
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == assets.LONG_CACHE
    again = client.get(url, headers={**GZIP, "If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    stale = client.get(url.split("?")[0] + "?v=0123", headers=GZIP)
    assert stale.headers["cache-control"] == assets.REVALIDATE and stale.content == original
    monkeypatch.undo()
    # an edited file (another mtime) is StaticFiles' to answer again, with its new content
    js = tmp_path / "x.js"
    js.write_text("let a = 1;\n")
    monkeypatch.setattr(assets, "_warm", {})
    assets.warm_static(tmp_path)
    assert assets._warm["x.js"].body
    js.write_text("let b = 22;\n")
    scope = {"type": "http", "method": "GET", "headers": [(b"accept-encoding", b"gzip")]}
    assert assets.warm_answer("x.js", scope) is None
    assert assets.warm_answer("missing.js", scope) is None
