"""Entry point of the ``reconciler`` console script.

Owns the one place where outcomes become exit codes: a ``ReconcilerError`` prints its message
and exits 1; a click usage error exits 1 (not click's 2, which means "changes pending" here)
with a one-line hint; anything else is a bug, whose traceback goes to a file while the user
sees one line saying where. The typer app itself lives in ``app``, imported only when a
command line needs it: ``reconciler --version`` is answered before typer is loaded, and the
top-level ``--help`` (or no arguments) from ``fasthelp``'s copy of it.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from reconciler import __version__
from reconciler.exitcodes import ExitCode

if TYPE_CHECKING:  # imported where used: ``--version`` needs neither
    from pathlib import Path


def _write_crash_report(exc: BaseException) -> Path:
    import datetime as dt  # only on a crash: start-up stays fast
    import tempfile
    import traceback
    from pathlib import Path

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    fd, name = tempfile.mkstemp(prefix=f"reconciler-crash-{stamp}-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"reconciler {__version__}\n")
        fh.write("".join(traceback.format_exception(exc)))
    return Path(name)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) in ``environ`` (default: the
    process environment, read by no command directly) and return the exit code."""
    import typer

    from reconciler import errors
    from reconciler.cli import app, runtime

    command = typer.main.get_command(app.app)
    app.plain_value_names(command)
    args = list(sys.argv[1:] if argv is None else argv)
    env = runtime.Runtime(os.environ if environ is None else environ, main)
    try:
        result = command.main(args=args, prog_name="reconciler", standalone_mode=False, obj=env)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.TyperException as exc:
        return app.usage_failure(exc)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        return int(ExitCode.INTERRUPTED)
    except errors.ReconcilerError as exc:
        typer.echo(f"Error: {exc}", err=True)
        return int(ExitCode.ERROR)
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:
        report = _write_crash_report(exc)
        typer.echo(
            f"Error: unexpected internal error ({type(exc).__name__}); this is a bug in "
            f"reconciler. The full traceback was written to {report}; please attach it to an "
            "issue.",
            err=True,
        )
        return int(ExitCode.ERROR)
    if isinstance(result, int):
        return result
    return int(ExitCode.OK)


def printable(stream: object) -> None:
    """Switch a text stream whose encoding cannot show the tool's arrows and ellipses to UTF-8.

    On Windows a redirected stdout (every CI log) is in the ANSI code page, where writing "→"
    raises ``UnicodeEncodeError`` half-way through a message; the console itself is UTF-8.
    """
    encoding = getattr(stream, "encoding", None)
    if not isinstance(stream, io.TextIOWrapper) or not encoding:
        return
    try:
        "→…×".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        stream.reconfigure(encoding="utf-8", errors="replace")


def run() -> None:
    """Console-script entry point."""
    args = sys.argv[1:]
    if args == ["--version"]:
        # Exactly what the app's eager --version option prints, without loading typer.
        sys.stdout.write(f"reconciler {__version__}\n")
        raise SystemExit(int(ExitCode.OK))
    printable(sys.stdout)
    printable(sys.stderr)
    if args in ([], ["--help"], ["-h"]):
        # The top-level help as typer draws it, without loading typer (unless the terminal
        # is too narrow for the copy).
        from reconciler.cli import fasthelp

        if fasthelp.write(sys.stdout, os.environ):
            raise SystemExit(int(ExitCode.OK))
    raise SystemExit(main())
