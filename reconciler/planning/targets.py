"""Target-side planning for one desired subscription: create it (or have it arrive by
transfer), reactivate it, resize it, wait for its activation, or leave it alone; and say what
it will look like afterwards (``Outlook``) so source-side rules can be checked against it.

Pure: reads the Builder's context, adds changes and warnings to it. Never touches sources
(except naming them in a transfer request) and never decides a source subscription's fate.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler import model
from reconciler.planning import actions, billing, markers, products
from reconciler.planning.builder import Builder, Outlook, subscription_fields
from reconciler.planning.matching import GONE, Match
from reconciler.planning.strategy import Strategy

A = actions.Action
#: ``actions.Address(...)``: its faster constructor (once per change).
_new_address = actions.new_address
R = actions.Reason
# The enum members used once or more per subscription, as module globals: reading a member off
# its class (``A.CREATE``) costs about 80 ns on Python 3.11, a global about 5 ns (speed).
_CREATE, _TRANSFER, _ACCEPT, _ACCEPT_TRANSFER, _NOOP = (
    A.CREATE,
    A.TRANSFER,
    A.ACCEPT,
    A.ACCEPT_TRANSFER,
    A.NOOP,
)
_NOT_IN_TARGET, _ARRIVES_BY_TRANSFER, _PENDING_ACCEPTANCE, _IN_SYNC = (
    R.NOT_IN_TARGET,
    R.ARRIVES_BY_TRANSFER,
    R.TRANSFER_PENDING_ACCEPTANCE,
    R.IN_SYNC,
)
_NCE = model.CommerceModel.NCE_LICENSE
_ACTIVE = model.SubscriptionStatus.ACTIVE
_BY_APPLY = model.TransferAcceptance.APPLY
_BY_TRANSFER = Strategy.TRANSFER


def _friendly(ds: model.DesiredSubscription, b: Builder) -> str:
    offer = b.consolidation.offers.get(ds.offer_alias or "") if ds.offer_alias else None
    name = ds.friendly_name or (offer.name if offer else "") or ds.key
    return markers.with_marker(name, ds.key)


def _held(b: Builder, ds: model.DesiredSubscription) -> list[model.LiveSubscription]:
    """Target subscriptions of the customer that are ``ds``'s product (any offer of its family,
    any term or cycle) and still exist."""
    return [
        s
        for s in b.target_subscriptions
        if s.status not in GONE
        and not s.commerce.is_azure
        and b.families.same_product(s.offer_id, ds.offer_id)
    ]


def _agreement_gate(b: Builder) -> tuple[str, ...]:
    """What the customer's purchases wait for about the Microsoft Customer Agreement (planned
    once per customer): when its acceptance is not confirmed in the target and the manifest
    records it (``customerAgreement``), a ``record-agreement`` write; not confirmed without a
    record, or unreadable (never taken as either answer), a ``confirm-agreement`` gate with
    the steps. Nothing when confirmed or not read at all (no relationship yet: the invitation
    comes first, and the next plan reads it)."""
    if b.agreement is True or (b.agreement is None and not b.agreement_reason):
        return ()
    if b.agreement_id is not None:
        return (b.agreement_id,)
    record = b.customer.agreement
    where = b.customer.origin.file
    if b.agreement is False and record is not None:
        b.agreement_id = b.add(
            A.RECORD_AGREEMENT,
            b.address(b.target_name),
            R.AGREEMENT_IN_MANIFEST,
            f"{b.customer.name} has no confirmed acceptance of the Microsoft Customer "
            f"Agreement in {b.target_name}; record the acceptance by {record.first_name} "
            f"{record.last_name} on {record.date_agreed} that {record.origin} gives "
            "(POST /v1/customers/{id}/agreements, App+User) before the first purchase",
            depends_on=b.after_invite(),
            after={
                "first_name": record.first_name,
                "last_name": record.last_name,
                "email": record.email,
                "phone_number": record.phone_number,
                "date_agreed": record.date_agreed,
            },
        )
        return (b.agreement_id,)
    login = f"`reconciler login {b.target_name}`"
    if b.agreement is False:
        reason = R.AGREEMENT_NOT_ACCEPTED
        detail = (
            f"{b.customer.name} has no confirmed acceptance of the Microsoft Customer "
            f"Agreement in {b.target_name}; new-commerce purchases are refused without it "
            "(403 13605)"
        )
        steps = (
            "if the customer has accepted the Microsoft Customer Agreement, record who "
            f"accepted it and when under `customerAgreement` in {where} (acceptedBy: "
            "firstName, lastName, email; dateAgreed) and apply confirms it in Partner Center "
            f"(App+User: {login}); or confirm it yourself in Partner Center (Customers > the "
            "customer > Account); if the customer has not accepted it, have them accept it "
            "first"
        )
    else:
        reason = R.AGREEMENT_UNKNOWN
        detail = (
            f"whether {b.customer.name} accepted the Microsoft Customer Agreement in "
            f"{b.target_name} could not be read ({b.agreement_reason}); nothing is bought "
            "until a plan reads it"
        )
        steps = (
            "make the agreement readable and plan again: Partner Center answers it only to a "
            f"signed-in user (App+User), so run {login} if no user is signed in, then "
            "`reconciler plan`"
        )
        b.warn("agreement-unknown", f"{b.who()}: {detail}")
    b.agreement_id = b.add(
        A.CONFIRM_AGREEMENT,
        b.address(b.target_name),
        reason,
        detail,
        depends_on=b.after_invite(),
        gate=actions.Gate("customer", steps),
    )
    return (b.agreement_id,)


def purchase_deps(b: Builder) -> tuple[str, ...]:
    """What every purchase for the customer in the target waits for: the invitation and the
    Microsoft Customer Agreement gates (when planned)."""
    return b.after_invite(*_agreement_gate(b))


def _create(b: Builder, ds: model.DesiredSubscription) -> Outlook:
    held = _held(b, ds) if b.target_subscriptions else ()  # speed: most hold nothing yet
    if held:
        why = (
            "the manifest says adopt: never"
            if not ds.adopt_existing
            else "each already serves another entry of this customer"
        )
        b.warn(
            "buys-held-product",
            f"{b.who()}: the plan buys {ds.offer_id} for {ds.key} although the customer already "
            f"holds that product in {b.target_name} ({', '.join(s.id for s in held)}): {why}",
        )
    c = b.customer
    # Speed (once per create): ``purchase_deps(b)`` without its calls when no agreement gate
    # is planned or to be planned (confirmed, or not read at all).
    agreement = b.agreement
    if agreement is True or (agreement is None and not b.agreement_reason):
        deps: tuple[str, ...] = (b.invite_id,) if b.invite_id else ()
    else:
        deps = purchase_deps(b)
    # ``_friendly(ds, b)``, inline for speed.
    alias = ds.offer_alias
    offer = b.consolidation.offers.get(alias) if alias else None
    name = ds.friendly_name or (offer.name if offer else "") or ds.key
    origin = ds.origin
    if ds.commerce is _NCE:
        channel, through = "cart", "a cart"
    else:
        channel, through = "order", "an order"
    cid = b.add(
        _CREATE,
        # ``b.address(b.target_name, key=ds.key)``, built directly (speed).
        _new_address(b.target_name, c.tenant_id, c.name, None, ds.key),
        _NOT_IN_TARGET,
        # ``{origin.file}:{origin.line}`` is ``str(origin)`` without the call (speed).
        f"no target subscription matches {ds.key} ({origin.file}:{origin.line}); order "
        f"{ds.quantity} seats of {ds.offer_id} through {through}",
        depends_on=deps,
        after={
            "offer_id": ds.offer_id,
            "quantity": ds.quantity,
            "billing_cycle": ds.billing_cycle,
            "term_duration": ds.term_duration,
            "friendly_name": markers.with_marker(name, ds.key),
            "channel": channel,
        },
    )
    return Outlook(True, ds.quantity, (cid,), b.now)


def _accept_gate(
    b: Builder,
    s: model.LiveSubscription,
    address: actions.Address,
    detail: str,
    *,
    depends_on: tuple[str, ...] = (),
    deadlines: tuple[actions.Deadline, ...] = (),
    before: dict[str, actions.Scalar] | None = None,
) -> str:
    """``before``: ``subscription_fields(s)`` when the caller has it already."""
    return b.add(
        _ACCEPT_TRANSFER,
        address,
        _PENDING_ACCEPTANCE,
        detail,
        depends_on=depends_on,
        gate=actions.Gate(
            "source-partner",
            f"accept the transfer request in tenant {address.tenant} "
            "(Partner Center > Customers > Transfers)",
        ),
        before=before if before is not None else subscription_fields(s),
        deadlines=deadlines,
    )


def _by_apply(b: Builder) -> bool:
    return b.consolidation.policy.transfer_acceptance is _BY_APPLY


def _accept(
    b: Builder,
    s: model.LiveSubscription,
    address: actions.Address,
    detail: str,
    *,
    transfer_id: str | None = None,
    depends_on: tuple[str, ...] = (),
    before: dict[str, actions.Scalar] | None = None,
) -> str:
    """``apply`` accepts the request on the source (``transferAcceptance: apply``);
    ``before``: ``subscription_fields(s)`` when the caller has it already."""
    return b.add(
        _ACCEPT,
        address,
        _PENDING_ACCEPTANCE,
        detail,
        depends_on=depends_on,
        before=before if before is not None else subscription_fields(s),
        after={"transfer_id": transfer_id} if transfer_id else None,
    )


def pending(
    b: Builder, s: model.LiveSubscription, address: actions.Address, t: model.LiveTransfer
) -> str:
    """Only the acceptance (by apply, or a gate): a request is already open, and a second one
    would be a duplicate (rule 2 in spirit; Partner Center answers 409 900101 at best)."""
    since = f" on {t.created_at.date().isoformat()}" if t.created_at else ""
    if t.names(s.id):
        return b.add(
            A.AWAIT_ACTIVATION,
            b.address(b.target_name, None, address.key),
            R.TARGET_PROVISIONING,
            f"transfer {t.id} was accepted with {s.id} and is being carried out",
            gate=actions.Gate("partner-center", "finish the accepted transfer"),
            after={"quantity": s.quantity},
        )
    if not t.lines and _by_apply(b):
        return _accept(
            b,
            s,
            address,
            f"accept transfer {t.id} (requested{since}) in {address.tenant} with {s.id} "
            f"({s.quantity} seats), then verify its target subscription",
            transfer_id=t.id,
        )
    if t.may_carry(s.id):
        detail = (
            f"transfer {t.id} (requested{since}) waits for the source partner "
            f"{address.tenant} to accept it with {s.id}"
        )
    else:
        detail = (
            f"transfer {t.id} from {address.tenant} is still being carried out without "
            f"{s.id}; a request for it can follow once that one is over"
        )
    found = list(billing.deadlines(s, None, b.now))
    if t.expires_at is not None:
        found.append(
            actions.Deadline("transfer-expiry", t.expires_at, "the pending request lapses")
        )
    return _accept_gate(
        b, s, address, detail=detail, deadlines=tuple(sorted(found, key=lambda d: d.at))
    )


def request(
    b: Builder,
    key: str,
    s: model.LiveSubscription,
    address: actions.Address,
    *,
    depends_on: tuple[str, ...] = (),
    what: str = "",
) -> str:
    """A new TRANSFER of source ``s`` for manifest entry ``key`` (and its acceptance or gate),
    after ``depends_on``; says so when an earlier request for it has ended. ``what`` words the
    change ("{key} arrives through ..." by default)."""
    ended = (
        next(
            (
                t
                for t in b.transfers_from_source(address.tenant)
                if t.status.ended and t.may_carry(s.id)
            ),
            None,
        )
        if b.transfers  # speed: no request read, none ended
        else None
    )
    reason, why = _ARRIVES_BY_TRANSFER, ""
    if ended is not None:
        when = ended.expires_at if ended.status is model.TransferStatus.EXPIRED else None
        on = f" on {when.date().isoformat()}" if when else ""
        reason = R.PREVIOUS_TRANSFER_ENDED
        why = f"; the previous request {ended.id} {ended.status.value}{on}, so it is asked again"
    # One before-image for the request and its acceptance (read-only once recorded).
    before = subscription_fields(s)
    tid = b.add(
        _TRANSFER,
        address,
        reason,
        (
            what
            or f"{key} arrives through a partner-to-partner transfer of {s.id} "
            f"({s.quantity} seats) from {address.tenant}, requested by {b.target_name}"
        )
        + why,
        # ``b.after_invite(*depends_on)``, inline for speed (once per request).
        depends_on=(b.invite_id, *depends_on) if b.invite_id else depends_on,
        before=before,
        after={"target_tenant": b.target_name, "quantity": s.quantity},
        strategy=_BY_TRANSFER,
        overlap=billing.overlap(_BY_TRANSFER, s, b.now, b.now),
        deadlines=billing.deadlines(s, _BY_TRANSFER, b.now),
    )
    # ``_by_apply(b)``, then ``_accept`` or ``_accept_gate``, inline for speed (once per
    # request; keep the three in step).
    if b.policy.transfer_acceptance is _BY_APPLY:
        return b.add(
            _ACCEPT,
            address,
            _PENDING_ACCEPTANCE,
            f"accept the transfer in {address.tenant} with {s.id} ({s.quantity} seats), then "
            "verify its target subscription",
            depends_on=(tid,),
            before=before,
        )
    return b.add(
        _ACCEPT_TRANSFER,
        address,
        _PENDING_ACCEPTANCE,
        f"the source partner {address.tenant} must accept the transfer of {s.id}",
        depends_on=(tid,),
        gate=actions.Gate(
            "source-partner",
            f"accept the transfer request in tenant {address.tenant} "
            "(Partner Center > Customers > Transfers)",
        ),
        before=before,
    )


def _arrived(t: model.LiveTransfer, source_id: str) -> str | None:
    return next(
        (ln.target_subscription_id for ln in t.lines if ln.source_subscription_id == source_id),
        None,
    )


def _transfer(
    b: Builder,
    ds: model.DesiredSubscription,
    sources: Sequence[model.LiveSubscription],
    protected: bool,
) -> Outlook:
    if protected:
        return Outlook(False, 0, (), None, "its transfer is held by a protect flag")
    gates: list[str] = []
    quantity = 0
    # Speed: a customer held in one source has every subscription there (``tenant_of``).
    c = b.customer
    single = c.source if len(b.sources) == 1 else None
    for s in sources:
        quantity += s.quantity
        # A customer held in several sources: each subscription moves from its own tenant.
        tenant = single if single is not None else b.tenant_of(s.id)
        # ``b.address(tenant, s.id, ds.key)``, built directly (speed).
        address = _new_address(tenant, c.tenant_id, c.name, s.id, ds.key)
        # Speed: no request read for the customer, no history to look through.
        history = b.transfers_from_source(tenant) if b.transfers else []
        open_: model.LiveTransfer | None = None
        done: model.LiveTransfer | None = None
        if history:
            open_ = next((t for t in history if t.is_open(b.now)), None)
            done = next(
                (
                    t
                    for t in history
                    if t.status is model.TransferStatus.COMPLETED and t.names(s.id)
                ),
                None,
            )
        if done is not None:
            gates.append(
                b.add(
                    A.AWAIT_ACTIVATION,
                    b.address(b.target_name, _arrived(done, s.id), ds.key),
                    R.TARGET_PROVISIONING,
                    f"transfer {done.id} completed with {s.id}; its subscription is not in "
                    f"{b.target_name} yet",
                    gate=actions.Gate("partner-center", "finish the transferred subscription"),
                    after={"quantity": s.quantity},
                )
            )
        elif open_ is not None:
            gates.append(pending(b, s, address, open_))
        else:
            gates.append(request(b, ds.key, s, address, depends_on=b.transfer_deps.get(tenant, ())))
        if s.commerce is not _NCE:
            b.warn(
                "transfer-legacy",
                f"{b.who()}: {s.id} is not new commerce; partner-to-partner transfer of "
                "legacy subscriptions uses the legacy transfer process",
            )
    return Outlook(True, quantity, tuple(gates), b.now)


def _resize(b: Builder, ds: model.DesiredSubscription, t: model.LiveSubscription) -> bool:
    """Whether a resize from ``t.quantity`` to ``ds.quantity`` is possible now (warns if not)."""
    if ds.quantity >= t.quantity or t.commerce is not model.CommerceModel.NCE_LICENSE:
        return True
    reducible = sum(r.quantity for r in t.refundable if r.allowed_until > b.now)
    if t.quantity - ds.quantity <= reducible:
        return True
    b.warn(
        "seat-reduction-blocked",
        f"{b.who()}: {ds.key} wants {ds.quantity} seats but target subscription {t.id} has "
        f"{t.quantity} and only {reducible} can still be reduced inside their 7-day window; "
        "lower the seats at renewal instead",
    )
    return False


def _until_active(
    b: Builder,
    t: model.LiveSubscription,
    address: actions.Address,
    before: dict[str, actions.Scalar],
) -> list[str] | None:
    """The change ids that make target ``t`` active (none when it is), or None when no
    planned step can (deleted, expired, ...)."""
    if t.status is model.SubscriptionStatus.ACTIVE:
        return []
    if t.status is model.SubscriptionStatus.PENDING:
        gate = actions.Gate("partner-center", "finish provisioning the subscription")
        detail = f"target subscription {t.id} is still provisioning"
        return [
            b.add(
                A.AWAIT_ACTIVATION, address, R.TARGET_PROVISIONING, detail, gate=gate, before=before
            )
        ]
    if t.status is model.SubscriptionStatus.SUSPENDED:
        b.warn("drift-suspended", f"{b.who()}: target subscription {t.id} is suspended")
        return [
            b.add(
                A.REACTIVATE,
                address,
                R.TARGET_SUSPENDED,
                f"target subscription {t.id} is suspended; the manifest wants it active",
                before=before,
                after={"status": "active"},
            )
        ]
    return None


def _adoption(
    b: Builder, ds: model.DesiredSubscription, t: model.LiveSubscription, other_offer: bool
) -> str:
    """Words that explain adopting ``t`` (same product, other offer/term/cycle) for ``ds``, and
    warnings for what can only change at renewal; ``""`` when ``t`` is exactly what is wanted.
    ``other_offer``: ``t`` is another product key of ``ds``'s family
    (``Families.is_replaced_offer``)."""
    words = ""
    if other_offer:
        kind = "legacy offer" if t.commerce is model.CommerceModel.LEGACY_LICENSE else "offer"
        offer = b.consolidation.offers.get(ds.offer_alias or "")
        named = t.offer_name if t.offer_name.upper() != t.offer_id.upper() else ""
        name = named or (offer.name if offer else "") or t.friendly_name or t.offer_id
        words = f"adopted existing {name} ({kind} {t.offer_id}) {t.id} instead of buying; "
        b.warn(
            "adopted-other-offer",
            f"{b.who()}: {ds.key} wants {ds.offer_id} and the customer already holds {name} "
            f"({kind} {t.offer_id}) as {t.id} in {b.target_name}; the plan adopts it instead of "
            "buying a second one (set adopt: never on the entry to buy anew)",
        )
    if (
        not ds.term_duration
        or not t.term_duration
        or (
            ds.term_duration == t.term_duration
            and ds.billing_cycle.lower() == t.billing_cycle.lower()
        )
    ):
        return words
    wanted = (ds.term_duration, ds.billing_cycle.lower())
    held = (t.term_duration, t.billing_cycle.lower())
    if wanted != held:
        words = words or f"adopted existing {t.id} ({held[0]}, {held[1]}) instead of buying; "
        b.warn(
            "adopted-other-term",
            f"{b.who()}: target subscription {t.id} serves {ds.key} on term {held[0]} billed "
            f"{held[1]}; the manifest wants {wanted[0]} billed {wanted[1]}, which Partner Center "
            "changes only at renewal (schedule the change on the subscription); nothing is "
            "bought anew",
        )
    return words


def plan_existing(b: Builder, ds: model.DesiredSubscription, t: model.LiveSubscription) -> Outlook:
    """Changes for a matched target subscription ``t``."""
    c = b.customer
    # ``b.address(b.target_name, t.id, ds.key)``, built directly (speed).
    address = _new_address(b.target_name, c.tenant_id, c.name, t.id, ds.key)
    before = subscription_fields(t)
    # Product keys compared once for both questions (same product? another offer of it?).
    held_key, wanted_key = products.product_key(t.offer_id), products.product_key(ds.offer_id)
    other_offer = held_key != wanted_key
    if other_offer and not b.families.same_keys(held_key, wanted_key):
        b.warn(
            "offer-mismatch",
            f"{b.who()}: target subscription {t.id} matched {ds.key} but is another product "
            f"(offer {t.offer_id}, not {ds.offer_id}); offers can't be changed in place, so "
            "nothing is planned for it",
        )
        return Outlook(False, t.quantity, (), t.creation_date, "its offer differs")
    # Speed: the same offer on the same term and cycle (the usual case) needs no words.
    if (
        other_offer
        or ds.term_duration != t.term_duration
        or (
            ds.term_duration
            and ds.billing_cycle != t.billing_cycle
            and ds.billing_cycle.lower() != t.billing_cycle.lower()
        )
    ):
        adopted = _adoption(b, ds, t, other_offer)
    else:
        adopted = ""
    # Speed: an active target needs no step to become active (``_until_active``).
    active = t.status is _ACTIVE
    deps = [] if active else _until_active(b, t, address, before)
    if deps is None:
        b.warn(
            "target-status",
            f"{b.who()}: target subscription {t.id} has status {t.status.value}; nothing "
            "that depends on it is planned",
        )
        return Outlook(False, t.quantity, (), t.creation_date, f"it is {t.status.value}")
    quantity = t.quantity
    if t.quantity != ds.quantity:
        b.warn(
            "drift-quantity",
            f"{b.who()}: target subscription {t.id} has {t.quantity} seats, the manifest "
            f"({ds.origin}) says {ds.quantity}",
        )
        if _resize(b, ds, t):
            deps.append(
                b.add(
                    A.RESIZE,
                    address,
                    R.QUANTITY_DIFFERS,
                    f"{adopted}set {ds.key} from {t.quantity} to {ds.quantity} seats",
                    depends_on=tuple(deps),
                    before=before,
                    after={"quantity": ds.quantity},
                )
            )
            quantity = ds.quantity
    if not deps:
        b.add(
            _NOOP, address, _IN_SYNC, f"{adopted}{ds.key} is as the manifest wants", before=before
        )
    return Outlook(True, quantity, tuple(deps), t.creation_date or b.now)


def plan_target(
    b: Builder,
    match: Match,
    transfers: Sequence[model.LiveSubscription],
    protected: bool,
) -> Outlook:
    """Plan the target side of ``match``; ``transfers`` are source subscriptions that move by
    partner-to-partner transfer instead of a create."""
    ds = match.desired
    if match.live is not None:
        return plan_existing(b, ds, match.live)
    if transfers:
        return _transfer(b, ds, transfers, protected)
    return _create(b, ds)


#: ``plan_target``'s three cases by name, for planning.customer, which dispatches each entry
#: itself (one call less per entry: speed).
create, transfer = _create, _transfer
