"""What every command gets from the entry point at run time: the environment it runs in and a
way to run another command line in-process (the demo's steps).

``main.main`` puts a ``Runtime`` in the click context; a command takes ``ctx: typer.Context``
and calls ``runtime.of(ctx)``. So no command reads ``os.environ`` itself (the demo passes a
changed copy to the commands it runs instead of mutating the process environment), and no
command module imports ``main`` (which imports every command module).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from reconciler import errors, settings

if TYPE_CHECKING:  # imported when used: start-up stays fast
    from reconciler.operations import live

#: Runs ``reconciler ARGV`` in-process with the given environment; returns the exit code.
Runner = Callable[[Sequence[str], Mapping[str, str]], int]


@dataclass(frozen=True, slots=True)
class Runtime:
    environ: Mapping[str, str]
    run: Runner

    def access(self, credentials: Path | None, connection: Path | None) -> live.Access:
        """Where this run's credentials come from (the shared options and the environment)."""
        from reconciler.operations import live

        return live.Access(self.environ, credentials=credentials, connection=connection)

    def state_dir(self, option: Path | None) -> Path:
        """``--state-dir``, else ``$RECONCILER_STATE_DIR``, else ``.reconciler``."""
        return option or Path(
            self.environ.get(settings.ENV_STATE_DIR) or settings.DEFAULT_STATE_DIR
        )


def of(ctx: typer.Context) -> Runtime:
    """The runtime ``main.main`` started this command with."""
    found = ctx.find_object(Runtime)
    if found is None:  # only when a command is invoked without the entry point
        raise errors.UsageError(
            "reconciler commands run through `reconciler` (reconciler.cli.main.main)."
        )
    return found
