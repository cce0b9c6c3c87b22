"""Writing YAML scalars and comments by hand for exported manifests.

The exporter writes text rather than ``yaml.dump`` so that it controls order and comments and
stays byte-stable. This module makes any string safe to place in that text: a plain scalar
when nothing in it could be misread, else a double-quoted one with escapes. It must NOT decide
what goes in a manifest (``exporting`` does).
"""

from __future__ import annotations

import json
import re

from reconciler.manifests import validation

#: Plain scalars we write unquoted: letters first, then a conservative set of characters that
#: YAML never reads as syntax inside a plain scalar. Both patterns are used with ``fullmatch``:
#: ``$`` would also match before a final line break, and "A\n" written plain reads back "A".
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ._()/&+,-]*")
#: Offer and subscription ids: a GUID or PRODUCT:SKU:AVAILABILITY (no YAML number or date can
#: have this shape; a colon not followed by a space is not a mapping indicator).
_ID = re.compile(
    r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}|[A-Z0-9]{12}:[0-9A-Z]{4}:[A-Z0-9]{12}"
)
#: Words YAML 1.1 or 1.2 readers may take for booleans or null.
_RESERVED = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "none", "nan", "inf"}
#: Mirrors the manifest validator's secret detectors (PEM block, JSON Web Token).


def _printable(ch: str) -> bool:
    """YAML's printable set (YAML 1.2 section 5.1), without the line breaks."""
    code = ord(ch)
    return (
        0x20 <= code <= 0x7E
        or code == 0x85
        or 0xA0 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    ) and code not in (0x85, 0x2028, 0x2029, 0xFEFF)


def scalar(text: str) -> str:
    """``text`` as a YAML scalar that reads back as exactly ``text``."""
    if _PLAIN.fullmatch(text) and not text.endswith(" ") and text.lower() not in _RESERVED:
        return text
    if _ID.fullmatch(text):
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    # JSON escapes are valid in a YAML double-quoted scalar; escape what JSON leaves raw but
    # YAML does not allow or would read as a line break.
    return "".join(ch if ch in "\t" or _printable(ch) else _escape(ch) for ch in quoted)


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate cannot be written as UTF-8 at all
        return "\\uFFFD"
    return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"


def comment(text: str) -> str:
    """``text`` made safe for the inside of one ``# ...`` comment line."""
    return "".join(ch if _printable(ch) else " " for ch in text).strip()


def looks_secret(text: str) -> bool:
    """True when the manifest validator would refuse ``text`` as a credential."""
    return "-----BEGIN" in text or bool(validation.JWT.match(text.strip()))
