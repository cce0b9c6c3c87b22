"""Every manifest test runs on each YAML parser PyYAML offers here: libyaml (the fast path,
used whenever PyYAML has it) and the pure-Python one (the fallback). The safety checks live
in ``yamlsafe``'s conversion of the node graph, so they must hold on both."""

from __future__ import annotations

import pytest

from reconciler.manifests import yamlsafe


@pytest.fixture(autouse=True, params=sorted(yamlsafe.LOADERS))
def yaml_parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    name: str = request.param
    monkeypatch.setattr(yamlsafe, "parser", name)
    return name
