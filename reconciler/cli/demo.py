"""``reconciler demo``: the whole consolidation against the bundled emulator, step by step.

Starts the emulator in-process with the demo world (matching ``manifests/``), then runs the
real commands a partner would run (validate, plan, apply), and plays the parts of the
people outside the API (customers accepting the invitation, Microsoft support moving Azure,
the source partner's staff accepting a transfer) through the emulator's control surface.
It ends by reading the emulator's billing ledger: no day on which a legacy subscription was
billed by both tenants, no day on which a customer had no service. Holds no product logic.
"""

from __future__ import annotations

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
        steps = _Steps(lambda argv: run.run(argv, environ))
        with Emulator.start(state_dir=state_dir / "emulator") as emu:
            _play(steps, emu, state, manifest_dir, state_dir, environ)
            check = parties.check_ledger(emu.control.ledger(), emu.control.snapshot(), state)
        typer.echo("")
        typer.echo(
            f"Ledger check over {check.pairs} replaced legacy subscriptions: "
            f"{check.double_billed_days} day(s) billed by both tenants, "
            f"{check.unserved_days} day(s) without service."
        )
        failed = steps.failures or check.double_billed_days or check.unserved_days
        if failed:
            raise errors.DemoError(
                "The demo did not end as expected (see the steps marked UNEXPECTED above); "
                "this is a bug: please report it with the output."
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
    typer.echo(f"Partner Center emulator on {emu.url} (connection file: {conn})")
    steps.run("Validate the manifests", ["validate", str(manifest_dir)], expect=0)
    steps.note(
        f"Sign in to '{target}' as a Partner Center admin "
        "(device code; the emulator approves it): the invitation URL needs App+User"
    )
    _sign_in(emu, state.consolidation.target, access, state_dir / "tokens")
    plan = ["plan", str(manifest_dir), "--connection", conn, "--detailed-exitcode"]
    steps.run(
        "Plan: every customer must first accept the central tenant's invitation",
        plan,
        expect=int(ExitCode.WAITING),
    )
    steps.note("The customers' Global Admins accept the invitation (emulator control)")
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
        "Apply the reviewed plan",
        ["apply", plan_file, "--manifests", str(manifest_dir), "--connection", conn, *approved],
        expect=int(ExitCode.WAITING),
    )
    steps.note(
        "Microsoft support moves the Azure subscriptions; the source partner's "
        "staff accept the transfer request (emulator control and source API)"
    )
    parties.outside_parties(emu, state, access)
    steps.run("Plan once more: nothing left to do", plan, expect=int(ExitCode.OK))


class _Steps:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.count = 0
        self.failures = 0

    def note(self, title: str) -> None:
        self.count += 1
        typer.echo(f"\n=== Step {self.count}: {title}")

    def run(self, title: str, argv: list[str], *, expect: int) -> None:
        self.note(title)
        typer.echo(f"$ reconciler {' '.join(argv)}\n")
        code = self.runner(argv)
        verdict = "as expected" if code == expect else f"UNEXPECTED (wanted {expect})"
        typer.echo(f"\n(exit code {code}: {verdict})")
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
