"""The benchmark suite (issue 14): one command, a Markdown report and JSON figures.

    .venv/bin/python bench/run.py            # worlds of 50, 1,000 and 5,000 customers (hours)
    .venv/bin/python bench/run.py --quick    # worlds of 50 and 200 customers (a few minutes)

Writes bench/results/report.md and bench/results/figures.json (``--out DIR`` elsewhere).

For each world, against the emulator (HTTPS on loopback, ``--latency-ms`` per request, a
per-tenant limit of ``--limit`` requests a minute):

- ``plan``, ``apply`` and ``export`` through the operations layer (what the commands run), each
  in a fresh process so that its peak memory is its own and the emulator keeps this process:
  wall time, requests (every attempt), the minimum requests (distinct method + URL: each
  resource read once, each write sent once), 429s, the rate achieved per tenant, peak RSS,
  the lower bound and the ratio to it;
- two baselines replaying plan's minimum requests in the same run: a sequential script (one
  request at a time) and a one-thread-per-tenant script, both honouring Retry-After.

The lower bound of a phase is the larger of its rate bound (the busiest tenant's minimum
requests at ``--limit`` a minute, as if the bucket started empty: the "strict" bound), its
latency bound (those requests ``concurrency`` at a time, ``--latency-ms`` each) and, for
apply, the provisioning delay of one create (creates may overlap). Apply runs on the first
``--apply-customers`` customers only (plan and apply in one go): its figures are reported as
they are (issue 14 point 1 makes apply concurrent).

Then, in this process: the planning core at 50,000 and 200,000 subscriptions (CPU seconds of
``planner.build_plan`` and peak RSS, each in a fresh process; the plan document's size, plain
and gzip), ``validate`` of N customer files against the plain-parser baseline (bench_validate),
and the median of 10 ``reconciler --version`` and ``--help`` runs.

Figures measured while other work shares the machine say so in the report (the load average
is recorded); ratios against a baseline measured in the same run are what to compare.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import itertools
import json
import logging
import multiprocessing
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "planning"))

TOKEN_PATH = "/oauth2/"
#: What ``--parts`` can choose, and ``--world-phases`` within each world.
PARTS = ("worlds", "apply", "core", "validate", "startup")
WORLD_PHASES = ("plan", "baselines", "export", "apply")


# ------------------------------------------------------------------------- request recording


class _Recorder(logging.Handler):
    """Collects the transport's per-request debug records: (method, url, outcome, tenant)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sent: list[tuple[str, str, str, str, float]] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if not isinstance(args, tuple) or len(args) < 7 or "->" not in str(record.msg):
            return
        method, host, path, outcome, _took, tenant = (str(a) for a in args[:6])
        with self._lock:
            url = host + path if "://" in host else f"https://{host}{path}"
            self.sent.append((method, url, outcome, tenant, time.monotonic()))


@contextlib.contextmanager
def recording() -> Iterator[_Recorder]:
    logger = logging.getLogger("reconciler.partner_center")
    recorder = _Recorder()
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(recorder)
    try:
        yield recorder
    finally:
        logger.removeHandler(recorder)
        logger.setLevel(level)


class _Watcher:
    """A ``live.Observer`` that keeps the clients (for their stats) and shows nothing."""

    def __init__(self) -> None:
        self.clients: list[Any] = []

    def watch(self, clients: Iterable[Any]) -> None:
        self.clients.extend(clients)

    @contextlib.contextmanager
    def reading(self, what: str = "Reading") -> Iterator[None]:
        yield None


def _apply_phases(marks: dict[str, float]) -> Callable[[float], str]:
    """Which part of an apply a request at a moment belongs to: the read before the writes,
    the writes (with their re-checks and polls), the verification read after them."""

    def phase(at: float) -> str:
        if at < marks.get("writes", float("inf")):
            return "read"
        return "writes" if at < marks.get("verify", float("inf")) else "verify"

    return phase


_CUSTOMER = re.compile(r"/customers/([^/?]+)")
_UNIQUE = itertools.count()


def _necessary(
    phase: str, method: str, url: str, tenant: str, writes: Counter[tuple[str, str]]
) -> tuple[str, ...]:
    """What makes a request necessary: a token when one is fetched, each next page; a write
    sent once; a read once per phase and per state of the customer it reads in that tenant, a
    write to the customer there making a new state (so one fresh read after an order, to see
    it, counts; a second poll of the same state does not)."""
    if TOKEN_PATH in url or "seekOperation=Next" in url:
        # A token expires (each new one is needed); every next page has the same URL, its
        # continuation token in a header (each page is a different read).
        return (method, url, str(next(_UNIQUE)))
    found = _CUSTOMER.search(url)
    customer = found.group(1).lower() if found else ""
    if method != "GET":
        writes[(tenant, customer)] += 1
        return (method, url)
    return (phase, method, url, str(writes[(tenant, customer)]))


def _figures(
    recorder: _Recorder, wall: float, phases: Callable[[float], str] = lambda at: ""
) -> dict[str, Any]:
    """Requests, minimum, 429s and achieved rate per tenant from the recorded requests.

    The minimum is each write sent once and each resource read once within each of ``phases``
    and per state of its customer (``_necessary``): apply reads every customer before its
    writes and again after them (the verification), both needed, and must read a customer
    again after an order to see it active; its further polls and repeated re-checks are what
    it could save. For plan and export (no writes, one phase) it is the distinct requests."""
    tenants: dict[str, dict[str, Any]] = {}
    writes: Counter[tuple[str, str]] = Counter()  # writes so far per (tenant, customer)
    for method, url, outcome, tenant, at in recorder.sent:
        t = tenants.setdefault(
            tenant, {"requests": 0, "throttled": 0, "distinct": set(), "first": at, "last": at}
        )
        t["requests"] += 1
        t["throttled"] += outcome.startswith("429")
        t["distinct"].add(_necessary(phases(at), method, url, tenant, writes))
        t["first"], t["last"] = min(t["first"], at), max(t["last"], at)
    per_tenant = {}
    for name, t in sorted(tenants.items()):
        span = t["last"] - t["first"]
        per_tenant[name] = {
            "requests": t["requests"],
            "minimum": len(t["distinct"]),
            "throttled": t["throttled"],
            "rate_per_minute": round((t["requests"] - 1) / span * 60, 1) if span > 0 else 0.0,
        }
    by_phase: dict[str, dict[str, Any]] = {}
    for method, url, _outcome, tenant, at in recorder.sent:
        p = by_phase.setdefault(phases(at) or "all", {"requests": Counter(), "distinct": set()})
        p["requests"][f"{tenant} {method}"] += 1
        p["distinct"].add((tenant, method, url))
    return {
        "phases": {
            name: {
                "requests": dict(sorted(p["requests"].items())),
                "minimum": len(p["distinct"]),
            }
            for name, p in by_phase.items()
        },
        "wall_s": round(wall, 2),
        "requests": sum(t["requests"] for t in per_tenant.values()),
        "minimum": sum(t["minimum"] for t in per_tenant.values()),
        "throttled": sum(t["throttled"] for t in per_tenant.values()),
        "per_tenant": per_tenant,
    }


def _peak_rss_mb() -> float:
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20, 1)


# ----------------------------------------------------------------------------------- phases


def _access(conn: str, env: dict[str, str]) -> Any:
    from reconciler.operations import live

    return live.Access(environ=env, connection=Path(conn))


def phase_plan(conn: str, manifests: str, out: str, env: dict[str, str]) -> dict[str, Any]:
    from reconciler.operations import plan

    watcher = _Watcher()
    with recording() as rec:
        started = time.monotonic()
        result = plan.plan(
            [Path(manifests)], plan.Selection(), _access(conn, env), watcher, out=Path(out)
        )
        wall = time.monotonic() - started
    figures = _figures(rec, wall)
    figures["changes"] = len(result.changes)
    packed = Path(out).read_bytes()
    figures["plan_file_kb"] = round(len(packed) / 1024, 1)
    if out.endswith(".gz"):
        figures["plan_document_kb"] = round(len(gzip.decompress(packed)) / 1024, 1)
    figures["urls"] = sorted({(m, u, t) for m, u, _, t, _ in rec.sent if m == "GET"})
    figures["peak_rss_mb"] = _peak_rss_mb()
    return figures


def phase_apply(
    conn: str,
    manifests: str,
    state: str,
    customers: list[str],
    env: dict[str, str],
    parallelism: int,
) -> dict[str, Any]:
    from reconciler.operations import apply

    watcher = _Watcher()
    request = apply.ApplyRequest(
        paths=[Path(manifests)], access=_access(conn, env), state_dir=Path(state),
        customers=customers, parallelism=parallelism,
    )  # fmt: skip
    marks: dict[str, float] = {}
    hooks = apply.Hooks(
        approve=lambda plan: None,
        started=lambda *ids: marks.setdefault("writes", time.monotonic()),
        written=lambda: marks.setdefault("verify", time.monotonic()),
    )
    with recording() as rec:
        started = time.monotonic()
        result = apply.apply(request, watcher, hooks)
        wall = time.monotonic() - started
    figures = _figures(rec, wall, phases=_apply_phases(marks))
    report = result.report
    figures["steps"] = len(report.steps) if report is not None else 0
    figures["clean"] = bool(report is not None and report.clean)
    figures["writes"] = sum(1 for m, *_ in rec.sent if m != "GET")
    figures["stated_overlap"] = _stated_overlap(result.plan)
    figures["peak_rss_mb"] = _peak_rss_mb()
    return figures


def _stated_overlap(plan: Any) -> dict[str, int]:
    """Days both tenants bill each source subscription and its replacement, as the plan
    states them (``Change.overlap``), by source subscription id; open-ended ones left out."""
    stated: dict[str, int] = {}
    for change in plan.changes:
        sid, overlap = change.address.subscription_id, change.overlap
        if sid and overlap is not None and overlap.days is not None:
            stated[sid.lower()] = max(stated.get(sid.lower(), 0), overlap.days)
    return stated


def phase_export(conn: str, root: str, env: dict[str, str]) -> dict[str, Any]:
    from reconciler.operations import export

    watcher = _Watcher()
    request = export.ExportRequest(root=Path(root), access=_access(conn, env))
    with recording() as rec:
        started = time.monotonic()
        result = export.generate(request, watcher)
        wall = time.monotonic() - started
    figures = _figures(rec, wall)
    figures["files"] = len(result.files)
    figures["peak_rss_mb"] = _peak_rss_mb()
    return figures


def phase_replay(
    conn: str, urls: list[tuple[str, str, str]], threaded: bool, limit_429: int = 50
) -> dict[str, Any]:
    """A plain script fetching ``urls`` (tenant-tagged GETs): one at a time, or one thread
    per tenant; a 429 waits its Retry-After and tries again."""
    import requests

    doc = json.loads(Path(conn).read_text("utf-8"))
    tokens = {t["name"]: _token(doc, t) for t in doc["tenants"] if t.get("clientSecret")}
    by_tenant: dict[str, list[str]] = {}
    for _, url, tenant in urls:
        by_tenant.setdefault(tenant, []).append(url)
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def fetch(items: list[tuple[str, str]]) -> None:
        session = requests.Session()
        session.trust_env = False
        session.verify = doc["caBundle"]
        for tenant, url in items:
            for _ in range(limit_429):
                reply = session.get(url, headers={"Authorization": f"Bearer {tokens[tenant]}"})
                with lock:
                    counts["requests"] += 1
                if reply.status_code != 429:
                    break
                with lock:
                    counts["throttled"] += 1
                time.sleep(float(reply.headers.get("Retry-After", "1")))

    started = time.monotonic()
    if threaded:
        workers = [
            threading.Thread(target=fetch, args=([(t, u) for u in items],))
            for t, items in by_tenant.items()
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    else:
        fetch([(t, u) for t, items in by_tenant.items() for u in items])
    return {
        "wall_s": round(time.monotonic() - started, 2),
        "requests": counts["requests"],
        "throttled": counts["throttled"],
        "minimum": len(urls),
    }


def _token(doc: dict[str, Any], tenant: dict[str, Any]) -> str:
    import msal
    import requests

    session = requests.Session()
    session.trust_env = False
    session.verify = doc["caBundle"]
    app = msal.ConfidentialClientApplication(
        tenant["clientId"],
        client_credential=tenant["clientSecret"],
        authority=f"{doc['authorityHost']}/{tenant['tenantId']}",
        instance_discovery=False,
        http_client=session,
    )
    return str(
        app.acquire_token_for_client(scopes=["https://api.partnercenter.microsoft.com/.default"])[
            "access_token"
        ]
    )


def phase_core(customers: int, per_customer: int) -> dict[str, Any]:
    """CPU seconds of the planning core and the process's peak RSS, in a fresh process."""
    import big_world

    from reconciler.planning import planner
    from reconciler.rendering import jsondoc

    state, live = big_world.make(customers, per_customer)
    started = time.process_time()
    plan = planner.build_plan(state, live, now=big_world.NOW)
    cpu = time.process_time() - started
    peak = _peak_rss_mb()
    started = time.process_time()
    document = jsondoc.render(plan).encode("utf-8")
    render = time.process_time() - started
    return {
        "subscriptions": customers * per_customer,
        "changes": len(plan.changes),
        "build_plan_cpu_s": round(cpu, 2),
        "peak_rss_mb": peak,
        "render_json_cpu_s": round(render, 2),
        "document_mb": round(len(document) / 2**20, 1),
        "document_gz_mb": round(len(gzip.compress(document, 6, mtime=0)) / 2**20, 1),
    }


def isolated(fn: Callable[..., dict[str, Any]], *args: Any, isolate: bool = True) -> dict[str, Any]:
    """``fn(*args)`` in a fresh interpreter (spawn), or here when ``isolate`` is off."""
    if not isolate:
        return fn(*args)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(fn, args)


# ------------------------------------------------------------------------------------ worlds


def _bench_env(here: Path) -> dict[str, str]:
    """The reconciler's environment for a run in ``here``: no credentials file (the emulator's
    connection file signs in), and its state, locks and token cache under ``here``."""
    return {
        "RECONCILER_CREDENTIALS_FILE": str(here / "no-credentials.toml"),
        "RECONCILER_STATE_DIR": str(here / "state"),
        "RECONCILER_LOCK_DIR": str(here / "locks"),
        "RECONCILER_TOKEN_CACHE_DIR": str(here / "tokens"),
    }


def _latency(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The emulator's faults: ``--latency-ms`` on every request, none when it is 0."""
    return [{"kind": "latency", "latencyMs": args.latency_ms}] if args.latency_ms else []


def world_run(customers: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from bench_apply import sign_in_target

    from reconciler.emulator import worldgen
    from reconciler.emulator.server import Emulator

    here = work / f"world-{customers}"
    manifests = here / "manifests"
    doc = worldgen.generate(customers, args.per_customer, seed=1, in_target_every=1)
    worldgen.manifests(doc, manifests)
    export_root = here / "export"
    export_root.mkdir()
    for name in ("consolidation.yaml", "offers.yaml"):
        shutil.copy(manifests / name, export_root / name)
    env = _bench_env(here)
    figures: dict[str, Any] = {
        "customers": customers,
        "subscriptions": customers * args.per_customer,
    }
    with Emulator.start(
        world=doc,
        state_dir=here / "emulator",
        page_size=100,
        rate_limit_per_minute=args.limit,
        provisioning_delay_seconds=args.provisioning_s,
        clock_start=dt.datetime.now(dt.UTC),
        faults=_latency(args),
    ) as emu:
        conn = str(emu.connection_file)
        sign_in_target(emu, conn, env, Path(env["RECONCILER_TOKEN_CACHE_DIR"]))
        wanted = set(args.world_phases)
        if "plan" in wanted or "baselines" in wanted:
            print(f"  plan ... (load {_load()})", flush=True)
            plan = isolated(
                phase_plan, conn, str(manifests), str(here / "plan.json.gz"), env,
                isolate=args.isolate,
            )  # fmt: skip
            urls = [tuple(u) for u in plan.pop("urls") if TOKEN_PATH not in u[1]]
            plan["bound_s"] = _bound(plan, args)
            plan["load"] = _load()
            figures["plan"] = plan
        if "baselines" in wanted:
            for label, threaded in (("sequential", False), ("thread_per_tenant", True)):
                print(f"  baseline {label} ...", flush=True)
                emu.control.set_limits(rate_limit_per_minute=args.limit)  # a full bucket again
                time.sleep(0.2)
                replay = isolated(phase_replay, conn, urls, threaded, isolate=args.isolate)
                replay["plan_speedup"] = round(replay["wall_s"] / max(plan["wall_s"], 1e-9), 2)
                figures[f"baseline_{label}"] = replay
        if "export" in wanted:
            print(f"  export ... (load {_load()})", flush=True)
            emu.control.set_limits(rate_limit_per_minute=args.limit)
            time.sleep(0.2)
            export = isolated(phase_export, conn, str(export_root), env, isolate=args.isolate)
            export["bound_s"] = _bound(export, args)
            figures["export"] = export
        if "apply" in wanted:
            print(f"  apply ... (load {_load()})", flush=True)
            emu.control.set_limits(rate_limit_per_minute=args.limit)
            time.sleep(0.2)
            chosen = [c["tenantId"] for c in doc["customers"][: args.apply_customers]]
            applied = isolated(
                phase_apply, conn, str(manifests), env["RECONCILER_STATE_DIR"], chosen, env,
                args.apply_parallelism, isolate=args.isolate,
            )  # fmt: skip
            del applied["stated_overlap"]  # the ledger is judged in apply's own world
            applied["customers"] = len(chosen)
            applied["bound_s"] = _bound(applied, args, provisioning=args.provisioning_s)
            figures["apply"] = applied
    for name in ("plan", "export", "apply"):
        if name in figures:
            _ratio(figures[name])
    return figures


def _ratio(phase: dict[str, Any]) -> None:
    phase["ratio_to_bound"] = (
        round(phase["wall_s"] / phase["bound_s"], 2) if phase["bound_s"] else None
    )


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def apply_run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Apply on its own world (bench_apply's measurement): ``--apply-customers`` customers with
    ``--apply-per-customer`` subscriptions each, every one already a customer of the target,
    ``--provisioning-s`` per create; plan and apply in one go, then the emulator's history
    (duplicate orders, sources stopped before their target was active) and billing ledger
    (days billed twice, days without service) are checked."""
    from bench_apply import check_history, sign_in_target

    from reconciler import manifests as manifest_files
    from reconciler.emulator import worldgen
    from reconciler.emulator.server import Emulator
    from reconciler.operations import demo

    here = work / "apply-world"
    mdir = here / "manifests"
    doc = worldgen.generate(
        args.apply_customers, args.apply_per_customer, seed=7, in_target_every=1
    )
    worldgen.manifests(doc, mdir)
    env = _bench_env(here)
    with Emulator.start(
        world=doc,
        state_dir=here / "emulator",
        rate_limit_per_minute=args.limit,
        provisioning_delay_seconds=args.provisioning_s,
        clock_start=dt.datetime.now(dt.UTC),
        faults=_latency(args),
    ) as emu:
        conn = str(emu.connection_file)
        sign_in_target(emu, conn, env, Path(env["RECONCILER_TOKEN_CACHE_DIR"]))
        load = _load()
        applied = isolated(
            phase_apply, conn, str(mdir), env["RECONCILER_STATE_DIR"], [], env,
            args.apply_parallelism, isolate=args.isolate,
        )  # fmt: skip
        duplicates, early = check_history(emu)
        desired = manifest_files.load([mdir])
        ledger = demo.story(
            emu.control.history(), emu.control.snapshot(), emu.control.ledger(), desired
        ).ledger
        tolerance = desired.consolidation.policy.billing_overlap_tolerance_days
    stated = applied.pop("stated_overlap")
    applied.update(
        customers=args.apply_customers,
        per_customer=args.apply_per_customer,
        parallelism=args.apply_parallelism,
        provisioning_s=args.provisioning_s,
        load=load,
        duplicates=duplicates,
        early_suspensions=early,
        ledger=ledger_verdict(ledger, tolerance, stated),
    )
    applied["bound_s"] = _bound(applied, args, provisioning=args.provisioning_s)
    _ratio(applied)
    return applied


def ledger_verdict(ledger: Any, tolerance_days: int, stated: dict[str, int]) -> dict[str, Any]:
    """The billing ledger's verdict (``ledger``: ``demo.LedgerCheck``), judged per moved pair.

    Each pair may be billed by both tenants on as many days as its plan states for its source
    (``stated``: source subscription id -> days; more than the tolerance is warned of before
    approval) or the policy's per-pair tolerance (billingOverlapToleranceDays), whichever is
    more: new-commerce sources re-bought here are cancelled once their target is active, and
    that day may be billed twice. A total within pairs x tolerance can hide one pair far over
    its own allowance, so the total decides nothing. Clean: no pair over its allowance and no
    day without service."""
    over = []
    for pair in ledger.per_pair:
        allowed = max(tolerance_days, stated.get(pair.source.lower(), 0))
        if pair.double_billed_days > allowed:
            over.append((pair.double_billed_days - allowed, pair, allowed))
    worst = max(over, key=lambda found: found[0], default=None)
    return {
        "pairs": ledger.pairs,
        "double_billed_days": ledger.double_billed_days,
        "unserved_days": ledger.unserved_days,
        "tolerance_days": tolerance_days,
        "pairs_over": len(over),
        "worst": None
        if worst is None
        else {
            "source": worst[1].source,
            "target": worst[1].target,
            "double_billed_days": worst[1].double_billed_days,
            "allowed_days": worst[2],
        },
        "clean": not over and ledger.unserved_days == 0,
    }


def _bound(phase: dict[str, Any], args: argparse.Namespace, provisioning: float = 0.0) -> float:
    busiest = max((t["minimum"] for t in phase["per_tenant"].values()), default=0)
    rate = busiest * 60 / args.limit if args.limit else 0.0
    latency = busiest * args.latency_ms / 1000 / args.concurrency
    return round(max(rate, latency, provisioning), 2)


# --------------------------------------------------------------------------------- start-up


def startup(runs: int = 10) -> dict[str, Any]:
    script = Path(sys.executable).with_name("reconciler")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "reconciler"]
    out: dict[str, Any] = {"command": " ".join(Path(c).name for c in command)}
    # The interpreter alone (with site, as the console script starts it): under load every
    # figure grows, and --version cannot be faster than this.
    runs_of = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "--version": [*command, "--version"],
        "--help": [*command, "--help"],
    }
    for label, argv in runs_of.items():
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        out[label] = {"median_s": round(statistics.median(times), 3), "runs": runs}
    return out


# ----------------------------------------------------------------------------------- report


def _rates(p: dict[str, Any]) -> str:
    return ", ".join(f"{t} {v['rate_per_minute']:.0f}" for t, v in p["per_tenant"].items())


def _ledger_line(led: dict[str, Any]) -> str:
    """The ledger's verdict for the report: per pair, against the plan's stated overlap or the
    policy's per-pair tolerance (``ledger_verdict``)."""
    allowance = f"its plan's stated overlap or the policy's {led['tolerance_days']} day(s) per pair"
    worst = led["worst"]
    if worst is None:
        over = f"no pair over {allowance}"
    else:
        over = (
            f"{led['pairs_over']} pair(s) over {allowance}, the worst {worst['source']} -> "
            f"{worst['target']} billed twice on {worst['double_billed_days']} days against "
            f"{worst['allowed_days']} allowed"
        )
    return (
        f"{'clean' if led['clean'] else 'NOT CLEAN'} ({led['pairs']} moved pairs, "
        f"{led['double_billed_days']} days billed twice in all, {over}; "
        f"{led['unserved_days']} days without service)"
    )


def _runs(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs that measured ``figures``: one, or several after ``--merge`` (each with the
    parts it measured; a world is its own part, ``world N``). Figures written before
    ``--merge`` existed hold one run's fields."""
    runs = figures.get("runs") or [
        {
            "when": figures["when"],
            "command": figures.get("command", "python bench/run.py"),
            "load_start": figures["load_start"],
            "load_end": figures.get("load_end"),
            "parts": list(PARTS),
        }
    ]
    worlds = [_world_part(w["customers"]) for w in figures.get("worlds", ())]
    return [
        {**run, "parts": [q for p in run["parts"] for q in (worlds if p == "worlds" else [p])]}
        for run in runs
    ]


def _world_part(customers: int) -> str:
    return f"world {customers}"


def merge(previous: dict[str, Any], fresh: dict[str, Any]) -> dict[str, Any]:
    """``previous`` figures with what this run measured replaced by ``fresh``'s (a world by
    its size, the other parts whole), and this run added to the list of runs (the report
    names which run measured what)."""
    (run,) = _runs(fresh)
    measured = set(run["parts"])
    merged = dict(previous)
    worlds = [w for w in previous.get("worlds", ()) if _world_part(w["customers"]) not in measured]
    merged["worlds"] = sorted([*worlds, *fresh["worlds"]], key=lambda w: int(w["customers"]))
    for part in measured & {"apply", "core", "validate", "startup"}:
        merged[part] = fresh[part]
    kept = []
    for earlier in _runs(previous):
        left = [p for p in earlier["parts"] if p not in measured]
        if left:
            kept.append({**earlier, "parts": left})
    merged["runs"] = [*kept, run]
    for field in ("when", "command", "load_start", "load_end", "machine", "quick"):
        merged[field] = fresh[field]
    return merged


def _previous(path: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """The figures ``--merge`` starts from, refused before anything is measured when they
    were measured with other emulator settings (the parts would not be comparable)."""
    try:
        previous: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"bench/run.py --merge: cannot read {path} ({exc})") from exc
    if previous.get("settings") != settings:
        raise SystemExit(
            f"bench/run.py --merge: {path} was measured with other emulator settings "
            f"({previous.get('settings')}, now {settings}); run with the same --latency-ms, "
            "--limit, --provisioning-s and --per-customer, or measure every part again"
        )
    return previous


def _label(part: str) -> str:
    """A part as the report names it: ``world 5000`` -> ``the world of 5,000 customers``."""
    if part.startswith("world "):
        return f"the world of {int(part.split()[1]):,} customers"
    return part


def report(figures: dict[str, Any]) -> str:
    runs = _runs(figures)
    made = [
        f"Made {run['when']} by `{run['command']}` on {figures['machine']} (load average at "
        f"start {run['load_start']}, at end {run['load_end']}"
        + (f"; measured: {', '.join(_label(p) for p in run['parts'])}" if len(runs) > 1 else "")
        + ")"
        for run in runs
    ]
    lines = [
        "# Benchmark report",
        "",
        "; ".join(made) + ". Figures measured under load are slower; ratios to a baseline in "
        "the same run are what to compare.",
        "",
        f"Emulator: {figures['settings']['latency_ms']} ms latency per request, "
        f"{figures['settings']['limit']} requests a minute per tenant, "
        f"{figures['settings']['provisioning_s']} s provisioning per create. Worlds: customers "
        f"alternating between the sources `de` and `fr`, all already customers of the target "
        f"`central` (3 tenants), {figures['settings']['per_customer']} subscriptions each.",
    ]
    if figures["worlds"]:
        lines += [
            "",
            "## Plan, apply, export",
            "",
            "| world | phase | wall s | requests | minimum | 429s | rate/min per tenant | "
            "peak RSS MB | bound s | × bound |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
    for world in figures["worlds"]:
        for name in ("plan", "export", "apply"):
            if name not in world:
                continue
            p = world[name]
            size = f"{world['customers']:,} customers"
            if name == "apply":
                size += f" (apply: {p['customers']})"
            lines.append(
                f"| {size} | {name} | {p['wall_s']} | {p['requests']} | {p['minimum']} | "
                f"{p['throttled']} | {_rates(p)} | {p['peak_rss_mb']} | {p['bound_s']} | "
                f"{p['ratio_to_bound']} |"
            )
    for world in figures["worlds"]:
        p = world.get("plan", {})
        if "plan_document_kb" in p:
            lines.append(
                f"\nSaved plan of {world['customers']:,} customers (`--out plan.json.gz`): "
                f"{p['plan_file_kb']:,} KB gzip, {p['plan_document_kb']:,} KB of JSON."
            )
    baselines = [w for w in figures["worlds"] if "baseline_sequential" in w]
    if baselines:
        lines += [
            "",
            "Baselines: plan's minimum requests replayed by a plain script (Retry-After honoured).",
            "",
            "| world | script | wall s | requests | 429s | wall ÷ plan's wall |",
            "|---|---|---|---|---|---|",
        ]
    for world in baselines:
        for label in ("sequential", "thread_per_tenant"):
            b = world[f"baseline_{label}"]
            lines.append(
                f"| {world['customers']:,} customers | {label.replace('_', ' ')} | "
                f"{b['wall_s']} | {b['requests']} | {b['throttled']} | {b['plan_speedup']} |"
            )
    a = figures.get("apply")
    if a is not None:
        led = a["ledger"]
        lines += [
            "",
            "## Apply on its own world",
            "",
            f"{a['customers']:,} customers × {a['per_customer']} subscriptions, "
            f"{a['provisioning_s']:g} s provisioning per create, `--parallelism "
            f"{a['parallelism']}`, planned and applied in one go (load average "
            f"{a['load']} at its start).",
            "",
            "| wall s | steps | writes | requests | minimum | 429s | rate/min per tenant | "
            "peak RSS MB | bound s | × bound | duplicates | early suspensions | ledger |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            f"| {a['wall_s']} | {a['steps']} | {a['writes']} | {a['requests']} | "
            f"{a['minimum']} | {a['throttled']} | {_rates(a)} | {a['peak_rss_mb']} | "
            f"{a['bound_s']} | **{a['ratio_to_bound']}** (target ≤ 1.5) | {a['duplicates']} | "
            f"{a['early_suspensions']} | {_ledger_line(led)} |",
        ]
    if figures["core"]:
        lines += [
            "",
            "## Planning core",
            "",
            "| subscriptions | changes | build_plan CPU s | peak RSS MB | render JSON CPU s | "
            "document MB | gzip MB |",
            "|---|---|---|---|---|---|---|",
        ]
    for core in figures["core"]:
        lines.append(
            f"| {core['subscriptions']:,} | {core['changes']:,} | {core['build_plan_cpu_s']} | "
            f"{core['peak_rss_mb']} | {core['render_json_cpu_s']} | {core['document_mb']} | "
            f"{core['document_gz_mb']} |"
        )
    v, st = figures.get("validate"), figures.get("startup")
    if v is not None or st is not None:
        lines += ["", "## Manifests and start-up", ""]
    if v is not None:
        lines.append(
            f"- `validate` of {v['customers']:,} customer files ({v['parser']} parser): "
            f"{v['validate_cpu']} s CPU / {v['validate_wall']} s wall; the plain-parser "
            f"baseline (CSafeLoader + compiled jsonschema, same process) {v['baseline_cpu']} s "
            f"CPU: **{v['ratio_cpu']}×** (target ≤ 2×)."
        )
    if st is not None:
        lines.append(
            f"- `{st['command']} --version`: median {st['--version']['median_s']} s over "
            f"{st['--version']['runs']} runs (target < 0.15 s); `--help`: median "
            f"{st['--help']['median_s']} s (target < 0.15 s); the interpreter alone (`python -c "
            f"pass`): median {st['python -c pass']['median_s']} s."
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small worlds: a few minutes")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument("--sizes", type=int, nargs="*", help="customers per world")
    parser.add_argument("--per-customer", type=int, help="subscriptions per customer")
    parser.add_argument("--core", type=int, nargs="*", help="core sizes (subscriptions)")
    parser.add_argument("--validate-customers", type=int)
    parser.add_argument("--apply-customers", type=int)
    parser.add_argument("--latency-ms", type=int, default=80)
    parser.add_argument("--limit", type=int, default=500, help="emulator requests/min/tenant")
    parser.add_argument("--provisioning-s", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8, help="the client's, for the bound")
    parser.add_argument("--startup-runs", type=int, default=10)
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=PARTS,
        default=list(PARTS),
        help="what to measure (default: all): the worlds, apply on its own world, the core, "
        "validate, start-up",
    )
    parser.add_argument(
        "--world-phases",
        nargs="+",
        choices=WORLD_PHASES,
        default=list(WORLD_PHASES),
        help="what to run in each world (default: all; baselines need plan)",
    )
    parser.add_argument("--apply-per-customer", type=int, default=2)
    parser.add_argument(
        "--merge", type=Path, metavar="FIGURES_JSON",
        help="start from an earlier run's figures.json and replace only the parts measured "
        "now (e.g. re-measure the core without the hour the 5,000-customer world takes)",
    )  # fmt: skip
    parser.add_argument(
        "--apply-parallelism", type=int, default=None, help="default: apply's own default"
    )
    parser.add_argument(
        "--no-isolate", dest="isolate", action="store_false",
        help="run phases in this process (faster start, memory figures shared)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    quick = args.quick
    args.sizes = (
        args.sizes if args.sizes is not None else ([50, 200] if quick else [50, 1000, 5000])
    )
    args.per_customer = args.per_customer or (4 if quick else 10)
    args.core = args.core if args.core is not None else ([50_000] if quick else [50_000, 200_000])
    args.validate_customers = args.validate_customers or (1000 if quick else 5000)
    args.apply_customers = args.apply_customers or (3 if quick else 100)
    if args.apply_parallelism is None:
        from reconciler import settings

        args.apply_parallelism = settings.DEFAULT_APPLY_PARALLELISM

    from bench_validate import measure

    figures: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python bench/run.py", *(sys.argv[1:] if argv is None else argv)]),
        "quick": quick,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_start": round(os.getloadavg()[0], 1),
        "settings": {
            "latency_ms": args.latency_ms, "limit": args.limit,
            "provisioning_s": args.provisioning_s, "per_customer": args.per_customer,
        },
        "worlds": [],
        "core": [],
    }  # fmt: skip
    parts = set(args.parts)
    previous = _previous(args.merge, figures["settings"]) if args.merge is not None else None
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        for size in args.sizes if "worlds" in parts else ():
            print(f"world of {size} customers ...", flush=True)
            figures["worlds"].append(world_run(size, args, Path(tmp)))
        if "apply" in parts:
            print(
                f"apply: {args.apply_customers} customers x {args.apply_per_customer}, "
                f"{args.provisioning_s:g} s provisioning ... (load {_load()})",
                flush=True,
            )
            figures["apply"] = apply_run(args, Path(tmp))
    for subs in args.core if "core" in parts else ():
        print(f"core at {subs} subscriptions ... (load {_load()})", flush=True)
        per = 10 if subs >= 10 else 1
        core = isolated(phase_core, max(subs // per, 1), per, isolate=args.isolate)
        figures["core"].append({**core, "load": _load()})
    if "validate" in parts:
        print(f"validate of {args.validate_customers} files ... (load {_load()})", flush=True)
        figures["validate"] = {**measure(args.validate_customers), "load": _load()}
    if "startup" in parts:
        print(f"start-up ... (load {_load()})", flush=True)
        figures["startup"] = {**startup(args.startup_runs), "load": _load()}
    figures["load_end"] = _load()
    figures["runs"] = [
        {k: figures[k] for k in ("when", "command", "load_start", "load_end")}
        | {"parts": [p for p in PARTS if p in parts]}
    ]
    if previous is not None:
        figures = merge(previous, figures)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "figures.json").write_text(json.dumps(figures, indent=2) + "\n", "utf-8")
    (args.out / "report.md").write_text(report(figures), "utf-8")
    print(f"wrote {args.out / 'report.md'} and {args.out / 'figures.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
