"""Classroom rooms: what making one answers, what a look-up answers, a teacher's publish."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RoomCreated(BaseModel):
    code: str = Field(description="6 characters students type (no 0, 1, I, L, O).")
    secret: str = Field(
        description="The teacher's key to drive the room: given once, never shown again "
        "(send it as the X-Room-Secret header, or in the socket's teach message)."
    )
    link: str = Field(description="The page students open to join.")
    qr: str = Field(description="Path of the join link's QR code (SVG).")
    idle_ttl: float = Field(description="Seconds the room lives without activity.")
    max_students: int


class RoomInfo(BaseModel):
    code: str
    students: int = Field(description="Students connected now.")
    seq: int = Field(description="How many states the teacher has published.")
    state: dict[str, Any] | None = Field(
        description="The teacher's last state (contracts.md section 7), or null before any."
    )
    idle_ttl: float
    link: str


class RoomPublish(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"state": {"model": "rnn-hello", "text": "hello", "t": 2}}]
        },
    )
    state: dict[str, Any] = Field(
        max_length=64,
        description="The page's State as a flat object (names and values: contracts.md "
        "section 7); the size limit is room_max_message_bytes.",
    )


class RoomPublished(BaseModel):
    code: str
    seq: int


class RoomClosed(BaseModel):
    code: str
    closed: bool
