"""``reconciler demo``: the whole consolidation against the bundled emulator, step by step.

Starts the emulator in-process with the demo world (matching ``manifests/``), then runs the
real commands a partner would run (validate, plan, apply), and plays the parts of the
people outside the API (customers accepting the invitation, Microsoft support moving Azure)
through the emulator's control surface.
It ends with what happened, read from the emulator's own records (``operations/demo.py``):
the transfers, the purchases and what became of the subscriptions they replace, and the billing
ledger (no day billed by both tenants, no day without service). Holds no product logic.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reconciler import errors, settings
from reconciler.cli import runtime
from reconciler.exitcodes import ExitCode

if TYPE_CHECKING:  # imported inside the command: start-up stays fast
    from reconciler import model
    from reconciler.operations import live

Runner = Callable[[list[str]], int]


def example_manifests() -> Path:
    """The example manifests installed with the package (the demo world's declared state).

    The repository's ``manifests/`` is the same set (a test keeps them identical); the copy
    inside the package is what an installed wheel has.
    """
    from importlib import resources

    found = Path(str(resources.files("reconciler") / "_data" / "demo" / "manifests"))
    if not (found / "consolidation.yaml").is_file():
        raise errors.DemoError(
            f"The example manifests that reconciler installs were not found at {found}: this "
            "installation is incomplete. Reinstall the package (pip install --force-reinstall "
            "csp-reconciler), or pass your copy with --manifests DIR."
        )
    return found


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        ctx: typer.Context,
        manifest_dir: Annotated[
            Path | None,
            typer.Option(
                "--manifests",
                help="The example manifests to consolidate (default: the copy installed with "
                "reconciler, matching the emulator's demo world).",
                show_default=False,
            ),
        ] = None,
        state_dir: Annotated[
            Path,
            typer.Option("--state-dir", help="Where the demo keeps the emulator, plan, journal."),
        ] = Path(".reconciler/demo"),
    ) -> int:
        """Run plan and apply against the bundled Partner Center emulator, end to end.

        Nothing leaves this machine: the emulator serves HTTPS on 127.0.0.1 with its own CA.
        """
        from reconciler import manifests
        from reconciler.emulator.server import Emulator
        from reconciler.operations import demo as parties

        if manifest_dir is None:
            manifest_dir = example_manifests()
        state = manifests.load([manifest_dir])
        if state_dir.exists():
            shutil.rmtree(state_dir)
        state_dir.mkdir(parents=True)
        run = runtime.of(ctx)
        # The demo's commands use their own token cache, not the user's: a changed copy of
        # the environment is passed to each of them (the process environment is left alone).
        environ = {**run.environ, settings.ENV_TOKEN_CACHE_DIR: str(state_dir / "tokens")}
        steps = _Steps(lambda argv: run.run(argv, environ), state_dir / "output")
        with Emulator.start(state_dir=state_dir / "emulator") as emu:
            _play(steps, emu, state, manifest_dir, state_dir, environ)
            told = parties.story(
                emu.control.history(), emu.control.snapshot(), emu.control.ledger(), state
            )
        wrong = _tell(told)
        if steps.failures or wrong:
            raise errors.DemoError(
                "The demo did not end as expected (see the steps marked UNEXPECTED and the "
                "lines marked NOT as expected above); this is a bug: please report it with the "
                "output."
            )
        typer.echo(f"Demo complete. Plan, journal and emulator state are in {state_dir}/.")
        return int(ExitCode.OK)


def _play(
    steps: _Steps,
    emu: Any,
    state: model.DesiredState,
    manifest_dir: Path,
    state_dir: Path,
    environ: Mapping[str, str],
) -> None:
    """The consolidation, step by step: the real commands and the people outside the API."""
    from reconciler.operations import demo as parties
    from reconciler.operations import live

    conn = str(emu.connection_file)
    access = live.Access(environ, connection=Path(conn))
    target = state.consolidation.target.name
    typer.echo(
        f"Partner Center emulator on {emu.url}, answering as today's service does: legacy "
        "offers are no longer sold, availability ids are reissued, new orders are listed late."
    )
    typer.echo(f"Each command's whole output is saved in {steps.output}/.")
    steps.run("Validate the manifests", ["validate", str(manifest_dir)], expect=0)
    steps.note(
        f"Sign in to '{target}' as a Partner Center admin "
        "(device code; the emulator approves it): the invitation URL needs App+User"
    )
    _sign_in(emu, state.consolidation.target, access, state_dir / "tokens")
    plan = ["plan", str(manifest_dir), "--connection", conn, "--detailed-exitcode"]
    steps.run(
        f"Plan: every customer must first accept {target}'s reseller invitation",
        plan,
        expect=int(ExitCode.WAITING),
    )
    steps.note("The customers' Global Admins open the invitation URL and accept (emulator)")
    for customer in state.customers:
        emu.control.accept_invitation(customer.tenant_id, target)
    plan_file = str(state_dir / "plan.json")
    approved = ["--auto-approve", "--state-dir", str(state_dir)]
    steps.run(
        "Plan again and save it for review: changes are ready",
        [*plan, "--out", plan_file],
        expect=int(ExitCode.CHANGES),
    )
    steps.run(
        "Apply the reviewed plan: transfers requested and accepted, carts checked out, "
        "legacy sources suspended once their successors are active",
        ["apply", plan_file, "--manifests", str(manifest_dir), "--connection", conn, *approved],
        expect=int(ExitCode.WAITING),
    )
    steps.note("Microsoft support moves the Azure subscriptions (emulator)")
    moved = parties.outside_parties(emu, state)
    typer.echo(f"{moved} Azure subscription(s) moved to {target}.")
    steps.run("Plan once more: nothing left to do", plan, expect=int(ExitCode.OK))


def _tell(told: Any) -> int:
    """Print what happened, from the emulator's records; returns how many facts are wrong."""
    from reconciler.operations import demo as parties

    story: parties.Story = told
    wrong = 0

    def line(text: str, ok: bool) -> None:
        nonlocal wrong
        wrong += not ok
        typer.echo(f"    {text}" + ("" if ok else "  <- NOT as expected"))

    typer.echo("")
    typer.echo("What happened, as the emulator recorded it (history, subscriptions, ledger):")
    typer.echo(
        f"  {len(story.transfers)} partner-to-partner transfer request(s) moving "
        f"{sum(len(t.lines) for t in story.transfers)} subscription(s): requested by the target, "
        "accepted with the source partner's own credentials, the target subscription found "
        "through the transfer's order id and checked active with the same seats; billing "
        "moves with the subscription:"
    )
    for t in story.transfers:
        for m in t.lines:
            landed = (
                f"{m.landed[0]} with {m.landed[1]} seats"
                if m.landed
                else "no target subscription found by order id"
            )
            line(
                f"{t.customer}: {m.name}, {m.seats} seats, {t.source} -> "
                f"{t.requested_by or '?'}: {t.status}, accepted by {t.accepted_by or 'nobody'}, "
                f"{landed}",
                t.status == "Complete" and t.accepted_by == t.source and m.verified,
            )
        if not t.lines:
            line(f"{t.customer}: {t.status}, nothing accepted", False)
    carts = sum(p.via_cart for p in story.purchases)
    typer.echo(
        f"  {len(story.purchases)} new-commerce subscription(s) bought ({carts} through a "
        "cart), each with the availability Partner Center listed for the customer:"
    )
    for p in story.purchases:
        sources = "; ".join(f"{r.kind} {r.name} in {r.partner} {r.fate}" for r in p.replaces)
        line(
            f"{p.customer}: {p.name}, {p.seats} seats ({p.catalog_item})"
            + (f"; {sources}" if sources else ""),
            p.active
            and p.via_cart
            and all(
                r.fate in ("suspended the same day", "stopped the same day")
                or r.fate.startswith(("kept", "held"))
                for r in p.replaces
            ),
        )
    if story.azure:
        count = sum(n for _, n in story.azure)
        names = ", ".join(name for name, _ in story.azure)
        typer.echo(f"  Microsoft support moved {count} Azure subscription(s): {names}.")
    check = story.ledger
    typer.echo("")
    typer.echo(
        f"Ledger check over {check.pairs} moved subscription(s): {check.double_billed_days} "
        f"day(s) billed by both tenants, {check.unserved_days} day(s) without service."
    )
    return wrong + check.double_billed_days + check.unserved_days


class _Steps:
    """The demo's numbered steps. A command's whole output goes to a file; the terminal shows
    its summary lines (and everything, should it end with an unexpected exit code)."""

    #: The lines of a command's output that summarise it.
    SUMMARY = ("Valid:", "Plan:", "Steps:", "Error:")

    def __init__(self, runner: Runner, output: Path) -> None:
        self.runner = runner
        self.output = output
        self.count = 0
        self.failures = 0

    def note(self, title: str) -> None:
        self.count += 1
        typer.echo(f"\n=== Step {self.count}: {title}")

    def run(self, title: str, argv: list[str], *, expect: int) -> None:
        self.note(title)
        typer.echo(f"$ reconciler {' '.join(argv)}")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = self.runner(argv)
        text = out.getvalue() + err.getvalue()
        self.output.mkdir(parents=True, exist_ok=True)
        saved = self.output / f"{self.count}-{argv[0]}.txt"
        saved.write_text(text, encoding="utf-8")
        lines = text.splitlines()
        if code != expect:
            shown = lines
        else:
            url = [x.strip() for x in lines if x.strip().startswith("invitation URL:")][:1]
            shown = url + [x for x in lines if x.startswith(self.SUMMARY)]
        for x in shown:
            typer.echo(f"  {x}")
        verdict = "as expected" if code == expect else f"UNEXPECTED (wanted {expect})"
        typer.echo(f"(exit code {code}: {verdict}; whole output: {saved})")
        if code != expect:
            self.failures += 1


def _sign_in(emu: Any, tenant: model.Tenant, access: live.Access, cache_dir: Path) -> None:
    """``reconciler login`` for the demo: the emulator's user approves the device code. The
    token cache is ``cache_dir`` (``RECONCILER_TOKEN_CACHE_DIR`` in ``access.environ``)."""
    from reconciler.operations import signin

    def approve(message: str) -> None:
        typer.echo(message)
        code = re.search(r"code ([A-Z0-9-]+)", message)
        if code:
            emu.control.approve_device_code(code.group(1))

    done = signin.sign_in(tenant, access, show=approve)
    typer.echo(f"Signed in as {done.user or 'the emulator user'}; token cache in {cache_dir}.")
