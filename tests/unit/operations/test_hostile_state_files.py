"""Hostile state and configuration files (issue 11, points 8, 9 and 10): a plan file, journal,
token cache, credentials file or lock file that is corrupt, huge, nested too deeply or
readable by others gives one paragraph naming the file and what to do, never a traceback."""

from __future__ import annotations

import json
import os
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler import errors, files
from reconciler.applying import journal, locking
from reconciler.operations import planfiles
from reconciler.partner_center import auth, configfiles

DEEP = "[" * 100_000 + "]" * 100_000


def _one_paragraph(text: str) -> None:
    assert "Traceback" not in text
    assert "\n\n" not in text.strip()


# -- plan files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (
            b'{"format": "reconciler-plan", "target": "\xff"}',
            "not UTF-8 text (an invalid byte on line 1",
        ),
        (DEEP.encode(), "nested too deeply"),
    ],
    ids=["invalid-utf8", "deep-nesting"],
)
def test_a_hostile_plan_file_is_one_paragraph(
    content: bytes, fragment: str, tmp_path: Path, run_cli
) -> None:
    plan = tmp_path / "plan.json"
    plan.write_bytes(content)
    result = run_cli("show", str(plan))
    assert result.code == 1
    assert fragment in result.err and str(plan) in result.err
    _one_paragraph(result.output)


def test_an_oversized_plan_file_is_refused_reading_at_most_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "MAX_PLAN_BYTES", 1000)
    plan = tmp_path / "plan.json"
    plan.write_bytes(b" " * 5_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(errors.PlanFileError, match="larger than 1000 bytes") as info:
            planfiles.read_plan(plan)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # the 5 MB file was not read whole
    assert str(plan) in str(info.value)


def test_a_plan_file_of_more_values_than_a_plan_can_hold_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli
) -> None:
    """Within the byte cap, ``[{},{},...]`` would parse into ~60 bytes of memory per byte of
    input: the count of values is bounded first."""
    monkeypatch.setattr(files, "MAX_PLAN_VALUES", 100_000)
    plan = tmp_path / "plan.json"
    plan.write_bytes(b"[" + b",".join([b"{}"] * 200_000) + b"]")  # 600 KB, under the cap
    tracemalloc.start()
    try:
        with pytest.raises(errors.PlanFileError, match="holds more JSON values than a plan of"):
            planfiles.read_plan(plan)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * plan.stat().st_size, peak  # never parsed
    result = run_cli("show", str(plan))
    assert result.code == 1 and str(plan) in result.err
    assert "plan a larger estate in parts with --source or --customer" in result.err
    _one_paragraph(result.output)


def _values(v: object) -> int:
    """Values in a parsed document (an object's member counted once, with its value)."""
    if isinstance(v, dict):
        return 1 + sum(_values(x) for x in v.values())
    if isinstance(v, list):
        return 1 + sum(_values(x) for x in v)
    return 1


@pytest.mark.parametrize(
    "text", [b"{}", b"[]", b"1", b'{"a": [1, 2, {"b": null}], "c": "x,y"}', b"[[[]],[],{}]"]
)
def test_the_count_of_values_is_never_below_the_truth(text: bytes) -> None:
    assert files.json_values_at_most(text) >= _values(json.loads(text))


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_plan_file_that_never_ends_is_refused_in_bounded_time(tmp_path: Path) -> None:
    link = tmp_path / "plan.json"
    link.symlink_to("/dev/zero")
    started = time.monotonic()
    with pytest.raises(errors.PlanFileError, match="larger than 256 MiB"):
        planfiles.read_plan(link)
    assert time.monotonic() - started < 30


# -- journals --------------------------------------------------------------------------------


def _journal(tmp_path: Path, *lines: bytes) -> Path:
    d = tmp_path / "journal"
    d.mkdir()
    path = d / "run-1.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


GOOD = json.dumps(
    {"ts": "2026-01-01T00:00:00+00:00", "run_id": "run-1", "phase": "succeeded", "step": "1"}
).encode()


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (b'{"ts": "x", "run_id": "\xff"}', "utf-8"),
        (DEEP.encode(), "nested too deeply"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"run_id": "run-1"}', "no 'ts'"),
        (b'{"ts": "x", "run_id": "r", "before": [1]}', "'before' is not an object"),
        (b'{"ts": "x", "run_id": 7}', "'run_id' is not a string"),
        (b'{"ts": "x", "run_id": "r", "phase": {"a": 1}}', "unknown phase"),
    ],
    ids=["invalid-utf8", "deep", "array", "no-ts", "before-list", "run-id-number", "phase"],
)
def test_a_corrupt_journal_line_is_reported_with_its_line_number(
    bad: bytes, fragment: str, tmp_path: Path, run_cli
) -> None:
    path = _journal(tmp_path, GOOD, bad, GOOD)
    with pytest.raises(errors.JournalError, match=f"{path.name}:2 ") as info:
        journal.read_records(tmp_path)
    assert fragment in str(info.value)
    result = run_cli("journal", "export", "--state-dir", str(tmp_path))
    assert result.code == 1 and f"{path}:2" in result.err
    _one_paragraph(result.output)


def test_a_torn_last_journal_line_is_skipped(tmp_path: Path) -> None:
    _journal(tmp_path, GOOD, b'{"ts": "2026-01-01T00:00:01+00')
    assert [r["run_id"] for r in journal.read_records(tmp_path)] == ["run-1"]


def test_an_oversized_journal_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "MAX_JOURNAL_BYTES", 100)
    _journal(tmp_path, *[GOOD] * 5)
    with pytest.raises(errors.JournalError, match="larger than 100 bytes"):
        journal.read_records(tmp_path)


def test_corrupt_applied_plan_lines_name_no_plan(tmp_path: Path) -> None:
    (tmp_path / "applied-plans.jsonl").write_bytes(
        b'[1]\n"x"\n\xff\n' + DEEP.encode() + b'\n{"plan_id": "plan-a", "run_id": "run-9"}\n'
    )
    assert journal.applied_run(tmp_path, "plan-a") == "run-9"
    assert journal.applied_run(tmp_path, "plan-b") is None


# -- token cache -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"\xff\xfe", b"[]", b'{"AccessToken": 5}', DEEP.encode()],
    ids=["syntax", "utf8", "array", "section-number", "deep"],
)
def test_a_corrupt_token_cache_names_the_file_and_login(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "de.json"
    path.write_bytes(content)
    with pytest.raises(errors.ConfigError) as info:
        auth.load_token_cache(path)
    text = str(info.value)
    assert str(path) in text and "reconciler login" in text
    _one_paragraph(text)
    # login itself starts afresh: the new sign-in replaces the corrupt file
    fresh = auth.load_token_cache(path, discard_unreadable=True)
    assert list(fresh.search(fresh.CredentialType.ACCESS_TOKEN)) == []


def test_an_oversized_token_cache_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "MAX_TOKEN_CACHE_BYTES", 10)
    path = tmp_path / "de.json"
    path.write_text("{}" + " " * 100, encoding="utf-8")
    with pytest.raises(errors.ConfigError, match="larger than 10 bytes"):
        auth.load_token_cache(path)


# -- credentials file ------------------------------------------------------------------------


def _credentials(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "credentials.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            'endpoints = "https://x"\n',
            "`endpoints` must be a [endpoints] table of settings, not a string",
        ),
        ("throughput = [1]\n", "`throughput` must be a [throughput] table"),
        (
            '[tenants.de]\nclient_id = "a"\n[tenants.de.client_secret]\nvalue = "s3cret"\n',
            "client_secret in the [tenants.de] table must be a string",
        ),
        ("[endpoints]\napi_root = 5\n", "api_root in the [endpoints] table must be a string"),
        ("[tenants.de]\ngithub_oidc = [1]\n", "github_oidc in the [tenants.de] table"),
    ],
    ids=["endpoints-string", "throughput-array", "secret-table", "api-root-number", "oidc"],
)
def test_a_wrongly_typed_credentials_file_is_one_paragraph(
    text: str, fragment: str, tmp_path: Path
) -> None:
    path = _credentials(tmp_path, text)
    with pytest.raises(errors.ConfigError) as info:
        configfiles.load_credentials_file(path)
    message = str(info.value)
    assert fragment in message and str(path) in message
    assert "s3cret" not in message
    _one_paragraph(message)


def test_a_wrongly_typed_secret_is_refused_by_plan_without_a_traceback(
    tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _credentials(
        tmp_path, '[tenants.de]\nclient_id = "a"\n[tenants.de.client_secret]\nvalue = "s3cret"\n'
    )
    monkeypatch.chdir(Path(__file__).resolve().parents[3])
    result = run_cli("plan", "--credentials", str(path))
    assert result.code == 1
    assert "client_secret in the [tenants.de] table must be a string" in result.err
    assert "s3cret" not in result.output
    _one_paragraph(result.output)


def test_oversized_and_non_utf8_credentials_files_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _credentials(tmp_path, "# " + "x" * 200 + "\n")
    monkeypatch.setattr(files, "MAX_CREDENTIALS_BYTES", 100)
    with pytest.raises(errors.ConfigError, match="larger than 100 bytes"):
        configfiles.load_credentials_file(path)
    monkeypatch.undo()
    path.write_bytes(b'[tenants.de]\nclient_id = "\xff"\n')
    with pytest.raises(errors.ConfigError, match="not UTF-8 text"):
        configfiles.load_credentials_file(path)


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits (not checked on Windows)")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_credentials_file_others_may_read_is_refused_like_ssh(mode: int, tmp_path: Path) -> None:
    path = _credentials(tmp_path, '[tenants.de]\nclient_id = "a"\nclient_secret = "s3cret"\n', mode)
    with pytest.raises(errors.ConfigError) as info:
        configfiles.load_credentials_file(path)
    message = str(info.value)
    assert f"chmod 600 {path}" in message and f"{mode:04o}" in message
    assert "s3cret" not in message
    path.chmod(0o600)
    assert configfiles.load_credentials_file(path)["tenants"]["de"]["client_id"] == "a"


# -- lock files ------------------------------------------------------------------------------


def _lock_file(tmp_path: Path, doc: object) -> Path:
    d = tmp_path / "locks"
    d.mkdir(exist_ok=True)
    path = d / "target.json"
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc, encoding="utf-8")
    return path


def _valid_lock(**change: object) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "id": "abc123",
        "tenant": "target",
        "user": "alice",
        "host": "other-host",
        "pid": 4312,
        "ci_run": "",
        "since": now.isoformat(timespec="seconds"),
        "expires_at": (now + timedelta(hours=1)).isoformat(timespec="seconds"),
        "plan_id": "plan-1",
        **change,
    }


def _try_take(tmp_path: Path, *, alive: bool) -> locking.Lock:
    now = datetime.now(UTC)
    me = locking.holder(
        tenant="target", plan_id="plan-2", now=now, ttl=timedelta(hours=1), environ={}
    )
    return locking.acquire(
        tmp_path, me, timeout=0, now=lambda: now, sleep=lambda s: None, alive=lambda pid: alive
    )


@pytest.mark.parametrize(
    "doc",
    [
        _valid_lock(added_by_a_newer_version="x"),
        {k: v for k, v in _valid_lock().items() if k != "plan_id"},
        _valid_lock(pid="4312"),
        _valid_lock(expires_at="soon"),
        "{torn",
        "[1, 2]",
    ],
    ids=["unknown-field", "missing-field", "pid-string", "expiry-garbage", "not-json", "array"],
)
def test_a_lock_file_not_understood_is_not_taken_over_while_its_holder_may_live(
    doc: object, tmp_path: Path
) -> None:
    _lock_file(tmp_path, doc)
    with pytest.raises(errors.LockHeldError) as info:
        _try_take(tmp_path, alive=True)
    assert "reconciler unlock" in str(info.value)


def test_a_lock_with_an_unknown_field_whose_holder_died_here_is_taken_over(
    tmp_path: Path,
) -> None:
    import socket

    _lock_file(tmp_path, _valid_lock(host=socket.gethostname(), extra=1))
    with _try_take(tmp_path, alive=False) as lock:
        assert lock.info.plan_id == "plan-2"


def test_an_unreadable_lock_expires_a_ttl_after_it_was_written(tmp_path: Path) -> None:
    path = _lock_file(tmp_path, "{torn")
    old = time.time() - (locking.DEFAULT_TTL + timedelta(minutes=1)).total_seconds()
    os.utime(path, (old, old))
    with _try_take(tmp_path, alive=True) as lock:
        assert lock.info.plan_id == "plan-2"


def test_an_unreadable_lock_can_be_removed_with_unlock(tmp_path: Path) -> None:
    _lock_file(tmp_path, "{torn")
    assert locking.unlock(tmp_path, "unreadable").id == "unreadable"
    assert not (tmp_path / "locks" / "target.json").exists()


# -- command line ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "-inf", "1e9"])
def test_a_lock_timeout_that_is_not_a_wait_is_a_usage_error(value: str, run_cli) -> None:
    started = time.monotonic()
    result = run_cli("apply", "--lock-timeout", value, "--auto-approve", "nonexistent-plan.json")
    assert result.code == 1
    assert "--lock-timeout" in result.err and "e.g. --lock-timeout 600" in result.err
    assert "nonexistent-plan.json" not in result.err  # refused before anything was read
    _one_paragraph(result.output)
    assert time.monotonic() - started < 10
