"""bench/run.py at toy sizes: it runs end to end and writes the report and the figures the
issue asks for (the real runs are `python bench/run.py [--quick]`, never part of the suite)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import bench_module
import pytest

from reconciler import settings

_bench = bench_module.bench_run


def test_the_bench_suite_writes_its_report_and_figures(tmp_path: Path) -> None:
    argv = [
        "--sizes", "4", "--per-customer", "2", "--core", "200", "--validate-customers", "5",
        "--apply-customers", "1", "--startup-runs", "1", "--latency-ms", "2",
        "--provisioning-s", "0", "--no-isolate", "--out", str(tmp_path),
    ]  # fmt: skip
    assert _bench().main(argv) == 0
    figures = json.loads((tmp_path / "figures.json").read_text("utf-8"))
    (world,) = figures["worlds"]
    plan = world["plan"]
    assert plan["requests"] == plan["minimum"] > 0 and plan["throttled"] == 0
    assert set(plan["per_tenant"]) == {"central", "de", "fr"}
    for label in ("baseline_sequential", "baseline_thread_per_tenant"):
        assert world[label]["requests"] == world[label]["minimum"] == plan["minimum"]
    assert world["export"]["files"] == 4
    assert world["apply"]["writes"] > 0 and world["apply"]["clean"]
    for phase in ("plan", "export", "apply"):
        assert world[phase]["bound_s"] > 0 and world[phase]["ratio_to_bound"] > 0
    applied = figures["apply"]  # apply on its own world, checked like bench_apply.py
    assert applied["customers"] == 1 and applied["writes"] > 0 and applied["clean"]
    assert (applied["duplicates"], applied["early_suspensions"]) == (0, 0)
    assert applied["ledger"]["clean"] and applied["ratio_to_bound"] > 0
    (core,) = figures["core"]
    assert core["subscriptions"] == 200 and core["changes"] > 0
    assert figures["validate"]["problems"] == 0 and figures["validate"]["ratio_cpu"] > 0
    assert figures["startup"]["--version"]["median_s"] > 0
    assert figures["startup"]["--help"]["median_s"] > 0
    report = (tmp_path / "report.md").read_text("utf-8")
    for heading in (
        "## Plan, apply, export",
        "## Apply on its own world",
        "## Planning core",
        "## Manifests and start-up",
    ):
        assert heading in report
    assert "| 4 customers | plan |" in report and "| 4 customers | sequential |" in report


def test_parts_and_world_phases_choose_what_is_measured(tmp_path: Path) -> None:
    """The full-size acceptance run measures plan alone in its world, then validate."""
    argv = [
        "--sizes", "3", "--per-customer", "2", "--world-phases", "plan", "--parts", "worlds",
        "validate", "--validate-customers", "3", "--latency-ms", "0", "--no-isolate",
        "--out", str(tmp_path),
    ]  # fmt: skip
    assert _bench().main(argv) == 0
    figures = json.loads((tmp_path / "figures.json").read_text("utf-8"))
    (world,) = figures["worlds"]
    assert set(world) == {"customers", "subscriptions", "plan"}
    assert "apply" not in figures and figures["core"] == [] and "startup" not in figures
    report = (tmp_path / "report.md").read_text("utf-8")
    assert "| 3 customers | plan |" in report and "`validate` of 3 customer files" in report
    assert "## Planning core" not in report and "Baselines" not in report


def test_both_runs_keep_the_reconcilers_files_in_their_own_directory(tmp_path: Path) -> None:
    """The worlds and apply's own world share one environment: credentials, state, locks and
    token cache all under the run's directory (never the user's own), and one latency fault."""
    bench = _bench()
    env = bench._bench_env(tmp_path / "run")
    names = (
        settings.ENV_CREDENTIALS_FILE,
        settings.ENV_STATE_DIR,
        settings.ENV_LOCK_DIR,
        settings.ENV_TOKEN_CACHE_DIR,
    )
    assert set(env) == set(names)
    assert all(Path(env[name]).parent == tmp_path / "run" for name in names)
    assert len({env[name] for name in names}) == len(names)
    assert bench._latency(argparse.Namespace(latency_ms=80)) == [
        {"kind": "latency", "latencyMs": 80}
    ]
    assert bench._latency(argparse.Namespace(latency_ms=0)) == []


def test_merge_replaces_only_the_parts_measured_again(tmp_path: Path) -> None:
    bench = _bench()
    first, second = tmp_path / "first", tmp_path / "second"
    common = [
        "--per-customer", "2", "--latency-ms", "2", "--provisioning-s", "0", "--no-isolate",
        "--validate-customers", "3", "--startup-runs", "1", "--world-phases", "plan",
    ]  # fmt: skip
    argv = [*common, "--parts", "worlds", "core", "validate", "--sizes", "2", "3"]
    assert bench.main([*argv, "--core", "200", "--out", str(first)]) == 0
    earlier = json.loads((first / "figures.json").read_text("utf-8"))
    argv = [*common, "--parts", "worlds", "core", "--sizes", "3", "--core", "100"]
    assert bench.main([*argv, "--out", str(second), "--merge", str(first / "figures.json")]) == 0
    merged = json.loads((second / "figures.json").read_text("utf-8"))
    # Measured again: the core (100 subscriptions now) and the world of 3; the world of 2 and
    # validate are the first run's.
    assert [c["subscriptions"] for c in merged["core"]] == [100]
    assert [w["customers"] for w in merged["worlds"]] == [2, 3]
    assert merged["worlds"][0] == earlier["worlds"][0]
    assert merged["worlds"][1] != earlier["worlds"][1]
    assert merged["validate"] == earlier["validate"]
    assert [r["parts"] for r in merged["runs"]] == [["world 2", "validate"], ["world 3", "core"]]
    report = (second / "report.md").read_text("utf-8")
    assert "measured: the world of 2 customers, validate" in report
    assert "measured: the world of 3 customers, core" in report
    assert "| 2 customers | plan |" in report and "| 3 customers | plan |" in report
    # Figures measured with other emulator settings are refused before anything runs.
    other = [*argv, "--latency-ms", "3", "--merge", str(first / "figures.json")]
    with pytest.raises(SystemExit, match="other emulator settings"):
        bench.main(other)
