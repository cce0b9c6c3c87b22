"""Azure usage subscriptions: how each one named under ``azure:`` moves, and the work for it.

An **Azure plan** (``DZH318Z0BPS6``) moves by partner-to-partner transfer when it can
(issue 12; Microsoft's "Create a transfer" page covers "Azure Plan ... subscriptions" with
``targetProductTypes`` ``AzureSubscription``): under ``moveBy: transfer-first`` the target
requests a transfer from the source partner, which accepts it (``apply`` with the source's
credentials, or a person), and the Azure subscriptions land in the customer's Azure plan in
the target; usage billing moves with them ("Billing and invoicing will move to future partner
at time of transfer", Microsoft's Azure plan transfer page). The target must hold an active
Azure plan for the customer (Partner Center answers 900132/900133 otherwise): when it holds
none, the plan buys one first (product DZH318Z0BPS6 SKU 0001 through a cart, after the
invitation and the Microsoft Customer Agreement gate), which costs nothing until usage
arrives. Every transfer request from that source then waits for it, because one request per
source carries every product type (a second request while one is open is refused, 900101).

What a transfer cannot move falls back to the **support hand-off**: legacy Azure
(MS-AZR-0145P) always; an Azure plan under ``moveBy: re-provision``, from a source that also
holds legacy Azure for the customer (900131), across Partner Center regions, or when the
customer's Azure plan in the target is suspended (900132). Microsoft support moves those once
the partner names the ready customers; the plan asks for that (a gate carrying the company
name and a message for support) and then verifies the result: source suspended and target
active.

Neither route ever suspends or cancels a source Azure plan: the transfer moves the Azure
subscriptions (billing moves at the transfer date, so no day is billed twice), support moves
them otherwise. Pure: adds changes, gates, strategies and warnings to the Builder.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler import model
from reconciler.planning import actions, eligibility, markers, targets
from reconciler.planning.builder import Builder, subscription_fields
from reconciler.planning.matching import GONE

A = actions.Action
R = actions.Reason
ST = model.SubscriptionStatus
Route = actions.Route
Rejected = actions.Rejected

#: What the plan buys when the target holds no Azure plan for the customer: the Azure plan
#: product and SKU (partner-center-api.md §3.9); the availability is looked up at apply time.
AZURE_PLAN_OFFER = f"{model.AZURE_PLAN_PRODUCT}:0001"
#: Its billing cycle as the SKU lists it (``supportedBillingCycles: ["one_time"]``).
AZURE_PLAN_CYCLE = "one_time"

#: Why a support hand-off was rejected for an Azure plan that can transfer.
SUPPORT_REJECTED = Rejected(
    Route.SUPPORT,
    "a support hand-off waits on Microsoft and is checked by hand; a transfer is requested, "
    "accepted and verified by apply",
)


@dataclass(frozen=True, slots=True)
class Decision:
    """How one hand-off moves (``Route.TRANSFER`` or ``Route.SUPPORT``) and why."""

    route: actions.Route
    why: str
    rejected: tuple[actions.Rejected, ...] = ()
    #: Why a transfer that the policy wanted cannot be made (a plan warning), or "".
    problem: str = ""


def decide(b: Builder, handoff: model.AzureHandoff) -> Decision | None:
    """The route of ``handoff`` (None when its source subscription is not in its tenant)."""
    tenant = b.customer.source_of(handoff)
    source = b.source_subscription(handoff.source_subscription_id, tenant)
    if source is None:
        return None
    if source.commerce is not model.CommerceModel.AZURE_PLAN:
        return Decision(
            Route.SUPPORT,
            f"legacy Azure ({source.offer_id}): only Microsoft support moves it",
            (
                Rejected(
                    Route.TRANSFER,
                    "partner-to-partner transfers do not carry legacy Azure (Partner Center "
                    "answers 900131)",
                ),
            ),
        )
    done = _completed(b, tenant, source.id)
    if done is not None:
        return Decision(
            Route.TRANSFER,
            f"Azure plan: moved by partner-to-partner transfer {done.id} into "
            f"{b.target_name}'s Azure plan; billing moved with it",
        )
    if not b.policy.prefers_transfer:
        return Decision(
            Route.SUPPORT,
            "Azure plan under policy moveBy: re-provision: an Azure plan is not bought again; "
            "Microsoft support moves its Azure subscriptions once the customer accepted the "
            "reseller relationship",
            (Rejected(Route.TRANSFER, "the policy says moveBy: re-provision"),),
        )
    blocked = _blocked(b, tenant)
    if blocked:
        return Decision(
            Route.SUPPORT,
            f"Azure plan: a partner-to-partner transfer cannot move it: {blocked}; so Microsoft "
            "support moves its Azure subscriptions instead",
            (Rejected(Route.TRANSFER, blocked),),
            problem=blocked,
        )
    active, _ = _target_plans(b)
    into = (
        f"{b.target_name}'s Azure plan {active[0].id}"
        if active
        else f"the Azure plan this plan buys for the customer in {b.target_name} first (a "
        "transfer needs one there)"
    )
    return Decision(
        Route.TRANSFER,
        f"Azure plan under policy moveBy: {b.policy.move_by.value}: a partner-to-partner "
        f"transfer (targetProductTypes AzureSubscription) moves its Azure subscriptions into "
        f"{into}; usage billing moves with them on the transfer date, and the source Azure "
        "plan is never suspended or cancelled by this tool",
        (SUPPORT_REJECTED,),
    )


def _completed(b: Builder, tenant: str, sid: str) -> model.LiveTransfer | None:
    return next(
        (
            t
            for t in b.transfers_from_source(tenant)
            if t.status is model.TransferStatus.COMPLETED and t.names(sid)
        ),
        None,
    )


def _target_plans(
    b: Builder,
) -> tuple[list[model.LiveSubscription], list[model.LiveSubscription]]:
    """(active, other not-gone) Azure plans of the customer in the target."""
    plans = [
        s
        for s in b.target_subscriptions
        if s.commerce is model.CommerceModel.AZURE_PLAN and s.status not in GONE
    ]
    active = [s for s in plans if s.status is ST.ACTIVE]
    return active, [s for s in plans if s.status is not ST.ACTIVE]


def _blocked(b: Builder, tenant: str) -> str:
    """Why an Azure plan transfer from source ``tenant`` cannot be made, or ""."""
    view = b.source_view(tenant)
    legacy = sorted(
        s.id
        for s in (view.subscriptions if view is not None else ())
        if s.commerce is model.CommerceModel.LEGACY_AZURE and s.status is ST.ACTIVE
    )
    if legacy:
        return (
            f"the customer also holds legacy Azure in {tenant} ({', '.join(legacy)}), and "
            "Partner Center refuses an Azure plan transfer then (900131)"
        )
    source = b.consolidation.source(tenant)
    if source is not None:
        why, certain = eligibility.region_problem(source, b.consolidation.target)
        if why and certain:
            return why
    active, others = _target_plans(b)
    stuck = [s for s in others if s.status is not ST.PENDING]
    if not active and stuck:
        s = stuck[0]
        return (
            f"the customer's Azure plan {s.id} in {b.target_name} is {s.status.value} (Partner "
            "Center answers 900132 while it is not active); reactivate it there, then plan again"
        )
    return ""


def moves_by_transfer(b: Builder, handoff: model.AzureHandoff) -> bool:
    """True when ``handoff`` is an active Azure plan still to be moved by a transfer."""
    tenant = b.customer.source_of(handoff)
    source = b.source_subscription(handoff.source_subscription_id, tenant)
    decision = decide(b, handoff)
    return (
        source is not None
        and source.status is ST.ACTIVE
        and decision is not None
        and decision.route is Route.TRANSFER
        and _completed(b, tenant, source.id) is None
    )


def prepare(b: Builder) -> None:
    """Before any transfer is planned: for every source tenant an Azure plan moves from by a
    transfer, the changes that make the target's Azure plan active (bought or awaited, once
    per customer); every transfer request from that tenant waits for them."""
    for handoff in b.customer.azure:
        if b.customer.protect or handoff.protect or not moves_by_transfer(b, handoff):
            continue
        tenant = b.customer.source_of(handoff)
        if any(t.is_open(b.now) for t in b.transfers_from_source(tenant)):
            continue  # a request is open already: it is accepted, not made again
        deps = _plan_ready(b, handoff.key)
        b.transfer_deps[tenant] = tuple(dict.fromkeys((*b.transfer_deps.get(tenant, ()), *deps)))


def _plan_ready(b: Builder, key: str) -> tuple[str, ...]:
    """The change ids after which the customer has an active Azure plan in the target."""
    if b.azure_plan_deps is not None:
        return b.azure_plan_deps
    active, others = _target_plans(b)
    pending = [s for s in others if s.status is ST.PENDING]
    if active:
        deps: tuple[str, ...] = ()
    elif pending:
        p = pending[0]
        deps = (
            b.add(
                A.AWAIT_ACTIVATION,
                b.address(b.target_name, p.id, key),
                R.TARGET_PROVISIONING,
                f"the customer's Azure plan {p.id} in {b.target_name} is still provisioning; "
                "an Azure plan transfer needs it active",
                gate=actions.Gate("partner-center", "finish provisioning the Azure plan"),
                before=subscription_fields(p),
            ),
        )
    else:
        deps = (_buy(b, key),)
    b.azure_plan_deps = deps
    return deps


def _buy(b: Builder, key: str) -> str:
    c = b.customer
    after: dict[str, actions.Scalar] = {
        "offer_id": AZURE_PLAN_OFFER,
        "quantity": 1,
        "billing_cycle": AZURE_PLAN_CYCLE,
        "term_duration": None,
        "friendly_name": markers.with_marker("Azure plan", key),
        "channel": "cart",
    }
    return b.add(
        A.CREATE,
        b.address(b.target_name, key=key),
        R.NOT_IN_TARGET,
        f"{c.name} has no Azure plan in {b.target_name}, and a partner-to-partner transfer of "
        "Azure subscriptions lands in one (Partner Center answers 900133 without it): buy the "
        f"Azure plan ({AZURE_PLAN_OFFER}) through a cart first; it bills only for usage, so it "
        "costs nothing until the transferred subscriptions arrive",
        depends_on=targets.purchase_deps(b),
        after=after,
    )


def support_message(b: Builder) -> str:
    """What to send Microsoft support for this customer (naming every source tenant that
    holds one of its Azure subscriptions handed off to support)."""
    c = b.customer
    handed = [h for h in c.azure if (d := decide(b, h)) is None or d.route is Route.SUPPORT]
    held = sorted({c.source_of(h) for h in handed}) or [c.source]
    tenants = " and ".join(held)
    return (
        f"Please move the Azure subscriptions of {c.name} (tenant {c.tenant_id}, "
        f"{c.domain}) from our partner tenant{'s' if len(held) > 1 else ''} {tenants} to "
        f"{b.target_name} ({b.consolidation.target.tenant_id}); the customer accepted our "
        "reseller relationship."
    )


def record(b: Builder, handoff: model.AzureHandoff) -> None:
    """The hand-off's strategy in the plan: how it moves, why, and what was rejected."""
    tenant = b.customer.source_of(handoff)
    source = b.source_subscription(handoff.source_subscription_id, tenant)
    decision = decide(b, handoff)
    if source is None or decision is None:
        return
    b.record(tenant, source, handoff.key, decision.route, decision.why, None, decision.rejected)


def plan_handoff(
    b: Builder,
    handoff: model.AzureHandoff,
    target: model.LiveSubscription | None,
    protected: bool,
) -> None:
    """The work for one Azure subscription whose support-moved target match is ``target``:
    a transfer (planning.targets), or a support gate, a verification, a hold or a no-op."""
    tenant = b.customer.source_of(handoff)
    source = b.source_subscription(handoff.source_subscription_id, tenant)
    decision = decide(b, handoff)
    if source is not None and decision is not None and decision.route is Route.TRANSFER:
        if _by_transfer(b, handoff, source, protected):
            return
    elif (
        source is not None
        and decision is not None
        and decision.problem
        and source.status is ST.ACTIVE
    ):
        b.warn(
            "transfer-ineligible",
            f"{b.who()}: Azure plan {source.id} cannot move by partner-to-partner transfer: "
            f"{decision.problem}; it is handed off to Microsoft support instead",
        )
    _by_support(b, handoff, source, target, protected)


def _by_transfer(
    b: Builder, handoff: model.AzureHandoff, source: model.LiveSubscription, protected: bool
) -> bool:
    """Plan the transfer of an Azure plan; False when it is not for a transfer to plan (held,
    or no longer active without a completed transfer: the support rules then say it)."""
    tenant = b.customer.source_of(handoff)
    sid = source.id
    address = b.address(tenant, sid, handoff.key)
    done = _completed(b, tenant, sid)
    if done is not None:
        active, _ = _target_plans(b)
        if active:
            left = (
                f"; the emptied source Azure plan stays {source.status.value} in {tenant} (this "
                "tool never suspends it)"
                if source.status is ST.ACTIVE
                else ""
            )
            b.add(
                A.NOOP,
                address,
                R.AZURE_MOVED,
                f"Azure plan {sid} moved by transfer {done.id} into {b.target_name}'s Azure plan "
                f"{active[0].id}{left}",
                before=subscription_fields(source),
            )
        else:
            b.add(
                A.AWAIT_ACTIVATION,
                b.address(b.target_name, None, handoff.key),
                R.TARGET_PROVISIONING,
                f"transfer {done.id} completed with Azure plan {sid}; no active Azure plan of the "
                f"customer is in {b.target_name} yet",
                gate=actions.Gate("partner-center", "finish the transferred Azure subscriptions"),
            )
        return True
    if protected or source.status is not ST.ACTIVE:
        return False
    history = b.transfers_from_source(tenant)
    open_ = next((t for t in history if t.is_open(b.now)), None)
    if open_ is not None:
        targets.pending(b, source, address, open_)
        return True
    targets.request(
        b,
        handoff.key,
        source,
        address,
        depends_on=b.transfer_deps.get(tenant, ()),
        what=(
            f"the Azure subscriptions of Azure plan {sid} move from {tenant} into "
            f"{b.target_name}'s Azure plan through a partner-to-partner transfer "
            f"(targetProductTypes AzureSubscription), requested by {b.target_name}"
        ),
    )
    return True


def _by_support(
    b: Builder,
    handoff: model.AzureHandoff,
    source: model.LiveSubscription | None,
    target: model.LiveSubscription | None,
    protected: bool,
) -> None:
    """Gate, verify or no-op for a hand-off to Microsoft support."""
    tenant = b.customer.source_of(handoff)
    sid = handoff.source_subscription_id
    address = b.address(tenant, sid, handoff.key)
    target_active = target is not None and target.status is ST.ACTIVE
    if source is None or source.status is not ST.ACTIVE:
        state = "gone" if source is None else source.status.value
        if target_active:
            b.add(
                A.NOOP, address, R.AZURE_MOVED, f"Azure {sid} moved: source {state}, target active"
            )
            return
        if source is None:
            b.warn(
                "source-missing",
                f"{b.who()}: Azure subscription {sid} named at "
                f"{handoff.origin} is not in tenant {tenant}",
            )
            return
        b.warn(
            "azure-target-missing",
            f"{b.who()}: Azure {sid} is {state} in the source but "
            "no active Azure subscription is in the target; ask Microsoft support",
        )
        _verify(b, address, source, ())
        return
    if target_active:
        _verify(b, address, source, ())
        return
    if protected:
        b.add(
            A.HOLD,
            address,
            R.PROTECTED,
            f"protected by the manifest: Azure {sid} is not handed off",
            before=subscription_fields(source),
            strategy=actions.Strategy.HOLD,
        )
        return
    gid = b.add(
        A.AZURE_HANDOFF,
        address,
        R.AZURE_NOT_MOVED,
        f"ask Microsoft support to move Azure subscription {sid} ({source.offer_id})",
        depends_on=b.after_invite(),
        before=subscription_fields(source),
        gate=actions.Gate(
            "microsoft-support",
            f"move the Azure subscriptions of {b.customer.name} to {b.target_name}",
            message=support_message(b),
        ),
    )
    if b.invite_id is None:
        b.azure_ready = True
    _verify(b, address, source, (gid,))


def _verify(
    b: Builder, address: actions.Address, source: model.LiveSubscription, deps: tuple[str, ...]
) -> None:
    b.add(
        A.AZURE_VERIFY,
        address,
        R.AZURE_MOVE_IN_PROGRESS,
        f"verify that Azure {source.id} shows suspended in {address.tenant} and active in "
        f"{b.target_name}",
        depends_on=deps,
        before=subscription_fields(source),
        gate=actions.Gate("microsoft-support", "finish the move (source suspended, target active)"),
    )
