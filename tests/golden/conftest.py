"""Golden tests reuse the hand-built demo world of the planner tests."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "planning"))
