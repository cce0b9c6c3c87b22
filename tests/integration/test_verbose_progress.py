"""The CLI's progress bars and summary line (``reconciler.cli.progress``): bars only on a
terminal, fed safely from the reader's worker threads; the summary on a terminal or with
--verbose, even when the command fails; never anything on stdout."""

from __future__ import annotations

import io
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from reconciler.cli import progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _client(requests: int, retries: int = 0, name: str = "central", throttled: int = 0) -> Any:
    stats = SimpleNamespace(
        requests=requests, retries=retries, throttled=throttled, throttle_wait=0.0, elapsed=1.5
    )
    return SimpleNamespace(stats=stats, name=name)


def test_no_progress_bar_off_a_terminal() -> None:
    observer = progress.Observer(verbose=True, stream=io.StringIO())
    with observer.reading() as on_progress:
        assert on_progress is None


def test_bars_per_tenant_from_many_threads_end_complete(capsys: pytest.CaptureFixture[str]) -> None:
    stream = _Tty()
    observer = progress.Observer(verbose=False, stream=stream)
    assert observer.tty
    totals = {"central": 40, "de": 25, "fr": 15}
    with observer.reading() as on_progress:
        assert isinstance(on_progress, progress.TenantBars)
        counters = {t: iter(range(1, n + 1)) for t, n in totals.items()}
        locks = {t: threading.Lock() for t in totals}

        def work(tenant: str) -> None:
            # Like the reader: each worker reports after each customer it finished.
            while True:
                with locks[tenant]:
                    done = next(counters[tenant], None)
                if done is None:
                    return
                on_progress(SimpleNamespace(tenant=tenant, done=done, total=totals[tenant]))

        threads = [threading.Thread(target=work, args=(t,)) for t in totals for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        counts = on_progress.counts()
    # Reports arrive out of order from the threads; every bar still ends full.
    assert counts == {t: (n, n) for t, n in totals.items()}
    drawn = stream.getvalue()
    assert "Reading central" in drawn and "customers" in drawn
    assert capsys.readouterr().out == ""


def test_summary_on_a_terminal_even_without_verbose() -> None:
    stream = _Tty()
    with progress.Observer(verbose=False, stream=stream).session() as observer:
        observer.watch([_client(7, 1), _client(5)])
    assert stream.getvalue() == (
        "12 requests to Partner Center, 1 retries, 0 throttled (waited 0.0s), 1.5s\n"
    )


def test_summary_off_a_terminal_only_with_verbose() -> None:
    quiet, loud = io.StringIO(), io.StringIO()
    with progress.Observer(verbose=False, stream=quiet).session() as observer:
        observer.watch([_client(3)])
    with progress.Observer(verbose=True, stream=loud).session() as observer:
        observer.watch([_client(3)])
    assert quiet.getvalue() == ""
    assert loud.getvalue().startswith("3 requests to Partner Center")


def test_summary_is_printed_when_the_command_fails() -> None:
    stream = io.StringIO()
    with (
        pytest.raises(RuntimeError),
        progress.Observer(verbose=True, stream=stream).session() as obs,
    ):
        obs.watch([_client(9, 4)])
        raise RuntimeError("read failed")
    assert stream.getvalue().startswith("9 requests to Partner Center, 4 retries")


def test_the_request_log_is_removed_after_the_command() -> None:
    import logging

    logger = logging.getLogger("reconciler.partner_center")
    before = (list(logger.handlers), logger.level)
    stream = io.StringIO()
    with progress.Observer(verbose=True, stream=stream).session():
        logging.getLogger("reconciler.partner_center.http").debug("GET /v1/customers -> 200")
    logging.getLogger("reconciler.partner_center.http").debug("after the command")
    assert "GET /v1/customers -> 200" in stream.getvalue()
    assert "after the command" not in stream.getvalue()
    assert (list(logger.handlers), logger.level) == before


def test_the_read_shows_sign_in_then_each_tenants_customers_requests_and_429s(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    stream = _Tty()
    observer = progress.Observer(verbose=False, stream=stream)
    observer.watch([_client(12, name="central"), _client(7, name="de", throttled=2)])
    with observer.reading("Re-checking") as on_progress:
        assert isinstance(on_progress, progress.TenantBars)
        for done in (1, 2):
            on_progress(SimpleNamespace(tenant="x", done=done, total=2, phase="sign-in"))
        on_progress(SimpleNamespace(tenant="de", done=3, total=5, phase="customers"))
        on_progress(SimpleNamespace(tenant="central", done=5, total=5))  # phase by default
        counts = on_progress.counts()
    assert counts == {"sign-in": (2, 2), "de": (3, 5), "central": (5, 5)}
    drawn = stream.getvalue()
    assert "Signing in" in drawn and "2/2 tenants" in drawn
    assert "Re-checking de" in drawn and "3/5 customers" in drawn
    assert "7 requests, 2 × 429" in drawn and "12 requests, 0 × 429" in drawn
    assert capsys.readouterr().out == ""


def test_apply_bars_per_stage_with_customers_in_flight(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    from reconciler.applying import steps
    from reconciler.planning import actions

    stream = _Tty()
    observer = progress.Observer(verbose=False, stream=stream)
    observer.watch([_client(40, name="central", throttled=1)])

    def result(action: actions.Action) -> Any:
        return SimpleNamespace(change=SimpleNamespace(action=action))

    with observer.applying() as bars:
        assert isinstance(bars, progress.ApplyBars)
        bars.stages({steps.Stage.TARGETS: 3, steps.Stage.SOURCES: 2})
        bars.activity(steps.Activity(in_flight=3, waiting=2))
        workers = [
            threading.Thread(target=bars.step, args=(result(a),))
            for a in (actions.Action.CREATE, actions.Action.RESIZE, actions.Action.SUSPEND)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert bars.in_flight == (3, 2)
        counts = bars.counts()
    assert counts == {"targets": (2, 3), "sources": (1, 2)}
    drawn = stream.getvalue()
    assert "Target side (create, resize, transfer)" in drawn and "2/3 steps" in drawn
    assert "Source side (suspend, cancel)" in drawn and "1/2 steps" in drawn
    assert "Customers in flight" in drawn and "2 waiting for provisioning or a transfer" in drawn
    assert "40 requests, 1 × 429" in drawn
    assert capsys.readouterr().out == ""


def test_no_apply_bars_off_a_terminal() -> None:
    stream = io.StringIO()
    with progress.Observer(verbose=True, stream=stream).applying() as bars:
        assert bars is None
    assert stream.getvalue() == ""
