"""JSON rendering: the plan document itself (planning.planfile), pretty-printed with a fixed
key order, so ``plan --format json`` and the saved plan file are the same bytes.
Reads only the plan; prints nothing.
"""

from __future__ import annotations

import json

from reconciler.planning import actions, planfile


def render(plan: actions.Plan) -> str:
    """The plan document as JSON text (ends with a newline)."""
    return json.dumps(planfile.to_dict(plan), indent=2, ensure_ascii=False) + "\n"
