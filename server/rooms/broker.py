"""Where rooms live: one interface, two brokers.

`InProcessBroker` keeps rooms in this server process (one worker). `RedisBroker`
(server.rooms.redis_broker) keeps them in Redis and fans each message out through its pub/sub,
so a teacher on one worker process (or machine) drives students on every other; the room's
current state is stored there too, for a late joiner on any worker. Both deliver to this
process's sockets through the same LocalHub.

Every message is JSON text: `{"type": "state", "seq", "state"}` (the teacher's state, `seq`
counting up from 1), `{"type": "presence", "students"}`, `{"type": "closed", "message"}`.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from server.rooms.hub import CLOSED, PRESENCE, STATE, LocalHub

GONE, FULL = -1, -2  # join's answers besides a count
CLOSED_MESSAGE = "The teacher closed the room."


@dataclass
class Room:
    code: str
    secret_hash: str
    created: float  # epoch seconds
    seq: int = 0
    state: str | None = None  # the last state message, as sent to a student
    last_active: float = field(default_factory=time.monotonic)  # in-process broker only
    students: set[str] = field(default_factory=set)  # in-process broker only


def state_message(seq: int, state_json: str) -> str:
    return f'{{"type":"state","seq":{seq},"state":{state_json}}}'


def presence_message(students: int) -> str:
    return json.dumps({"type": PRESENCE, "students": students})


def closed_message(message: str = CLOSED_MESSAGE) -> str:
    return json.dumps({"type": CLOSED, "message": message})


class Broker(ABC):
    """Rooms, their state and their members; messages to this process's sockets via `hub`.

    `ttl` is the idle time after which a room is gone: a publish or any open socket (the
    heartbeat, every `heartbeat_seconds` where the broker needs one) keeps it alive."""

    heartbeat_seconds: float | None = None

    def __init__(self):
        self.hub = LocalHub()

    async def start(self) -> None:
        """Connect (the in-process broker has nothing to do)."""
        return None

    async def stop(self) -> None:
        return None

    @abstractmethod
    async def create(self, code: str, secret_hash: str, max_rooms: int, ttl: float) -> str:
        """ "ok", "taken" (the code is in use) or "full" (max_rooms are open)."""

    @abstractmethod
    async def get(self, code: str, ttl: float) -> Room | None: ...

    @abstractmethod
    async def publish(self, code: str, state_json: str, ttl: float) -> int | None:
        """Store the state and send it to every student; its seq, or None if the room is gone."""

    @abstractmethod
    async def close(self, code: str) -> bool:
        """Remove the room and tell its sockets; False if it was not open."""

    @abstractmethod
    async def join(self, code: str, member: str, max_students: int, ttl: float) -> int:
        """Count a student in: the number of students after, or GONE, or FULL."""

    @abstractmethod
    async def leave(self, code: str, member: str, ttl: float) -> None: ...

    @abstractmethod
    async def students(self, code: str, ttl: float) -> int: ...

    async def listen(self, code: str) -> None:
        """This process has a socket in the room from now on (the first one)."""
        return None

    async def unlisten(self, code: str) -> None:
        """This process has no more sockets in the room."""
        return None

    async def heartbeat(self, members: dict[str, list[str]], ttl: float) -> None:
        """Rooms with sockets in this process are alive; so are these students."""
        return None


class InProcessBroker(Broker):
    """Rooms in a dict of this process. A room expires `ttl` seconds after its last publish or
    its last socket left, whichever is later."""

    def __init__(self):
        super().__init__()
        self.rooms: dict[str, Room] = {}

    def _alive(self, code: str, ttl: float) -> Room | None:
        room = self.rooms.get(code)
        if room is None:
            return None
        if self.hub.count(code) == 0 and time.monotonic() - room.last_active > ttl:
            del self.rooms[code]
            return None
        return room

    def _prune(self, ttl: float) -> None:
        for code in list(self.rooms):
            self._alive(code, ttl)

    async def create(self, code: str, secret_hash: str, max_rooms: int, ttl: float) -> str:
        self._prune(ttl)
        if code in self.rooms:
            return "taken"
        if len(self.rooms) >= max_rooms:
            return "full"
        self.rooms[code] = Room(code, secret_hash, time.time())
        return "ok"

    async def get(self, code: str, ttl: float) -> Room | None:
        return self._alive(code, ttl)

    async def publish(self, code: str, state_json: str, ttl: float) -> int | None:
        room = self._alive(code, ttl)
        if room is None:
            return None
        room.seq += 1
        room.state = state_message(room.seq, state_json)
        room.last_active = time.monotonic()
        self.hub.deliver(code, STATE, room.state, room.seq)
        return room.seq

    async def close(self, code: str) -> bool:
        if self.rooms.pop(code, None) is None:
            return False
        self.hub.deliver(code, CLOSED, closed_message())
        return True

    async def join(self, code: str, member: str, max_students: int, ttl: float) -> int:
        room = self._alive(code, ttl)
        if room is None:
            return GONE
        if member not in room.students and len(room.students) >= max_students:
            return FULL
        room.students.add(member)
        self.hub.deliver(code, PRESENCE, presence_message(len(room.students)))
        return len(room.students)

    async def leave(self, code: str, member: str, ttl: float) -> None:
        room = self.rooms.get(code)
        if room is None or member not in room.students:
            return
        room.students.discard(member)
        room.last_active = time.monotonic()
        self.hub.deliver(code, PRESENCE, presence_message(len(room.students)))

    async def students(self, code: str, ttl: float) -> int:
        room = self._alive(code, ttl)
        return len(room.students) if room else 0

    async def unlisten(self, code: str) -> None:
        room = self.rooms.get(code)
        if room is not None:
            room.last_active = time.monotonic()  # the idle time counts from the last socket


def make_broker(url: str) -> Broker:
    """The in-process broker, or Redis's for a redis:// (rediss://, unix://) URL."""
    if not url:
        return InProcessBroker()
    from server.rooms.redis_broker import RedisBroker

    return RedisBroker(url)
