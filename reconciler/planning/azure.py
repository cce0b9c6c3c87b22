"""Azure hand-offs: Azure usage subscriptions are never created or suspended by us. Microsoft
support moves them once the partner names the ready customers; the plan asks for that
(a gate carrying the company name and a message for support) and then verifies the result:
source suspended and target active.

Pure: adds gates, no-ops and warnings to the Builder.
"""

from __future__ import annotations

from reconciler import model
from reconciler.planning import actions
from reconciler.planning.builder import Builder, subscription_fields

A = actions.Action
R = actions.Reason
ST = model.SubscriptionStatus


def support_message(b: Builder) -> str:
    """What to send Microsoft support for this customer (naming every source tenant that
    holds one of its Azure subscriptions)."""
    c = b.customer
    held = sorted({c.source_of(h) for h in c.azure}) or [c.source]
    tenants = " and ".join(held)
    return (
        f"Please move the Azure subscriptions of {c.name} (tenant {c.tenant_id}, "
        f"{c.domain}) from our partner tenant{'s' if len(held) > 1 else ''} {tenants} to "
        f"{b.target_name} ({b.consolidation.target.tenant_id}); the customer accepted our "
        "reseller relationship."
    )


def record(b: Builder, handoff: model.AzureHandoff) -> None:
    """The hand-off's strategy in the plan: Microsoft support moves it, and why."""
    tenant = b.customer.source_of(handoff)
    source = b.source_subscription(handoff.source_subscription_id, tenant)
    if source is None:
        return
    if source.commerce is model.CommerceModel.AZURE_PLAN:
        why = (
            "Azure plan: Microsoft support moves its Azure subscriptions once the customer "
            "accepted the reseller relationship"
        )
        rejected = actions.Rejected(actions.Route.TRANSFER, _azure_plan_transfer(b, tenant))
    else:
        why = f"legacy Azure ({source.offer_id}): only Microsoft support moves it"
        rejected = actions.Rejected(
            actions.Route.TRANSFER,
            "partner-to-partner transfers do not carry legacy Azure (Partner Center answers "
            "900131)",
        )
    b.record(tenant, source, handoff.key, actions.Route.SUPPORT, why, None, (rejected,))


def _azure_plan_transfer(b: Builder, tenant: str) -> str:
    """Why an Azure plan is not moved by partner-to-partner transfer here, with what Partner
    Center would need (partner-center-api.md section 0 and §3.10)."""
    plans = [
        s.id
        for s in b.target_subscriptions
        if s.commerce is model.CommerceModel.AZURE_PLAN and s.status is ST.ACTIVE
    ]
    view = b.source_view(tenant)
    legacy = [
        s.id
        for s in (view.subscriptions if view is not None else ())
        if s.commerce is model.CommerceModel.LEGACY_AZURE and s.status is ST.ACTIVE
    ]
    what = "a partner-to-partner transfer of its Azure subscriptions (targetProductTypes "
    what += "AzureSubscription)"
    if legacy:
        return (
            f"{what} is refused while the customer holds legacy Azure in {tenant} "
            f"({', '.join(legacy)}; Partner Center answers 900131)"
        )
    if not plans:
        return (
            f"{what} needs an active Azure plan of the customer in {b.target_name}, which it "
            "does not hold (Partner Center answers 900132/900133); buy one there to make the "
            "transfer possible"
        )
    return (
        f"{what} is possible ({b.target_name} holds the customer's Azure plan "
        f"{', '.join(plans)}), but this version does not plan Azure plan transfers yet"
    )


def plan_handoff(
    b: Builder,
    handoff: model.AzureHandoff,
    target: model.LiveSubscription | None,
    protected: bool,
) -> None:
    """Gate, verify or no-op for one hand-off whose target match is ``target``."""
    tenant = b.customer.source_of(handoff)
    source = b.source_subscription(handoff.source_subscription_id, tenant)
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
