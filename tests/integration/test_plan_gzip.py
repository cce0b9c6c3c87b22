"""`plan --out FILE.gz` writes the plan document gzip-compressed, and every command that reads
a saved plan (show, check-plan, apply) reads it back; the size cap applies to the inflated
document, so a small file that inflates to gigabytes is refused in bounded memory."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler import errors, files
from reconciler.applying import journal
from reconciler.emulator.server import Emulator
from reconciler.operations import planfiles

ROOT = Path(__file__).resolve().parents[2]
FABRIKAM = "3f2c6d55-0000-4000-8000-00000000c001"
HEAD = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


@pytest.fixture
def emu(tmp_path: Path, sign_in_user: Any) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        running.control.accept_invitation(FABRIKAM, "central")
        sign_in_user(running)  # `reconciler login central`: agreements need App+User
        yield running


def _plan(run_cli, emu: Emulator, out: Path) -> str:
    made = run_cli(
        "plan", "manifests", "--connection", str(emu.connection_file), "--out", str(out),
        "--commit", HEAD, "--format", "json",
    )  # fmt: skip
    assert made.code == 0, made.output
    return str(made.out)


def test_a_gz_plan_is_gzip_and_is_read_by_show_check_plan_and_apply(
    run_cli, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    packed = tmp_path / "plan.json.gz"
    printed = _plan(run_cli, emu, packed)
    raw = packed.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    document = json.loads(gzip.decompress(raw))
    assert document == json.loads(printed)  # the same document as on stdout
    assert len(raw) < len(gzip.decompress(raw)) / 3
    plain = tmp_path / "plan.json"
    plain.write_bytes(gzip.decompress(raw))
    assert run_cli("show", str(packed)).out == run_cli("show", str(plain)).out
    checked = run_cli("check-plan", str(packed), "--commit", HEAD)
    assert checked.code == 0, checked.output
    state = tmp_path / "state"
    applied = run_cli(
        "apply", str(packed), "--connection", str(emu.connection_file), "--auto-approve",
        "--state-dir", str(state),
    )  # fmt: skip
    assert applied.code in (0, 3), applied.output
    assert journal.applied_run(state, journal.plan_id(planfiles.read_plan(packed)))


def test_writing_a_gz_plan_twice_gives_the_same_bytes(
    run_cli, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    plan = planfiles.read_plan(_saved(run_cli, emu, tmp_path))
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    planfiles.write_plan(plan, first)
    planfiles.write_plan(plan, second)
    assert first.read_bytes() == second.read_bytes()  # no time stamp: reproducible artifacts


def _saved(run_cli, emu: Emulator, tmp_path: Path) -> Path:
    out = tmp_path / "saved.json"
    _plan(run_cli, emu, out)
    return out


def test_a_gzip_bomb_is_refused_at_the_cap_in_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "MAX_PLAN_BYTES", 1_000_000)
    bomb = tmp_path / "plan.json.gz"
    bomb.write_bytes(gzip.compress(b" " * 20_000_000, mtime=0))  # ~20 KB, inflates to 20 MB
    assert bomb.stat().st_size < files.MAX_PLAN_BYTES
    tracemalloc.start()
    try:
        with pytest.raises(errors.PlanFileError, match="decompresses to more than") as info:
            planfiles.read_plan(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * files.MAX_PLAN_BYTES
    assert str(bomb) in str(info.value)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (gzip.compress(b'{"format": "reconciler-plan"}')[:-12], "not a readable gzip file"),
        (b"\x1f\x8b" + b"\x00" * 30, "not a readable gzip file"),
        (gzip.compress(b'{"format": "reconciler-plan", "x": "\xff"}'), "not UTF-8 text"),
    ],
    ids=["truncated", "damaged", "not-utf8-inside"],
)
def test_a_damaged_gz_plan_is_one_paragraph(
    content: bytes, fragment: str, tmp_path: Path, run_cli
) -> None:
    plan = tmp_path / "plan.json.gz"
    plan.write_bytes(content)
    result = run_cli("show", str(plan))
    assert result.code == 1
    assert fragment in result.err and str(plan) in result.err
    assert "Traceback" not in result.output and "\n\n" not in result.err.strip()
