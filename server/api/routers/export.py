"""GET /api/export: the page's current view as one self-contained HTML file (an attachment)."""

from __future__ import annotations

import asyncio
import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from server.api.deps import RateLimited, RegistryDep, SettingsDep, TracesDep
from server.core.errors import ApiError
from server.core.schemas import refusals
from server.export.document import build_html
from server.export.view import offline_data, parse_view, requests

router = APIRouter(prefix="/api", tags=["export"])


def filename(model: str, text: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "view"
    return f"unrolled-{re.sub(r'[^a-z0-9-]+', '-', model.lower())}-{words}.html"


@router.get(
    "/export",
    dependencies=[RateLimited],
    responses=refusals(404, 422, 429),
    response_class=HTMLResponse,
    summary="Download a view as one HTML file that works offline",
)
async def export(
    request: Request, settings: SettingsDep, registry: RegistryDep, traces: TracesDep
) -> Response:
    """The query is the page's own state query (`/?model=...&text=...&t=3&view=gradients`);
    `page=embed` exports the compact embed view. The file holds the page's code, its styles,
    plotly.js and the traces the view shows, and needs no network (docs/embedding.md)."""
    query = dict(request.query_params)
    page = query.pop("page", "explorer")
    try:
        view = parse_view(query, registry, settings, page=page)
        halves = []
        for req in requests(view):
            prepared = traces.prepare(req)
            forward = await traces.compute(prepared, "forward-binary")
            backward = await traces.compute(prepared, "backward-binary")
            halves.append((forward.payload, backward.payload))
        data = offline_data(view, registry, halves)
        # plotly.js is packed once per process; assembling the file takes a few ms after that
        html = await asyncio.to_thread(build_html, data, settings)
    except ApiError as e:
        raise HTTPException(e.status, str(e)) from e
    name = filename(view.main.model, view.main.text)
    return Response(
        html,
        media_type="text/html; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
