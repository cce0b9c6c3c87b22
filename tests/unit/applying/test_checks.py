"""Blast-radius caps stop a run before it starts; --customer narrows a plan."""

from __future__ import annotations

from dataclasses import replace

import pytest
from apply_fakes import CUST, create, plan_of, source_change

from reconciler import errors, model
from reconciler.applying import checks, ports
from reconciler.planning import actions, ordering, sources

A = actions.Action


def test_a_plan_beyond_the_suspension_cap_is_refused_before_any_write() -> None:
    plan = plan_of(source_change("s1", A.SUSPEND, "a", 1), source_change("s2", A.SUSPEND, "b", 1))
    with pytest.raises(errors.ApplyRefusedError, match=r"2 suspensions \(the policy allows 1"):
        checks.check_caps(plan, model.Policy(max_suspensions_per_apply=1))
    checks.check_caps(plan, model.Policy(max_suspensions_per_apply=2))


def test_narrowing_keeps_only_the_named_customers_and_rejects_unknown_names() -> None:
    plan = plan_of(create())
    assert checks.narrow(plan, ["CONTOSO"]).changes == plan.changes
    assert checks.narrow(plan, [CUST]).customers == plan.customers
    with pytest.raises(errors.UsageError, match="not a customer of this plan"):
        checks.narrow(plan, ["fabrikam"])


def test_required_seats_count_every_source_the_entry_replaces() -> None:
    a = source_change("s1", A.SUSPEND, "a", 4)
    b = source_change("s2", A.SUSPEND, "b", 6)
    assert checks.required_seats(plan_of(a, b), a, 5) == 11


@pytest.mark.parametrize(
    ("target", "why"),
    [
        (None, "not found"),
        (ports.Sub("t", "o", "n", 10, model.SubscriptionStatus.PENDING), "pending, not active"),
        (
            ports.Sub("t", "o", "n", 9, model.SubscriptionStatus.ACTIVE),
            "9 seats, fewer than the 10",
        ),
    ],
)
def test_rule_one_names_why_the_source_stays(target: ports.Sub | None, why: str) -> None:
    assert why in (checks.target_blocks(target, 10) or "")
    assert (
        checks.target_blocks(ports.Sub("t", "o", "n", 10, model.SubscriptionStatus.ACTIVE), 10)
        is None
    )


def test_apply_counts_the_seats_of_held_sources_but_not_of_kept_or_transferred_ones() -> None:
    """Rule 1's arithmetic is the planner's (``planning.sources.seats_to_cover``): a source
    held by a protect flag may stop later and counts; one kept or transferred does not."""
    me = source_change("s1", A.SUSPEND, "a", 4)
    held = replace(source_change("s2", A.HOLD, "b", 6), strategy=actions.Strategy.HOLD)
    kept = replace(source_change("s3", A.NOOP, "c", 7), strategy=actions.Strategy.KEEP)
    moved = replace(source_change("s4", A.NOOP, "d", 8), strategy=actions.Strategy.TRANSFER)
    assert checks.required_seats(plan_of(me, held, kept, moved), me, 5) == 11
    pairs = [(5, actions.Strategy.SUSPEND), (6, actions.Strategy.HOLD), (7, actions.Strategy.KEEP)]
    assert sources.seats_to_cover(pairs) == 11


def test_each_capped_action_is_deferred_and_refused_by_its_own_cap() -> None:
    """The caps come from the action facts: planning defers, apply refuses, both by name."""
    changes = [
        source_change("s1", A.SUSPEND, "a", 1),
        source_change("s2", A.SUSPEND, "b", 1),
        source_change("c1", A.CANCEL, "c", 1),
        source_change("c2", A.CANCEL, "d", 1),
    ]
    policy = model.Policy(max_suspensions_per_apply=1, max_cancellations_per_apply=1)
    kept, deferred, summary = ordering.apply_caps(changes, policy)
    assert [c.id for c in kept] == ["s1", "c1"] and [c.id for c in deferred] == ["s2", "c2"]
    assert summary == "1 by maxCancellationsPerApply=1, 1 by maxSuspensionsPerApply=1"
    assert checks.cap_violations(plan_of(*changes), policy) == [
        "2 suspensions (the policy allows 1 per apply)",
        "2 cancellations (the policy allows 1 per apply)",
    ]
