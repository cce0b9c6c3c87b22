"""The CLI on a Python without ``fcntl`` (as on Windows): ``--help``, ``validate``, ``plan`` and
``apply`` work against the emulator, and the apply lock still keeps a second writer out.

Each command runs in a fresh interpreter where ``import fcntl`` fails before ``reconciler`` is
imported (``sys.modules['fcntl'] = None``), so nothing can have imported it already.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = [f"3f2c6d55-0000-4000-8000-00000000c00{i}" for i in range(1, 7)]

NO_FCNTL = textwrap.dedent(
    """
    import sys
    sys.modules["fcntl"] = None  # `import fcntl` now raises ImportError, as on Windows
    """
)
CLI = NO_FCNTL + "from reconciler.cli.main import run\nrun()\n"
# Takes the target tenant's lock through the same code apply uses, says so, holds it until
# stdin closes, then releases it.
HOLDER = NO_FCNTL + textwrap.dedent(
    """
    from datetime import UTC, datetime
    from pathlib import Path
    from reconciler.applying import locking
    assert "fcntl" not in sys.modules or sys.modules["fcntl"] is None
    now = lambda: datetime.now(UTC)
    me = locking.holder(tenant="0f6a1b8e-0000-4000-8000-000000000001", plan_id="plan-other", now=now(),
                        ttl=locking.DEFAULT_TTL, environ={"GITHUB_RUN_ID": "4242"})
    held = locking.acquire(Path(sys.argv[1]), me, timeout=0, now=now, sleep=lambda s: None)
    print(me.id, flush=True)
    sys.stdin.read()
    held.release()
    """
)


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        yield running


@pytest.fixture
def env(base_env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **base_env}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_fcntl_really_is_unimportable_in_the_child(env: dict[str, str]) -> None:
    probe = NO_FCNTL + "import reconciler.cli.main\ntry:\n    import fcntl\nexcept ImportError:\n"
    probe += "    print('no fcntl')\n"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "no fcntl"


def test_help_validate_plan_and_apply_work_without_fcntl(
    emu: Emulator, env: dict[str, str], tmp_path: Path, sign_in_user
) -> None:
    shown = _cli(env, "--help")
    assert shown.returncode == 0, shown.stderr
    assert "plan" in shown.stdout and "apply" in shown.stdout

    valid = _cli(env, "validate", "manifests")
    assert valid.returncode == 0, valid.stdout + valid.stderr

    emu.control.accept_invitation(CUSTOMERS[0], "central")
    sign_in_user(emu, environ=env)  # `reconciler login central`: agreements need App+User
    conn, state = str(emu.connection_file), str(tmp_path / "state")
    planned = _cli(env, "plan", "manifests", "--connection", conn, "--detailed-exitcode")
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert "to create" in planned.stdout

    applied = _cli(
        env, "apply", "manifests", "--connection", conn, "--auto-approve", "--state-dir", state
    )
    assert applied.returncode in (0, 3), applied.stdout + applied.stderr
    assert [e for e in emu.control.history() if e.get("origin") != "control"]  # it wrote
    locks = Path(env["RECONCILER_LOCK_DIR"]) / "locks"
    assert not list(locks.glob("*.json"))  # released after the run


def test_the_lock_keeps_a_second_writer_out_without_fcntl(
    emu: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    emu.control.accept_invitation(CUSTOMERS[0], "central")
    conn, state = str(emu.connection_file), tmp_path / "state"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, env["RECONCILER_LOCK_DIR"]],  # the machine's lock dir
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        lock_id = holder.stdout.readline().strip()
        assert lock_id, "the holder did not take the lock"
        args = ("apply", "manifests", "--connection", conn, "--auto-approve")
        refused = _cli(env, *args, "--state-dir", str(state), "--lock-timeout", "0.5")
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "GITHUB_RUN_ID=4242" in refused.stderr
        assert f"reconciler unlock {lock_id}" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert [e for e in emu.control.history() if e.get("origin") != "control"] == []
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    after = _cli(env, *args, "--state-dir", str(state))
    assert after.returncode in (0, 3), after.stdout + after.stderr
