"""Fixtures for the Partner Center client's unit tests: a fake clock and sleep (tests never
wait in real time), a token provider that counts, and a transport/client against ``responses``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses
from pc_fakes import API, CountingTokens, FakeTime

from reconciler.partner_center import client as pc_client
from reconciler.partner_center import http, retrying


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def tokens() -> CountingTokens:
    return CountingTokens()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def make_transport(fake_time: FakeTime, tokens: CountingTokens) -> Callable[..., http.Transport]:
    def make(**overrides: Any) -> http.Transport:
        ids = itertools.count()  # C-level next(): safe from several threads, unlike a generator
        kwargs: dict[str, Any] = {
            "tenant": "de",
            "api_root": API,
            "tokens": tokens,
            "verify": "/configured/ca.pem",
            "policy": retrying.RetryPolicy(jitter=0.0),
            "clock": fake_time.clock,
            "sleep": fake_time.sleep,
            "unit_random": lambda: 0.0,
            "new_id": lambda: f"id-{next(ids)}",
        }
        kwargs.update(overrides)
        return http.Transport(**kwargs)

    return make


@pytest.fixture
def make_client(
    make_transport: Callable[..., http.Transport], fake_time: FakeTime
) -> Callable[..., pc_client.PartnerCenterClient]:
    def make(*, delegated: bool = False, **kwargs: Any) -> pc_client.PartnerCenterClient:
        user = make_transport() if delegated else None
        return pc_client.PartnerCenterClient(
            make_transport(), delegated=user, sleep=fake_time.sleep, **kwargs
        )

    return make
