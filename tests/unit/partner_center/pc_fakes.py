"""Fakes shared by the Partner Center unit tests (imported by conftest and tests)."""

from __future__ import annotations

from dataclasses import dataclass, field

API = "https://pc.test"


@dataclass
class FakeTime:
    """A clock that only moves when something sleeps."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class CountingTokens:
    """Hands out ``token-1``, ``token-2``... ; a forced refresh moves to the next one."""

    def __init__(self) -> None:
        self.issued = 0
        self.forced = 0

    def token(self, *, force_refresh: bool = False) -> str:
        if force_refresh:
            self.forced += 1
        if force_refresh or self.issued == 0:
            self.issued += 1
        return f"token-{self.issued}"
