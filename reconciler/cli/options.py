"""Command-line options that several commands share, spelt and explained once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

CredentialsOpt = Annotated[
    Path | None,
    typer.Option(
        "--credentials",
        help="Credentials file (TOML; default $RECONCILER_CREDENTIALS_FILE, else "
        "~/.config/reconciler/credentials.toml). See docs/configuration.md.",
    ),
]
ConnectionOpt = Annotated[
    Path | None,
    typer.Option(
        "--connection",
        help="The emulator's connection file (default $RECONCILER_CONNECTION_FILE).",
    ),
]
CustomerOpt = Annotated[
    list[str] | None,
    typer.Option("--customer", help="Only this customer (tenant id or name); repeat."),
]
SourceOpt = Annotated[
    str | None, typer.Option("--source", help="Only customers of this source tenant.")
]
ExcludeOpt = Annotated[
    list[str] | None,
    typer.Option("--exclude-customer", help="Leave this customer out; repeat."),
]
ManifestPathsArg = Annotated[
    list[Path] | None,
    typer.Argument(help="Manifest files or directories.", show_default="manifests/"),
]
