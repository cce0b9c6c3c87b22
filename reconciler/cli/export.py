"""``reconciler export``: customer manifests written from the live source tenants.

The composition root of exporting: load the manifest directory (its Consolidation names the
source tenants, its Offers name the offers), read every customer of the chosen source tenants
(read-only; the target is never asked), let the pure generator
(``reconciler.manifests.exporting``) produce the files, then write each one atomically and
report what was written and what was skipped and why. It must NOT hold generation logic, write
a file for a customer whose reads failed, or replace an existing file without ``--overwrite``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

import typer

from reconciler import errors, manifests, model
from reconciler.cli import options, progress
from reconciler.manifests import exporting


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export_command(
        path: Annotated[
            Path | None,
            typer.Argument(
                help="The manifest directory: its Consolidation names the source tenants; "
                "customer files are written to its customers/ folder.",
                show_default="manifests/",
            ),
        ] = None,
        customer: options.CustomerOpt = None,
        source: options.SourceOpt = None,
        overwrite: Annotated[
            bool,
            typer.Option(
                "--overwrite",
                help="Regenerate the files of customers already declared (keeps protect: true).",
            ),
        ] = False,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Print the files instead of writing them.")
        ] = False,
        credentials: options.CredentialsOpt = None,
        connection: options.ConnectionOpt = None,
        verbose: progress.VerboseOpt = False,
    ) -> int:
        """Write customer manifests from the live source tenants: start from the truth.

        Reads every customer of the source tenants named in the Consolidation (read-only) and
        writes customers/<name>.yaml for each one not declared yet: its active and suspended
        license subscriptions as entries replacing them, Azure subscriptions as hand-offs,
        the rest as comments. Customers that could not be read are reported, never written.
        """
        root = path or Path("manifests")
        if not root.is_dir():
            raise errors.UsageError(
                f"{root} is not a directory: export needs the manifest directory holding your "
                "consolidation.yaml (customer files go to its customers/ folder)."
            )
        state = manifests.load([root])
        cons = state.consolidation
        tenants = _sources(cons, source)
        wanted = tuple(customer or ())
        with progress.Observer(verbose=verbose).session() as observer:
            live = _read(tenants, _ids(wanted), credentials, connection, observer)
        result = exporting.export(
            cons,
            live,
            existing=_existing(state, root),
            only=wanted,
            sources=[t.name for t in tenants],
            overwrite=overwrite,
        )
        if result.unmatched:
            raise errors.UsageError(
                f"--customer {', '.join(result.unmatched)}: no customer of source tenant(s) "
                f"{', '.join(t.name for t in tenants)} has that tenant id or name; nothing was "
                "written."
            )
        _emit(result, root, dry_run=dry_run)
        failed = [s for s in result.skipped if s.failed]
        if failed:
            names = ", ".join(f"{s.name or s.tenant_id} ({s.tenant_id})" for s in failed)
            raise errors.ExportIncompleteError(
                f"{len(failed)} customer(s) could not be read and were not written: {names}. "
                "The other files are complete; run `reconciler export --customer ID` again for "
                "these once Partner Center answers."
            )
        return 0


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
    )


def _read(
    tenants: Sequence[model.Tenant],
    ids: list[str] | None,
    credentials: Path | None,
    connection: Path | None,
    observer: progress.Observer,
) -> model.LiveState:
    """Every customer (or the ``ids``) of the source ``tenants``, tenants in parallel. A tenant
    whose customer list cannot be read raises ``ReadError``: its customers are unknown."""
    from reconciler.partner_center import config, connect, reading

    conn = config.resolve(tenants, credentials_path=credentials, connection_path=connection)
    clients = connect.build_clients(tenants, conn)
    observer.watch(clients.values())
    read_at = datetime.now(UTC)
    with (
        observer.reading() as on_progress,
        ThreadPoolExecutor(max_workers=len(tenants), thread_name_prefix="export") as pool,
    ):
        futures = {
            t.name: pool.submit(
                reading.read_tenant,
                t,
                clients[t.name],
                customers=ids,
                workers=clients[t.name].concurrency,
                on_progress=on_progress,
                transfers=(),
            )
            for t in tenants
        }
        views = {name: future.result() for name, future in futures.items()}
    return model.LiveState(read_at=read_at, tenants=MappingProxyType(views))


def _emit(result: exporting.Export, root: Path, *, dry_run: bool) -> None:
    verb = "would write" if dry_run else "wrote"
    done = "would be written" if dry_run else "written"
    for f in result.files:
        target = Path(f.path) if f.overwrites else root / f.path
        if dry_run:
            typer.echo(f"==> {target} <==")
            typer.echo(f.text)
        else:
            _write(target, f.text, replace=f.overwrites)
        what = "overwrote" if f.overwrites and not dry_run else verb
        typer.echo(
            f"{what} {target}: {f.name} ({f.source}), {_n(f.subscriptions, 'subscription')}, "
            f"{_n(f.azure, 'Azure hand-off')}, {f.left_out} left out as comments"
        )
    for s in result.skipped:
        typer.echo(f"skipped {s.name or s.tenant_id} ({s.tenant_id}, {s.source}): {s.reason}")
    written = len(result.files)
    typer.echo(
        f"Export: {_n(written, 'customer file')} {done}, {len(result.skipped)} skipped."
        + (f" Review them, then run `reconciler validate {root}`." if written else "")
    )


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _write(path: Path, text: str, *, replace: bool) -> None:
    """Write ``text`` atomically (a reader sees no file or the whole file); without
    ``replace``, a file that appeared meanwhile is left alone and reported."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the name exists: never overwrite by accident
    except FileExistsError:
        raise errors.UsageError(
            f"{path} appeared while exporting; it was left as it is. Run export again (it "
            "picks another name), or pass --overwrite for customers already declared."
        ) from None
    except OSError as exc:
        raise errors.UsageError(
            f"Cannot write {path}: {exc.strerror or exc}. Check that the manifest directory is "
            "writable; files already reported as written are complete."
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
