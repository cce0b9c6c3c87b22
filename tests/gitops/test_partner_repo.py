"""Partners' repositories: the published pre-commit hook validates a repository laid out like
the template, the schemas the modelines point at exist there (``reconciler schema`` writes
them), and this repository's own pre-commit needs no network."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "examples" / "consolidation-repo"
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.M)


def _hook() -> dict:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    return next(h for h in hooks if h["id"] == "reconciler-validate")


def _run_hook(run_cli, repo: Path, monkeypatch) -> object:
    hook = _hook()
    command = hook["entry"].split() + hook["args"]
    assert command[0] == "reconciler"
    monkeypatch.chdir(repo)
    return run_cli(*command[1:])


def test_the_published_hook_validates_a_repository_laid_out_like_the_template(
    run_cli, monkeypatch, tmp_path
) -> None:
    hook = _hook()
    assert hook["pass_filenames"] is False  # the cross-file rules need every manifest
    assert re.match(hook["files"], "manifests/customers/fabrikam.yaml")
    ok = _run_hook(run_cli, TEMPLATE, monkeypatch)
    assert ok.code == 0, ok.output
    assert ok.out.startswith("Valid: 3 files; consolidation 'contoso-emea'")
    broken = tmp_path / "partner"
    shutil.copytree(TEMPLATE, broken)
    customer = broken / "manifests" / "customers" / "fabrikam.yaml"
    customer.write_text(
        customer.read_text("utf-8").replace("quantity: 25", "quantity: -1"), "utf-8"
    )
    bad = _run_hook(run_cli, broken, monkeypatch)
    assert bad.code == 1
    assert "manifests/customers/fabrikam.yaml:" in bad.out + bad.err


def test_every_modeline_of_the_template_resolves_to_a_schema(run_cli, tmp_path) -> None:
    manifests = sorted((TEMPLATE / "manifests").rglob("*.yaml"))
    assert len(manifests) == 3
    for path in manifests:
        found = MODELINE.search(path.read_text("utf-8"))
        assert found, path
        assert (path.parent / found[1]).resolve().is_file(), (path, found[1])
    # The template's schemas are those `reconciler schema` writes for this version.
    result = run_cli("schema", "--out", str(tmp_path / "schemas"))
    assert result.code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert written == ["consolidation.schema.json", "customer.schema.json", "offers.schema.json"]
    for name in written:
        assert json.loads((tmp_path / "schemas" / name).read_text("utf-8"))
        assert (tmp_path / "schemas" / name).read_bytes() == (
            TEMPLATE / "schemas" / name
        ).read_bytes()


def test_exported_customers_point_at_the_schemas_the_command_writes(tmp_path) -> None:
    from reconciler.manifests import exporting

    target = MODELINE.search(exporting.SCHEMA_LINE + "\n")
    assert target
    # `reconciler schema` at the repository root, customers in manifests/customers/.
    customers = tmp_path / "manifests" / "customers"
    assert (customers / target[1]).resolve() == (tmp_path / "schemas" / "customer.schema.json")


def test_the_template_workflows_are_the_documented_examples() -> None:
    workflows = TEMPLATE / ".github" / "workflows"
    for example in sorted((ROOT / "docs" / "examples" / "github-actions").glob("*.yml")):
        assert (workflows / example.name).read_bytes() == example.read_bytes(), example.name
    assert (TEMPLATE / ".github" / "CODEOWNERS").is_file()
    template = (TEMPLATE / ".github" / "pull_request_template.md").read_text("utf-8")
    for asked in ("Overlap days", "Suspensions", "Transfers"):
        assert asked in template


def test_this_repositorys_pre_commit_hooks_are_all_local() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text("utf-8"))
    assert [repo["repo"] for repo in config["repos"]] == ["local"]  # nothing to clone
    ids = {hook["id"] for hook in config["repos"][0]["hooks"]}
    assert {"detect-private-key", "check-yaml", "reconciler-validate", "ruff", "mypy"} <= ids
