"""WebSockets: /ws streams traces and live typing; /ws/train/{job} streams training progress.

Neither is opened from a page on another site, or under a Host name the server does not trust:
server.web.trust refuses those handshakes before they get here. Scripts (no Origin) are welcome.
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

router = APIRouter(tags=["websocket"])
TRAIN_POLL_SECONDS = 0.2


@router.websocket("/ws")
async def trace_socket(websocket: WebSocket, settings: SettingsDep, traces: TracesDep) -> None:
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
