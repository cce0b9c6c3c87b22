"""`plan` / `apply` with `--verbose` against the emulator: every request is logged on stderr
with its status and ids, a summary line ends the run, stdout stays the command's output (pure
JSON with `--format json`), and no secret, token or assertion ever appears."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]
FIRST = "3f2c6d55-0000-4000-8000-00000000c001"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
REQUEST_LINE = re.compile(
    rf"^\d\d:\d\d:\d\d (GET|POST|PATCH) 127\.0\.0\.1:\d+(/v1/\S+) -> (\d{{3}}) in \d+\.\d{{3}}s "
    rf"\(tenant (central|de|fr), attempt (\d+), MS-RequestId ({UUID}), "
    rf"MS-CorrelationId ({UUID})\)$"
)
SUMMARY = re.compile(
    r"^(\d+) requests to Partner Center, (\d+) retries, (\d+) throttled \(waited \d+\.\d+s\), "
    r"\d+\.\d+s$"
)


@pytest.fixture
def emu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("RECONCILER_CREDENTIALS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("RECONCILER_TOKEN_CACHE_DIR", str(tmp_path / "tokens"))
    with Emulator.start(state_dir=tmp_path / "emu") as running:
        yield running


def _requests(err: str) -> list[re.Match[str]]:
    return [m for line in err.splitlines() if (m := REQUEST_LINE.match(line))]


def _summary(err: str) -> re.Match[str]:
    found = [m for line in err.splitlines() if (m := SUMMARY.match(line))]
    assert len(found) == 1, err
    return found[0]


def _secrets(connection_file: Path) -> list[str]:
    """Every secret the connection file seeds: client secrets and the OIDC request token."""
    doc = json.loads(connection_file.read_text())
    found = [t["clientSecret"] for t in doc["tenants"]]
    found.append(doc["githubOidc"]["requestToken"])
    assert all(len(s) >= 8 for s in found)
    return found


def test_plan_verbose_logs_every_request_with_status_and_ids_then_a_summary(emu, run_cli):
    result = run_cli("plan", "manifests", "--connection", str(emu.connection_file), "-v")
    assert result.code == 0, result.output
    lines = _requests(result.err)
    tenants = {m.group(4) for m in lines}
    assert tenants == {"central", "de", "fr"}
    statuses = {m.group(3) for m in lines}
    assert "200" in statuses
    # central has not been invited yet by these customers: Partner Center answers 403 there.
    assert any(m.group(4) == "central" and m.group(3) != "200" for m in lines)
    request_ids = [m.group(6) for m in lines]
    assert len(set(request_ids)) == len(request_ids)  # one fresh MS-RequestId per read
    per_tenant = {(m.group(4), m.group(7)) for m in lines}
    assert len(per_tenant) == 3  # one correlation id per tenant for the whole run
    summary = _summary(result.err)
    assert int(summary.group(1)) == len(lines)
    assert result.err.strip().splitlines()[-1] == summary.group(0)  # the final line
    # stdout is the plan, untouched by the log.
    assert result.out.startswith("Plan for contoso-emea -> central")
    assert "MS-RequestId" not in result.out and "requests to Partner Center" not in result.out


def test_without_verbose_off_a_terminal_stderr_stays_quiet(emu, run_cli):
    quiet = run_cli("plan", "manifests", "--connection", str(emu.connection_file))
    loud = run_cli("plan", "manifests", "--connection", str(emu.connection_file), "--verbose")
    assert quiet.code == loud.code == 0
    assert quiet.err == ""  # no log, no progress bar, no summary in CI
    assert _requests(loud.err)
    strip = re.compile(r"live state read \S+ \S+")  # the plan names the time of its read
    assert strip.sub("", quiet.out) == strip.sub("", loud.out)


def test_json_stays_pure_on_stdout_with_verbose(emu, run_cli, tmp_path):
    out = tmp_path / "plan.json"
    result = run_cli(
        "plan",
        "manifests",
        "--connection",
        str(emu.connection_file),
        "--format",
        "json",
        "--verbose",
        "--out",
        str(out),
    )
    assert result.code == 0, result.output
    doc = json.loads(result.out)  # the whole of stdout parses
    assert doc == json.loads(out.read_text())
    assert _requests(result.err) and _summary(result.err)


def test_retries_are_logged_and_follow_the_configured_backoff(emu, run_cli, monkeypatch):
    monkeypatch.setenv("RECONCILER_RETRY_BACKOFF_SECONDS", "0.2")
    emu.control.set_fault(
        {"kind": "error", "status": 503, "method": "GET", "path": "*/subscriptions", "count": 1}
    )
    result = run_cli(
        "plan", "manifests", "--connection", str(emu.connection_file), "--customer", FIRST, "-v"
    )
    assert result.code == 0, result.output
    lines = _requests(result.err)
    assert [m.group(5) for m in lines if m.group(3) == "503"] == ["1"]
    failed = next(m for m in lines if m.group(3) == "503")
    retried = [m for m in lines if m.group(2) == failed.group(2) and m.group(5) == "2"]
    assert retried and retried[0].group(6) == failed.group(6)  # same MS-RequestId
    # The first back-off is 0.2 s plus up to 20 % jitter (the default would say 1.0-1.2 s).
    assert re.search(r"attempt 1 failed \(HTTP 503\) on tenant \w+; retrying in 0\.2s", result.err)
    summary = _summary(result.err)
    assert summary.group(2) == "1" and int(summary.group(1)) == len(lines)


def test_no_secret_token_or_assertion_appears_at_verbose(emu, run_cli, monkeypatch, tmp_path):
    # fr signs in with a GitHub OIDC assertion (a JWT), the others with client secrets.
    monkeypatch.setenv("RECONCILER_FR_GITHUB_OIDC", "1")
    out = tmp_path / "plan.json"
    conn = str(emu.connection_file)
    runs = [
        run_cli("plan", "manifests", "--connection", conn, "-v", "--out", str(out)),
        run_cli("plan", "manifests", "--connection", conn, "-v", "--format", "json"),
        run_cli(
            "apply",
            str(out),
            "--connection",
            conn,
            "-v",
            "--auto-approve",
            "--state-dir",
            str(tmp_path / "state"),
        ),
    ]
    for result in runs:
        assert result.code in (0, 3), result.output
        assert any(m.group(4) == "fr" and m.group(3) == "200" for m in _requests(result.err))
    text = "".join(r.out + r.err for r in runs) + out.read_text()
    for secret in _secrets(emu.connection_file):
        assert secret not in text
    assert "Bearer" not in text and "Authorization" not in text
    assert not re.search(r"eyJ[\w-]{10,}", text)  # no JWT: access token or OIDC assertion


def test_apply_verbose_ends_with_the_same_summary_line(emu, run_cli, tmp_path):
    result = run_cli(
        "apply",
        "manifests",
        "--connection",
        str(emu.connection_file),
        "--auto-approve",
        "--verbose",
        "--state-dir",
        str(tmp_path / "state"),
    )
    # Every customer still has to accept the central tenant's invitation: nothing to write.
    assert result.code == 3, result.output
    assert "Nothing to apply now." in result.out
    summary = _summary(result.err)
    assert int(summary.group(1)) == len(_requests(result.err)) > 0
    assert result.err.strip().splitlines()[-1] == summary.group(0)
    quiet = run_cli(
        "apply",
        "manifests",
        "--connection",
        str(emu.connection_file),
        "--auto-approve",
        "--state-dir",
        str(tmp_path / "state"),
    )
    assert quiet.code == 3 and quiet.err == ""


def test_a_bad_timeout_setting_is_one_paragraph_naming_the_variable(emu, run_cli, monkeypatch):
    monkeypatch.setenv("RECONCILER_TIMEOUT_SECONDS", "soon")
    result = run_cli("plan", "manifests", "--connection", str(emu.connection_file), "-v")
    assert result.code == 1
    assert "RECONCILER_TIMEOUT_SECONDS='soon' is not a positive number" in result.err
    assert "Traceback" not in result.output and result.out == ""


def test_transfer_requests_are_read_only_for_customers_that_want_a_transfer(emu, run_cli):
    """Minimal requests: only customers with a pair that may move by transfer need their
    transfer list: Woodgrove (`becomes: transferred`) and, under the default `moveBy:
    transfer-first`, those with an `auto` pair whose entry buys new commerce and replaces one
    subscription (Northwind, Adatum, Litware, and Fabrikam, whose new-commerce Visio Plan 2
    replaces one legacy subscription: decided from the manifests alone). Tailspin (merged
    sources, a purchase replacing nothing) is read for its Azure hand-off: from the manifests
    alone it may be an Azure plan, which moves by transfer. Plan and
    apply read the same set so a saved plan's fingerprint compares like with like."""
    for n in range(1, 7):
        emu.control.accept_invitation(f"3f2c6d55-0000-4000-8000-00000000c00{n}", "central")
    result = run_cli("plan", "manifests", "--connection", str(emu.connection_file), "-v")
    assert result.code == 0, result.output
    paths = [m.group(2) for m in _requests(result.err) if m.group(2).endswith("/transfers")]
    ids = sorted(p.split("/")[3][-4:] for p in paths)
    assert ids == ["c001", "c002", "c003", "c004", "c005", "c006"]


def test_a_password_or_query_secret_in_the_api_root_is_never_printed(emu, run_cli, monkeypatch):
    """Issue 11 point 9: ``user:password@`` and query-string secrets in a configured URL are
    redacted in `-v` request logs and in errors alike."""
    doc = json.loads(emu.connection_file.read_text())
    root = doc["apiRoot"]
    assert root.startswith("https://127.0.0.1:")
    monkeypatch.setenv("RECONCILER_API_ROOT", root.replace("https://", "https://alice:Pa55word@"))
    result = run_cli("plan", "manifests", "--connection", str(emu.connection_file), "-v")
    assert "Traceback" not in result.output
    assert "127.0.0.1" in result.err  # the requests were logged
    assert "Pa55word" not in result.output and "alice:" not in result.output
    monkeypatch.setenv("RECONCILER_API_ROOT", "http://bob:Hunter22@example.com/?sig=S1gSecret")
    refused = run_cli("plan", "manifests", "--connection", str(emu.connection_file), "-v")
    assert refused.code == 1 and "is not an https:// URL" in refused.err
    assert "Hunter22" not in refused.output and "S1gSecret" not in refused.output
    assert "[redacted]" in refused.err
