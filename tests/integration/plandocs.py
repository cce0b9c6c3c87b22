"""Reading a saved plan document (format version 2) the way a user's script does: the changes
sit in their customer's section (``customers[].changes``), with their own ``tenant``,
``subscription_id`` and ``key`` and no customer fields (docs/plan-format.md §8)."""

from __future__ import annotations

from typing import Any


def changes(doc: dict[str, Any], customer: str | None = None) -> list[dict[str, Any]]:
    """Every change of ``doc`` in plan order (the document's own dicts, so a test may edit
    them), or only those of the customer with tenant id ``customer``."""
    return [
        change
        for section in doc["customers"]
        if customer is None or section["tenant_id"] == customer
        for change in section.get("changes", ())
    ]
