"""The sockets of this process, by room, and what each has still to send.

A room's messages are whole snapshots: the newest state replaces any state not yet sent, so a
slow student's phone skips steps instead of falling behind the teacher (and a full socket
buffer never holds the room up). Teachers drive and get no states; only they get presence.
"""

from __future__ import annotations

import asyncio

STATE, PRESENCE, CLOSED = "state", "presence", "closed"


class Mailbox:
    """One socket's pending messages: the newest of each kind, in the order they came."""

    def __init__(self, teacher: bool = False):
        self.teacher = teacher
        self.seq = 0  # the newest state put in (states with a seq not above it are old news)
        self._pending: dict[str, str] = {}
        self._ready = asyncio.Event()

    def put(self, kind: str, text: str, seq: int = 0) -> None:
        if kind == STATE:
            if self.teacher or seq <= self.seq:
                return
            self.seq = seq
        elif kind == PRESENCE and not self.teacher:
            return
        self._pending.pop(kind, None)  # the newer one goes to the end
        self._pending[kind] = text
        self._ready.set()

    async def take(self) -> list[tuple[str, str]]:
        """Wait for messages; answer every pending (kind, text), oldest first."""
        await self._ready.wait()
        self._ready.clear()
        out = list(self._pending.items())
        self._pending.clear()
        return out


class LocalHub:
    """Mailboxes of this process's sockets, by room code."""

    def __init__(self):
        self._rooms: dict[str, set[Mailbox]] = {}

    def add(self, code: str, box: Mailbox) -> bool:
        """Add a mailbox; True if it is the room's first in this process."""
        boxes = self._rooms.setdefault(code, set())
        boxes.add(box)
        return len(boxes) == 1

    def remove(self, code: str, box: Mailbox) -> bool:
        """Remove a mailbox; True if the room has no more in this process."""
        boxes = self._rooms.get(code)
        if boxes is None:
            return False
        boxes.discard(box)
        if boxes:
            return False
        del self._rooms[code]
        return True

    def deliver(self, code: str, kind: str, text: str, seq: int = 0) -> None:
        for box in self._rooms.get(code, ()):
            box.put(kind, text, seq)

    def count(self, code: str) -> int:
        return len(self._rooms.get(code, ()))

    def codes(self) -> list[str]:
        return list(self._rooms)
