"""Every ``Action`` has its facts (planning/verbs.py) and, when it writes, exactly one handler in
apply (applying/executor.py): the two per-action tables. A new action missing from either
fails here, before any plan could reach it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from apply_fakes import CUST, plan_of, source_change

from reconciler.applying import checks, executor
from reconciler.planning import actions, ordering, verbs
from reconciler.rendering import common

A = actions.Action


def missing_facts(table: Mapping[A, verbs.Facts]) -> list[A]:
    """The actions ``table`` has no facts for."""
    return [a for a in A if a not in table]


def handler_problems(handlers: Mapping[A, object], facts: Mapping[A, verbs.Facts]) -> list[str]:
    """Each action whose handler is missing (it writes) or wrongly present (it does not)."""
    found = []
    for a in A:
        writes = a in facts and facts[a].kind is verbs.Kind.WRITE
        if writes and a not in handlers:
            found.append(f"{a}: apply has no handler for this write")
        elif not writes and a in handlers:
            found.append(f"{a}: apply has a handler, but it is not a write")
    return found


def test_every_action_has_its_facts() -> None:
    assert missing_facts(verbs.FACTS) == []


def test_apply_has_a_handler_for_exactly_the_actions_that_write() -> None:
    assert handler_problems(executor.HANDLERS, verbs.FACTS) == []


@pytest.mark.parametrize("action", list(A))
def test_the_facts_check_names_an_action_whose_facts_are_removed(action: A) -> None:
    table = dict(verbs.FACTS)
    del table[action]
    assert missing_facts(table) == [action]


@pytest.mark.parametrize("action", [a for a in A if a.writes])
def test_the_handler_check_names_a_write_whose_handler_is_removed(action: A) -> None:
    handlers = dict(executor.HANDLERS)
    del handlers[action]
    assert handler_problems(handlers, verbs.FACTS) == [
        f"{action}: apply has no handler for this write"
    ]


def test_the_handler_check_names_a_handler_for_something_that_does_not_write() -> None:
    handlers = {**executor.HANDLERS, A.HOLD: executor.HANDLERS[A.SUSPEND]}
    assert handler_problems(handlers, verbs.FACTS) == [
        "hold: apply has a handler, but it is not a write"
    ]


def test_an_action_without_facts_cannot_be_ordered_rendered_or_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ordering, the summary and apply's re-checks all read the one table."""
    change = source_change("s1", A.SUSPEND, "a", 4)
    plan = plan_of(change)
    monkeypatch.setattr(
        verbs, "FACTS", {a: f for a, f in verbs.FACTS.items() if a is not A.SUSPEND}
    )
    with pytest.raises(KeyError):
        ordering.order([change], {CUST: 0})
    with pytest.raises(KeyError):
        common.summary_line(plan)
    with pytest.raises(KeyError):
        checks.required_seats(plan, change, 4)


def test_the_facts_agree_with_each_other() -> None:
    for a, f in verbs.FACTS.items():
        assert len(f.symbol) == 1, a
        assert (f.kind is verbs.Kind.GATE) == (f.tone is verbs.Tone.WAIT), a
        # Only a write stops or moves a source subscription.
        assert not f.touches_source or f.kind is verbs.Kind.WRITE, a
    touching = {a for a, f in verbs.FACTS.items() if f.touches_source}
    assert touching == {A.SUSPEND, A.CANCEL, A.DISABLE_AUTO_RENEW, A.TRANSFER, A.ACCEPT}
    assert {a for a, f in verbs.FACTS.items() if f.rule_one} == touching - {A.TRANSFER, A.ACCEPT}
