"""The friendly-name marker that ties a target subscription to its manifest entry.

Apply appends ``marker(key)`` to the friendly name of every subscription it orders, e.g.
``"Office 365 E3 [rc:office-e3]"``; the planner's matching rule reads it back with
``parse_marker``. Both sides must use these functions so the rule cannot drift. This module
only formats and parses strings.
"""

from __future__ import annotations

import functools
import re

_MARKER_RE = re.compile(r"\[rc:([A-Za-z0-9][A-Za-z0-9._-]*)\]")
#: Partner Center does not document a friendlyName limit; stay well inside common UI limits.
MAX_FRIENDLY_NAME = 128


def marker(key: str) -> str:
    """The marker for the manifest subscription ``key``: ``[rc:<key>]``."""
    return f"[rc:{key}]"


def parse_marker(friendly_name: str | None) -> str | None:
    """The key of the last marker in ``friendly_name``, or None when it carries none."""
    if not friendly_name or "[rc:" not in friendly_name:  # speed: no regex without a marker
        return None
    found = _MARKER_RE.findall(friendly_name)
    return found[-1] if found else None


@functools.lru_cache(maxsize=4096)
def with_marker(name: str, key: str) -> str:
    """``name`` with its marker appended (an existing marker is replaced), shortened so the
    whole stays within ``MAX_FRIENDLY_NAME`` characters while the marker survives. Cached (a
    pure function of its two strings): a plan names the same few products and keys again and
    again."""
    # Speed: most names carry no marker, and a regex substitution is the dearer test.
    base = (_MARKER_RE.sub("", name) if "[rc:" in name else name).strip()
    tag = marker(key)
    room = MAX_FRIENDLY_NAME - len(tag) - 1
    if len(base) > room:
        base = base[: max(room, 0)].rstrip()
    return f"{base} {tag}" if base else tag
