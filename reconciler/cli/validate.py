"""``reconciler validate``: placeholder replaced below by the foundation work."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def validate() -> None:
        """Validate manifests."""
