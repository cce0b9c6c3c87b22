"""``reconciler schema``: write the manifests' JSON Schemas where editors find them.

The manifests' modelines (``# yaml-language-server: $schema=../schemas/...``, and
``../../schemas/customer.schema.json`` in ``customers/``, which ``reconciler export`` writes)
point at ``schemas/`` beside ``manifests/``: this command writes the schemas of the installed
version there, so the modelines resolve in any consolidation repository, not only in this one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler import __version__
from reconciler.exitcodes import ExitCode

SCHEMA_FILES = ("consolidation.schema.json", "customer.schema.json", "offers.schema.json")


def write_schemas(out: Path) -> list[Path]:
    """Write the packaged schemas into ``out`` (created if missing); returns the files written."""
    from importlib import resources

    from reconciler import files

    written = []
    for name in SCHEMA_FILES:
        text = resources.files("reconciler.manifests").joinpath("schemas", name).read_text("utf-8")
        target = out / name
        files.write_text(
            target,
            text,
            what="the schema",
            hint="Pick another --out, or check the directory's permissions.",
            make_parents=True,
        )
        written.append(target)
    return written


def register(app: typer.Typer) -> None:
    @app.command()
    def schema(
        out: Annotated[
            Path, typer.Option("--out", help="Directory to write the schemas into.")
        ] = Path("schemas"),
    ) -> int:
        """Write the manifests' JSON Schemas (for editors and the manifests' modelines).

        Run it at the root of a consolidation repository: the modelines in manifests/ point
        at ../schemas/, those in manifests/customers/ at ../../schemas/.
        """
        written = write_schemas(out)
        names = ", ".join(p.name for p in written)
        typer.echo(f"Wrote the reconciler {__version__} schemas to {out}/: {names}.")
        return int(ExitCode.OK)
