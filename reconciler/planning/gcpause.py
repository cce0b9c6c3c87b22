"""``paused()``: pause Python's cyclic garbage collector around allocation-heavy pure work.

Building or (de)serialising a plan creates a few objects per subscription and no reference
cycles. Left on, the cyclic collector re-walks every live object (the whole live state and
plan) again and again; at 50,000 subscriptions that was 40-80% of the CPU. Reference counting
still frees memory while paused. Nothing else here: no I/O, no global state beyond the
collector's on/off switch, which is restored on exit.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Disable the cyclic collector for the block; re-enable it after if it was on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
