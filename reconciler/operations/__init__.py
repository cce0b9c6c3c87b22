"""The use cases: what a command does, below the command line and above the layers it joins.

A command (``reconciler.cli``) parses its options, calls one operation here, renders what it
returns and maps it to an exit code. An operation composes the layers below: it loads
manifests, connects to Partner Center, reads live state, plans, applies, writes files. It
must NOT import typer or rich, print, prompt, or read ``os.environ``: the command passes in
the environment, and every question or progress line goes through a callback it supplies.
"""
