"""Schema-valid documents -> ``model.DesiredState``, checking the rules that span documents.

Cross-file rules: exactly one Consolidation; tenant names and ids unique; offer names unique
across Offers files; a customer in exactly one file; keys unique within a customer; every
referenced source tenant and offer declared; a source subscription paired at most once; an
offer id that fits what it is used for (a license entry cannot buy Azure; a new-commerce
offer needs a term). Every violation is a located ``Problem``; all are collected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from reconciler import model
from reconciler.errors import Problem
from reconciler.manifests import yamlsafe

#: Which commitment terms each billing cycle can bill (shared with ``exportentries``).
TERMS_BY_CYCLE = {"triennial": {"P3Y"}, "annual": {"P1Y", "P3Y"}, "monthly": {"P1M", "P1Y", "P3Y"}}


@dataclass(slots=True)
class Located:
    """A document with where it came from (schema-valid, except in ``references``)."""

    shown: str
    doc: yamlsafe.Document

    def at(self, path: yamlsafe.PathKey, message: str, *, key: bool = False) -> Problem:
        mark = self.doc.mark(path, key=key)
        return Problem(self.shown, mark.line, mark.column, yamlsafe.json_path(path), message)

    def origin(self, path: yamlsafe.PathKey) -> model.Origin:
        return model.Origin(self.shown, self.doc.mark(path).line)

    def where(self, path: yamlsafe.PathKey) -> str:
        mark = self.doc.mark(path)
        return f"{self.shown}:{mark.line}:{mark.column}"


@dataclass(slots=True)
class Built:
    state: model.DesiredState | None
    problems: list[Problem] = field(default_factory=list)


def build(documents: list[Located]) -> Built:
    """Build the desired state from schema-valid documents, or say everything that is wrong."""
    problems: list[Problem] = []
    by_kind: dict[str, list[Located]] = {"Consolidation": [], "Offers": [], "Customer": []}
    for located in documents:
        by_kind[located.doc.data["kind"]].append(located)

    consolidation = _consolidation(by_kind["Consolidation"], documents, problems)
    offers = _offers(by_kind["Offers"], problems)
    customers: list[model.DesiredCustomer] = []
    seen_customer: dict[str, Located] = {}
    paired: dict[str, str] = {}
    for located in by_kind["Customer"]:
        customer = _customer(located, consolidation, offers, seen_customer, paired, problems)
        if customer is not None:
            customers.append(customer)
    if consolidation is None or problems:
        return Built(state=None, problems=problems)
    final = model.Consolidation(
        name=consolidation.name,
        target=consolidation.target,
        sources=consolidation.sources,
        policy=consolidation.policy,
        origin=consolidation.origin,
        offers=MappingProxyType(dict(offers)),
    )
    state = model.DesiredState(
        consolidation=final, customers=tuple(customers), digest=_digest(documents)
    )
    return Built(state=state, problems=[])


def _digest(documents: list[Located]) -> str:
    """sha256 over the parsed content (comments and formatting do not count), by file order."""
    canonical = [
        [d.shown.replace("\\", "/"), d.doc.index, d.doc.data]
        for d in sorted(documents, key=lambda d: (d.shown, d.doc.index))
    ]
    blob = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _consolidation(
    found: list[Located], everything: list[Located], problems: list[Problem]
) -> model.Consolidation | None:
    if not found:
        where = everything[0] if everything else None
        message = (
            "no Consolidation manifest (kind: Consolidation) among the files given; pass the "
            "whole manifest directory (e.g. `reconciler validate manifests/`)"
        )
        if where is not None:
            problems.append(where.at((), message))
        else:
            problems.append(Problem("(manifests)", 1, 1, "$", message))
        return None
    first = found[0]
    for extra in found[1:]:
        problems.append(
            extra.at(
                ("kind",),
                f"a second Consolidation manifest (the first is at {first.where(('kind',))}); "
                "a manifest directory describes exactly one consolidation",
            )
        )
    data = first.doc.data
    target = _tenant(data["target"], model.Role.TARGET)
    sources = tuple(_tenant(s, model.Role.SOURCE) for s in data["sources"])
    names: dict[str, yamlsafe.PathKey] = {target.name: ("target", "name")}
    ids: dict[str, yamlsafe.PathKey] = {target.tenant_id: ("target", "tenantId")}
    for index, source in enumerate(sources):
        for table, value, leaf in (
            (names, source.name, "name"),
            (ids, source.tenant_id, "tenantId"),
        ):
            path: yamlsafe.PathKey = ("sources", index, leaf)
            if value in table:
                other = first.where(table[value])
                what = "name" if leaf == "name" else "tenant id"
                problems.append(
                    first.at(
                        path,
                        f"{what} '{value}' is already used at {other}; each partner "
                        "tenant appears once and the target is never also a source",
                    )
                )
            else:
                table[value] = path
    policy_data = data.get("policy") or {}
    nce = policy_data.get("nceSourceStrategy", "cancel-or-expire")
    legacy_meaning = "nceSourceStrategy" in policy_data and "moveBy" not in policy_data
    policy = model.Policy(
        max_suspensions_per_apply=policy_data.get("maxSuspensionsPerApply", 25),
        max_cancellations_per_apply=policy_data.get("maxCancellationsPerApply", 10),
        max_customers_per_apply=policy_data.get("maxCustomersPerApply", 50),
        billing_overlap_tolerance_days=policy_data.get("billingOverlapToleranceDays", 1),
        nce_strategy=model.NceStrategy(nce),
        move_by=model.MoveBy(policy_data.get("moveBy", "transfer-first")),
        nce_strategy_without_move_by=(
            str(first.origin(("policy", "nceSourceStrategy")))
            if legacy_meaning and nce != "transfer"
            else ""
        ),
        activation_timeout_minutes=policy_data.get("activationTimeoutMinutes", 30),
        deadline_warning_days=policy_data.get("deadlineWarningDays", 7),
        transfer_acceptance=model.TransferAcceptance(
            policy_data.get("transferAcceptance", "apply")
        ),
    )
    name = (data.get("metadata") or {}).get("name") or "consolidation"
    return model.Consolidation(
        name=name, target=target, sources=sources, policy=policy, origin=first.origin(())
    )


def _tenant(data: dict[str, Any], role: model.Role) -> model.Tenant:
    return model.Tenant(
        name=data["name"],
        tenant_id=data["tenantId"].lower(),
        country=data["country"],
        role=role,
        display_name=data.get("displayName", ""),
    )


def _offers(found: list[Located], problems: list[Problem]) -> dict[str, model.Offer]:
    offers: dict[str, model.Offer] = {}
    where: dict[str, str] = {}
    for located in found:
        for alias, spec in located.doc.data["offers"].items():
            path: yamlsafe.PathKey = ("offers", alias)
            if alias in offers:
                problems.append(
                    located.at(
                        path,
                        f"offer '{alias}' is already defined at {where[alias]}; "
                        "offer names are unique across Offers files",
                        key=True,
                    )
                )
                continue
            offer_id = _canonical_offer(spec["offerId"])
            commerce = model.classify_offer(offer_id)
            if not commerce.is_license:
                problems.append(
                    located.at(
                        (*path, "offerId"),
                        f"'{spec['offerId']}' is not a license offer "
                        "that can be bought; Azure subscriptions move through `azure` "
                        "hand-offs in customer files",
                    )
                )
            offers[alias] = model.Offer(
                alias=alias,
                offer_id=offer_id,
                name=spec.get("name", alias),
                commerce=commerce,
                replaces=tuple(_canonical_offer(o) for o in spec.get("replaces", ())),
                billing_cycle=spec.get("billingCycle"),
                term_duration=spec.get("termDuration"),
            )
            where[alias] = located.where(path)
    return offers


def _canonical_offer(offer_id: str) -> str:
    return offer_id.strip().upper()


def _customer(
    located: Located,
    consolidation: model.Consolidation | None,
    offers: dict[str, model.Offer],
    seen: dict[str, Located],
    paired: dict[str, str],
    problems: list[Problem],
) -> model.DesiredCustomer | None:
    data = located.doc.data
    info = data["customer"]
    tenant_id = info["tenantId"].lower()
    count = len(problems)
    if tenant_id in seen:
        problems.append(
            located.at(
                ("customer", "tenantId"),
                f"customer {tenant_id} is already declared in "
                f"{seen[tenant_id].where(('customer', 'tenantId'))}; a customer lives in "
                "exactly one file: merge the two",
            )
        )
    else:
        seen[tenant_id] = located

    def check_source(path: yamlsafe.PathKey, name: str) -> None:
        if consolidation is not None and consolidation.source(name) is None:
            declared = ", ".join(t.name for t in consolidation.sources)
            problems.append(
                located.at(
                    path,
                    f"source tenant '{name}' is not declared in the Consolidation "
                    f"(declared: {declared})",
                )
            )

    check_source(("customer", "source"), info["source"])
    keys: dict[str, str] = {}

    def claim_key(path: yamlsafe.PathKey, key: str) -> None:
        if key in keys:
            problems.append(
                located.at(
                    path,
                    f"key '{key}' is already used at {keys[key]}; keys "
                    "are unique within a customer",
                )
            )
        else:
            keys[key] = located.where(path)

    def claim_source(path: yamlsafe.PathKey, sid: str) -> None:
        if sid in paired:
            problems.append(
                located.at(
                    path,
                    f"source subscription {sid} is already paired at "
                    f"{paired[sid]}; a source subscription is replaced at "
                    "most once",
                )
            )
        else:
            paired[sid] = located.where(path)

    pins: dict[str, str] = {}
    subscriptions = []
    for index, spec in enumerate(data.get("subscriptions") or []):
        path: yamlsafe.PathKey = ("subscriptions", index)
        claim_key((*path, "key"), spec["key"])
        pin = (spec.get("targetSubscription") or "").lower()
        if pin and pin in pins:
            problems.append(
                located.at(
                    (*path, "targetSubscription"),
                    f"target subscription {pin} is already adopted at {pins[pin]}; one target "
                    "subscription serves one entry",
                )
            )
        elif pin:
            pins[pin] = located.where((*path, "targetSubscription"))
        sub = _subscription(located, path, spec, offers, claim_source, problems, info["source"])
        for rindex, item in enumerate(spec.get("replaces") or []):
            if "source" in item:
                check_source((*path, "replaces", rindex, "source"), item["source"])
        if sub is not None:
            subscriptions.append(sub)
    handoffs = []
    for index, spec in enumerate(data.get("azure") or []):
        path = ("azure", index)
        claim_key((*path, "key"), spec["key"])
        sid = spec["subscription"].lower()
        claim_source((*path, "subscription"), sid)
        if "source" in spec:
            check_source((*path, "source"), spec["source"])
        handoffs.append(
            model.AzureHandoff(
                key=spec["key"],
                source_subscription_id=sid,
                protect=spec.get("protect", False),
                origin=located.origin(path),
                source=spec.get("source", info["source"]),
            )
        )
    agreement = _agreement(located, data.get("customerAgreement"), problems)
    if len(problems) > count:
        return None
    return model.DesiredCustomer(
        tenant_id=tenant_id,
        name=info["name"],
        domain=info["domain"].lower(),
        source=info["source"],
        protect=info.get("protect", False),
        subscriptions=tuple(subscriptions),
        azure=tuple(handoffs),
        origin=located.origin(("customer",)),
        agreement=agreement,
    )


def _agreement(
    located: Located, spec: dict[str, Any] | None, problems: list[Problem]
) -> model.CustomerAgreement | None:
    """The manifest's ``customerAgreement``, with its day checked against the calendar (the
    schema checks only its shape)."""
    if spec is None:
        return None
    day = spec["dateAgreed"]
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        problems.append(
            located.at(
                ("customerAgreement", "dateAgreed"),
                f"{day} is not a day of the calendar; give the day the customer accepted the "
                "Microsoft Customer Agreement as YYYY-MM-DD",
            )
        )
        return None
    who = spec["acceptedBy"]
    return model.CustomerAgreement(
        first_name=who["firstName"].strip(),
        last_name=who["lastName"].strip(),
        email=who["email"].strip(),
        phone_number=str(who.get("phoneNumber") or "").strip(),
        date_agreed=day,
        origin=model.Origin(located.shown, located.doc.mark(("customerAgreement",), key=True).line),
    )


def _subscription(
    located: Located,
    path: yamlsafe.PathKey,
    spec: dict[str, Any],
    offers: dict[str, model.Offer],
    claim_source: Callable[[yamlsafe.PathKey, str], None],
    problems: list[Problem],
    source: str,
) -> model.DesiredSubscription | None:
    """One license entry; ``source`` is the customer's default source tenant."""
    raw_offer = spec["offer"]
    offer = offers.get(raw_offer)
    offer_id = offer.offer_id if offer else _canonical_offer(raw_offer)
    commerce = model.classify_offer(offer_id)
    count = len(problems)
    if offer is None and commerce is model.CommerceModel.UNKNOWN:
        known = ", ".join(sorted(offers)) or "none declared"
        problems.append(
            located.at(
                (*path, "offer"),
                f"unknown offer '{raw_offer}': not a name "
                f"from an Offers file ({known}) nor an offer id",
            )
        )
    elif commerce.is_azure:
        problems.append(
            located.at(
                (*path, "offer"),
                f"'{raw_offer}' is an Azure offer; Azure "
                "usage subscriptions are not bought by the reconciler: list "
                "them under `azure` as hand-offs to Microsoft support",
            )
        )
    cycle = spec.get("billingCycle") or (offer.billing_cycle if offer else None) or "monthly"
    term = spec.get("termDuration") or (offer.term_duration if offer else None)
    if commerce is model.CommerceModel.NCE_LICENSE:
        if term is None:
            problems.append(
                located.at(
                    path,
                    "a new-commerce offer needs a termDuration (P1M, P1Y "
                    "or P3Y), here or in its Offers entry",
                )
            )
        elif term not in TERMS_BY_CYCLE[cycle]:
            problems.append(
                located.at(
                    (*path, "termDuration"),
                    f"term {term} cannot be billed "
                    f"{cycle}; choose a billingCycle that fits the term",
                )
            )
    elif commerce is model.CommerceModel.LEGACY_LICENSE and not spec.get("targetSubscription"):
        problems.append(located.at((*path, "offer"), legacy_purchase(raw_offer, offer_id, offers)))
    elif commerce is model.CommerceModel.LEGACY_LICENSE and cycle == "triennial":
        problems.append(
            located.at(
                (*path, "billingCycle"),
                "legacy offers are billed monthly or annually, not triennially",
            )
        )
    replaces = []
    for index, item in enumerate(spec.get("replaces") or []):
        rpath: yamlsafe.PathKey = (*path, "replaces", index)
        sid = item["subscription"].lower()
        claim_source((*rpath, "subscription"), sid)
        replaces.append(
            model.Replacement(
                subscription_id=sid,
                becomes=model.SourceStrategy(item.get("becomes", "auto")),
                origin=located.origin(rpath),
                source=item.get("source", source),
            )
        )
    if len(problems) > count:
        return None
    return model.DesiredSubscription(
        key=spec["key"],
        offer_id=offer_id,
        commerce=commerce,
        quantity=spec["quantity"],
        billing_cycle=cycle,
        term_duration=term,
        friendly_name=spec.get("friendlyName"),
        replaces=tuple(replaces),
        protect=spec.get("protect", False),
        origin=located.origin(path),
        offer_alias=offer.alias if offer else None,
        target_subscription_id=(spec.get("targetSubscription") or "").lower() or None,
        adopt_existing=spec.get("adopt", "auto") != "never",
    )


def legacy_purchase(raw: str, offer_id: str, offers: dict[str, model.Offer]) -> str:
    """Why a customer entry cannot buy the legacy license offer ``offer_id`` (written as
    ``raw``), naming the new-commerce successor when an Offers entry ``replaces`` it."""
    own = offers.get(raw)
    named = f"'{raw}' is the legacy license offer " + (
        f"{offer_id} ({own.name})" if own is not None and own.name != own.alias else offer_id
    )
    successors = sorted(
        (
            o
            for o in offers.values()
            if offer_id in o.replaces and o.commerce is model.CommerceModel.NCE_LICENSE
        ),
        key=lambda o: o.alias,
    )
    if successors:
        first = successors[0]
        return (
            f"{named}, which Microsoft no longer sells (orders answer 403 code 2091): buy "
            f"{first.alias} ({first.name}, {first.offer_id}) instead, which replaces it; "
            "to keep a legacy subscription the target already holds, pin it with "
            "targetSubscription"
        )
    return (
        f"{named}; Microsoft sells license offers only as new commerce since 1 September 2024 "
        "(orders answer 403 code 2091): declare the new-commerce product (PRODUCT:SKU) in an "
        "Offers entry that lists this id under `replaces`, and name it here; to keep a legacy "
        "subscription the target already holds, pin it with targetSubscription"
    )


def references(invalid: list[Located], valid: list[Located]) -> list[Problem]:
    """Reference problems inside documents that failed the schema, so that one run of
    ``validate`` shows every problem of every kind: an unknown offer in a customer file is
    reported even when the same file also has a schema error. Only what can be read safely
    from a partly wrong document is checked (a subscription's ``offer`` given as text), against
    the names of the schema-valid Offers documents; nothing is said when an Offers document is
    itself invalid (its names are not known)."""
    offers_docs = [d for d in valid if d.doc.data.get("kind") == "Offers"]
    if any(isinstance(d.doc.data, dict) and d.doc.data.get("kind") == "Offers" for d in invalid):
        return []
    offers = _offers(offers_docs, [])
    problems: list[Problem] = []
    for located in invalid:
        data = located.doc.data
        if not isinstance(data, dict) or data.get("kind") != "Customer":
            continue
        entries = data.get("subscriptions")
        for i, spec in enumerate(entries if isinstance(entries, list) else []):
            raw = spec.get("offer") if isinstance(spec, dict) else None
            if not isinstance(raw, str) or not raw or raw in offers:
                continue
            if model.classify_offer(_canonical_offer(raw)) is model.CommerceModel.UNKNOWN:
                known = ", ".join(sorted(offers)) or "none declared"
                problems.append(
                    located.at(
                        ("subscriptions", i, "offer"),
                        f"unknown offer '{raw}': not a name from an Offers file ({known}) nor "
                        "an offer id",
                    )
                )
    return problems
