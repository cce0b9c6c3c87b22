"""``paused()``: pause Python's cyclic garbage collector around allocation-heavy pure work.

Building or (de)serialising a plan creates a few objects per subscription and no reference
cycles. Left on, the cyclic collector re-walks every live object (the whole live state and
plan) again and again; at 50,000 subscriptions that was 40-80% of the CPU. Reference counting
still frees memory while paused. Nothing else here: no I/O, no global state beyond the
collector's switch and generations, which are restored on exit.

Everything allocated while paused is counted in the youngest generation, so re-enabling the
collector as it is makes the very next allocation walk all of it at once (0.6 s at 50,000
subscriptions, four times that at 200,000). On exit the survivors are moved to the oldest
generation instead (``gc.freeze`` then ``gc.unfreeze``), where Python's next full collection
looks at them, as it would at any long-lived data; nothing becomes uncollectable.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Disable the cyclic collector for the block; re-enable it after if it was on, with what
    the block allocated moved to the oldest generation."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()
            gc.unfreeze()
