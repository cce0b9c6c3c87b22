"""One writer per target tenant: a second apply waits, then is refused naming the holder; a
dead holder's lock is taken over; unlock removes a lock by id."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from apply_fakes import FakeClock

from reconciler import errors
from reconciler.applying import locking


def _me(clock: FakeClock, plan: str = "plan-1", ttl_h: int = 4) -> locking.LockInfo:
    return locking.holder(
        tenant="target",
        plan_id=plan,
        now=clock.now(),
        ttl=timedelta(hours=ttl_h),
        environ={"GITHUB_RUN_ID": "4711"},
    )


def _take(
    tmp: Path, clock: FakeClock, me: locking.LockInfo, alive: bool = True, timeout: float = 30
) -> locking.Lock:
    return locking.acquire(
        tmp, me, timeout=timeout, now=clock.now, sleep=clock.sleep, alive=lambda pid: alive
    )


def test_a_second_apply_waits_then_fails_naming_the_holder(tmp_path: Path) -> None:
    clock = FakeClock()
    first = _take(tmp_path, clock, _me(clock))
    waited: list[locking.LockInfo] = []
    with pytest.raises(errors.LockHeldError) as exc:
        locking.acquire(
            tmp_path,
            _me(clock, "plan-2"),
            timeout=30,
            now=clock.now,
            sleep=clock.sleep,
            alive=lambda pid: True,
            on_wait=waited.append,
        )
    message = str(exc.value)
    assert "GITHUB_RUN_ID=4711" in message and first.info.id in message
    assert f"reconciler unlock {first.info.id}" in message
    assert waited and sum(clock.slept) >= 30


def test_the_lock_is_free_again_after_release(tmp_path: Path) -> None:
    clock = FakeClock()
    with _take(tmp_path, clock, _me(clock)):
        pass
    second = _take(tmp_path, clock, _me(clock), timeout=0)
    assert second.path.exists()


def test_a_lock_whose_process_died_on_this_host_is_taken_over(tmp_path: Path) -> None:
    clock = FakeClock()
    _take(tmp_path, clock, _me(clock))
    mine = _take(tmp_path, clock, _me(clock, "plan-2"), alive=False, timeout=0)
    assert locking._read(mine.path) == mine.info


def test_an_expired_lock_is_taken_over(tmp_path: Path) -> None:
    clock = FakeClock()
    _take(tmp_path, clock, _me(clock, ttl_h=1))
    clock.t += timedelta(hours=2)
    assert _take(tmp_path, clock, _me(clock, "plan-2"), timeout=0).info.plan_id == "plan-2"


def test_unlock_by_id_frees_the_tenant(tmp_path: Path) -> None:
    clock = FakeClock()
    held = _take(tmp_path, clock, _me(clock))
    assert locking.unlock(tmp_path, held.info.id).pid == held.info.pid
    assert _take(tmp_path, clock, _me(clock), timeout=0)
    with pytest.raises(errors.UsageError, match="No lock with id"):
        locking.unlock(tmp_path, "nope")


def test_the_real_pid_check_sees_this_process_alive() -> None:
    import os

    assert locking.pid_alive(os.getpid())


def test_a_dead_process_is_seen_dead() -> None:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not locking.pid_alive(child.pid)


def test_a_busy_guard_ends_in_a_message_naming_the_guard_file(tmp_path: Path) -> None:
    with (
        locking._guard(tmp_path),
        pytest.raises(errors.LockHeldError) as exc,
        locking._guard(tmp_path, timeout=0.1),
    ):
        pass
    message = str(exc.value)
    assert "stayed busy for 0.1s" in message and str(tmp_path / "locks" / ".guard") in message
    with locking._guard(tmp_path, timeout=0.1):  # released: free again
        pass
