"""Rooms in Redis (redis.asyncio): every worker process and machine sees the same rooms.

Keys (prefix `unrolled:`): `room:<code>` a hash (secret hash, created, seq, state: the last
state message) expiring after the idle ttl; `room:<code>:students` a sorted set of connected
students scored by their last heartbeat; `rooms` a sorted set of open codes scored by when
they expire (to count them against max_rooms). Each change is one Lua script, so two workers
never interleave halfway. Messages go through the channel `room:<code>` as "<kind> <seq>
<json>"; each process holds one pub/sub connection, subscribed to the rooms it has sockets in,
and hands what arrives to its LocalHub. Sockets keep their room alive with a heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import redis.asyncio as redis

from server.rooms.broker import Broker, Room, closed_message

log = logging.getLogger("unrolled")
PREFIX = "unrolled:"
ROOMS = PREFIX + "rooms"
ALWAYS = PREFIX + "rooms:hello"  # subscribed for good, so the reader always has a channel
HEARTBEAT_SECONDS = 10.0
STALE_HEARTBEATS = 3  # a student unheard of for this many heartbeats has left (a dead worker)

_CREATE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
if redis.call('EXISTS', KEYS[2]) == 1 then return 'taken' end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[6]) then return 'full' end
redis.call('HSET', KEYS[2], 'secret', ARGV[2], 'created', ARGV[3], 'seq', 0)
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[1], tonumber(ARGV[4]) + tonumber(ARGV[5]) / 1000, ARGV[1])
return 'ok'
"""
_PUBLISH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local msg = '{"type":"state","seq":' .. seq .. ',"state":' .. ARGV[1] .. '}'
redis.call('HSET', KEYS[1], 'state', msg)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]) / 1000, ARGV[4])
redis.call('PUBLISH', KEYS[3], 'state ' .. seq .. ' ' .. msg)
return seq
"""
_JOIN = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) and
   redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return -2 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
local n = redis.call('ZCARD', KEYS[2])
redis.call('PUBLISH', KEYS[3], 'presence 0 {"type":"presence","students":' .. n .. '}')
return n
"""
_LEAVE = """
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
local n = redis.call('ZCARD', KEYS[2])
redis.call('PUBLISH', KEYS[3], 'presence 0 {"type":"presence","students":' .. n .. '}')
return n
"""
_CLOSE = """
local was = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
if was == 1 then redis.call('PUBLISH', KEYS[4], 'closed 0 ' .. ARGV[2]) end
return was
"""


def _room(code: str) -> str:
    return f"{PREFIX}room:{code}"


def _students(code: str) -> str:
    return f"{PREFIX}room:{code}:students"


class RedisBroker(Broker):
    def __init__(self, url: str):
        super().__init__()
        self.url = url
        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=False)
        self._reader: asyncio.Task | None = None
        self._subscribed: dict[str, asyncio.Future] = {}  # channel -> confirmed
        self._scripts = {
            name: self.redis.register_script(src)
            for name, src in [
                ("create", _CREATE),
                ("publish", _PUBLISH),
                ("join", _JOIN),
                ("leave", _LEAVE),
                ("close", _CLOSE),
            ]
        }

    @property
    def heartbeat_seconds(self) -> float:  # type: ignore[override]
        return HEARTBEAT_SECONDS

    def _ms(self, ttl: float) -> int:
        return max(1, int(ttl * 1000))

    def _stale_before(self, ttl: float) -> float:
        return time.time() - STALE_HEARTBEATS * min(HEARTBEAT_SECONDS, ttl)

    async def start(self) -> None:
        await self.redis.ping()  # fail at start-up, not at the first class
        await self._pubsub.subscribe(ALWAYS)
        self._reader = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        with contextlib.suppress(Exception):
            await self.redis.aclose()

    async def _read(self) -> None:
        """Hand every message of a subscribed room to the hub."""
        while True:
            try:
                async for message in self._pubsub.listen():
                    self._dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # Redis restarted: say so and reconnect
                log.warning("room broker: lost Redis (%s); reconnecting", e)
                await asyncio.sleep(0.5)

    def _dispatch(self, message: dict) -> None:
        channel = message.get("channel")
        if message["type"] == "subscribe":
            done = self._subscribed.get(channel)
            if done is not None and not done.done():
                done.set_result(True)
            return
        if message["type"] != "message" or not channel.startswith(PREFIX + "room:"):
            return
        kind, seq, text = message["data"].split(" ", 2)
        self.hub.deliver(channel[len(PREFIX + "room:") :], kind, text, int(seq))

    async def create(self, code: str, secret_hash: str, max_rooms: int, ttl: float) -> str:
        now = time.time()
        args = [code, secret_hash, now, now, self._ms(ttl), max_rooms]
        return await self._scripts["create"](keys=[ROOMS, _room(code)], args=args)

    async def get(self, code: str, ttl: float) -> Room | None:
        data = await self.redis.hgetall(_room(code))
        if not data:
            return None
        return Room(
            code,
            data["secret"],
            float(data["created"]),
            seq=int(data.get("seq", 0)),
            state=data.get("state"),
        )

    async def publish(self, code: str, state_json: str, ttl: float) -> int | None:
        keys = [_room(code), ROOMS, _room(code)]
        seq = await self._scripts["publish"](
            keys=keys, args=[state_json, time.time(), self._ms(ttl), code]
        )
        return None if seq < 0 else seq

    async def close(self, code: str) -> bool:
        keys = [_room(code), _students(code), ROOMS, _room(code)]
        return bool(await self._scripts["close"](keys=keys, args=[code, closed_message()]))

    async def join(self, code: str, member: str, max_students: int, ttl: float) -> int:
        keys = [_room(code), _students(code), _room(code)]
        args = [member, time.time(), self._stale_before(ttl), max_students, self._ms(ttl)]
        return await self._scripts["join"](keys=keys, args=args)

    async def leave(self, code: str, member: str, ttl: float) -> None:
        keys = [_room(code), _students(code), _room(code)]
        await self._scripts["leave"](keys=keys, args=[member, self._stale_before(ttl)])

    async def students(self, code: str, ttl: float) -> int:
        return await self.redis.zcount(_students(code), self._stale_before(ttl), "+inf")

    async def listen(self, code: str) -> None:
        channel = _room(code)
        done = asyncio.get_running_loop().create_future()
        self._subscribed[channel] = done
        await self._pubsub.subscribe(channel)
        try:  # states published from now on reach us: only then read the stored one
            await asyncio.wait_for(done, 5)
        except TimeoutError:
            log.warning("room broker: no confirmation of the subscription to a room")
        finally:
            self._subscribed.pop(channel, None)

    async def unlisten(self, code: str) -> None:
        await self._pubsub.unsubscribe(_room(code))

    async def heartbeat(self, members: dict[str, list[str]], ttl: float) -> None:
        now, ms = time.time(), self._ms(ttl)
        async with self.redis.pipeline(transaction=False) as pipe:
            for code, students in members.items():
                pipe.pexpire(_room(code), ms)
                pipe.zadd(ROOMS, {code: now + ttl}, xx=True)
                if students:
                    pipe.zadd(_students(code), dict.fromkeys(students, now))
                    pipe.pexpire(_students(code), ms)
            await pipe.execute()
