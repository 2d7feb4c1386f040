"""One WebSocket session of /ws (contracts.md section 5).

A reader task takes client messages (size cap, rate limit, idle timeout) and queues them; the
session handles them one at a time. When the client goes away the reader notices at once, and a
trace being streamed stops between two frames: no more work is done for a closed socket.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from engine.model import ModelState
from server.core.errors import ApiError, describe_validation_errors
from server.core.responses import dumps
from server.core.schemas import SampleRequest, TraceRequest, check_text
from server.core.settings import Settings
from server.models.registry import Entry
from server.tracing import request
from server.tracing.service import TraceService
from server.web.rates import TokenBucket

_GONE = (WebSocketDisconnect, RuntimeError, OSError)  # what sending to a closed socket raises


@dataclass
class Live:
    """Where live typing stands: a model, its state and the next position."""

    entry: Entry
    state: ModelState | None = None  # None: the zero state
    t: int = 0
    layer: int = -1  # the layer the last trace showed: live frames show the same one


class Session:
    def __init__(self, websocket: WebSocket, settings: Settings, traces: TraceService):
        self.ws = websocket
        self.settings = settings
        self.traces = traces
        self.inbox: asyncio.Queue[str] = asyncio.Queue(maxsize=64)
        self.gone = asyncio.Event()
        self.live: Live | None = None
        self.top_k = 5
        self._send_lock = asyncio.Lock()
        self._main: asyncio.Task | None = None
        self._busy = False  # the main task is handling a message

    # -- plumbing -------------------------------------------------------------------------

    async def send(self, data: str | bytes) -> None:
        if self.gone.is_set():
            raise WebSocketDisconnect(1001)
        async with self._send_lock:
            if isinstance(data, bytes):
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_text(data)

    async def error(self, message: str) -> None:
        await self.send(dumps({"type": "error", "message": message}).decode())

    async def _read(self) -> None:
        s = self.settings
        bucket = TokenBucket(s.ws_rate, 2 * s.ws_rate)
        try:
            while True:
                try:
                    message = await asyncio.wait_for(self.ws.receive(), s.ws_idle_timeout)
                except TimeoutError:
                    await self.ws.close(code=1000, reason=f"idle for {s.ws_idle_timeout:g} s")
                    return
                if message["type"] == "websocket.disconnect":
                    return
                raw = message.get("text")
                if raw is None:
                    data = message.get("bytes") or b""
                    raw = data.decode("utf-8", "replace")
                if len(raw.encode("utf-8", "surrogatepass")) > s.ws_max_message_bytes:
                    await self.error(f"Message too large: at most {s.ws_max_message_bytes} bytes.")
                    continue
                if not bucket.take():
                    await self.error(f"Too many messages: at most {s.ws_rate:g} per second.")
                    continue
                if self.inbox.full():
                    await self.error("Too many requests waiting; wait for the answers first.")
                    continue
                self.inbox.put_nowait(raw)
        except _GONE:
            return
        finally:
            self.gone.set()
            if self._busy and self._main is not None:
                # A send to a client that left can wait for ever on a full buffer: stop it.
                self._main.cancel()

    async def run(self) -> None:
        self._main = asyncio.current_task()
        reader = asyncio.create_task(self._read())
        try:
            while True:
                getter = asyncio.create_task(self.inbox.get())
                await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    return  # the reader ended: the client left (or idled out)
                self._busy = True
                try:
                    await self.handle(getter.result())
                finally:
                    self._busy = False
        except _GONE:
            return
        except asyncio.CancelledError:
            if not self.gone.is_set():
                raise  # the server is shutting down
            # Our own cancel (the client left): take it back, or the task still counts as
            # being cancelled and the server's task group cancels it once more.
            asyncio.current_task().uncancel()
            return
        finally:
            self.gone.set()
            reader.cancel()
            if self.ws.client_state == WebSocketState.CONNECTED:
                try:
                    await self.ws.close()
                except _GONE:
                    pass

    # -- messages -------------------------------------------------------------------------

    async def handle(self, raw: str) -> None:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            await self.error(f"The message is not valid JSON ({e}).")
            return
        if not isinstance(message, dict):
            await self.error('The message must be a JSON object, e.g. {"type": "reset"}.')
            return
        kind = message.get("type", "trace")
        try:
            if kind == "trace":
                await self.trace(message)
            elif kind == "feed":
                await self.feed(message)
            elif kind == "reset":
                await self.reset(message)
            elif kind == "sample":
                await self.sample(message)
            else:
                await self.error("Unknown message type; use trace, feed, reset or sample.")
        except ApiError as e:
            await self.error(str(e))

    async def trace(self, message: dict) -> None:
        try:
            req = TraceRequest.model_validate(message)
        except ValidationError as e:
            await self.error(describe_validation_errors(e.errors()))
            return
        encoding = message.get("encoding", "json")
        if encoding not in ("json", "binary"):
            await self.error('encoding must be "json" (the default) or "binary".')
            return
        prepared = self.traces.prepare(req)
        self.top_k = req.top_k
        # each half as one message: a JSON array of frames, or (binary) server.tracing.binary's form
        binary = encoding == "binary"
        batch = binary or message.get("batch") is True
        suffix = "-binary" if binary else ""
        head = await self.traces.compute(prepared, "forward" + suffix)
        self.live = Live(prepared.entry, head.final_state, head.T, req.layer)
        # BPTT runs while the forward frames go out (compute shields it: a client that leaves
        # does not cancel it, and it still lands in the cache)
        tail = asyncio.ensure_future(self.traces.compute(prepared, "backward" + suffix))
        tail.add_done_callback(lambda t: t.cancelled() or t.exception())  # never unretrieved
        self.traces.streaming += 1
        try:
            await self._stream(head.payload, batch)
            await self._stream((await tail).payload, batch)
        finally:
            self.traces.streaming -= 1
            if not tail.done():
                tail.cancel()

    async def _stream(self, payload: list[str] | bytes, batch: bool = False) -> None:
        """Send frames that are already JSON text, one WebSocket message each, in order; with
        `batch`, all of them in one message (a JSON array): the cost of a WebSocket message
        (framing, a system call, the client's wake-up) is then paid once, not once a frame.
        A binary payload (server.tracing.binary) is one message already."""
        if isinstance(payload, bytes):
            messages: list[str] | list[bytes] = [payload]
        else:
            messages = ["[" + ",".join(payload) + "]"] if batch else payload
        for message in messages:
            await self.send(message)  # raises once the client has left: the stream stops

    def _model(self, message: dict) -> Live:
        model_id = message.get("model")
        if model_id is not None and not isinstance(model_id, str):
            raise ApiError("model must be a model id (a string).")
        if model_id and (self.live is None or self.live.entry.id != model_id):
            self.live = Live(self.traces.entry(model_id))
        if self.live is None:
            raise ApiError('Send a trace first, or give "model" with the feed.')
        return self.live

    async def feed(self, message: dict) -> None:
        text = message.get("text")
        if not isinstance(text, str) or not text:
            await self.error('feed needs "text": one or more characters or words.')
            return
        if len(text) > self.settings.max_text_chars:
            await self.error(f"text: at most {self.settings.max_text_chars} characters.")
            return
        try:
            check_text(text)
        except ValueError as e:
            await self.error(str(e))
            return
        live = self._model(message)
        if live.entry.model.config.bidirectional:
            raise ApiError("Live typing needs a model that reads forward only.")
        if live.entry.model.config.setup in ("one-to-one", "one-to-many"):
            raise ApiError(
                "Live typing needs a model that reads a sequence; this one reads one token."
            )
        tokens = live.entry.vocab.tokenize(text)
        if live.t + len(tokens) > self.settings.max_tokens:
            raise ApiError(
                f"Live typing is limited to {self.settings.max_tokens} tokens; send a reset."
            )
        request.check_work(live.entry, len(tokens), self.settings)
        encoded = live.entry.vocab.lookup(tokens)  # an unknown token is read, and marked
        live.state, frames = await self.traces.live_steps(
            live.entry, live.state, encoded, live.t, self.top_k, live.layer
        )
        live.t += len(frames)
        for frame in frames:
            await self.send(dumps(frame).decode())

    async def sample(self, message: dict) -> None:
        """Generate text: one {"phase": "sample"} frame per token, then "sample-done". The
        live-typing state is left as it was."""
        try:
            req = SampleRequest.model_validate(message)
        except ValidationError as e:
            await self.error(describe_validation_errors(e.errors()))
            return
        frames = await self.traces.sample(req, "frames")
        self.traces.streaming += 1
        try:
            await self._stream(frames, message.get("batch") is True)
        finally:
            self.traces.streaming -= 1

    async def reset(self, message: dict) -> None:
        live = self._model(message) if message.get("model") or self.live else None
        if live is not None:
            live.state, live.t = None, 0
        await self.send(dumps({"type": "reset", "ok": True}).decode())
