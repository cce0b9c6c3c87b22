"""A local stand-in for Microsoft Partner Center and its Entra ID token service.

The emulator is the *other side of the wire*: it is written from the API documentation
(docs/partner-center-api.md, section 10) and never imports anything else from ``reconciler``
(an import-linter contract enforces this), so it catches client mistakes instead of repeating
them. Entry points:

- ``reconciler.emulator.server.Emulator.start(...)`` runs it in-process (tests, benchmarks);
- ``reconciler emulator serve`` runs it as a process;
- ``python -m reconciler.emulator.worldgen`` writes large worlds for benchmarks.

See docs/emulator.md for the seed format, the connection file and the control surface.
"""
