"""A journal that cannot be written stops apply before the write it would have recorded."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from apply_fakes import FakeClock, FakeSub, FakeWriter, create, plan_of, run, source_change

from reconciler import errors
from reconciler.applying import journal
from reconciler.planning import actions


def test_disk_full_stops_the_run_with_a_clear_message_and_no_unrecorded_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    writer = FakeWriter(clock)
    writer.add("de", FakeSub("src1", "91FD106F", "Office E3", 10, "active"))
    plan = plan_of(create("c1"), source_change("c2", actions.Action.SUSPEND, "src1", 10, ("c1",)))
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        if b'"phase":"started"' in data:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(journal.os, "write", full)
    with pytest.raises(errors.JournalError) as caught:
        run(plan, writer, clock, tmp_path)
    assert writer.writes == []  # nothing was sent without its "started" line
    message = str(caught.value)
    assert "No space left on device" in message
    assert "reconciler apply" in message and "--state-dir" in message


def test_an_unwritable_state_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state directory should be")
    with pytest.raises(errors.JournalError) as caught:
        journal.Journal(blocker, "run-1", "plan-1")
    assert "Nothing was sent" in str(caught.value)
