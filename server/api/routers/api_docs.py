"""/docs (Swagger UI) and /redoc (ReDoc), served from files in installed packages, never a CDN:
a classroom may have no internet, and the pages' Content-Security-Policy allows scripts from
this server only. The assets come from the `fastapi-offline` package (Swagger UI and ReDoc
bundles); Swagger UI is started by server/web/swagger-init.js, as no inline script may run.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from server.web.assets import LONG_CACHE
from server.web.gzipped import accepts_gzip, maybe_gzip

router = APIRouter(tags=["docs"], include_in_schema=False)

BUNDLES = Path(fastapi_offline.__file__).parent / "static"
ASSETS = {
    "swagger-ui-bundle.js": BUNDLES / "swagger-ui-bundle.js",
    "swagger-ui.css": BUNDLES / "swagger-ui.css",
    "redoc.standalone.js": BUNDLES / "redoc.standalone.js",
    "swagger-init.js": Path(__file__).resolve().parents[2] / "web" / "swagger-init.js",
}
MEDIA = {".js": "text/javascript", ".css": "text/css"}
# The URLs change with the package's version, so a browser may keep the files for good.
_VERSION = version("fastapi-offline")


def asset_url(name: str) -> str:
    return f"/docs/assets/{name}?v={_VERSION}"


def _page(title: str, head: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/favicon.svg">{head}</head>
<body>{body}</body></html>"""
    )


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return _page(
        f"{request.app.title} API",
        f'\n<link rel="stylesheet" href="{asset_url("swagger-ui.css")}">',
        f'<div id="swagger-ui" data-openapi="{request.app.openapi_url}"></div>\n'
        f'<script src="{asset_url("swagger-ui-bundle.js")}"></script>\n'
        f'<script src="{asset_url("swagger-init.js")}"></script>',
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return _page(
        f"{request.app.title} API",
        "",
        f'<redoc spec-url="{request.app.openapi_url}"></redoc>\n'
        f'<script src="{asset_url("redoc.standalone.js")}"></script>',
    )


# ReDoc's sidebar shows a logo it loads from the internet (which the CSP blocks, with a console
# error): the bundle is served with this server's own icon in its place.
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@lru_cache(maxsize=1)
def _redoc_bundle() -> tuple[bytes, bytes]:
    """The ReDoc bundle without its internet logo, plain and gzipped (made once)."""
    body = ASSETS["redoc.standalone.js"].read_bytes().replace(REDOC_LOGO, b"/favicon.svg")
    return body, gzip.compress(body, 6)


@router.get("/docs/assets/{name}")
async def asset(name: str, request: Request) -> Response:
    path = ASSETS.get(name)
    if path is None or not path.is_file():
        raise HTTPException(404, "There is no such file of the API docs.")
    if name == "redoc.standalone.js":
        plain, packed = await run_in_threadpool(_redoc_bundle)
        headers = {"cache-control": LONG_CACHE, "vary": "accept-encoding"}
        if accepts_gzip(request.headers):
            headers["content-encoding"] = "gzip"
            return Response(packed, media_type=MEDIA[".js"], headers=headers)
        return Response(plain, media_type=MEDIA[".js"], headers=headers)
    response = FileResponse(
        path, media_type=MEDIA[path.suffix], headers={"cache-control": LONG_CACHE}
    )
    return await maybe_gzip(response, request.headers)  # Swagger UI: 1.5 MB, 0.4 MB gzipped
