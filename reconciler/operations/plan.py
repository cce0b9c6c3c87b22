"""The plan use case: which customers, their live state, the pure planner, the saved plan."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from reconciler import errors, manifests, model
from reconciler.operations import live, planfiles
from reconciler.planning import actions, planner


@dataclass(frozen=True, slots=True)
class Selection:
    """``--customer`` (ids or names), ``--exclude-customer`` and ``--source``."""

    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    source: str | None = None


def select(state: model.DesiredState, selection: Selection) -> tuple[model.DesiredCustomer, ...]:
    """The customers in scope; a ``--source`` or ``--customer`` that names nothing is refused."""
    names = [t.name for t in state.consolidation.sources]
    if selection.source is not None and selection.source not in names:
        raise errors.UsageError(
            f"--source {selection.source}: the consolidation has no source tenant of that name "
            f"(it has: {', '.join(names)})."
        )
    chosen = planner.select_customers(
        state, include=selection.include, exclude=selection.exclude, source=selection.source
    )
    if selection.include and not chosen:
        raise errors.UsageError(
            f"--customer {', '.join(selection.include)}: no manifest customer has that tenant "
            "id or name; run `reconciler validate` to list them."
        )
    return chosen


def plan(
    paths: Sequence[Path],
    selection: Selection,
    access: live.Access,
    observer: live.Observer,
    *,
    out: Path | None = None,
    commit: str | None = None,
) -> actions.Plan:
    """Load the manifests, read the customers in scope, plan; save the plan to ``out``.

    ``commit`` (``plan --commit``, CI: the pull request's head) is recorded in the plan's
    scope, so ``check-plan`` can tell the reviewed plan from any other.
    """
    state = manifests.load(list(paths) or [Path("manifests")])
    chosen = select(state, selection)
    clients = live.connect_all(state.consolidation, access, observer)
    live_state = live.read_customers(state, clients, live.pairs(chosen), observer)
    result = planner.build_plan(
        state,
        live_state,
        now=datetime.now(UTC),
        include=selection.include,
        exclude=selection.exclude,
        source=selection.source,
    )
    if commit:
        scope = {**result.scope, "commit": commit}
        result = dataclasses.replace(result, scope=MappingProxyType(scope))
    if out is not None:
        planfiles.write_plan(result, out)
    return result
