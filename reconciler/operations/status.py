"""The status use case: how far each customer's consolidation got, read fresh (read-only).

The same table ``apply`` ends with (``applying.verify``): invited, target subscriptions active
with their seats (found by the plan's own matching rules), source subscriptions stopped, Azure
handed off. It must NOT plan or write anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reconciler import manifests
from reconciler.applying import verify
from reconciler.operations import live
from reconciler.operations import plan as planning


def status(
    paths: Sequence[Path],
    selection: planning.Selection,
    access: live.Access,
    observer: live.Observer,
) -> list[verify.CustomerState]:
    """One row per customer in scope, from a fresh read of every tenant involved."""
    state = manifests.load(list(paths) or [Path("manifests")])
    chosen = planning.select(state, selection)
    clients = live.connect_all(state.consolidation, access, observer)
    after = live.read_customers(state, clients, live.pairs(chosen), observer)
    return verify.states(state, after, {c.tenant_id for c in chosen})
