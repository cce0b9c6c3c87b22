"""The command line: the composition root and the only package that imports typer.

Each command module exposes ``register(app)``; ``main`` wires them up, runs click in
non-standalone mode and maps every outcome to an exit code from ``reconciler.exitcodes``.
"""
