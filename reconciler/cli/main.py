"""Entry point of the ``reconciler`` console script.

Owns the top-level typer app, ``--version``, and the one place where outcomes become exit
codes: a ``ReconcilerError`` prints its message and exits 1; a click usage error exits 1 (not
click's 2, which means "changes pending" here) with a one-line hint; anything else is a bug,
whose traceback goes to a file while the user sees one line saying where.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import sys
import tempfile
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated

import typer

from reconciler import __version__, errors
from reconciler.cli import (
    apply,
    comment,
    demo,
    emulator,
    emulator_control,
    export,
    followup,
    login,
    plan,
    reviewed,
    runtime,
    schema,
    status,
    validate,
)
from reconciler.exitcodes import ExitCode

HELP_OPTION_NAMES = ["-h", "--help"]

app = typer.Typer(
    name="reconciler",
    help=(
        "Declarative consolidation of Microsoft CSP customers from regional Partner Center "
        "tenants into one central tenant: validate manifests, plan the changes against live "
        "state, apply them safely."
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": HELP_OPTION_NAMES},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"reconciler {__version__}")
        raise typer.Exit(int(ExitCode.OK))


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Declarative consolidation of CSP customers into one Partner Center tenant."""


def _register_commands() -> None:
    """Add every command module's commands to ``app``, in help order. Plain imports (above):
    import-linter sees every arrow. Each module imports its heavy dependencies inside its
    command functions, so ``--help`` and ``--version`` stay fast."""
    for module in (
        validate,
        export,
        plan,
        apply,
        status,
        comment,
        reviewed,
        followup,
        schema,
        login,
    ):
        module.register(app)
    emulator_control.register(emulator.register(app))
    demo.register(app)


_register_commands()


#: What option help shows for a value instead of Python's type name ("<list[str]>"); a flag
#: shows nothing. Labels not listed (choices) keep typer's own rendering.
_VALUE_WORDS = {"bool": "", "int": "INTEGER", "float": "NUMBER", "path": "PATH", "str": "TEXT"}


def _value_word(label: str) -> str | None:
    inner = label.strip("<>")
    if inner.startswith("list[") and inner.endswith("]"):
        inner = inner[len("list[") : -1]
    return _VALUE_WORDS.get(inner.lower())


def plain_value_names(command: object) -> None:
    """Replace typer's ``<bool>``/``<list[str]>`` type column with PATH, TEXT, INTEGER, ...

    Walks the command tree once; each parameter's help label is fixed on the instance, so
    parsing, completion and error messages are untouched. The ``--help`` option, which the
    command makes (and keeps) on first use, is made here so that it is fixed too.
    """
    help_option = None
    if isinstance(command, typer.core.TyperCommand | typer.core.TyperGroup):
        help_option = command.get_help_option(
            typer.Context(command, help_option_names=HELP_OPTION_NAMES)
        )
    for param in (*getattr(command, "params", ()), help_option):
        display_type = getattr(param, "display_type", None) if param is not None else None
        if display_type is None:
            continue
        try:
            word = _value_word(str(display_type(None)))
        except (AttributeError, TypeError):  # a choice whose label needs a context
            continue
        if word is None:
            continue
        if word and getattr(param, "nargs", 1) != 1:
            word += "..."
        param.display_type_rich = lambda ctx, word=word: word
    for sub in getattr(command, "commands", {}).values():
        plain_value_names(sub)


def _write_crash_report(exc: BaseException) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    fd, name = tempfile.mkstemp(prefix=f"reconciler-crash-{stamp}-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"reconciler {__version__}\n")
        fh.write("".join(traceback.format_exception(exc)))
    return Path(name)


def _usage_failure(exc: typer.TyperException) -> int:
    """A command-line parsing error: one line and a hint, exit 1 (never click's 2)."""
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
        typer.echo(ctx.get_help())
        return int(ExitCode.OK)
    hint = f" Try '{ctx.command_path} --help'." if ctx is not None else ""
    typer.echo(f"Error: {exc.format_message()}{hint}", err=True)
    return int(ExitCode.ERROR)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) in ``environ`` (default: the
    process environment, read by no command directly) and return the exit code."""
    command = typer.main.get_command(app)
    plain_value_names(command)
    args = list(sys.argv[1:] if argv is None else argv)
    env = runtime.Runtime(os.environ if environ is None else environ, main)
    try:
        result = command.main(args=args, prog_name="reconciler", standalone_mode=False, obj=env)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.TyperException as exc:
        return _usage_failure(exc)
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
    printable(sys.stdout)
    printable(sys.stderr)
    raise SystemExit(main())
