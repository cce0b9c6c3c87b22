"""The top-level typer app: every command registered, ``--version``, option help in words.

Imported by ``main`` only when a command line needs it: typer and click take longer to load
than ``reconciler --version`` should take in all.
"""

from __future__ import annotations

from typing import Annotated

import typer

from reconciler import __version__
from reconciler.cli import (
    apply,
    comment,
    demo,
    emulator,
    emulator_control,
    export,
    fasthelp,
    followup,
    login,
    plan,
    reviewed,
    schema,
    status,
    validate,
)
from reconciler.exitcodes import ExitCode

HELP_OPTION_NAMES = ["-h", "--help"]

app = typer.Typer(
    name="reconciler",
    help=fasthelp.DESCRIPTION,
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


def usage_failure(exc: typer.TyperException) -> int:
    """A command-line parsing error: one line and a hint, exit 1 (never click's 2)."""
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
        typer.echo(ctx.get_help())
        return int(ExitCode.OK)
    hint = f" Try '{ctx.command_path} --help'." if ctx is not None else ""
    typer.echo(f"Error: {exc.format_message()}{hint}", err=True)
    return int(ExitCode.ERROR)
