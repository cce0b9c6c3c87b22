"""``actions.fast_init``: the plan's records get a faster ``__init__`` and stay the same values
(frozen, same eq, hash, repr, ``replace`` and ``fields``); classes it cannot copy are refused."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from reconciler.planning import actions


@dataclass(frozen=True, slots=True)
class Plain:
    name: str
    seats: int
    note: str | None = None
    tags: tuple[str, ...] = ()
    at: datetime | None = field(default=None, hash=False, compare=False)


@actions.fast_init
@dataclass(frozen=True, slots=True)
class Fast:
    name: str
    seats: int
    note: str | None = None
    tags: tuple[str, ...] = ()
    at: datetime | None = field(default=None, hash=False, compare=False)


AT = datetime(2026, 3, 2, tzinfo=UTC)


def test_the_faster_init_takes_the_same_arguments_and_stores_the_same_values() -> None:
    assert Fast.__init__ is not Plain.__init__
    plain_sig = inspect.signature(Plain)
    fast_sig = inspect.signature(Fast)
    assert [(p.name, p.default, p.kind) for p in fast_sig.parameters.values()] == [
        (p.name, p.default, p.kind) for p in plain_sig.parameters.values()
    ]
    for args, kw in [
        (("e3", 25), {}),
        (("e3", 25, "n", ("a",), AT), {}),
        (("e3",), {"seats": 3, "at": AT}),
        ((), {"name": "e5", "seats": 0, "tags": ("x", "y")}),
    ]:
        f, p = Fast(*args, **kw), Plain(*args, **kw)
        assert dataclasses.astuple(f) == dataclasses.astuple(p)
        assert repr(f) == repr(p).replace("Plain(", "Fast(")
        assert hash(f) == hash(Fast(*args, **kw))
        assert f == Fast(*args, **kw)
    assert Fast("e3", 1) != Fast("e3", 2)
    # ``compare=False`` is still honoured by eq and hash (the dataclass's own methods).
    assert Fast("e3", 1, at=AT) == Fast("e3", 1) and hash(Fast("e3", 1, at=AT)) == hash(
        Fast("e3", 1)
    )
    with pytest.raises(TypeError):
        Fast("e3")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Fast("e3", 1, wrong=2)  # type: ignore[call-arg]


def test_a_record_stays_frozen_and_replace_and_fields_work() -> None:
    f = Fast("e3", 25)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.seats = 3  # type: ignore[misc]
    assert dataclasses.replace(f, seats=3) == Fast("e3", 3)
    assert [x.name for x in dataclasses.fields(f)] == ["name", "seats", "note", "tags", "at"]
    address = actions.Address("de", "c1", "Fabrikam GmbH", "s1")
    change = actions.Change("x", actions.Action.CANCEL, address, actions.Reason.REPLACED, "why")
    with pytest.raises(dataclasses.FrozenInstanceError):
        change.detail = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        address.key = "e3"  # type: ignore[misc]
    moved = dataclasses.replace(change, depends_on=("y",))
    assert moved.depends_on == ("y",) and moved.detail == "why" and moved.before is None
    assert moved != change and dataclasses.replace(moved, depends_on=()) == change
    assert hash(dataclasses.replace(moved, depends_on=())) == hash(change)


def test_the_plan_records_use_it() -> None:
    for cls in (
        actions.Address,
        actions.Change,
        actions.Deadline,
        actions.Diagnostic,
        actions.Overlap,
        actions.PairStrategy,
        actions.Rejected,
    ):
        # The dataclass's own __init__ is made by ``__create_fn__``, fast_init's by ``_make``.
        assert cls.__init__.__code__.co_qualname == "_make.<locals>.__init__", cls
        assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"


def test_a_class_it_cannot_copy_faithfully_is_refused() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class NoInit:
        a: int = field(default=0, init=False)

    @dataclass(frozen=True, slots=True)
    class KwOnly:
        a: int = field(kw_only=True)

    @dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (NoSlots, NotFrozen, Factory, NoInit, KwOnly, PostInit, int):
        with pytest.raises(TypeError, match="fast_init"):
            actions.fast_init(cls)


def test_fast_new_makes_the_same_frozen_record() -> None:
    new_fast = actions.fast_new(Fast)
    f = new_fast("e3", 25, "n", ("a",), AT)
    assert type(f) is Fast and f == Fast("e3", 25, "n", ("a",), AT)
    assert hash(f) == hash(Fast("e3", 25, "n", ("a",), AT)) and repr(f) == repr(
        Fast("e3", 25, "n", ("a",), AT)
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.seats = 3  # type: ignore[misc]
    assert dataclasses.replace(f, seats=3) == Fast("e3", 3, "n", ("a",), AT)
    address = actions.new_address("de", "c1", "Fabrikam GmbH", "s1", None)
    assert type(address) is actions.Address
    assert address == actions.Address("de", "c1", "Fabrikam GmbH", "s1")
    args = ("x", actions.Action.CANCEL, address, actions.Reason.REPLACED, "why")
    rest = (None, None, ("y",), (), None, None, None, ())
    assert actions.new_change(*args, *rest) == actions.Change(*args, *rest)
    with pytest.raises(TypeError):
        new_fast("e3", 25)
    with pytest.raises(TypeError, match="fast_new"):
        actions.fast_new(Plain)
