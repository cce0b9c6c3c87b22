"""Customer manifests from live state: the generator behind ``reconciler export``.

Pure: the consolidation (with its offers), the live state of the source tenants and what the
manifest directory already holds go in; file names, file texts and a report of what was left
out come out. Same input, byte-identical output (no clock, no randomness, sorted everything).

Rules it keeps:

- A customer whose reads failed (``ReadStatus.UNKNOWN``) is reported, never written: an empty
  file would declare "this customer has nothing" (product rule 3).
- Only active and suspended subscriptions become entries; the rest are written as comments
  for the reviewer, so nothing disappears silently.
- Every written file validates against the schema and the cross-file rules (tests run the
  real validator on it); what cannot be made valid is commented out with the reason.

It must NOT do I/O (the CLI reads and writes), talk to Partner Center, or guess values the
live state does not give (an unknown term is a comment, not an invention).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field

from reconciler import model
from reconciler.manifests import exportentries, exportyaml

SCHEMA_LINE = "# yaml-language-server: $schema=../../schemas/customer.schema.json"
CUSTOMERS_DIR = "customers"
_FILE_SLUG_MAX = 60
_DOMAIN_RE = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


@dataclass(frozen=True, slots=True)
class ExportedFile:
    """One customer manifest to write: ``path`` is relative to the manifest directory unless
    it is the (existing) file that declares the customer, given back as it was passed in."""

    path: str
    text: str
    tenant_id: str
    name: str
    #: The customer's (default) source tenant, as the file's ``customer.source`` says.
    source: str
    subscriptions: int
    azure: int
    left_out: int
    overwrites: bool = False
    #: Every source tenant the file lists subscriptions of, ``source`` first.
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Skipped:
    """A customer that was not written, and why (one sentence)."""

    tenant_id: str
    name: str
    source: str
    reason: str
    #: True when the customer's state is unknown (a failed read): the export is incomplete.
    failed: bool = False


@dataclass(frozen=True, slots=True)
class Export:
    files: tuple[ExportedFile, ...]
    skipped: tuple[Skipped, ...]
    #: ``--customer`` values that named no customer of the source tenants read.
    unmatched: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Existing:
    """What the manifest directory already holds."""

    #: tenant id -> the file that declares the customer (as the user would type it).
    declared: Mapping[str, str] = field(default_factory=dict)
    #: file names (lower-case) already present under ``customers/``.
    taken: Collection[str] = ()
    #: tenant ids whose declaration says ``protect: true`` (kept when overwriting).
    protected: Collection[str] = ()
    #: tenant id -> every source tenant its declaration names (``DesiredCustomer.sources``).
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def export(
    consolidation: model.Consolidation,
    live: model.LiveState,
    *,
    existing: Existing | None = None,
    only: Collection[str] = (),
    sources: Collection[str] | None = None,
    overwrite: bool = False,
) -> Export:
    # ``live`` may hold the target's view of the same customers: what they already have there
    # is adopted by the entries (``targetSubscription``) instead of looking like a purchase.
    """Customer manifests for the source tenants' customers in ``live``.

    ``only``: tenant ids or company names (case-insensitive) to export; empty means all.
    ``sources``: source tenant names to export from (``None``: all). Customers already declared
    are skipped unless ``overwrite``, which regenerates their declaring file (keeping a
    customer-level ``protect: true``).
    """
    have = existing or Existing()
    wanted = {w.strip().lower() for w in only if w.strip()}
    seen_tokens: set[str] = set()
    found: dict[str, list[tuple[model.Tenant, model.CustomerView]]] = {}
    for tenant in consolidation.sources:
        if sources is not None and tenant.name not in sources:
            continue
        view = live.view(tenant.name)
        for cust in _customers(view):
            tokens = {cust.tenant_id.lower(), cust.name.strip().lower()} & wanted
            if wanted and not tokens:
                continue
            if cust.status is model.ReadStatus.NO_RELATIONSHIP:
                continue  # asked for by id, but not a customer of this source
            seen_tokens |= tokens
            found.setdefault(cust.tenant_id, []).append((tenant, cust))
    files: list[ExportedFile] = []
    skipped: list[Skipped] = []
    taken = {t.lower() for t in have.taken}
    for tid in sorted(found, key=lambda t: (_display(found[t]).lower(), t)):
        held = _held(live, consolidation.target.name, tid)
        outcome = _one(tid, found[tid], consolidation.offers, have, taken, overwrite, held)
        unread = _unread(have.sources.get(tid, ()), sources)
        if not isinstance(outcome, Skipped) and outcome.overwrites and unread:
            outcome = Skipped(
                tid,
                outcome.name,
                outcome.source,
                f"its file {outcome.path} also declares subscriptions in source tenant(s) "
                f"{', '.join(unread)}, which this export does not read (--source): run "
                "export without --source to regenerate it",
            )
        if isinstance(outcome, Skipped):
            skipped.append(outcome)
        else:
            files.append(outcome)
    unmatched = tuple(w for w in sorted(wanted - seen_tokens) if w)
    return Export(files=tuple(files), skipped=tuple(skipped), unmatched=unmatched)


def _held(live: model.LiveState, target: str, tid: str) -> tuple[model.LiveSubscription, ...]:
    """The customer's subscriptions in the target tenant, when the target was read and knows
    the customer (nothing otherwise: the plan matches again on fresh state anyway)."""
    view = live.view(target)
    cust = view.customer(tid) if view is not None else None
    return cust.subscriptions if cust is not None and cust.status is model.ReadStatus.OK else ()


def _unread(declared: Collection[str], read: Collection[str] | None) -> list[str]:
    """Source tenants a declaration names that an export limited to ``read`` does not read:
    regenerating its file from the others would drop their subscriptions."""
    return [] if read is None else sorted(set(declared) - set(read))


def _customers(view: model.TenantView | None) -> Iterator[model.CustomerView]:
    if view is None:
        return
    yield from (view.customers[k] for k in sorted(view.customers))


def _display(views: list[tuple[model.Tenant, model.CustomerView]]) -> str:
    return next((v.name for _, v in views if v.name), "")


def _one(
    tid: str,
    views: list[tuple[model.Tenant, model.CustomerView]],
    offers: Mapping[str, model.Offer],
    have: Existing,
    taken: set[str],
    overwrite: bool,
    held: tuple[model.LiveSubscription, ...] = (),
) -> ExportedFile | Skipped:
    name = _display(views)
    unknown = [(t, v) for t, v in views if v.status is model.ReadStatus.UNKNOWN]
    if unknown:
        tenant, view = unknown[0]
        return Skipped(
            tid,
            name,
            tenant.name,
            f"its state in partner tenant '{tenant.name}' could not be read ({view.reason}); "
            "nothing is written for a customer whose subscriptions are unknown: run export "
            "again for it",
            failed=True,
        )
    tenant, view = views[0]
    declared = have.declared.get(tid)
    if declared is not None and not overwrite:
        return Skipped(
            tid, name, tenant.name, f"already declared in {declared} (--overwrite regenerates it)"
        )
    problem = _identity_problem(view)
    if problem:
        return Skipped(tid, name, tenant.name, problem)
    if declared is not None:
        path = declared
    else:
        path = _free_path(view, taken)
        taken.add(path.rsplit("/", 1)[-1])
    body = _Body(views, offers, protect=tid in have.protected, held=held)
    return ExportedFile(
        path=path,
        text=body.text(),
        tenant_id=tid,
        name=view.name,
        source=tenant.name,
        subscriptions=body.subscriptions,
        azure=body.azure,
        left_out=body.left_out,
        overwrites=declared is not None,
        sources=tuple(t.name for t, _ in views),
    )


def _identity_problem(view: model.CustomerView) -> str:
    if not view.name.strip():
        return "Partner Center gives it no company name; declare it by hand"
    if exportyaml.looks_secret(view.name):
        return "its company name looks like a credential; declare it by hand"
    if not _DOMAIN_RE.match(view.domain):
        return f"its primary domain {view.domain!r} is not a domain name; declare it by hand"
    return ""


def _free_path(view: model.CustomerView, taken: set[str]) -> str:
    base = exportentries.slug(view.name, limit=_FILE_SLUG_MAX) or f"customer-{view.tenant_id[:8]}"
    candidate, n = base, 1
    while f"{candidate}.yaml" in taken or f"{candidate}.yml" in taken:
        n += 1
        candidate = f"{base}-{n}"
    return f"{CUSTOMERS_DIR}/{candidate}.yaml"


class _Body:
    """The text of one customer file; counts what it holds and what it leaves out.

    A customer held in several source tenants gets one file: the first tenant (in the
    Consolidation's order) is its ``source``, and each subscription held in another names
    that tenant as its own ``source``."""

    def __init__(
        self,
        views: list[tuple[model.Tenant, model.CustomerView]],
        offers: Mapping[str, model.Offer],
        *,
        protect: bool,
        held: tuple[model.LiveSubscription, ...] = (),
    ) -> None:
        (self.tenant, self.view), self.protect = views[0], protect
        self.tenants = [t.name for t, _ in views]
        elsewhere = {s.id: t.name for t, v in views[1:] for s in v.subscriptions}
        subs = [s for _, v in views for s in v.subscriptions]
        self.plan = exportentries.plan(subs, offers, held, "the target tenant", elsewhere=elsewhere)
        self.subscriptions = len(self.plan.licenses)
        self.azure = len(self.plan.handoffs)
        self.left_out = len(self.plan.left_out)

    def text(self) -> str:
        return "".join(self._lines())

    def _lines(self) -> Iterator[str]:
        v = self.view
        where = " and ".join(f"'{t}'" for t in self.tenants)
        plural = "s" if len(self.tenants) > 1 else ""
        yield SCHEMA_LINE + "\n#\n"
        yield (
            f"# Exported by `reconciler export` from partner tenant{plural} {where}.\n"
            "# Review before committing: quantities are today's, and `becomes` defaults to\n"
            "# auto (the policy decides what becomes of each source subscription).\n"
        )
        yield "apiVersion: reconciler/v1\nkind: Customer\ncustomer:\n"
        yield f"  tenantId: {v.tenant_id.lower()}\n"
        yield f"  name: {exportyaml.scalar(v.name.strip())}\n"
        yield f"  domain: {v.domain.lower()}\n"
        yield f"  source: {self.tenant.name}\n"
        if self.protect:
            yield "  protect: true\n"
        yield from exportentries.render(self.plan)
