"""What reviewers and operators see: the terminal text, the PR comment, the JSON document."""

from __future__ import annotations

import dataclasses
import json

import big_world
import demo_world as w
import pytest

from reconciler.planning import actions, planfile, planner
from reconciler.rendering import jsondoc, markdown, text


@pytest.fixture(scope="module")
def pending() -> actions.Plan:
    state = w.desired()
    return planner.build_plan(state, w.live_state(state), now=w.NOW, tool_version="t")


@pytest.fixture(scope="module")
def huge() -> actions.Plan:
    state, live = big_world.make(5000, 3)
    return planner.build_plan(state, live, now=big_world.NOW, tool_version="t")


def test_text_is_plain_unless_colour_is_asked_for(pending):
    plain = text.render(pending)
    assert "\x1b[" not in plain
    coloured = text.render(pending, color=True)
    assert "\x1b[32m+\x1b[0m" in coloured and "\x1b[36m?\x1b[0m" in coloured


def test_text_puts_warnings_first_and_ends_with_the_summary(pending):
    out = text.render(pending).splitlines()
    assert out[2].startswith("Warnings (2):")
    assert (
        out[2]
        and out.index(
            "Adatum SARL (3f2c6d55-0000-4000-8000-00000000c003, from fr)  [invitation-pending]"
        )
        > 3
    )
    assert out[-1].startswith("Plan: 7 invitations pending, 11 to create,") and out[-1].endswith(
        "(nothing to apply now; waiting on others)."
    )


def test_text_states_how_each_pair_moves_why_and_what_was_rejected(pending):
    out = text.render(pending)
    northwind = out[out.index("Northwind Traders AG (") : out.index("Tailspin Toys SAS (")]
    assert "  strategy per pair:\n" in northwind
    assert "    de business-basic (5b1e0a40-0000-4000-8000-00000000d003): transfer\n" in northwind
    assert "      why: new commerce under policy moveBy: transfer-first: a partner-to-partner" in (
        northwind
    )
    assert "      not re-provision: buying it again in the target bills both tenants" in northwind
    assert "    de azure-plan (5b1e0a40-0000-4000-8000-00000000d0a2): transfer\n" in northwind
    assert "targetProductTypes AzureSubscription" in northwind
    assert "      not support-handoff: a support hand-off waits on Microsoft" in northwind
    adatum = out[out.index("Adatum SARL (") : out.index("Alpine Ski House SE (")]
    assert (
        "fr exchange (5b1e0a40-0000-4000-8000-00000000f001): re-provision, then suspend" in adatum
    )
    assert "not transfer: new-commerce partner-to-partner transfers do not carry legacy" in adatum


def test_markdown_shows_the_strategy_and_reason_per_pair():
    state = w.desired()
    plan = planner.build_plan(state, w.accepted(state), now=w.NOW)
    md = markdown.render(plan)
    assert md.count("| Pair | Moves by | Why | Rejected |") == 7  # every customer has pairs
    northwind = md[md.index("<b>Northwind Traders AG</b>") :]
    northwind = northwind[: northwind.index("</details>")]
    row = next(ln for ln in northwind.splitlines() if ln.startswith("| `de business-basic"))
    assert "| **transfer** | new commerce under policy moveBy: transfer-first" in row
    assert "not re-provision: buying it again" in row
    litware = md[md.index("<b>Litware Bank SA</b>") :]
    assert "**re-provision, then hold**" in litware[: litware.index("</details>")]


def test_text_groups_changes_by_customer_in_plan_order(pending):
    out = text.render(pending)
    positions = [out.index(f"{c.name} ({c.tenant_id}, from") for c in pending.customers]
    assert positions == sorted(positions)


def test_markdown_calls_out_risk_and_folds_customers():
    state = w.desired()
    plan = planner.build_plan(state, w.accepted(state), now=w.NOW)
    md = markdown.render(plan)
    assert (
        "> [!WARNING]" in md and "**9 source subscriptions will be suspended or cancelled**" in md
    )
    assert md.count("</b> from `") == 7
    # A customer held in two sources says so in its heading.
    assert "<b>Alpine Ski House SE</b> from `de` and `fr`" in md
    assert "| `-` | suspend |" in md


def test_markdown_for_5000_customers_stays_under_githubs_limit(huge):
    md = markdown.render(huge, full_plan="artifact plan.json")
    assert len(md) < 65_535
    assert "more customers with changes are not shown" in md and "artifact plan.json" in md
    assert md.rstrip().endswith(")."), "the summary line survives truncation"


def test_markdown_escapes_table_and_html_breakers(pending):
    entry = pending.customers[0]
    evil = dataclasses.replace(entry, name="<script>x</script> | Co")
    change = pending.changes[0]
    bad = dataclasses.replace(change, detail="a | b\nc")
    plan = dataclasses.replace(
        pending, customers=(evil, *pending.customers[1:]), changes=(bad, *pending.changes[1:])
    )
    md = markdown.render(plan)
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "a \\| b c" in md


def test_markdown_respects_a_small_limit(pending):
    md = markdown.render(pending, limit=3000)
    assert len(md) <= 3000


def test_json_is_the_plan_document(pending):
    doc = json.loads(jsondoc.render(pending))
    assert doc == json.loads(json.dumps(planfile.to_dict(pending)))
    assert doc["summary"]["outcome"] == "waiting"
    assert doc["summary"]["by_action"]["invite"] == 7
    first = doc["customers"][0]["changes"][0]
    assert first["action"] == "invite" and first["gate"]["url"] == w.INVITE_URL


def test_each_change_of_the_json_document_is_one_line_that_reads_on_its_own(pending):
    text = jsondoc.render(pending)
    doc = json.loads(text)
    lines = {line.strip().rstrip(",") for line in text.splitlines()}
    changes = [c for section in doc["customers"] for c in section.get("changes", ())]
    assert len(changes) == len(pending.changes)
    for change in changes:
        line = json.dumps(change, ensure_ascii=False, separators=(", ", ": "))
        assert line in lines, f"change {change['id']} is not on a line of its own"
    # Each customer's section starts on its own line with its tenant id, for diffs and grep.
    for section in doc["customers"]:
        assert f'"tenant_id": "{section["tenant_id"]}"' in lines


def _adatum_done() -> actions.Plan:
    state = w.desired()
    target = {c.tenant_id: w.view(c.tenant_id) for c in state.customers}
    target[w.C + "c003"] = w.view(
        w.C + "c003",
        (
            w.sub(
                "aa000000-0000-4000-8000-000000000001",
                "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G",
                60,
                friendly="M [rc:exchange]",
            ),
            w.sub(
                "aa000000-0000-4000-8000-000000000002",
                "CFQ7TTC0LDPB:0001:CFQ7TTC0HD4N",
                12,
                friendly="S [rc:business-standard]",
            ),
        ),
    )
    srcs = w.source_views()
    srcs["fr"][w.C + "c003"] = w.view(
        w.C + "c003",
        (
            w.sub(w.S + "f001", w.EXCHANGE_LEGACY, 60, status="suspended"),
            w.sub(w.S + "f002", w.STANDARD_LEGACY, 12, status="suspended"),
        ),
    )
    return planner.build_plan(state, w.live_state(state, target=target, sources=srcs), now=w.NOW)


def test_a_settled_customer_is_one_line_in_text():
    out = text.render(_adatum_done())
    assert (
        "Adatum SARL (3f2c6d55-0000-4000-8000-00000000c003, from fr)  nothing to do (4 unchanged)"
        in out
    )


def test_markdown_lists_settled_customers_after_those_with_work():
    md = markdown.render(_adatum_done())
    assert "**Nothing to do for 1 customer:** Adatum SARL" in md
    assert "<b>Adatum SARL</b>" not in md
    assert md.index("<b>Fabrikam GmbH</b>") < md.index("Nothing to do for")


def test_summary_counts_read_naturally_in_singular_and_plural():
    from reconciler.planning import actions
    from reconciler.rendering import common

    assert common.phrase(actions.Action.INVITE, 1) == "1 invitation pending"
    assert common.phrase(actions.Action.INVITE, 6) == "6 invitations pending"
    assert common.phrase(actions.Action.CREATE, 1) == "1 to create"
    assert common.phrase(actions.Action.AZURE_HANDOFF, 1) == "1 Azure hand-off to request"


def test_messages_give_each_customer_its_invitation_and_support_the_ready_names():
    from reconciler.rendering import messages

    state = w.desired()
    waiting = messages.render(planner.build_plan(state, w.live_state(state), now=w.NOW))
    for customer in state.customers:
        assert f"To: the Global Administrator of {customer.name} ({customer.tenant_id})" in waiting
    assert waiting.count(w.INVITE_URL) == len(state.customers)
    assert "Microsoft support" not in waiting  # nobody accepted yet: no Azure is ready
    ready = messages.render(planner.build_plan(state, w.accepted(state), now=w.NOW))
    assert "Global Administrator" not in ready
    support = ready.split("To: Microsoft support", 1)[1]
    for name in ("Fabrikam GmbH", "Tailspin Toys SAS"):
        assert name in support
    assert "Northwind Traders AG" not in support  # its Azure plan moves by transfer
    assert "Adatum SARL" not in support  # no Azure subscription to move


def test_markdown_risk_counts_of_one_read_in_the_singular():
    state = w.desired()
    plan = planner.build_plan(state, w.accepted(state), now=w.NOW)
    one_cut = next(c for c in plan.changes if c.action is actions.Action.SUSPEND)
    rest = tuple(
        c for c in plan.changes if c.action not in (actions.Action.SUSPEND, actions.Action.CANCEL)
    )
    overlap = actions.Diagnostic(actions.Severity.WARNING, "billing-overlap", "x")
    error = actions.Diagnostic(actions.Severity.ERROR, "state-unknown", "y")
    single = dataclasses.replace(plan, changes=(*rest, one_cut), diagnostics=(overlap, error))
    md = markdown.render(single)
    assert "**1 source subscription will be suspended or cancelled**" in md
    assert "**1 pair bills twice beyond the tolerance**" in md
    assert "**1 customer could not be planned**" in md
