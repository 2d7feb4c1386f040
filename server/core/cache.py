"""A thread-safe least-recently-used cache with a budget in bytes (cachetools underneath).

Used for finished traces (server.tracing.service) and for the forward passes a trace process
keeps for their backward half (server.tracing.build). An item bigger than a quarter of the
budget is not kept: one huge trace must not push out everything else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

V = TypeVar("V")


class ByteBudgetCache(Generic[V]):
    def __init__(self, budget_bytes: int, size_of: Callable[[V], int]):
        self._size_of = size_of
        self._items: LRUCache[Hashable, V] = LRUCache(
            maxsize=max(1, budget_bytes), getsizeof=size_of
        )
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            return self._items.get(key)  # a hit becomes the most recently used

    def pop(self, key: Hashable) -> V | None:
        with self._lock:
            return self._items.pop(key, None)

    def put(self, key: Hashable, value: V) -> None:
        if self._size_of(value) > self._items.maxsize // 4:
            return
        with self._lock:
            self._items[key] = value  # evicts the least recently used past the budget

    @property
    def bytes_used(self) -> int:
        return self._items.currsize

    def __len__(self) -> int:
        return len(self._items)
