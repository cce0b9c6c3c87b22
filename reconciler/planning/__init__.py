"""The planning core: manifests and live state in, a plan document out; no I/O.

Entry points: ``planner.build_plan``; the document types in ``actions``; ``planfile`` for
dict <-> Plan; ``fingerprint.moved_customers`` for stale-plan checks; the friendly-name
marker rule shared with apply, re-exported here as ``marker`` and ``parse_marker``.
"""

from reconciler.planning.markers import marker, parse_marker, with_marker

__all__ = ["marker", "parse_marker", "with_marker"]
