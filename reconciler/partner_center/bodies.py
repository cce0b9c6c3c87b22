"""Reading the JSON bodies of Partner Center and of the sign-in services tolerantly.

A UTF-8 byte-order mark has been seen at the start of Partner Center bodies
(partner-center-api.md §0, "BOM"); ``json.loads`` refuses one in a ``str``. Every place that
reads such a body marks the response with ``tolerate_bom`` first, so ``resp.text`` and
``resp.json()`` decode it as ``utf-8-sig`` (the mark dropped, nothing else changed).

This module must NOT parse or log bodies itself; it only fixes how they are decoded.
"""

from __future__ import annotations

import codecs

import requests

BOM = codecs.BOM_UTF8


def tolerate_bom(resp: requests.Response) -> requests.Response:
    """``resp``, decoded as ``utf-8-sig`` when its body starts with a UTF-8 BOM."""
    if resp.content[: len(BOM)] == BOM:
        resp.encoding = "utf-8-sig"
    return resp
