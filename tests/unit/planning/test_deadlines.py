"""Deadlines closing soon become warnings with their cost (planning.deadlines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.planning import actions, deadlines

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADDR = actions.Address("de", "c1", "Fabrikam GmbH", "s1", "e3")


def change(*found: actions.Deadline, action=actions.Action.CANCEL) -> actions.Change:
    return actions.Change(
        "x", action, ADDR, actions.Reason.REPLACED, "", before={"quantity": 25}, deadlines=found
    )


def test_a_window_closing_soon_names_the_date_and_the_seats_left_billing() -> None:
    window = actions.Deadline("cancellation-window", NOW + timedelta(days=2), "last moment")
    term = actions.Deadline("term-end", NOW + timedelta(days=200), "the term renews")
    (w,) = deadlines.soon([change(window, term)], NOW, 7)
    assert w.code == "deadline-soon" and w.severity is actions.Severity.WARNING
    assert w.message == (
        "Fabrikam GmbH (c1): the cancellation window of s1 closes 2026-03-04 (in 2 days); "
        "missing it leaves 25 seats billing until 2026-09-18 (200 days more)"
    )


def test_term_ends_and_transfer_expiry_say_what_missing_them_means() -> None:
    stops = actions.Deadline(
        "term-end", NOW + timedelta(days=1), "the term ends; this change stops its renewal"
    )
    renews = actions.Deadline("term-end", NOW + timedelta(days=3), "the term renews")
    expiry = actions.Deadline("transfer-expiry", NOW + timedelta(days=6), "expires")
    one = change(stops)
    other = actions.Change(
        "y",
        actions.Action.TRANSFER,
        actions.Address("de", "c1", "Fabrikam GmbH", "s2", "bp"),
        actions.Reason.REPLACED,
        "",
        before={"quantity": 1},
        deadlines=(renews, expiry),
    )
    messages = [d.message for d in deadlines.soon([other, one], NOW, 7)]
    assert messages == [
        "Fabrikam GmbH (c1): the term of s1 closes 2026-03-03 (in 1 day); apply before then, "
        "or 25 seats renew for another term",
        "Fabrikam GmbH (c1): the term of s2 closes 2026-03-05 (in 3 days); 1 seats renew for "
        "another term then",
        "Fabrikam GmbH (c1): the transfer request of s2 closes 2026-03-08 (in 6 days); missing "
        "it means the transfer must be requested again",
    ]


def test_far_past_duplicate_and_disabled_deadlines_are_not_warnings() -> None:
    far = actions.Deadline("term-end", NOW + timedelta(days=30), "the term renews")
    past = actions.Deadline("cancellation-window", NOW - timedelta(days=1), "")
    soon = actions.Deadline("cancellation-window", NOW + timedelta(days=1), "")
    assert deadlines.soon([change(far, past)], NOW, 7) == []
    assert len(deadlines.soon([change(soon), change(soon)], NOW, 7)) == 1
    assert deadlines.soon([change(soon)], NOW, 0) == []


def test_a_monthly_term_renewing_is_routine_not_a_warning() -> None:
    monthly = actions.Deadline("term-end", NOW + timedelta(days=2), "the monthly term renews")
    stops = actions.Deadline(
        "term-end", NOW + timedelta(days=2), "the monthly term ends; this change stops its renewal"
    )
    assert deadlines.soon([change(monthly), change(stops)], NOW, 7) == []
