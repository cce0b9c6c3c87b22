"""Names from outside cannot forge output (issue 11, point 10): a customer or subscription name
with a line feed, terminal escapes or bidi overrides is shown escaped in the text plan, the PR
comment and the gate messages; a journal export opened in a spreadsheet runs no formula."""

from __future__ import annotations

import csv
import dataclasses
import io
import re

import demo_world as w
import pytest

from reconciler import escaping
from reconciler.applying import journal
from reconciler.errors import Problem
from reconciler.planning import actions, planner
from reconciler.rendering import markdown, messages, text

#: A name that, printed raw, would start a fake "suspend" line, clear the screen and reverse
#: the rest of the line.
FORGED = "  - suspend            de 00000000 (forged)"
EVIL = f"Fabrikam GmbH\n{FORGED}\n\x1b[2J\u202e<img src=x onerror=alert(1)>|x"


@pytest.fixture(scope="module")
def hostile() -> actions.Plan:
    state = w.desired()
    first = dataclasses.replace(state.customers[0], name=EVIL)
    state = dataclasses.replace(state, customers=(first, *state.customers[1:]))
    plan = planner.build_plan(state, w.live_state(state), now=w.NOW, tool_version="t")
    assert any(c.name == EVIL for c in plan.customers)  # the name reached the plan raw
    return plan


def _forged_lines(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if "(forged)" in ln and "Fabrikam GmbH" not in ln]


def test_text_plan_shows_the_name_escaped_on_its_own_line(hostile: actions.Plan) -> None:
    out = text.render(hostile)
    assert _forged_lines(out) == []
    assert "\x1b" not in out and "\u202e" not in out
    assert f"Fabrikam GmbH\\n{FORGED}\\n\\x1b[2J\\u202e<img" in out


def test_coloured_text_plan_has_only_its_own_colour_codes(hostile: actions.Plan) -> None:
    out = text.render(hostile, color=True)
    assert _forged_lines(out) == []
    # Every escape sequence in the output is a colour code the renderer wrote itself.
    assert re.sub(r"\x1b\[[0-9;]*m", "", out).count("\x1b") == 0
    assert "\\x1b[2J" in out


def test_markdown_comment_cannot_be_forged_or_given_html(hostile: actions.Plan) -> None:
    md = markdown.render(hostile)
    assert _forged_lines(md) == []
    assert "<img" not in md and "\x1b" not in md and "\u202e" not in md
    assert "&lt;img src=x onerror=alert(1)&gt;" in md or "&lt;img src=x onerror=alert(1)>" in md
    # Every table row still has the columns of its header: the pipe in the name is escaped.
    for line in md.splitlines():
        if line.startswith("| `") and "Fabrikam GmbH" in line:
            assert len(re.findall(r"(?<!\\)\|", line)) == 5, line


def test_messages_escape_the_company_name_in_the_address_line(hostile: actions.Plan) -> None:
    out = messages.render(hostile)
    to_lines = [ln for ln in out.splitlines() if ln.startswith("To: the Global Administrator")]
    assert any("Fabrikam GmbH\\n" in ln for ln in to_lines)
    assert not any(ln.startswith(FORGED) for ln in out.splitlines())
    assert "\x1b" not in out


def test_ordinary_plans_are_left_as_they_are() -> None:
    state = w.desired()
    plan = planner.build_plan(state, w.live_state(state), now=w.NOW, tool_version="t")
    escaped = escaping.visible_strings(plan)
    # Nothing is copied for ordinary names (only the multi-line invitation letters, which the
    # text and Markdown renderers do not show, differ).
    assert escaped.customers is plan.customers and escaped.diagnostics is plan.diagnostics
    assert [c for c in escaped.changes if c.gate is None] == [
        c for c in plan.changes if c.gate is None
    ]
    assert text.render(plan) == text.render(escaped)


def _row(**values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(journal.EXPORT_COLUMNS, "")
    row.update(values)
    return row


def test_csv_export_neutralises_formulas_and_keeps_numbers() -> None:
    rows = [
        _row(customer_name="=cmd|' /C calc'!A0", key="+1+cmd", tenant="@SUM(A1)"),
        _row(customer_name="\t=1+1", key="\r=2", subscription_id="-2+3+cmd|' /C calc'!A0"),
        _row(customer_name="Fabrikam GmbH", before_quantity=5, after_quantity="-3"),
    ]
    read = list(csv.DictReader(io.StringIO(journal.to_csv(rows))))
    assert read[0]["customer_name"] == "'=cmd|' /C calc'!A0"
    assert read[0]["key"] == "'+1+cmd" and read[0]["tenant"] == "'@SUM(A1)"
    assert read[1]["customer_name"] == "'\\t=1+1" and read[1]["key"] == "'\\r=2"
    assert read[1]["subscription_id"].startswith("'-2+3")
    assert read[2]["customer_name"] == "Fabrikam GmbH"
    assert read[2]["before_quantity"] == "5" and read[2]["after_quantity"] == "-3"
    for row in read:  # no cell a spreadsheet would evaluate
        for value in row.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")) or value == "-3", value


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain name", "plain name"),
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("tab\there", "tab\\there"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("\x00\x7f\x85", "\\x00\\x7f\\x85"),
        ("line\u2028sep", "line\\u2028sep"),
        ("rtl\u202eevil", "rtl\\u202eevil"),
        ("Société Générale — 株式会社", "Société Générale — 株式会社"),
    ],
)
def test_visible_escapes_control_characters_only(raw: str, shown: str) -> None:
    assert escaping.visible(raw) == shown


def test_markdown_cell_escapes_pipes_tags_and_line_feeds() -> None:
    assert escaping.markdown_cell("a|b<script>\nc > d") == "a\\|b&lt;script> c > d"


def test_a_problem_line_cannot_be_forged_by_a_key() -> None:
    problem = Problem("x.yaml", 3, 5, "$['a\\nb']", "unknown field 'a\nx.yaml:1:1: $: fake'")
    (line,) = problem.render().splitlines()
    assert line.endswith("unknown field 'a\\nx.yaml:1:1: $: fake'")


def test_live_names_of_unmanaged_subscriptions_are_escaped_too(hostile: actions.Plan) -> None:
    # Names read from Partner Center (not only from manifests) reach the plan's tail.
    live = actions.Unmanaged(
        tenant="central",
        customer_id="3f2c6d55-0000-4000-8000-00000000c0ff",
        customer_name="Tailspin\n+ create forged",
        subscription_id="5b1e0a40-0000-4000-8000-00000000dfff",
        offer_id="CFQ7TTC0LH18:0001:CFQ7TTC0K971",
        friendly_name="E3\r\n  - suspend forged\x1b]8;;https://evil\x07",
        quantity=3,
        status="active",
    )
    plan = dataclasses.replace(hostile, unmanaged=(live,))
    out = text.render(plan)
    starts = ("+ create forged", "  - suspend forged", "forged")
    assert [ln for ln in out.splitlines() if ln.startswith(starts)] == []
    assert '"E3\\r\\n  - suspend forged\\x1b]8;;https://evil\\x07" 3 seats' in out
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
