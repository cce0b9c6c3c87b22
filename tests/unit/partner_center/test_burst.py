"""The burst policy: ``burst_seconds`` of the per-minute budget may go out at once, then the
bucket paces evenly; the setting comes from the environment or ``[throughput]``, at most 60."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import errors, model
from reconciler.partner_center import config, connect, throttle

DE = model.Tenant("de", "0f6a1b8e-0000-4000-8000-0000000000de", "DE", model.Role.SOURCE)
CREDS = {"RECONCILER_DE_CLIENT_ID": "a", "RECONCILER_DE_CLIENT_SECRET": "b"}


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def _resolve(tmp_path: Path, **env: str) -> config.Connection:
    return config.resolve(
        [DE],
        environ={
            "RECONCILER_CREDENTIALS_FILE": str(tmp_path / "none.toml"),
            "RECONCILER_TOKEN_CACHE_DIR": str(tmp_path / "tokens"),
            **CREDS,
            **env,
        },
    )


def _sent_without_waiting(bucket: throttle.TokenBucket, clock: Clock) -> int:
    n = 0
    while bucket.acquire() == 0.0:
        n += 1
    return n


@pytest.mark.parametrize(("seconds", "at_once"), [(1.0, 8), (10.0, 80), (60.0, 480)])
def test_a_burst_of_so_many_seconds_then_the_even_pace(seconds: float, at_once: int) -> None:
    clock = Clock()
    bucket = throttle.TokenBucket(
        480, burst=throttle.burst_tokens(480, seconds), clock=clock.now, sleep=clock.sleep
    )
    assert _sent_without_waiting(bucket, clock) == at_once
    # After the burst the pace is the rate: the next minute lets 480 more through, no more.
    start = clock.t
    for _ in range(480):
        bucket.acquire()
    assert 59.0 <= clock.t - start <= 61.0


def test_the_default_is_one_second_of_budget_and_reaches_the_tenant_bucket(
    tmp_path: Path,
) -> None:
    conn = _resolve(tmp_path)
    assert conn.throughput.burst_seconds == 1.0
    bucket = connect.build_clients([DE], conn)["de"].transport.bucket
    assert bucket is not None and bucket.burst == 8.0
    wide = _resolve(tmp_path, RECONCILER_BURST_SECONDS="30")
    bucket = connect.build_clients([DE], wide)["de"].transport.bucket
    assert bucket is not None and bucket.burst == 240.0


def test_burst_seconds_from_the_throughput_table(tmp_path: Path) -> None:
    path = tmp_path / "credentials.toml"
    path.write_text("[throughput]\nburst_seconds = 5\n", encoding="utf-8")
    path.chmod(0o600)
    assert _resolve(tmp_path, RECONCILER_CREDENTIALS_FILE=str(path)).throughput.burst_seconds == 5


@pytest.mark.parametrize("raw", ["61", "0", "-1", "soon"])
def test_a_burst_beyond_a_minute_or_not_positive_is_refused(tmp_path: Path, raw: str) -> None:
    with pytest.raises(errors.ConfigError) as info:
        _resolve(tmp_path, RECONCILER_BURST_SECONDS=raw)
    text = str(info.value)
    assert "RECONCILER_BURST_SECONDS" in text and "docs/configuration.md" in text
    assert "\n" not in text
