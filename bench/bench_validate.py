"""Manifest loading speed: ``reconciler validate``'s work (read, parse with marks, check,
validate, build) on generated customer files, against a plain-parser baseline in the same
process (libyaml's CSafeLoader + one compiled jsonschema validator per kind, no marks, no
checks). Prints figures; asserts nothing.

    .venv/bin/python bench/bench_validate.py [--customers 5000] [--parser libyaml|python]

The customer files are copies of the example's (examples/consolidation-repo) with fresh ids,
so they stay valid whatever the example holds.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from reconciler import manifests
from reconciler.manifests import validation, yamlsafe

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "consolidation-repo" / "manifests"
_GUID = re.compile(r"([0-9a-f]{8}-0000-4000-8000-)([0-9a-f]{12})")


def make_tree(root: Path, customers: int) -> Path:
    """``root``/manifests with the example's consolidation and offers and ``customers`` files."""
    tree = root / "manifests"
    (tree / "customers").mkdir(parents=True)
    for name in ("consolidation.yaml", "offers.yaml"):
        shutil.copy(EXAMPLE / name, tree / name)
    templates = sorted((EXAMPLE / "customers").glob("*.yaml"))
    for i in range(customers):
        text = templates[i % len(templates)].read_text("utf-8")
        (tree / "customers" / f"customer-{i:05d}.yaml").write_text(_unique(text, i), "utf-8")
    return tree


def _unique(text: str, i: int) -> str:
    """The template with every GUID's tail, the name and the domain made unique to ``i``."""
    text = _GUID.sub(lambda m: f"{m.group(1)}{(int(m.group(2), 16) + i * 4096):012x}", text)
    text = re.sub(r"(name: )(.+)", lambda m: f"{m.group(1)}{m.group(2)} {i}", text, count=1)
    return re.sub(r"(domain: )([a-z0-9-]+)", lambda m: f"{m.group(1)}{m.group(2)}{i}", text)


def plain_baseline(tree: Path) -> int:
    """What a plain script does: libyaml + one compiled validator per kind; no marks, no checks."""
    validators: dict[str, Any] = {}
    errors = 0
    for path in sorted(tree.rglob("*.yaml")):
        data = yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
        kind = data["kind"]
        if kind not in validators:
            schema = validation.schema(kind)
            validators[kind] = jsonschema.validators.validator_for(schema)(schema)
        errors += sum(1 for _ in validators[kind].iter_errors(data))
    return errors


def measure(customers: int, parser: str | None = None, repeat: int = 1) -> dict[str, Any]:
    """Best-of-``repeat`` wall/CPU seconds of ``manifests.check`` and the plain baseline."""
    if parser is not None:
        yamlsafe.parser = parser
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        tree = make_tree(Path(tmp), customers)
        best: dict[str, float] = {}
        problems = 0
        for _ in range(repeat):
            for name, fn in (("baseline", lambda: plain_baseline(tree)), ("validate", None)):
                wall, cpu = time.perf_counter(), time.process_time()
                if fn is None:
                    report = manifests.check([tree])
                    problems = len(report.problems)
                else:
                    fn()
                took = (time.perf_counter() - wall, time.process_time() - cpu)
                for key, value in zip(("wall", "cpu"), took, strict=True):
                    best[f"{name}_{key}"] = min(best.get(f"{name}_{key}", 1e9), value)
    return {
        "customers": customers,
        "parser": yamlsafe.parser,
        "problems": problems,
        **{k: round(v, 3) for k, v in best.items()},
        "ratio_cpu": round(best["validate_cpu"] / best["baseline_cpu"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--parser", choices=sorted(yamlsafe.LOADERS), default=None)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(measure(args.customers, args.parser, args.repeat), indent=2))


if __name__ == "__main__":
    main()
