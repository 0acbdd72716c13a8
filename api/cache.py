"""Small thread-safe caches: an LRU for values keyed by something immutable (e.g. a team version),
and a per-minute budget of costly renders."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LRUCache(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class RenderBudget(Generic[K]):
    """At most `per_minute` costly renders per key (e.g. a team) in each clock minute, per process.

    Caches bound repeats; this bounds the distinct variants (instants, time zones, hosts) that
    a caller can ask for in order to force a render each time.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._minute = -1
        self._spent: dict[K, int] = {}
        self._lock = threading.Lock()

    def take(self, key: K) -> bool:
        """Spend one render for `key`; False when its budget for this minute is used up."""
        minute = int(self.clock() // 60)
        with self._lock:
            if minute != self._minute:
                self._minute, self._spent = minute, {}
            spent = self._spent.get(key, 0)
            if spent >= self.per_minute:
                return False
            self._spent[key] = spent + 1
            return True
