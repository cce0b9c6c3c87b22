"""``reconciler.files.write_text``: a reader sees the old file or the new one, a failure is one
paragraph naming the path, and no temporary file is ever left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from reconciler import errors, files


def _write(path: Path, text: str = "new\n", **kw: object) -> None:
    files.write_text(path, text, what="the test file", hint="Do something else.", **kw)  # type: ignore[arg-type]


def test_writes_and_replaces_leaving_only_the_file(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old\n")
    _write(target, "new\nlines\n")
    assert target.read_text() == "new\nlines\n"
    assert os.listdir(tmp_path) == ["plan.json"]


def test_a_failed_replace_keeps_the_old_file_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old\n")

    def full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(errors.FileWriteError) as caught:
        _write(target)
    message = str(caught.value)
    assert message == (
        f"Cannot write the test file {target}: No space left on device. Do something else."
    )
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["plan.json"]


def test_a_missing_directory_is_named_in_one_paragraph(tmp_path: Path) -> None:
    target = tmp_path / "no-dir" / "out.csv"
    with pytest.raises(errors.FileWriteError, match=r"Cannot write the test file .*no-dir") as e:
        _write(target)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "no-dir").exists()


def test_a_directory_in_the_way_leaves_no_temporary(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(errors.FileWriteError, match="Cannot write the test file"):
        _write(tmp_path / "taken")
    assert os.listdir(tmp_path) == ["taken"]
    assert os.listdir(tmp_path / "taken") == []


def test_without_overwrite_an_existing_file_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "customers" / "fabrikam.yaml"
    target.parent.mkdir()
    target.write_text("mine\n")
    with pytest.raises(errors.FileWriteError, match=r"already exists; it was left as it is\. Run"):
        _write(target, overwrite=False, exists_hint="Run it again.")
    assert target.read_text() == "mine\n"
    assert os.listdir(target.parent) == ["fabrikam.yaml"]


def test_a_secret_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "tokens" / "central.json"
    _write(target, "{}", mode=0o600, make_parents=True)
    assert target.read_text() == "{}"
    if os.name == "posix":  # Windows has no permission bits to check
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700


def test_a_small_file_under_a_large_cap_costs_memory_by_its_size_not_the_cap(tmp_path) -> None:
    """Reading back a plan file (cap 64 MiB) must not reserve the whole cap: a 2 KB file is
    read in well under a few MB; a file past the cap is still refused after cap + 1 bytes."""
    import tracemalloc

    from reconciler import errors

    small = tmp_path / "plan.json"
    small.write_text("{}" * 1000)
    tracemalloc.start()
    try:
        data = files.read_bounded(
            small, cap=64 * 1024 * 1024, what="the plan file", hint="", error=errors.PlanFileError
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data == b"{}" * 1000
    assert peak < 4 * 1024 * 1024, peak
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (3 * 1024 * 1024 + 5))
    with pytest.raises(errors.PlanFileError, match="larger than 3 MiB"):
        files.read_bounded(
            big, cap=3 * 1024 * 1024, what="the plan file", hint="", error=errors.PlanFileError
        )
