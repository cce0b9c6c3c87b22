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


def _client(requests: int, retries: int = 0) -> Any:
    stats = SimpleNamespace(
        requests=requests, retries=retries, throttled=0, throttle_wait=0.0, elapsed=1.5
    )
    return SimpleNamespace(stats=stats)


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
