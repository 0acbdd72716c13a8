"""api.cache: the LRU of rendered documents and replies, and the per-minute render budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from api.cache import LRUCache, RenderBudget


class SlowKey:
    """A key whose hashing lets other threads run, so that a lookup followed by a write of the
    same key is interrupted, as it would be by a busy server: an unlocked cache then shows its race."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __hash__(self) -> int:
        time.sleep(0)
        return hash(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SlowKey) and other.value == self.value


def run_together(workers: int, work: Callable[[int], None]) -> list[BaseException]:
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            work(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_a_stored_value_is_found_and_a_missing_one_is_none() -> None:
    cache: LRUCache[str, bytes] = LRUCache(2)
    cache.put("a", b"A")
    assert cache.get("a") == b"A"
    assert cache.get("b") is None


def test_the_least_recently_used_entry_is_evicted_first() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert cache.get("a") is None
    assert (cache.get("b"), cache.get("c")) == (2, 3)


def test_reading_an_entry_keeps_it_over_one_written_later() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert cache.get("a") == 1 and cache.get("b") is None


def test_writing_a_key_again_replaces_its_value_and_refreshes_it() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    cache.put("c", 3)
    assert cache.get("a") == 10 and cache.get("b") is None
    assert len(cache._items) == 2


def test_falsy_values_are_cached_like_any_other() -> None:
    cache: LRUCache[str, object] = LRUCache(2)
    cache.put("zero", 0)
    cache.put("empty", b"")
    cache.put("other", 1)  # "zero" is the oldest: the one evicted
    assert cache.get("zero") is None
    assert cache.get("empty") == b""


def test_many_threads_reading_and_writing_never_break_it_or_overfill_it() -> None:
    cache: LRUCache[SlowKey, int] = LRUCache(4)

    def work(n: int) -> None:
        for i in range(300):
            key = (n * 7 + i) % 12
            cache.put(SlowKey(key), key * 2)
            found = cache.get(SlowKey((key + 1) % 12))
            assert found is None or found == ((key + 1) % 12) * 2

    assert run_together(6, work) == []
    assert len(cache._items) == 4
    assert all(value == key.value * 2 for key, value in cache._items.items())


def test_the_budget_allows_so_many_renders_per_key_each_minute() -> None:
    now = [600.0]
    budget: RenderBudget[int] = RenderBudget(3, clock=lambda: now[0])
    assert [budget.take(1) for _ in range(4)] == [True, True, True, False]
    assert budget.take(2), "another team has a budget of its own"
    now[0] = 659.9
    assert not budget.take(1), "still the same clock minute"
    now[0] = 660.0
    assert [budget.take(1) for _ in range(4)] == [True, True, True, False]


def test_a_budget_of_zero_refuses_every_render() -> None:
    budget: RenderBudget[str] = RenderBudget(0, clock=lambda: 0.0)
    assert not budget.take("payroll")


def test_threads_racing_for_one_budget_get_exactly_the_allowance() -> None:
    budget: RenderBudget[SlowKey] = RenderBudget(50, clock=lambda: 120.0)
    granted: list[bool] = []
    lock = threading.Lock()

    def work(_n: int) -> None:
        for _ in range(100):
            took = budget.take(SlowKey(7))
            with lock:
                granted.append(took)

    assert run_together(8, work) == []
    assert granted.count(True) == 50 and len(granted) == 800
