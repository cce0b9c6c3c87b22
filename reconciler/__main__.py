"""``python -m reconciler``: the same entry point as the ``reconciler`` console script."""

from reconciler.cli import main

main.run()
