"""WebSockets: /ws streams traces and live typing; /ws/train/{job} streams training progress.

Both check the Origin header first: a page from another site must not drive this server from a
student's browser. Scripts (no Origin header) are welcome.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from server.api.deps import JobsDep, SettingsDep, TracesDep
from server.api.session import Session
from server.core.errors import ApiError
from server.core.responses import dumps
from server.training.status import FINISHED
from server.web.security import origin_allowed

router = APIRouter(tags=["websocket"])
TRAIN_POLL_SECONDS = 0.2


async def _origin_ok(websocket: WebSocket) -> bool:
    if origin_allowed(websocket.headers.get("origin"), websocket.app.state.allowed_origins):
        return True
    # Closing before accepting refuses the handshake (HTTP 403; close code 1008 in tests).
    await websocket.close(code=1008, reason="origin not allowed")
    return False


@router.websocket("/ws")
async def trace_socket(websocket: WebSocket, settings: SettingsDep, traces: TracesDep) -> None:
    if not await _origin_ok(websocket):
        return
    await websocket.accept()
    traces.sockets += 1
    try:
        await Session(websocket, settings, traces).run()
    finally:
        traces.sockets -= 1


@router.websocket("/ws/train/{job_id}")
async def training_socket(websocket: WebSocket, job_id: str, jobs: JobsDep) -> None:
    """Sends the job status (as GET /api/train/{job}) whenever it changes; closes when the job
    has finished."""
    if not await _origin_ok(websocket):
        return
    await websocket.accept()
    sent = None
    try:
        while True:
            try:
                status = jobs.status(job_id)  # from the data dir if another worker runs it
            except ApiError as e:
                await websocket.send_text(dumps({"type": "error", "message": str(e)}).decode())
                break
            if status != sent:
                sent = status
                await websocket.send_text(dumps({"type": "progress", **status}).decode())
            if status["state"] in FINISHED:
                break
            await asyncio.sleep(TRAIN_POLL_SECONDS)
        await websocket.close(code=1000)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return
