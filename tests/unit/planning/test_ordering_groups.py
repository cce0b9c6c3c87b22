"""``ordering.order_by_customer``: ordering each customer's changes on its own gives the order
``ordering.order`` gives them all at once (the planner's changes never wait across customers)."""

from __future__ import annotations

from reconciler.planning import actions, ordering

A = actions.Action
R = actions.Reason


def _change(cust: str, cid: str, action: actions.Action, sid: str, *deps: str) -> actions.Change:
    address = actions.Address("src", cust, f"Customer {cust}", sid)
    return actions.Change(cid, action, address, R.REPLACED, "why", depends_on=deps)


def _customer(cust: str) -> list[actions.Change]:
    # Built out of key order, with changes that must wait for a later-sorting dependency.
    return [
        _change(cust, f"{cust}-noop", A.NOOP, "s9"),
        _change(cust, f"{cust}-suspend", A.SUSPEND, "s1", f"{cust}-noop"),
        _change(cust, f"{cust}-cancel", A.CANCEL, "s2", f"{cust}-suspend", f"{cust}-gone"),
        _change(cust, f"{cust}-create", A.CREATE, "s3"),
        _change(cust, f"{cust}-suspend2", A.SUSPEND, "s0", f"{cust}-create"),
    ]


def test_ordering_per_customer_gives_the_same_order_as_all_at_once() -> None:
    groups = [_customer("c2"), _customer("c1"), _customer("c3")]
    rank = {"c2": 0, "c1": 1, "c3": 2}
    flat = [c for g in groups for c in g]
    expected = ordering.order(flat, rank)
    assert ordering.order_by_customer(groups) == expected
    # Every dependency is placed before the change that waits for it.
    seen: set[str] = set()
    for c in expected:
        assert all(d in seen for d in c.depends_on if not d.endswith("gone")), c.id
        seen.add(c.id)
    assert [c.address.customer_id for c in expected][::5] == ["c2", "c1", "c3"]
