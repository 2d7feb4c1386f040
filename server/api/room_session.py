"""One socket of /ws/room/{code} (docs/contracts.md section 14).

Every socket joins as a student and at once gets the room's current state (a late joiner
too), then each state the teacher publishes. A socket that sends the room's secret
(`teach`) becomes the teacher's: it may publish and close, and gets the number of students
instead of states. Anything else a student sends to move the room is refused (403) and the
socket stays open. A reader takes the client's messages (size cap, rate limit); a writer sends
what the mailbox holds (only the newest state: a slow phone skips steps, it never lags).
"""

from __future__ import annotations

import asyncio
import os
import uuid

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from server.core.errors import ApiError
from server.core.settings import Settings
from server.rooms.hub import CLOSED, Mailbox
from server.rooms.rooms import FORBIDDEN, Rooms
from server.web.rates import TokenBucket

_GONE = (WebSocketDisconnect, RuntimeError, OSError)
CLOSE_REFUSED = 4000  # + the HTTP status: 4404 no such room, 4422 a bad code, 4429 full
CLOSE_ROOM_CLOSED = 4410
ENVELOPE_BYTES = 1024  # a message may hold a state of room_max_message_bytes plus this
UNKNOWN = 'A room socket takes {"type": "teach" | "state" | "close" | "ping"}.'


class RoomSession:
    def __init__(self, websocket: WebSocket, settings: Settings, rooms: Rooms, raw_code: str):
        self.ws = websocket
        self.settings = settings
        self.rooms = rooms
        self.raw_code = raw_code
        self.member = uuid.uuid4().hex
        self.box = Mailbox()
        self.room = None
        self._send_lock = asyncio.Lock()

    async def send(self, data: str | dict) -> None:
        text = data if isinstance(data, str) else orjson.dumps(data).decode()
        async with self._send_lock:
            await self.ws.send_text(text)

    async def error(self, e: ApiError) -> None:
        await self.send({"type": "error", "status": e.status, "message": str(e)})

    async def run(self) -> None:
        try:
            code = self.rooms.code(self.raw_code)
            self.room, students = await self.rooms.enter(code, self.box, self.member)
        except ApiError as e:
            try:
                await self.error(e)
                await self.ws.close(code=CLOSE_REFUSED + e.status)
            except _GONE:
                pass
            return
        tasks: list[asyncio.Task] = []
        try:
            await self.send(
                {
                    "type": "room",
                    "code": code,
                    "role": "student",
                    "students": students,
                    "seq": self.room.seq,
                    "idle_ttl": self.rooms.ttl,
                    "worker": os.getpid(),  # which server process (with --workers)
                }
            )
            tasks = [asyncio.create_task(self._write()), asyncio.create_task(self._read())]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except _GONE:
            pass
        finally:
            for task in tasks:
                task.cancel()
            # Leaving the room must finish even when this task is being cancelled (the
            # server shutting down): it runs in a task of its own.
            leaving = asyncio.ensure_future(self._leave(tasks))
            try:
                await asyncio.shield(leaving)
            except asyncio.CancelledError:
                pass

    async def _leave(self, tasks: list[asyncio.Task]) -> None:
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.rooms.exit(self.room.code, self.box, self.member)
        if self.ws.client_state == WebSocketState.CONNECTED:
            try:
                await self.ws.close()
            except _GONE:
                pass

    async def _write(self) -> None:
        try:
            while True:
                for kind, text in await self.box.take():
                    await self.send(text)
                    if kind == CLOSED:
                        await self.ws.close(code=CLOSE_ROOM_CLOSED, reason="room closed")
                        return
        except _GONE:
            return

    async def _read(self) -> None:
        s = self.settings
        bucket = TokenBucket(s.room_rate, 2 * s.room_rate)
        limit = s.room_max_message_bytes + ENVELOPE_BYTES
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                raw = message.get("text")
                if raw is None:
                    raw = (message.get("bytes") or b"").decode("utf-8", "replace")
                if len(raw.encode("utf-8", "surrogatepass")) > limit:
                    await self.error(ApiError(f"Message too large: at most {limit} bytes.", 413))
                    continue
                if not bucket.take():
                    await self.error(
                        ApiError(f"Too many messages: at most {s.room_rate:g} per second.", 429)
                    )
                    continue
                try:
                    await self.handle(raw)
                except ApiError as e:
                    await self.error(e)
                if self.ws.client_state != WebSocketState.CONNECTED:
                    return
        except _GONE:
            return

    async def handle(self, raw: str) -> None:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ApiError("The message is not valid JSON.") from None
        if not isinstance(message, dict):
            raise ApiError(UNKNOWN)
        kind = message.get("type")
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "teach":
            secret = message.get("secret")
            await self.rooms.teach(
                self.room, self.box, self.member, secret if isinstance(secret, str) else None
            )
            await self.send({"type": "teaching", "code": self.room.code})
        elif kind in ("state", "close") and not self.box.teacher:
            raise ApiError(FORBIDDEN, 403)
        elif kind == "state":
            seq = await self.rooms.publish(self.room, message.get("state"))
            await self.send({"type": "published", "seq": seq})
        elif kind == "close":
            await self.rooms.end(self.room)
        else:
            raise ApiError(UNKNOWN)
