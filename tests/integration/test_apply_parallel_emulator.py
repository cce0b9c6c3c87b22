"""``apply --parallelism``: several customers whose orders take seconds to provision are applied
at once, so their waits overlap; each source is still suspended only after its own target is
active. Judged from the emulator's own history (its clock), never from wall time."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.applying import journal
from reconciler.emulator import worldgen
from reconciler.emulator.server import Emulator

CUSTOMERS = 4
DELAY = 3.0


def _apply(run_cli, tmp_path: Path, emu: Emulator, mdir: Path, parallelism: int):  # type: ignore[no-untyped-def]
    return run_cli(
        "apply",
        str(mdir),
        "--auto-approve",
        "--connection",
        str(emu.connection_file),
        "--state-dir",
        str(tmp_path / "state"),
        "--parallelism",
        str(parallelism),
    )


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sign_in_user):  # type: ignore[no-untyped-def]
    doc = worldgen.generate(CUSTOMERS, 1, seed=4, in_target_every=1)
    mdir = tmp_path / "manifests"
    worldgen.manifests(doc, mdir)
    monkeypatch.setenv("RECONCILER_CREDENTIALS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("RECONCILER_TOKEN_CACHE_DIR", str(tmp_path / "tokens"))
    emu = Emulator.start(
        world=doc,
        state_dir=tmp_path / "emu",
        rate_limit_per_minute=0,
        provisioning_delay_seconds=DELAY,
    )
    sign_in_user(emu)  # `reconciler login central`: agreements need App+User
    yield emu, mdir
    emu.stop()


def test_waits_for_provisioning_overlap_across_customers(run_cli, tmp_path: Path, world) -> None:  # type: ignore[no-untyped-def]
    emu, mdir = world
    result = _apply(run_cli, tmp_path, emu, mdir, CUSTOMERS)
    assert result.code == 0, result.output[-3000:]
    # Off a terminal (CI) the progress is the numbered step lines on stdout, and no bar is
    # drawn on stderr.
    assert f"(1/{CUSTOMERS * 2}) [ok]" in result.out
    assert "━" not in result.err and "\r" not in result.err and "\x1b[" not in result.err
    history = emu.control.history()
    ordered = {e["customerId"]: e["time"] for e in history if e["action"] == "order.create"}
    provisioned = {
        e["subscriptionId"]: e["time"] for e in history if e["action"] == "subscription.provisioned"
    }
    assert len(ordered) == CUSTOMERS
    # Every customer's order was placed before the first one finished provisioning: the
    # waits overlapped (a serial apply orders the next customer only after the previous
    # target is active, DELAY seconds later on the emulator clock).
    assert max(ordered.values()) < min(provisioned.values()), (ordered, provisioned)
    # Rule one still holds per customer: a source is suspended after its target is active.
    created = {
        e["subscriptionId"]: e["customerId"]
        for e in history
        if e["action"] == "subscription.create"
    }
    active_at = {created[sid]: t for sid, t in provisioned.items()}
    stops = [
        e
        for e in history
        if e["origin"] == "api" and (e["changes"].get("status") or [None, None])[1] == "suspended"
    ]
    assert stops, "no source was suspended"
    for e in stops:
        assert active_at[e["customerId"]] <= e["time"], e
    records = journal.read_records(tmp_path / "state")
    assert journal.unaccounted(records) == []
    # A second apply finds nothing left: no duplicate order, nothing suspended twice.
    again = _apply(run_cli, tmp_path, emu, mdir, CUSTOMERS)
    assert again.code == 0, again.output[-3000:]
    assert sum(1 for e in emu.control.history() if e["action"] == "order.create") == CUSTOMERS


def test_parallelism_one_orders_after_the_previous_target_is_active(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, world
) -> None:
    emu, mdir = world
    result = _apply(run_cli, tmp_path, emu, mdir, 1)
    assert result.code == 0, result.output[-3000:]
    history = emu.control.history()
    ordered = sorted(e["time"] for e in history if e["action"] == "order.create")
    provisioned = sorted(e["time"] for e in history if e["action"] == "subscription.provisioned")
    assert len(ordered) == CUSTOMERS
    # Serial: the second order comes after the first provisioning.
    assert ordered[1] >= provisioned[0]


def test_parallelism_below_one_is_refused_before_anything_is_read(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("apply", "manifests", "--parallelism", "0", "--state-dir", str(tmp_path))
    assert result.code == 1
    assert "--parallelism" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "journal").exists()


def test_on_a_terminal_each_phase_has_its_bars_on_stderr(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, world, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stderr a terminal, stdout piped: bars for sign-in, the read, the target and source
    stages and the verification go to stderr; stdout keeps the step lines and the result."""
    import sys

    from reconciler.cli import progress

    emu, mdir = world
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(progress, "_isatty", lambda stream: stream is sys.stderr)
    result = _apply(run_cli, tmp_path, emu, mdir, CUSTOMERS)
    assert result.code == 0, result.output[-3000:]
    for bar in (
        "Signing in",
        "Reading central",
        "Target side (create, resize, transfer)",
        f"{CUSTOMERS}/{CUSTOMERS} steps",
        "Source side (suspend, cancel)",
        "Customers in flight",
        "Verifying central",
    ):
        assert bar in result.err, bar
    assert "━" not in result.out and f"({CUSTOMERS * 2}/{CUSTOMERS * 2}) [ok]" in result.out
