"""The two configuration files: the credentials file (TOML, outside the repository) and the
emulator's connection file (JSON). Parsing only; precedence and checks live in ``config``.

This module must NOT show secrets: errors name the file and the problem, never values.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from reconciler import errors, model

CONNECTION_FORMAT = "reconciler-emulator-connection/1"


def load_credentials_file(path: Path) -> dict[str, Any]:
    """The parsed credentials TOML, or ``{}`` when the file does not exist."""
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise errors.ConfigError(
            f"The credentials file {path} cannot be read: {exc}. Fix its TOML syntax (see "
            "docs/configuration.md) or point RECONCILER_CREDENTIALS_FILE elsewhere."
        ) from None
    tenants = doc.get("tenants", {})
    if not isinstance(tenants, dict) or not all(isinstance(v, dict) for v in tenants.values()):
        raise errors.ConfigError(
            f"The credentials file {path} must hold one [tenants.NAME] table per partner tenant "
            "(see docs/configuration.md)."
        )
    return doc


def load_connection_file(path: Path) -> dict[str, Any]:
    """The parsed emulator connection file (format ``reconciler-emulator-connection/1``)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise errors.ConfigError(
            f"The connection file {path} cannot be read: {exc}. Start the emulator again or "
            "unset RECONCILER_CONNECTION_FILE / --connection."
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != CONNECTION_FORMAT:
        raise errors.ConfigError(
            f"The connection file {path} is not a reconciler emulator connection file (expected "
            f'"format": "{CONNECTION_FORMAT}").'
        )
    return doc


def connection_tenants(path: str | Path) -> list[model.Tenant]:
    """The tenants a connection file names (for ``login`` without manifests, and tests)."""
    doc = load_connection_file(Path(path))
    out = []
    for i, entry in enumerate(doc.get("tenants", [])):
        role = model.Role.TARGET if i == 0 else model.Role.SOURCE
        out.append(
            model.Tenant(
                name=str(entry["name"]),
                tenant_id=str(entry["tenantId"]).lower(),
                country="",
                role=role,
            )
        )
    return out
