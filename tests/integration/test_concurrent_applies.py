"""Two applies started at once on one machine, each with its own state directory, against
the same target tenant: the machine-wide lock lets one write while the other waits, and the
emulator ends with no duplicate subscription (counted from its own state)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from reconciler.emulator.server import Emulator
from reconciler.planning import markers

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = [f"3f2c6d55-0000-4000-8000-00000000c00{i}" for i in range(1, 7)]


def test_two_applies_with_different_state_dirs_make_no_duplicate(
    tmp_path: Path, sign_in_user: Any
) -> None:
    with Emulator.start(state_dir=tmp_path / "emu") as emu:
        for cid in CUSTOMERS:
            emu.control.accept_invitation(cid, "central")
        env = {
            **os.environ,
            "RECONCILER_LOCK_DIR": str(tmp_path / "machine-locks"),
            "RECONCILER_TOKEN_CACHE_DIR": str(tmp_path / "tokens"),
        }
        sign_in_user(emu, environ=env)  # `reconciler login central`: agreements need App+User
        runs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "reconciler",
                    "apply",
                    "manifests",
                    "--auto-approve",
                    "--connection",
                    str(emu.connection_file),
                    "--state-dir",
                    str(tmp_path / name),
                    "--lock-timeout",
                    "300",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in ("runner-a", "runner-b")
        ]
        outputs = [p.communicate(timeout=600) for p in runs]
        for p, (out, err) in zip(runs, outputs, strict=True):
            assert p.returncode in (0, 3), out + err
        # One of them waited for the other's lock, then found nothing left to create.
        assert any("Waiting for lock" in out + err for out, err in outputs), outputs
        keys = Counter(
            (s["customerId"], markers.parse_marker(s.get("friendlyName") or ""))
            for s in emu.control.snapshot()["subscriptions"]
            if s["partner"] == "central" and s["status"] != "deleted"
        )
        duplicates = {k: n for k, n in keys.items() if k[1] is not None and n > 1}
        assert duplicates == {}
        assert sum(1 for k in keys if k[1] is not None) >= 6  # the creates happened once
