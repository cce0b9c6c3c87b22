"""The shape of the plan document (format version 2, docs/plan-format.md §8) that its writer
(``planning.planfile``) and its reader (``planning.planread``) share: the snapshot's fields
and their defaults, a change's ``before`` as the snapshot holds it, and what groups the
strategies' shared explanations. Values only; no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.planning import actions

#: The document's ``format``.
FORMAT = "reconciler-plan"

#: A snapshot's subscription and transfer fields (``planning.staleness``), in their order.
SUB_FIELDS = (
    "offer",
    "friendly_name",
    "quantity",
    "status",
    "auto_renew",
    "term_end",
    "cancellable_until",
    "refundable",
    "entitlement",
)
TRANSFER_FIELDS = ("status", "source_partner", "target_partner", "expires", "lines")
#: Fields whose default is ``[]``; every other field of an item defaults to ``null``.
LIST_FIELDS = frozenset({"refundable", "lines"})
#: A tenant's view read as ``ok`` holds these maps (id -> item), ``{}`` by default.
KINDS = {"subscriptions": SUB_FIELDS, "transfers": TRANSFER_FIELDS}


def before_of(sid: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """The ``before`` of a change to subscription ``sid``, from its snapshot ``item``
    (``planning.builder.subscription_fields``, in that order)."""
    return {
        "subscription_id": sid,
        "offer_id": item.get("offer"),
        "friendly_name": item.get("friendly_name"),
        "quantity": item.get("quantity"),
        "status": item.get("status"),
        "auto_renew": item.get("auto_renew"),
    }


#: ``before`` written as this string: the fields of the change's subscription in the
#: customer's snapshot (its tenant, its ``subscription_id``).
BEFORE_FROM_SNAPSHOT = "snapshot"


def snapshot_item(
    snapshot: Mapping[str, Any] | None, tenant: str, sid: str | None
) -> Mapping[str, Any] | None:
    if snapshot is None or sid is None:
        return None
    view = snapshot.get(tenant)
    subs = view.get("subscriptions") if isinstance(view, Mapping) else None
    item = subs.get(sid) if isinstance(subs, Mapping) else None
    return item if isinstance(item, Mapping) else None


#: What ``explanations`` groups strategies by: commerce, route and action.
Kind = tuple[str, str, str | None]
#: A strategy's explanation: its ``why`` and its rejected routes.
Why = tuple[str, tuple[actions.Rejected, ...]]
