"""Classroom rooms: a teacher opens one, students follow it (/ws/room/{code}).

The state-changing routes (open, move, close) are guarded like every other by
server.web.trust: a page on another site, or under a Host name the server does not trust, is
refused before they run. Moving and closing a room also need the room's secret.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, WebSocket
from fastapi.responses import Response

from server.api.deps import RateLimited, RoomsDep, SettingsDep
from server.api.room_session import RoomSession
from server.core.schemas import (
    ErrorBody,
    RoomClosed,
    RoomCreated,
    RoomInfo,
    RoomPublish,
    RoomPublished,
    refusals,
)
from server.rooms.qr import qr_svg
from server.web.network import share_origin

router = APIRouter(prefix="/api/rooms", tags=["rooms"])
socket_router = APIRouter(tags=["websocket"])

NOT_TEACHER = {
    403: {"model": ErrorBody, "description": "Not the room's teacher (no or a wrong secret)"}
}
Secret = Annotated[
    str | None,
    Header(alias="X-Room-Secret", description="The secret POST /api/rooms answered."),
]


def join_link(request: Request, settings, code: str) -> str:
    """The page students open: at the address they can reach (the LAN's, when the teacher's
    page is at localhost and the server listens on every interface)."""
    origin = share_origin(settings.host, settings.port or request.url.port)
    origin = origin or str(request.base_url).rstrip("/")
    return f"{origin}/?room={code}"


@router.post(
    "",
    response_model=RoomCreated,
    status_code=201,
    responses=refusals(409, 429),
    dependencies=[RateLimited],
    summary="Open a classroom room",
)
async def create(request: Request, rooms: RoomsDep, settings: SettingsDep) -> dict:
    """The answer's `secret` is given once: keep it to drive the room (the page keeps it in
    sessionStorage). 429 when `max_rooms` are open."""
    room = await rooms.create()
    code = room["code"]
    return room | {"link": join_link(request, settings, code), "qr": f"/api/rooms/{code}/qr.svg"}


@router.get(
    "/{code}",
    response_model=RoomInfo,
    responses=refusals(404, 422),
    summary="A room's students and current state",
)
async def info(code: str, request: Request, rooms: RoomsDep, settings: SettingsDep) -> dict:
    found = await rooms.info(code)
    return found | {"link": join_link(request, settings, found["code"])}


@router.get(
    "/{code}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "SVG"}} | refusals(404, 422),
    summary="The join link as a QR code",
)
async def qr(code: str, request: Request, rooms: RoomsDep, settings: SettingsDep) -> Response:
    room = await rooms.room(code)
    svg = qr_svg(join_link(request, settings, room.code))
    return Response(svg, media_type="image/svg+xml", headers={"cache-control": "no-cache"})


@router.put(
    "/{code}/state",
    response_model=RoomPublished,
    responses=refusals(404, 413, 422) | NOT_TEACHER,
    summary="Move the room to a state (teacher)",
)
async def publish(code: str, body: RoomPublish, rooms: RoomsDep, secret: Secret = None) -> dict:
    """As the teacher's socket does: every student following gets the state."""
    room = await rooms.room(code)
    rooms.authorize(room, secret)
    return {"code": room.code, "seq": await rooms.publish(room, body.state)}


@router.delete(
    "/{code}",
    response_model=RoomClosed,
    responses=refusals(404, 422) | NOT_TEACHER,
    summary="Close the room (teacher)",
)
async def close(code: str, rooms: RoomsDep, secret: Secret = None) -> dict:
    """Every socket of the room is told, then closed."""
    return await rooms.close(code, secret)


@socket_router.websocket("/ws/room/{code}")
async def room_socket(websocket: WebSocket, code: str, rooms: RoomsDep) -> None:
    await websocket.accept()
    await RoomSession(websocket, websocket.app.state.settings, rooms, code).run()
