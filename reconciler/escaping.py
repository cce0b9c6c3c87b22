"""Text from outside (customer and subscription names from live state or manifests) made safe
to show: for a terminal, a Markdown comment and a spreadsheet.

Pure functions, no I/O, importable from every layer: the renderers, the journal's CSV writer
and the manifest problems all escape through here, so one rule holds everywhere.

- ``visible``: control characters (C0, DEL, C1), Unicode line/paragraph separators and bidi
  overrides become visible escapes (``\\n``, ``\\x1b``, ``\\u202e``), so a name can neither start
  a forged line nor send terminal escape sequences.
- ``visible_strings``: ``visible`` applied to every string inside a frozen dataclass tree (a
  plan), leaving values without such characters untouched (the same objects).
- ``markdown_cell``: ``visible`` (a line feed as a space) plus table pipes and HTML tags
  (``<``) neutralised.
- ``csv_cell``: OWASP's CSV-injection rule: a text cell a spreadsheet would read as a formula
  (``=``, ``+``, ``-``, ``@``, tab, carriage return first) gets a leading ``'``; control
  characters are shown as escapes.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar

T = TypeVar("T")

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?[0-9]+(?:\.[0-9]+)?")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, newline: str = "\\n") -> str:
    """``text`` with every control character shown as an escape (a line feed as ``newline``,
    ``\\n`` unless told); the same object when it has none."""
    if _UNSAFE.search(text) is None:
        return text
    if newline != "\\n":
        text = text.replace("\n", newline)
    return _UNSAFE.sub(_escape, text)


def visible_strings(value: T, *, newline: str = "\\n") -> T:
    """``value`` with ``visible`` applied to every string in it (dataclass fields, tuples, lists,
    mappings, keys included). Enums, numbers and dates are kept; so is every part that needed
    no escape, which makes this cheap for ordinary names."""
    result: T = _walk(value, newline)
    return result


def _walk(value: Any, newline: str) -> Any:
    if isinstance(value, enum.Enum):
        return value
    if isinstance(value, str):
        return visible(value, newline=newline)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changed = {}
        for f in dataclasses.fields(value):
            if not f.init:
                continue
            old = getattr(value, f.name)
            new = _walk(old, newline)
            if new is not old:
                changed[f.name] = new
        return dataclasses.replace(value, **changed) if changed else value
    if isinstance(value, tuple | list):
        items = [_walk(v, newline) for v in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    if isinstance(value, Mapping):
        pairs = [(_walk(k, newline), _walk(v, newline)) for k, v in value.items()]
        if all(
            k is old_k and v is value[old_k] for (k, v), old_k in zip(pairs, value, strict=True)
        ):
            return value
        return MappingProxyType(dict(pairs))
    return value


def markdown_cell(text: str) -> str:
    """``text`` for a GitHub Markdown table cell or sentence: visible escapes, pipes escaped
    (they would end the cell) and ``<`` as an entity, so no HTML tag can start (a name cannot
    close the comment's ``<details>`` or add an image or link). ``>`` alone starts nothing."""
    return visible(text, newline=" ").replace("|", "\\|").replace("<", "&lt;")


def csv_cell(value: T) -> T | str:
    """``value`` for a CSV cell: a string a spreadsheet would run as a formula starts with
    ``'`` (OWASP CSV injection) and shows its control characters as escapes (an unquoted
    carriage return would split the row for most readers); plain numbers such as ``-3`` and
    non-strings are kept."""
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return visible("'" + value)
    return visible(value)
