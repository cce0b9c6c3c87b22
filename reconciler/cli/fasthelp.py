"""``reconciler --help`` (and ``reconciler`` alone) without typer, click or rich.

Loading typer, click and rich costs about a second on a busy machine, ten times what the
top-level help should take (issue 14: under 0.15 s). The top-level help only lists the commands
and the global options, so it is kept here as data and drawn the way typer's rich help draws
it: the same panels, column widths, word wrapping, colours and terminal width rules. Only the
standard library is imported, and only ``os``.

``COMMANDS`` and ``OPTIONS`` are a copy of what ``cli/app.py`` registers:
``tests/cli/test_fasthelp.py`` compares them (and the text drawn from them, at several widths)
with the typer app's own help, so a command added, renamed or re-worded without updating them
fails the build with the line to write. Subcommand help (``reconciler plan --help``) is typer's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import IO

#: The app's help (``cli/app.py`` passes this to ``typer.Typer``).
DESCRIPTION = (
    "Declarative consolidation of Microsoft CSP customers from regional Partner Center "
    "tenants into one central tenant: validate manifests, plan the changes against live "
    "state, apply them safely."
)
USAGE = "Usage: reconciler [OPTIONS] COMMAND [ARGS]..."

#: (long name, short name, help) of each global option, in typer's order.
OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("--version", "", "Print the version and exit."),
    ("--install-completion", "", "Install completion for the current shell."),
    (
        "--show-completion",
        "",
        "Show completion for the current shell, to copy it or customize the installation.",
    ),
    ("--help", "-h", "Show this message and exit."),
)

#: (name, first line of help) of each command and command group, in help order.
COMMANDS: tuple[tuple[str, str], ...] = (
    (
        "validate",
        "Check manifests against the schemas and the cross-file rules, without any network.",
    ),
    ("export", "Write customer manifests from the live source tenants: start from the truth."),
    ("plan", "Compare the manifests with live Partner Center state and show the ordered work."),
    ("show", "Render a saved plan (from `plan --out`) without any network access."),
    ("apply", "Carry out a plan: saved (refused if stale or applied before) or planned now."),
    ("unlock", "Remove an apply lock whose holder is gone (only when you are sure it is)."),
    ("status", "Show how far each customer got: invited, targets active, sources stopped, Azure."),
    ("comment", "Post the plan on a pull request, updating the comments posted before."),
    (
        "check-plan",
        "Refuse a saved plan that is not the one reviewed for this commit and manifests.",
    ),
    ("followup", "Open, update or close the follow-up issue from a saved plan."),
    ("schema", "Write the manifests' JSON Schemas (for editors and the manifests' modelines)."),
    ("login", "Sign in as a Partner Center user (device code) for the App+User-only calls."),
    ("demo", "Run plan and apply against the bundled Partner Center emulator, end to end."),
    ("journal", "Read the apply journals."),
    ("emulator", "Run the local Partner Center emulator (for demos, tests and benchmarks)."),
)  # fmt: skip

# SGR codes of typer's rich styles: (attributes kept under NO_COLOR, colours).
_BOLD, _DIM = "1", "2"
_USAGE = (_BOLD, "33")  # "Usage: " in bold yellow
_OPTION = (_BOLD, "36")  # --long names and command names in bold cyan
_SWITCH = (_BOLD, "32")  # -h in bold green
#: What typer's highlighter marks in help text (its OptionHighlighter).
_HIGHLIGHT = re.compile(r"(?:^|(?<=\W))(?P<option>--[\w-]+|-\w+)(?![a-zA-Z0-9])")

Segment = tuple[str, tuple[str, ...]]  # text and its SGR codes (none: plain)


class _Style:
    """How to write a segment: ANSI codes on a terminal (colours unless NO_COLOR), else none."""

    def __init__(self, *, styled: bool, color: bool) -> None:
        self.styled, self.color = styled, color

    def __call__(self, text: str, codes: tuple[str, ...]) -> str:
        if not self.styled or not codes or not text:
            return text
        kept = codes if self.color else tuple(c for c in codes if c in (_BOLD, _DIM))
        return f"\x1b[{';'.join(kept)}m{text}\x1b[0m" if kept else text


#: Narrower than this (55 and less), typer narrows the option columns and cuts option names:
#: typer draws it.
MIN_WIDTH = 60


def render(
    width: int, *, styled: bool = False, color: bool = True, ascii_only: bool = False
) -> str:
    """The top-level help at ``width`` columns (``MIN_WIDTH`` or more), as typer's rich help
    draws it."""
    style = _Style(styled=styled, color=color)
    out: list[str] = []

    def line(segments: Sequence[Segment]) -> None:
        out.append("".join(style(text, codes) for text, codes in segments))

    blank = " " * width
    line([(blank, (_BOLD,))])
    usage_rest = USAGE[len("Usage: ") :]
    line(
        [
            (" ", (_BOLD,)),
            ("Usage: ", _USAGE),
            (usage_rest, (_BOLD,)),
            (" " * (width - 2 - len(USAGE)), (_BOLD,)),
            (" ", (_BOLD,)),
        ]
    )
    line([(blank, (_BOLD,))])
    for text in _wrap(DESCRIPTION, width - 2):
        line([(" " + text.ljust(width - 2) + " ", ())])
    line([(blank, ())])
    inner = width - 4
    rows = [
        [_plain(long, _OPTION), _plain(short, _SWITCH), [], [], [], _highlighted(help_)]
        for long, short, help_ in OPTIONS
    ]
    _panel(line, "Options", _table(rows, inner, _option_widths(rows, inner)), width, ascii_only)
    name_width = max(len(name) for name, _ in COMMANDS)
    command_rows = [[_plain(name, _OPTION), _highlighted(help_)] for name, help_ in COMMANDS]
    widths = [name_width + 1, inner - name_width - 1]
    _panel(line, "Commands", _table(command_rows, inner, widths, first=_OPTION), width, ascii_only)
    # click echoes what typer's help returns (nothing: rich has printed it) and a newline
    return "\n".join(out) + "\n\n"


def _plain(text: str, codes: tuple[str, ...]) -> list[Segment]:
    return [(text, codes)] if text else []


def _highlighted(text: str) -> list[Segment]:
    """``text`` with option names marked, as typer's highlighter marks them."""
    segments: list[Segment] = []
    at = 0
    for match in _HIGHLIGHT.finditer(text):
        segments.append((text[at : match.start("option")], ()))
        name = match.group("option")
        segments.append((name, _OPTION if name.startswith("--") else _SWITCH))
        at = match.end("option")
    segments.append((text[at:], ()))
    return [s for s in segments if s[0]]


def _length(cell: Sequence[Segment]) -> int:
    return sum(len(text) for text, _ in cell)


def _padding(index: int, count: int) -> int:
    """Cell padding (0, 1) without the table's outer edges (typer's pad_edge=False)."""
    return (index > 0) + (index < count - 1)


def _option_widths(rows: Sequence[Sequence[Sequence[Segment]]], inner: int) -> list[int]:
    """The options table's column widths as rich computes them at ``MIN_WIDTH`` and more: each
    column as wide as its longest entry (an empty one as its padding), the help column (whose
    measure is the whole line) the rest."""
    count = len(rows[0])
    widths = [max(_length(row[i]) for row in rows) + _padding(i, count) for i in range(count - 1)]
    return [*widths, inner - sum(widths)]


def _text(cell: Sequence[Segment]) -> str:
    return "".join(text for text, _ in cell)


def _table(
    rows: Sequence[Sequence[Sequence[Segment]]],
    inner: int,
    widths: Sequence[int],
    first: tuple[str, ...] = (),
) -> list[list[Segment]]:
    """The table's lines: each cell wrapped to its column, padded, rows side by side."""
    count = len(widths)
    lines: list[list[Segment]] = []
    for row in rows:
        cells = []
        for i, (cell, width) in enumerate(zip(row, widths, strict=True)):
            left = 1 if i > 0 else 0
            content = width - _padding(i, count)
            cells.append([_cell_line(part, left, width) for part in _wrap_cell(cell, content)])
        height = max(len(c) for c in cells)
        for n in range(height):
            line: list[Segment] = []
            for i, (column, width) in enumerate(zip(cells, widths, strict=True)):
                part: list[Segment] = column[n] if n < len(column) else [(" " * width, ())]
                if i == 0 and first:  # typer styles the whole first column (padding too)
                    part = [(text, codes or first) for text, codes in part]
                line.extend(part)
            lines.append(line)
    return lines


def _cell_line(part: list[Segment], left: int, width: int) -> list[Segment]:
    used = _length(part)
    return [(" " * left, ()), *part, (" " * (width - left - used), ())]


def _wrap_cell(cell: Sequence[Segment], width: int) -> list[list[Segment]]:
    """The cell's segments cut into lines at the points rich's word wrap chooses."""
    text = _text(cell)
    if not text:
        return [[]]
    breaks = [*_divide(text, width), len(text)]
    lines: list[list[Segment]] = []
    start = 0
    for end in breaks:
        lines.append(_slice(cell, start, end, width))
        start = end
    return lines


def _slice(cell: Sequence[Segment], start: int, end: int, width: int) -> list[Segment]:
    out: list[Segment] = []
    at = 0
    for text, codes in cell:
        a, b = max(start, at), min(end, at + len(text))
        if a < b:
            out.append((text[a - at : b - at], codes))
        at += len(text)
    # rich drops the spaces that end a line beyond the width
    while out and _length(out) > width and out[-1][0].endswith(" "):
        text, codes = out[-1]
        trimmed = text[: len(text) - min(_length(out) - width, len(text) - len(text.rstrip(" ")))]
        out[-1] = (trimmed, codes)
        if not trimmed:
            out.pop()
    return out


_WORD = re.compile(r"\s*\S+\s*")


def _divide(text: str, width: int) -> list[int]:
    """rich's ``_wrap.divide_line`` (every character one cell wide, folding long words)."""
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group(0)
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:
            pieces = [word[i : i + width] for i in range(0, len(word), width)]
            for n, piece in enumerate(pieces):
                if start:
                    breaks.append(start)
                if n == len(pieces) - 1:
                    offset = len(piece)
                else:
                    start += len(piece)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    return breaks


def _wrap(text: str, width: int) -> list[str]:
    return [_text(part).rstrip() for part in _wrap_cell([(text, ())], width)]


def _panel(
    line: Callable[[Sequence[Segment]], None],
    title: str,
    body: Sequence[Sequence[Segment]],
    width: int,
    ascii_only: bool,
) -> None:
    tl, h, tr, v, bl, br = ("+", "-", "+", "|", "+", "+") if ascii_only else "╭─╮│╰╯"
    dim = (_DIM,)
    line([(tl + h, dim), (f" {title} ", dim), (h * (width - len(title) - 5) + tr, dim)])
    for row in body:
        line([(v, dim), (" ", ()), *row, (" ", ()), (v, dim)])
    line([(bl + h * (width - 2) + br, dim)])


def terminal(stream: IO[str], environ: Mapping[str, str]) -> tuple[int, bool, bool]:
    """(width, styled, colour) as typer's rich console decides them for ``stream``.

    Width: ``TERMINAL_WIDTH``, else ``COLUMNS``, else the size of the first of stdin, stdout
    and stderr that is a terminal, else 80. Styled: on a terminal (or forced by
    ``FORCE_COLOR``, ``PY_COLORS``, ``GITHUB_ACTIONS`` or ``TTY_COMPATIBLE=1``), never on a dumb
    one; ``NO_COLOR`` keeps bold and dim and drops the colours.
    """
    try:
        is_tty = stream.isatty()
    except (AttributeError, ValueError):
        is_tty = False
    forced = any(environ.get(k) for k in ("GITHUB_ACTIONS", "FORCE_COLOR", "PY_COLORS"))
    compatible = environ.get("TTY_COMPATIBLE", "")
    if compatible == "1":
        forced = True
    if environ.get("_TYPER_FORCE_DISABLE_TERMINAL") or compatible == "0":
        forced, is_tty = False, False
    terminal_on = forced or is_tty
    dumb = environ.get("TERM", "").lower() in ("dumb", "unknown")
    styled = terminal_on and not dumb
    color = styled and environ.get("NO_COLOR", "") == ""
    return _width(environ, dumb=dumb and terminal_on), styled, color


def _width(environ: Mapping[str, str], *, dumb: bool) -> int:
    fixed = environ.get("TERMINAL_WIDTH", "")
    if fixed.isdigit():
        return int(fixed)
    columns = environ.get("COLUMNS", "")
    if columns.isdigit():
        return int(columns)
    if dumb:
        return 80
    for fd in (0, 1, 2):
        try:
            return os.get_terminal_size(fd).columns or 80
        except (OSError, ValueError):
            continue
    return 80


def write(stream: IO[str], environ: Mapping[str, str]) -> bool:
    """Print the top-level help on ``stream`` as typer would for this terminal; False (nothing
    printed) on a terminal narrower than ``MIN_WIDTH``, where typer has to draw it."""
    width, styled, color = terminal(stream, environ)
    if width < MIN_WIDTH:
        return False
    encoding = (getattr(stream, "encoding", None) or "utf-8").lower()
    stream.write(
        render(width, styled=styled, color=color, ascii_only=not encoding.startswith("utf"))
    )
    stream.flush()
    return True
