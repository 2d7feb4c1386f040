"""The classroom rooms of this server: made, looked up, driven, joined and closed.

Whatever the broker (in-process or Redis), every refusal is an ApiError with a 4xx and a
sentence; no user input is echoed back. The state a teacher publishes is the page's State
(docs/contracts.md section 7) as a flat JSON object: the server checks its shape and size, not
its names, so props the page gains are followed without a server change.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re

import orjson

from server.core.errors import ApiError
from server.core.settings import Settings
from server.rooms.broker import FULL, GONE, Broker, Room, make_broker
from server.rooms.codes import (
    BAD_CODE,
    new_code,
    new_secret,
    normal_code,
    secret_hash,
    secret_matches,
)
from server.rooms.hub import Mailbox

log = logging.getLogger("unrolled")

NAME = re.compile(r"[a-z][A-Za-z0-9_]{0,31}")
MAX_NAMES = 64
CODE_ATTEMPTS = 20
FORBIDDEN = (
    "Only the teacher who opened this room can move it: this page does not hold the room's "
    "secret. Detach to explore on your own."
)
BAD_STATE = (
    "state must be a JSON object of the page's state (contracts.md section 7): at most "
    f"{MAX_NAMES} names (a lower-case letter, then up to 31 letters, digits or _), each a "
    'string, a finite number, true, false or null, e.g. {"model": "rnn-hello", "t": 3}.'
)


class Rooms:
    def __init__(self, settings: Settings, broker: Broker | None = None):
        self.settings = settings
        self.broker = broker or make_broker(settings.broker_url)
        self._members: dict[str, set[str]] = {}  # code -> its students connected to us
        self._listening: dict[str, asyncio.Task] = {}  # code -> subscribing to it
        self._beat: asyncio.Task | None = None

    @property
    def ttl(self) -> float:
        return self.settings.room_idle_ttl

    @property
    def hub(self):
        return self.broker.hub

    async def start(self) -> None:
        await self.broker.start()
        if self.broker.heartbeat_seconds:
            self._beat = asyncio.create_task(self._heartbeat())

    async def stop(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
        await self.broker.stop()

    async def _heartbeat(self) -> None:
        every = min(self.broker.heartbeat_seconds, self.ttl / 4)
        while True:
            await asyncio.sleep(every)
            members = {c: sorted(self._members.get(c, ())) for c in self.hub.codes()}
            if not members:
                continue
            try:
                await self.broker.heartbeat(members, self.ttl)
            except Exception as e:  # Redis away for a moment: the next beat tries again
                log.warning("room heartbeat failed: %s", e)

    # -- looking rooms up -----------------------------------------------------------------

    def no_room(self) -> ApiError:
        minutes = self.ttl / 60
        return ApiError(
            "No room with this code is open: the teacher may have closed it, or it expired "
            f"after {minutes:g} minutes without activity. Check the code on the teacher's "
            "screen.",
            404,
        )

    @staticmethod
    def code(raw: str) -> str:
        code = normal_code(raw)
        if code is None:
            raise ApiError(BAD_CODE, 422)
        return code

    async def room(self, raw: str) -> Room:
        room = await self.broker.get(self.code(raw), self.ttl)
        if room is None:
            raise self.no_room()
        return room

    async def info(self, raw: str) -> dict:
        room = await self.room(raw)
        state = orjson.loads(room.state) if room.state else None
        return {
            "code": room.code,
            "students": await self.broker.students(room.code, self.ttl),
            "seq": room.seq,
            "state": state["state"] if state else None,
            "idle_ttl": self.ttl,
        }

    @staticmethod
    def authorize(room: Room, secret: str | None) -> None:
        if not secret_matches(secret, room.secret_hash):
            raise ApiError(FORBIDDEN, 403)

    # -- the teacher's side ---------------------------------------------------------------

    async def create(self) -> dict:
        s = self.settings
        for _ in range(CODE_ATTEMPTS):
            code, secret = new_code(), new_secret()
            answer = await self.broker.create(code, secret_hash(secret), s.max_rooms, self.ttl)
            if answer == "ok":
                return {"code": code, "secret": secret, "idle_ttl": self.ttl,
                        "max_students": s.room_max_students}  # fmt: skip
            if answer == "full":
                raise ApiError(
                    f"{s.max_rooms} rooms are open, the most this server allows (max_rooms): "
                    "close one, or wait until one expires.",
                    429,
                )
        raise ApiError("No free room code was found; try again.", 409)

    def check_state(self, state: object) -> str:
        """The state as compact JSON; 422 if it is not a flat object, 413 if too large."""
        if not isinstance(state, dict) or len(state) > MAX_NAMES:
            raise ApiError(BAD_STATE)
        for name, value in state.items():
            if not isinstance(name, str) or not NAME.fullmatch(name):
                raise ApiError(BAD_STATE)
            if value is not None and not isinstance(value, bool | int | float | str):
                raise ApiError(BAD_STATE)
            if isinstance(value, float) and not math.isfinite(value):
                raise ApiError(BAD_STATE)
        try:
            text = orjson.dumps(state)
        except orjson.JSONEncodeError:
            raise ApiError(
                "state holds text that is not valid Unicode, or an integer out of range."
            ) from None
        limit = self.settings.room_max_message_bytes
        if len(text) > limit:
            raise ApiError(
                f"The state is {len(text)} bytes of JSON, more than a room takes "
                f"({limit}, room_max_message_bytes).",
                413,
            )
        return text.decode()

    async def publish(self, room: Room, state: object) -> int:
        seq = await self.broker.publish(room.code, self.check_state(state), self.ttl)
        if seq is None:
            raise self.no_room()
        return seq

    async def close(self, raw: str, secret: str | None) -> dict:
        room = await self.room(raw)
        self.authorize(room, secret)
        if not await self.broker.close(room.code):
            raise self.no_room()
        return {"code": room.code, "closed": True}

    async def end(self, room: Room) -> None:
        """Close a room whose teacher is already known (the teacher's socket)."""
        if not await self.broker.close(room.code):
            raise self.no_room()

    # -- sockets --------------------------------------------------------------------------

    async def _listen(self, code: str) -> None:
        task = self._listening.get(code)
        if task is None:
            task = self._listening[code] = asyncio.create_task(self.broker.listen(code))
            task.add_done_callback(lambda _: self._listening.pop(code, None))
        await asyncio.shield(task)

    async def enter(self, code: str, box: Mailbox, member: str) -> tuple[Room, int]:
        """A socket joins as a student: its mailbox gets the room's messages from now on, and
        the current state at once. 404 if the room is gone, 429 if it is full."""
        first = self.hub.add(code, box)
        try:
            if first or code in self._listening:
                await self._listen(code)
            answer = await self.broker.join(code, member, self.settings.room_max_students, self.ttl)
            room = await self.broker.get(code, self.ttl) if answer >= 0 else None
        except BaseException:
            await self._drop(code, box)
            raise
        if answer == FULL:
            await self._drop(code, box)
            raise ApiError(
                f"This room is full: {self.settings.room_max_students} students are following "
                "it, the most this server allows (room_max_students).",
                429,
            )
        if answer == GONE or room is None:
            await self._drop(code, box)
            raise self.no_room()
        self._members.setdefault(code, set()).add(member)
        if room.state:
            box.put("state", room.state, room.seq)
        return room, answer

    async def teach(self, room: Room, box: Mailbox, member: str, secret: str | None) -> None:
        """The socket proves it is the teacher's: it drives the room and is no longer counted
        as a student. 403 otherwise (it stays a student)."""
        self.authorize(room, secret)
        box.teacher = True
        self._forget(room.code, member)
        await self.broker.leave(room.code, member, self.ttl)
        box.put("presence", orjson.dumps({"type": "presence", "students": await
                self.broker.students(room.code, self.ttl)}).decode())  # fmt: skip

    async def exit(self, code: str, box: Mailbox, member: str) -> None:
        self._forget(code, member)
        try:
            await self.broker.leave(code, member, self.ttl)
        finally:
            await self._drop(code, box)

    def _forget(self, code: str, member: str) -> None:
        members = self._members.get(code)
        if members is not None:
            members.discard(member)
            if not members:
                del self._members[code]

    async def _drop(self, code: str, box: Mailbox) -> None:
        if self.hub.remove(code, box):
            await self.broker.unlisten(code)
