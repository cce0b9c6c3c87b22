"""JSON Schema validation of single documents, with messages a reviewer can act on.

The schemas in ``schemas/`` (``reconciler/manifests/schemas``) are the format's reference;
this module picks the schema by ``kind``, runs Draft 2020-12 and rewrites jsonschema's
messages into plain sentences located at the offending node (for an unknown property: its
key; for a missing one: the mapping that lacks it). It knows nothing of other files
(``semantics`` does the cross-file rules).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import jsonschema

from reconciler.errors import Problem
from reconciler.manifests import yamlsafe

KINDS = ("Consolidation", "Offers", "Customer")
API_VERSION = "reconciler/v1"

_SECRET_KEY = re.compile(
    r"(secret|passw(or)?d|token|private[-_]?key|api[-_]?key|credential|assertion|"
    r"certificate|thumbprint|connection[-_]?string)",
    re.IGNORECASE,
)
#: A JSON Web Token (shared with ``exportyaml``, which must never write one).
JWT = re.compile(r"^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*$")


@functools.cache
def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema for a manifest kind (loaded once from package data)."""
    name = f"{kind.lower()}.schema.json"
    text = resources.files("reconciler.manifests").joinpath("schemas", name).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _validator(kind: str) -> jsonschema.protocols.Validator:
    base = jsonschema.validators.validator_for(schema(kind))
    # JSON Schema counts 25.0 as an integer; a license count written 25.0 (or 1.0e+3) is a
    # typo that would crash a write later, so only true integers are integers here.
    strict = base.TYPE_CHECKER.redefine("integer", _is_integer)
    extend: Any = jsonschema.validators.extend
    cls = extend(base, validators={"pattern": _pattern}, type_checker=strict)
    validator: jsonschema.protocols.Validator = cls(schema(kind))
    return validator


def _is_integer(_checker: object, instance: object) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


@functools.cache
def _ecma(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled with ECMA-262's ``$``, as JSON Schema means it: the end of the text.
    Python's ``$`` also matches before a final newline, which let ``"key\n"`` pass."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(
    validator: Any, pattern: str, instance: Any, _schema: Any
) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not _ecma(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def validate_document(shown: str, doc: yamlsafe.Document) -> list[Problem]:
    """Problems of one document: its kind, secret-looking fields, then its schema."""

    def at(path: yamlsafe.PathKey, message: str, *, key: bool = False) -> Problem:
        mark = doc.mark(path, key=key)
        return Problem(shown, mark.line, mark.column, yamlsafe.json_path(path), message)

    data = doc.data
    if not isinstance(data, dict):
        found = _type_name(data)
        return [
            at(
                (),
                f"a manifest must be a mapping (key: value pairs) but this document is "
                f"{found}; start it with `apiVersion: {API_VERSION}` and `kind: ...`",
            )
        ]
    secrets = list(_secret_fields(data, ()))
    problems = [
        at(
            path,
            "this looks like a secret (" + why + "); credentials never go in manifests, which "
            "are committed and reviewed in git: remove it and configure credentials through "
            "the environment or a credentials file (docs/configuration.md)",
            key=is_key,
        )
        for path, why, is_key in secrets
    ]
    kind = data.get("kind")
    if kind not in KINDS:
        shown_kind = "missing" if kind is None else f"'{kind}'"
        problems.append(
            at(
                ("kind",),
                f"kind is {shown_kind}; it must be one of {', '.join(KINDS)}",
                key=kind is None,
            )
        )
        return problems
    secret_paths = {path for path, _, _ in secrets}
    for error in _validator(kind).iter_errors(data):
        problems.extend(
            p for p in _explain(error, at) if (p.path not in {_jp(s) for s in secret_paths})
        )
    return problems


def _jp(path: yamlsafe.PathKey) -> str:
    return yamlsafe.json_path(path)


def _secret_fields(
    value: Any, path: yamlsafe.PathKey
) -> Iterator[tuple[yamlsafe.PathKey, str, bool]]:
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str) and _SECRET_KEY.search(key):
                yield (*path, key), f"a field named '{key}'", True
            else:
                yield from _secret_fields(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _secret_fields(child, (*path, index))
    elif isinstance(value, str):
        if "-----BEGIN" in value:
            yield path, "a PEM block", False
        elif JWT.match(value.strip()):
            yield path, "a JSON Web Token", False


def _type_name(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, int | float):
        return "a number"
    return "a string"


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
}


def _explain(error: jsonschema.ValidationError, at: Any) -> Iterator[Problem]:
    path: yamlsafe.PathKey = tuple(error.absolute_path)
    instance: Any = error.instance
    validator: Any = error.validator
    value: Any = error.validator_value
    error_schema: Any = error.schema
    if validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted((error_schema.get("properties") or {}).keys())
        for extra in sorted(set(instance) - set(allowed), key=str):
            hint = _closest(str(extra), allowed)
            tip = f"; did you mean '{hint}'?" if hint else ""
            listing = ", ".join(allowed) if allowed else "none"
            yield at(
                (*path, extra),
                f"unknown field '{extra}'{tip} (allowed here: {listing})",
                key=True,
            )
        return
    if validator == "required" and isinstance(instance, dict):
        for name in value:
            if name not in instance:
                yield at(path, f"required field '{name}' is missing")
        return
    if validator == "type":
        wanted = value if isinstance(value, list) else [value]
        words = " or ".join(_TYPE_WORDS.get(str(w), str(w)) for w in wanted)
        if "integer" in wanted and isinstance(instance, float):
            whole = f"write {int(instance)}" if instance.is_integer() else "round it"
            yield at(
                path,
                f"must be {words}, not the decimal number {_short(instance)}: {whole} "
                "(no decimal point or exponent)",
            )
            return
        yield at(path, f"must be {words}, not {_type_name(instance)} ({_short(instance)})")
        return
    if validator == "minimum":
        field = path[-1] if path else "value"
        extra = ""
        if field == "quantity":
            extra = "; a license count of 0 is not a subscription: remove the entry instead"
        yield at(path, f"{field} must be at least {value}, not {instance}{extra}")
        return
    if validator == "maximum":
        yield at(path, f"must be at most {value}, not {instance}")
        return
    if validator in ("enum", "const"):
        options = value if validator == "enum" else [value]
        listing = ", ".join(str(o) for o in options)
        yield at(path, f"{_short(instance)} is not allowed here; use one of: {listing}")
        return
    if validator == "pattern":
        yield at(path, f"{_short(instance)} {_pattern_hint(path)}")
        return
    if validator == "minItems":
        yield at(path, f"needs at least {value} item{'s' if value != 1 else ''}")
        return
    if validator in ("minLength", "minProperties"):
        yield at(path, "must not be empty")
        return
    if validator == "propertyNames":
        yield at(path, f"{error.message}; names use lower-case letters, digits and dashes")
        return
    yield at(path, error.message)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _pattern_hint(path: yamlsafe.PathKey) -> str:
    """A sentence fragment telling what the field should look like."""
    field = str(path[-1]) if path else ""
    hints = {
        "tenantId": "is not a tenant id; expected a GUID like 3f2c6d55-0000-4000-8000-00000000c001",
        "subscription": "is not a subscription id; expected a GUID",
        "targetSubscription": "is not a subscription id; expected a GUID",
        "offerId": "is not an offer id; expected PRODUCT:SKU or PRODUCT:SKU:AVAILABILITY (new "
        "commerce, e.g. CFQ7TTC0LH18:0001:CFQ7TTC0K971) or a legacy offer GUID",
        "country": "is not a country code; expected two capital letters like DE",
        "domain": "is not a domain name like fabrikam.onmicrosoft.com",
        "key": "is not a valid key; use lower-case letters, digits and dashes (max 41)",
        "name": "is not a valid name; use lower-case letters, digits and dashes",
        "source": "is not a valid tenant name; use lower-case letters, digits and dashes",
        "email": "is not an email address like anna.weber@fabrikam.example",
        "dateAgreed": "is not a day; expected YYYY-MM-DD like 2026-11-30",
    }
    return hints.get(field, "does not have the expected format")


def _closest(word: str, options: list[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    lowered = {o.lower(): o for o in options}
    return lowered.get(word.lower())
