"""The export use case: customer manifests generated from the live source tenants.

Load the manifest directory (its Consolidation names the source tenants, its Offers the
offers), read every customer of the chosen source tenants, then those customers in the target
(read-only; what they already hold there is adopted by the entries), let the pure generator
(``manifests.exporting``) produce the files, and write each one
atomically. It must NOT hold generation logic, write a file for a customer whose reads failed,
or replace an existing file without ``overwrite``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from reconciler import errors, files, manifests, model
from reconciler.manifests import exporting
from reconciler.operations import live

_log = logging.getLogger("reconciler.export")


@dataclass(frozen=True, slots=True)
class ExportRequest:
    root: Path
    access: live.Access
    customers: Sequence[str] = ()
    source: str | None = None
    overwrite: bool = False


def generate(request: ExportRequest, observer: live.Observer) -> exporting.Export:
    """Read the source tenants and generate the files (nothing is written yet)."""
    root = request.root
    if not root.is_dir():
        raise errors.UsageError(
            f"{root} is not a directory: export needs the manifest directory holding your "
            "consolidation.yaml (customer files go to its customers/ folder)."
        )
    state = manifests.load([root])
    cons = state.consolidation
    tenants = _sources(cons, request.source)
    wanted = tuple(request.customers)
    live_state = live.read_sources(tenants, _ids(wanted), request.access, observer)
    live_state = _with_target(cons, live_state, request.access, observer)
    result = exporting.export(
        cons,
        live_state,
        existing=_existing(state, root),
        only=wanted,
        sources=[t.name for t in tenants],
        overwrite=request.overwrite,
    )
    if result.unmatched:
        raise errors.UsageError(
            f"--customer {', '.join(result.unmatched)}: no customer of source tenant(s) "
            f"{', '.join(t.name for t in tenants)} has that tenant id or name; nothing was "
            "written."
        )
    return result


def target(f: exporting.ExportedFile, root: Path) -> Path:
    """Where ``f`` goes: its declared file when it overwrites one, else under ``root``."""
    return Path(f.path) if f.overwrites else root / f.path


def write(f: exporting.ExportedFile, root: Path) -> Path:
    """Write one generated file atomically; without ``overwrites`` a file that appeared
    meanwhile is left alone and reported. Returns where it went."""
    path = target(f, root)
    files.write_text(
        path,
        f.text,
        what="the customer manifest",
        hint="Check that the manifest directory is writable; files already reported as "
        "written are complete.",
        overwrite=f.overwrites,
        exists_hint="It appeared while exporting: run export again (it picks another name), "
        "or pass --overwrite for customers already declared.",
        make_parents=True,
    )
    return path


def check_complete(result: exporting.Export) -> None:
    """Customers whose reads failed were not written: say so, after the others were."""
    failed = [s for s in result.skipped if s.failed]
    if failed:
        names = ", ".join(f"{s.name or s.tenant_id} ({s.tenant_id})" for s in failed)
        raise errors.ExportIncompleteError(
            f"{len(failed)} customer(s) could not be read and were not written: {names}. "
            "The other files are complete; run `reconciler export --customer ID` again for "
            "these once Partner Center answers."
        )


def _with_target(
    cons: model.Consolidation, state: model.LiveState, access: live.Access, observer: live.Observer
) -> model.LiveState:
    """``state`` plus the target's view of the customers found in the sources, so that entries
    adopt what the target already holds (a read failure there only means no adoption: plan
    matches again on fresh state)."""
    ids = sorted({tid for view in state.tenants.values() for tid in view.customers})
    if not ids:
        return state
    try:
        target = live.read_sources([cons.target], ids, access, observer)
    except errors.ConfigError as exc:  # no target credentials, or the target cannot be used
        _log.warning("the target tenant was not read, nothing is adopted: %s", exc)
        return state
    except errors.ReadError as exc:
        _log.warning("the target tenant's customers were not read, nothing is adopted: %s", exc)
        return state
    return model.LiveState(
        read_at=state.read_at,
        tenants=MappingProxyType({**state.tenants, **target.tenants}),
        invitation_url=state.invitation_url,
    )


def _sources(cons: model.Consolidation, source: str | None) -> list[model.Tenant]:
    if source is None:
        return list(cons.sources)
    tenant = cons.source(source)
    if tenant is None:
        raise errors.UsageError(
            f"--source {source}: the consolidation has no source tenant of that name (it has: "
            f"{', '.join(t.name for t in cons.sources)})."
        )
    return [tenant]


def _ids(wanted: Sequence[str]) -> list[str] | None:
    """Tenant ids to read one by one when every ``--customer`` is an id; otherwise ``None``
    (names are only known from the full customer list)."""
    if wanted and all(model.GUID_RE.match(w.strip()) for w in wanted):
        return [w.strip().lower() for w in wanted]
    return None


def _existing(state: model.DesiredState, root: Path) -> exporting.Existing:
    folder = root / exporting.CUSTOMERS_DIR
    taken = [p.name.lower() for p in folder.iterdir()] if folder.is_dir() else []
    return exporting.Existing(
        declared={c.tenant_id: c.origin.file for c in state.customers},
        taken=taken,
        protected={c.tenant_id for c in state.customers if c.protect},
        sources={c.tenant_id: c.sources for c in state.customers},
    )
