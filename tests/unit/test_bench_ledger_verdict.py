"""The bench's billing-ledger verdict is judged per moved pair: a total within pairs x the
policy's tolerance must not hide one pair billed twice for longer than its own allowance."""

from __future__ import annotations

import bench_module

from reconciler.operations import demo

_bench = bench_module.bench_run


def _ledger(*double_billed: int) -> demo.LedgerCheck:
    return demo.LedgerCheck(
        tuple(demo.PairLedger(f"s-{i}", f"t-{i}", days, 0) for i, days in enumerate(double_billed))
    )


def test_one_pair_over_its_tolerance_is_not_clean_though_the_total_is_within() -> None:
    bench = _bench()
    ledger = _ledger(0, 5, 0, 0, 0, 0)  # 5 days in all, under 6 pairs x 1 day
    verdict = bench.ledger_verdict(ledger, 1, {})
    assert verdict["double_billed_days"] == 5 < 6
    assert not verdict["clean"]
    assert verdict["pairs_over"] == 1
    assert verdict["worst"] == {
        "source": "s-1",
        "target": "t-1",
        "double_billed_days": 5,
        "allowed_days": 1,
    }
    line = bench._ledger_line(verdict)
    assert line.startswith("NOT CLEAN (6 moved pairs, 5 days billed twice in all, 1 pair(s) over")
    assert "the worst s-1 -> t-1 billed twice on 5 days against 1 allowed" in line


def test_a_pair_may_bill_twice_as_long_as_its_plan_states_or_the_policy_tolerates() -> None:
    bench = _bench()
    ledger = _ledger(1, 5, 0)
    # s-1's plan stated 5 days (a new-commerce source billing to its term end): warned of and
    # approved; s-0's single day is the policy's tolerance.
    verdict = bench.ledger_verdict(ledger, 1, {"s-1": 5, "s-2": 0})
    assert verdict["clean"] and verdict["pairs_over"] == 0 and verdict["worst"] is None
    assert "no pair over its plan's stated overlap or the policy's 1 day(s) per pair" in (
        bench._ledger_line(verdict)
    )
    # The same ledger with the policy tolerating nothing: s-0 is over, s-1 is not.
    strict = bench.ledger_verdict(ledger, 0, {"s-1": 5})
    assert not strict["clean"] and strict["pairs_over"] == 1
    assert strict["worst"]["source"] == "s-0"


def test_a_day_without_service_is_not_clean_whatever_the_overlap() -> None:
    ledger = demo.LedgerCheck((demo.PairLedger("s-0", "t-0", 0, 1),))
    assert not _bench().ledger_verdict(ledger, 1, {})["clean"]
