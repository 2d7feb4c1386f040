"""GET /api/export: the page's current view as one self-contained HTML file (an attachment)."""

from __future__ import annotations

import asyncio
import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from server.api.deps import RateLimited, RegistryDep, SettingsDep
from server.core.errors import ApiError
from server.core.schemas import refusals
from server.export.answers import ThroughServer
from server.export.view import export_html, parse_view

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
async def export(request: Request, settings: SettingsDep, registry: RegistryDep) -> Response:
    """The query is the page's own state query (`/?model=...&text=...&t=3&view=gradients`);
    `page=embed` exports the compact embed view. The file holds the page's code, its styles,
    plotly.js and the answer to every request the view makes (its traces, the projection, the
    Order tab's answers, a what-if ...: docs/contracts.md, "The exported file"), and needs no
    network (docs/embedding.md)."""
    query = dict(request.query_params)
    page = query.pop("page", "explorer")
    answers = ThroughServer(request.app.state, asyncio.get_running_loop())
    try:
        view = parse_view(query, registry, settings, page=page)
        # in a thread: the traces go through the trace service (its cache, bound and
        # processes) on this event loop; the projection fit and the packing do not block it
        html = await asyncio.to_thread(export_html, view, registry, settings, answers)
    except ApiError as e:
        raise HTTPException(e.status, str(e)) from e
    name = filename(view.model, view.text)
    return Response(
        html,
        media_type="text/html; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
