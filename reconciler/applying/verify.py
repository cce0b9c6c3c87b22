"""The final verification of an apply: per customer, how far consolidation got according to a
fresh read (invited, target active, source stopped, Azure handed off), and the billing overlap
the run ended or left open.

Pure: desired state, live state and the step results in, rows out. It must NOT read or write
anything itself; the CLI does the reading and printing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from reconciler import model
from reconciler.applying import steps
from reconciler.planning import actions, customer

A = actions.Action
_STOPPED = frozenset(
    {
        model.SubscriptionStatus.SUSPENDED,
        model.SubscriptionStatus.DELETED,
        model.SubscriptionStatus.EXPIRED,
        model.SubscriptionStatus.DISABLED,
    }
)


@dataclass(frozen=True, slots=True)
class CustomerState:
    """One customer after the run. ``None`` means "could not be read"."""

    tenant_id: str
    name: str
    invited: bool | None
    target_active: str
    source_stopped: str
    azure_handed_off: str


def _fraction(done: int, total: int) -> str:
    return "-" if total == 0 else f"{done}/{total}"


def _target_done(
    c: model.DesiredCustomer, view: model.CustomerView, consolidation: model.Consolidation
) -> int:
    """Entries whose target subscription, found by the plan's own matching rules, is active
    with at least the wanted seats."""
    found = customer.matched_targets(c, consolidation, view)
    return sum(
        1
        for ds in c.subscriptions
        if (s := found.get(ds.key)) is not None
        and s.status is model.SubscriptionStatus.ACTIVE
        and s.quantity >= ds.quantity
    )


def customer_state(
    c: model.DesiredCustomer, live: model.LiveState, consolidation: model.Consolidation
) -> CustomerState:
    """How far ``c`` is, read from ``live`` (a fresh read after the run)."""
    tv = live.view(consolidation.target.name)
    t = tv.customer(c.tenant_id) if tv else None
    invited: bool | None = None
    if t is not None and t.status is not model.ReadStatus.UNKNOWN:
        invited = t.status is model.ReadStatus.OK
    target_active = "?"
    if t is not None and t.status is model.ReadStatus.OK:
        target_active = _fraction(_target_done(c, t, consolidation), len(c.subscriptions))
    elif invited is False:
        target_active = _fraction(0, len(c.subscriptions))
    stopped = azure = "?"
    # A customer held in several sources: each subscription is looked up in its own.
    views = {}
    for name in c.sources:
        sv = live.view(name)
        views[name] = sv.customer(c.tenant_id) if sv else None
    if all(v is not None and v.status is model.ReadStatus.OK for v in views.values()):
        wanted = [
            (c.source_of(r), r.subscription_id)
            for ds in c.subscriptions
            for r in ds.replaces
            if r.becomes is not model.SourceStrategy.KEPT
        ]
        stopped = _fraction(sum(1 for at in wanted if _gone(views, *at)), len(wanted))
        az = [(c.source_of(a), a.source_subscription_id) for a in c.azure]
        # An Azure plan moved by transfer may leave its emptied plan active in the source:
        # a completed transfer naming it counts as moved.
        moved = _transferred(t)
        azure = _fraction(sum(1 for at in az if _gone(views, *at) or at[1] in moved), len(az))
    return CustomerState(c.tenant_id, c.name, invited, target_active, stopped, azure)


def _transferred(target: model.CustomerView | None) -> set[str]:
    """Source subscription ids named by a completed transfer as the target reads them."""
    return {
        line.source_subscription_id
        for t in (target.transfers or () if target is not None else ())
        if t.status is model.TransferStatus.COMPLETED
        for line in t.lines
    }


def _gone(views: Mapping[str, model.CustomerView | None], tenant: str, sid: str) -> bool:
    view = views.get(tenant)
    sub = view.subscription(sid) if view is not None else None
    return sub is None or sub.status in _STOPPED


def states(
    desired: model.DesiredState, live: model.LiveState, customers: Collection[str]
) -> list[CustomerState]:
    """``customer_state`` for every desired customer whose tenant id is in ``customers``."""
    cons = desired.consolidation
    return [customer_state(c, live, cons) for c in desired.customers if c.tenant_id in customers]


def overlap_lines(results: Sequence[steps.StepResult]) -> list[str]:
    """One sentence per step that ended or opened a billing overlap."""
    out = []
    by_id = {r.change.id: r for r in results}
    for r in results:
        c = r.change
        ov = c.overlap
        if c.action in (A.SUSPEND, A.CANCEL) and r.outcome is steps.Outcome.SUCCEEDED:
            days = "same day" if ov is None or ov.days in (None, 0) else f"{ov.days} days"
            note = f" ({ov.note})" if ov is not None and ov.note else ""
            out.append(f"ended: {c.address} {c.action.value}; overlap {days}{note}")
        elif c.action is A.DISABLE_AUTO_RENEW and r.outcome is steps.Outcome.SUCCEEDED:
            note = ov.note if ov is not None else "billing continues until the term ends"
            out.append(f"runs to term end: {c.address}: {note}")
        elif c.action is A.CREATE and (r.outcome is not steps.Outcome.SUCCEEDED or not r.active):
            continue
        elif c.action in (A.SUSPEND, A.CANCEL) and r.outcome is not steps.Outcome.SUCCEEDED:
            ready = all(
                d.outcome is steps.Outcome.SUCCEEDED and d.active
                for d in (by_id[i] for i in c.depends_on if i in by_id)
            )
            where = "next to its replacement" if ready else "(its replacement is not active yet)"
            out.append(
                f"open: {c.address} still bills {where}; run `reconciler apply` again once the "
                "reason above is resolved"
            )
    return out


def render(rows: Sequence[CustomerState]) -> str:
    """A fixed-width table of ``rows`` (``?`` = could not be read, ``-`` = nothing to do)."""
    head = ("customer", "invited", "target active", "source stopped", "azure handed off")
    table = [head] + [
        (
            f"{r.name} ({r.tenant_id})",
            "?" if r.invited is None else ("yes" if r.invited else "no"),
            r.target_active,
            r.source_stopped,
            r.azure_handed_off,
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    return (
        "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in table
        )
        + "\n"
    )
