"""The error body every refusal has, and what each route documents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    detail: str = Field(examples=["text: is required."])


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in [
        (404, "Not found"),
        (409, "Refused in the server's present state (e.g. its model quota is full)"),
        (413, "Too large"),
        (422, "Invalid input; `detail` says what to change"),
        (429, "Too many requests from this client; `Retry-After` says when to try again"),
    ]
}


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route documents, for its `responses=`."""
    return {code: ERROR_RESPONSES[code] for code in codes}
