"""Every error leaves as JSON `{"detail": "<a sentence a person understands>"}`.

FastAPI's default validation handler echoes the rejected input back; input holding a lone
surrogate ("\\ud800") then cannot be encoded and the handler itself fails with a 500. Ours never
echoes input: it names the field and says what is wrong with it.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.core.responses import OrjsonResponse

log = logging.getLogger("unrolled")


class ApiError(ValueError):
    """A request the server refuses: `status` (a 4xx) and a sentence a person understands.

    Raised anywhere below the routes (tracing, models, training); one handler answers it."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


def _where(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form", "file")]
    return ".".join(parts)


def describe_validation_errors(errors: list[dict]) -> str:
    """One readable sentence per problem, without the offending input."""
    messages = []
    for err in errors[:5]:
        kind = err.get("type", "")
        if kind == "json_invalid":
            ctx = err.get("ctx") or {}
            messages.append(
                f"The request body is not valid JSON ({ctx.get('error', 'decode error')})."
            )
            continue
        loc = err.get("loc", ())
        if kind == "extra_forbidden":
            # the last part of loc is the unknown field's name: the user's text, not repeated
            where = _where(loc[:-1])
            messages.append(
                f"{where + ' has' if where else 'The request has'} a field it does not take "
                "(check the spelling; /docs lists the fields)"
            )
            continue
        where = _where(loc)
        msg = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        if kind == "missing":
            msg = "is required"
        elif kind == "string_unicode":
            msg = "contains text that is not valid Unicode (such as a lone surrogate \\ud800)"
        elif kind in ("model_attributes_type", "dict_type") and not where:
            msg = "The request body must be a JSON object."
        messages.append(f"{where}: {msg}" if where else msg)
    if len(errors) > 5:
        messages.append(f"(and {len(errors) - 5} more problems)")
    return " ".join(m if m.endswith(".") else m + "." for m in messages)


async def validation_error(_: Request, exc: RequestValidationError) -> OrjsonResponse:
    return OrjsonResponse({"detail": describe_validation_errors(exc.errors())}, status_code=422)


async def http_error(_: Request, exc: StarletteHTTPException) -> OrjsonResponse:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return OrjsonResponse(
        {"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


async def api_error(_: Request, exc: ApiError) -> OrjsonResponse:
    """A refused request: its own status and sentence."""
    return OrjsonResponse({"detail": str(exc)}, status_code=exc.status)


async def unexpected_error(_: Request, exc: Exception) -> OrjsonResponse:
    # Last resort only: the tests assert it never fires on bad input.
    log.exception("unexpected error", exc_info=exc)
    return OrjsonResponse(
        {"detail": "Something went wrong inside the server; the server log has the details."},
        status_code=500,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(Exception, unexpected_error)
