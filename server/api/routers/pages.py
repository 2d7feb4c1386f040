"""The page (/), the embeddable widget (/embed), plotly.js and the favicon."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from server.api.deps import RegistryDep, SettingsDep
from server.core.paths import TEMPLATES_DIR
from server.web import assets
from server.web.gzipped import maybe_gzip
from server.web.network import local_only, share_origin

router = APIRouter(tags=["page"], include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

_MISSING_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8">
<title>Unrolled</title><h1>Unrolled</h1>
<p>The page ({name}) is not installed; the API is at <a href="/docs">/docs</a>.</p></html>"""


MODEL_ID_MAX = 200  # a longer ?model= names no model


def _linked_kind(request: Request, registry) -> str:
    """The kind of the model a link names (?model=), "" if none or unknown: the page sends a
    sequence model's first trace as soon as its socket is open, before the models list."""
    model_id = request.query_params.get("model", "")
    if not model_id or len(model_id) > MODEL_ID_MAX:
        return ""
    try:
        entry = registry.get(model_id)
    except (OSError, ValueError):
        return ""
    return entry.kind if entry is not None else ""


def _render(request: Request, name: str, settings, registry) -> HTMLResponse:
    if not (TEMPLATES_DIR / name).is_file():
        return HTMLResponse(_MISSING_PAGE.format(name=name))
    context = {
        "linked_kind": _linked_kind(request, registry),
        "static": assets.static,
        "plotly_url": assets.plotly_url(),
        "preload": assets.js_modules(),  # <link rel=modulepreload>: one round trip, not ten
        "settings": settings.limits(),
        # "Copy link" on a page opened at localhost gives this address instead: the students'.
        "share_origin": share_origin(settings.host, settings.port or request.url.port),
        # ... and a room's dialog says that students cannot reach a server listening on loopback
        "local_only": local_only(settings.host),
    }
    return templates.TemplateResponse(request, name, context)


def warm() -> None:
    """What the first visitor would otherwise wait for: every template compiled (the pages,
    their base and includes), every static file hashed (its ?v=) and the text ones gzipped
    (server.web.gzipped). plotly.js is left to its first request (about 0.2 s to compress; a
    page asks for it only when it draws a chart)."""
    for name in templates.env.list_templates(extensions=["html"]):
        templates.get_template(name)
    assets.warm_static()
    assets.js_modules()


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def index(request: Request, settings: SettingsDep, registry: RegistryDep) -> HTMLResponse:
    return _render(request, "index.html", settings, registry)


@router.api_route("/embed", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def embed(request: Request, settings: SettingsDep, registry: RegistryDep) -> HTMLResponse:
    return _render(request, "embed.html", settings, registry)


@router.api_route("/vendor/plotly-{version}.min.js", methods=["GET", "HEAD"])
async def plotly_js(version: str, request: Request) -> Response:
    path = assets.plotly_file()
    if path is None or version != assets.plotly_version():
        raise HTTPException(
            404, f"This plotly.js version is not available; see {assets.plotly_url()}"
        )
    response = FileResponse(
        path, media_type="text/javascript", headers={"cache-control": assets.LONG_CACHE}
    )
    return await maybe_gzip(response, request.headers)  # 4.8 MB -> 1.5 MB on the network


@router.get("/favicon.svg")
@router.get("/favicon.ico")
async def favicon() -> Response:
    return Response(
        assets.favicon_svg(), media_type="image/svg+xml", headers={"cache-control": "max-age=86400"}
    )
