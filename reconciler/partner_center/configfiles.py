"""The two configuration files: the credentials file (TOML, outside the repository) and the
emulator's connection file (JSON). Parsing only; precedence and checks live in ``config``.

This module must NOT show secrets: errors name the file and the problem, never values.
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from reconciler import errors, files, model

CONNECTION_FORMAT = "reconciler-emulator-connection/1"


def load_credentials_file(path: Path) -> dict[str, Any]:
    """The parsed credentials TOML, or ``{}`` when the file does not exist.

    Like ``ssh`` with a private key, a file that group or others may read (POSIX mode bits
    ``0o077``) is refused before it is parsed (not checked on Windows, which has no such bits).
    The file is read up to ``files.MAX_CREDENTIALS_BYTES``; its tables and the types of the
    values the tool reads are checked so that a mistake is one paragraph, not a traceback."""
    if not path.is_file():
        return {}
    hint = "Fix it (see docs/configuration.md) or point RECONCILER_CREDENTIALS_FILE elsewhere."
    _check_private(path)
    try:
        raw = files.read_bounded(
            path,
            cap=files.MAX_CREDENTIALS_BYTES,
            what="the credentials file",
            hint=hint,
            error=errors.ConfigError,
        )
    except FileNotFoundError:
        return {}
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise errors.ConfigError(
            f"The credentials file {path} cannot be read: {_reason(exc)}. Fix its TOML syntax "
            "(see docs/configuration.md) or point RECONCILER_CREDENTIALS_FILE elsewhere."
        ) from None
    tenants = doc.get("tenants", {})
    if not isinstance(tenants, dict) or not all(isinstance(v, dict) for v in tenants.values()):
        raise errors.ConfigError(
            f"The credentials file {path} must hold one [tenants.NAME] table per partner tenant "
            "(see docs/configuration.md)."
        )
    for table in ("endpoints", "throughput"):
        if table in doc and not isinstance(doc[table], dict):
            raise errors.ConfigError(
                f"In the credentials file {path}, `{table}` must be a [{table}] table of "
                f"settings, not a {_toml_type(doc[table])}. {hint}"
            )
    _check_values(path, "endpoints", doc.get("endpoints", {}), _ENDPOINT_KEYS, hint)
    for name, values in tenants.items():
        _check_values(path, f"tenants.{name}", values, _TENANT_TEXT_KEYS, hint)
    return doc


#: Keys whose values must be strings (any other type used to reach MSAL or a URL parser).
_ENDPOINT_KEYS = frozenset({"api_root", "authority_host", "ca_bundle"})
_TENANT_TEXT_KEYS = frozenset(
    {
        "client_id",
        "clientId",
        "client_secret",
        "clientSecret",
        "certificate",
        "certificate_path",
        "certificate_thumbprint",
        "thumbprint",
        "federated_token_file",
        "public_client_id",
        "publicClientId",
        "tenant_id",
        "tenantId",
    }
)


def _check_values(
    path: Path, table: str, values: dict[str, Any], text_keys: frozenset[str], hint: str
) -> None:
    """Every key of ``text_keys`` in ``values`` holds a string (the value is never shown)."""
    for key, value in values.items():
        if key in text_keys and not isinstance(value, str):
            raise errors.ConfigError(
                f"In the credentials file {path}, {key} in the [{table}] table must be a "
                f'string ({key} = "..."), not a {_toml_type(value)}. {hint}'
            )
        if key == "github_oidc" and not isinstance(value, (bool, str)):
            raise errors.ConfigError(
                f"In the credentials file {path}, github_oidc in the [{table}] table must be "
                f"true or false, not a {_toml_type(value)}. {hint}"
            )


def _toml_type(value: object) -> str:
    if isinstance(value, dict):
        return "table"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "date or time" if not isinstance(value, str) else "string"


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"it is not UTF-8 text (an invalid byte at offset {exc.start})"
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    return str(exc)


def _check_private(path: Path) -> None:
    """Refuse a credentials file that group or others may read or write (POSIX only)."""
    if os.name == "nt":
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # the read that follows reports it
    if mode & 0o077:
        raise errors.ConfigError(
            f"The credentials file {path} may be read by other users (permissions "
            f"{stat.S_IMODE(mode):04o}); it holds secrets and was not used. Run "
            f"`chmod 600 {path}` so that only you can read it (as ssh requires for a private "
            "key), then run the command again."
        )


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
