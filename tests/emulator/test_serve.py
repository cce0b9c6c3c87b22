"""``reconciler emulator serve`` as a user runs it: a real process that writes the connection
file, answers each partner tenant's customer list, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import msal
import pytest
import requests
from conftest import APP_SCOPE

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "reconciler" / "emulator" / "worlds" / "demo.yaml"


def _wait_for(path: Path, proc: subprocess.Popen[str]) -> dict[str, object]:
    for _ in range(600):  # tiny real waits against a real process (up to 30 s on a busy machine)
        if path.exists():
            return dict(json.loads(path.read_text()))
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no connection file")


@pytest.mark.skipif(
    sys.platform == "win32",
    reason="Ctrl-C is sent as SIGINT, a POSIX signal; Windows has no way to send it to a child",
)
def test_serve_answers_every_partner_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "emulator",
            "serve",
            "--seed",
            str(DEMO),
            "--port",
            "0",
            "--state-dir",
            str(state),
            "--page-size",
            "2",
            "--stale-etag-status",
            "412",
            "--order-list-delay",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        conn = _wait_for(state / "connection.json", proc)
        assert conn["format"] == "reconciler-emulator-connection/1"
        session = requests.Session()
        session.trust_env = False
        session.verify = str(conn["caBundle"])
        sizes = {}
        for tenant in conn["tenants"]:  # type: ignore[attr-defined]
            app = msal.ConfidentialClientApplication(
                tenant["clientId"],
                client_credential=tenant["clientSecret"],
                authority=f"{conn['authorityHost']}/{tenant['tenantId']}",
                instance_discovery=False,
                http_client=session,
            )
            token = app.acquire_token_for_client(scopes=APP_SCOPE)["access_token"]
            reply = session.get(
                f"{conn['apiRoot']}/v1/customers?size=2",
                headers={"Authorization": f"Bearer {token}"},
            )
            body = reply.json()
            assert reply.status_code == 200 and body["attributes"]["objectType"] == "Collection"
            sizes[tenant["name"]] = len(body["items"])
        assert sizes == {"central": 0, "de": 2, "fr": 2}
        switches = session.get(f"{conn['controlRoot']}/settings").json()
        assert (switches["staleEtagStatus"], switches["orderListDelaySeconds"]) == (412, 30.0)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert f"listening on {conn['apiRoot']}" in out
    assert "Traceback" not in err


def test_serve_with_a_missing_seed_is_a_one_line_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "reconciler",
            "emulator",
            "serve",
            "--seed",
            str(tmp_path / "nope.yaml"),
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1
    assert "no such file" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [("--stale-etag-status", "418", "400"), ("--order-list-delay", "-1", "0 or more")],
)
def test_serve_with_a_bad_switch_is_a_one_paragraph_error(
    tmp_path: Path, flag: str, value: str, says: str
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "reconciler", "emulator", "serve", flag, value],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert flag in proc.stderr and says in proc.stderr and "Traceback" not in proc.stderr
