"""The collector pause around plan building: restored as it was, nothing left uncollectable,
and no collection of everything the block allocated at the first allocation after it."""

from __future__ import annotations

import gc
import weakref

from reconciler.planning import gcpause


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_the_collector_is_back_on_and_a_cycle_made_while_paused_is_still_collected():
    assert gc.isenabled()
    with gcpause.paused():
        assert not gc.isenabled()
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
    assert gc.isenabled()
    assert gone() is not None  # a cycle: only the collector frees it
    gc.collect()
    assert gone() is None


def test_the_first_allocations_after_the_block_do_not_collect_what_it_allocated():
    collections: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.collect()
    gc.callbacks.append(seen)
    try:
        with gcpause.paused():
            kept = [[i] for i in range(50_000)]
        more = [[i] for i in range(100)]
    finally:
        gc.callbacks.remove(seen)
    # Left counted in the youngest generation, the first allocation would walk all 50,000.
    assert collections == []
    assert gc.get_freeze_count() == 0
    assert len(kept) + len(more) == 50_100


def test_a_pause_inside_a_pause_leaves_the_collector_off_until_the_outer_one_ends():
    with gcpause.paused():
        with gcpause.paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
