"""reconciler: declarative consolidation of CSP customers into one Partner Center tenant.

Only the version lives here; import the layers you need (see docs/architecture.md).
"""

__version__ = "0.1.0"
