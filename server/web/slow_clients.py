"""Clients that send a request too slowly (slowloris) do not hold a connection for ever.

uvicorn closes a connection that idles between requests (`timeout_keep_alive`), but a client
that connects and sends nothing, or sends its headers a byte at a time, is waited for without
end. `HeaderTimeoutProtocol` (uvicorn's own HTTP protocol, given as uvicorn's `http`) closes a
connection whose request headers are not complete `header_timeout` seconds after the
connection was made or the last response was sent; it answers 408 first when no response is
under way. Slow bodies are server.web.security.BodyLimitMiddleware's (`body_timeout`).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from server.core.responses import dumps

_TOO_SLOW = dumps({"detail": "The request headers took too long to arrive."})
TOO_SLOW_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: "
    + str(len(_TOO_SLOW)).encode()
    + b"\r\n\r\n"
    + _TOO_SLOW
)


class HeaderTimeoutProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol with a deadline for each request's headers."""

    def __init__(self, *args, header_timeout: float = 10.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._header_timer: asyncio.TimerHandle | None = None

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        transport = self.transport
        if transport.is_closing() or transport.get_protocol() is not self:
            return  # gone, or upgraded to a WebSocket
        if self._between_requests():
            transport.write(TOO_SLOW_RESPONSE)
        transport.close()

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._between_requests():
            self._arm()  # the first bytes of a new request
        cycle = self.cycle
        super().data_received(data)
        if self.cycle is not cycle or self.transport.get_protocol() is not self:
            self._disarm()  # its headers are complete (a new cycle), or it became a WebSocket

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)
