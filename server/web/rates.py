"""Rate limits: a token bucket, and one per client address for the expensive HTTP routes (the
WebSocket has one per socket, server.api.session)."""

from __future__ import annotations

import math
import time

from cachetools import LRUCache

CLIENTS_KEPT = 4096  # buckets of the most recent clients; a forgotten one starts full again


class TokenBucket:
    """`rate` requests per second on average, bursts of up to `burst`."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.last = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def wait_seconds(self) -> int:
        """Whole seconds until the next request would be let through (Retry-After)."""
        return max(1, math.ceil((1 - self.tokens) / self.rate))


class ClientRates:
    """One TokenBucket per client address."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self._buckets: LRUCache[str, TokenBucket] = LRUCache(CLIENTS_KEPT)

    def take(self, client: str) -> int | None:
        """None if the client may go on; else the seconds it should wait."""
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = TokenBucket(self.rate, self.burst)
        return None if bucket.take() else bucket.wait_seconds()
