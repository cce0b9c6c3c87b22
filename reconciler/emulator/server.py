"""The emulator's HTTPS server and its public Python API.

```python
from reconciler.emulator.server import Emulator
with Emulator.start(world=None, port=0, state_dir=tmp_path) as emu:   # None = demo world
    emu.url              # "https://127.0.0.1:PORT"
    emu.ca_bundle        # Path to the CA PEM
    emu.connection_file  # Path to connection.json (docs/emulator.md)
    emu.control          # accept_invitation, azure_handoff, advance_clock, set_fault, ...
```

One ``ThreadingHTTPServer`` on 127.0.0.1 only (HTTP/1.1 keep-alive, TLS handshakes in the
worker threads). Every API request goes: fault injection → token check → settle due jobs →
throttling → ``MS-RequestId`` replay → route. This module must not hold business rules.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import threading
from importlib import resources
from pathlib import Path
from typing import Any, Self

from reconciler.emulator import pipeline
from reconciler.emulator.clock import Clock
from reconciler.emulator.control import Control
from reconciler.emulator.engine import Engine, Settings
from reconciler.emulator.identity import Identity
from reconciler.emulator.policies import FaultRule, Faults, Replays, Throttle
from reconciler.emulator.seeds import read_seed
from reconciler.emulator.tls import Tls
from reconciler.emulator.transport import LoopbackServer
from reconciler.emulator.world import World

CONNECTION_FORMAT = "reconciler-emulator-connection/1"


def demo_world_path() -> Path:
    """The bundled demo world (matches the example manifests)."""
    return Path(str(resources.files("reconciler.emulator") / "worlds" / "demo.yaml"))


class Emulator:
    """A running emulator; build it with ``Emulator.start``."""

    def __init__(
        self,
        *,
        server: LoopbackServer,
        control: Control,
        state_dir: Path,
        ca_bundle: Path,
        connection_file: Path,
    ) -> None:
        self._server = server
        self.control = control
        self.state_dir = state_dir
        self.ca_bundle = ca_bundle
        self.connection_file = connection_file
        self.port: int = server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    @classmethod
    def start(
        cls,
        world: Path | str | dict[str, Any] | World | None = None,
        *,
        port: int = 0,
        state_dir: Path | None = None,
        page_size: int = 20,
        rate_limit_per_minute: int = 500,
        pair_rate_limit_per_minute: int = 0,
        provisioning_delay_seconds: float = 0.0,
        idempotency_ttl_seconds: float = 3600.0,
        patch_async: bool = False,
        faults: list[dict[str, Any]] | None = None,
        fault_seed: int = 0,
        clock_start: dt.datetime | None = None,
        frozen_clock: bool = False,
        background: bool = True,
        switches: dict[str, Any] | None = None,
    ) -> Emulator:
        """Start serving ``world`` (seed path, seed dict, a ``World``, or None for the demo).

        ``frozen_clock`` makes the emulator clock move only by ``control.advance_clock``
        (deterministic tests); otherwise it runs with wall time from ``clock_start``.
        ``switches``: further settings by name (``bomPrefix``, ``staleEtagStatus``,
        ``orderListDelaySeconds``, ...; see ``engine.Settings``), as ``control.set_limits``.
        """
        seed = world if isinstance(world, World) else read_seed(world or demo_world_path())
        if state_dir is None:
            state_dir = Path(tempfile.mkdtemp(prefix="reconciler-emulator-"))
        state_dir.mkdir(parents=True, exist_ok=True)
        tls = Tls()
        server = LoopbackServer(port, tls.server_context())
        url = f"https://127.0.0.1:{server.server_address[1]}"
        identity = Identity(base_url=url)
        settings = Settings(
            page_size=page_size,
            rate_limit_per_minute=rate_limit_per_minute,
            pair_rate_limit_per_minute=pair_rate_limit_per_minute,
            provisioning_delay_seconds=provisioning_delay_seconds,
            idempotency_ttl_seconds=idempotency_ttl_seconds,
            patch_async=patch_async,
        )
        settings.update(switches or {})
        clock = Clock(clock_start, frozen=frozen_clock)
        engine = Engine(seed, settings=settings, clock=clock, github_issuer=identity.github_issuer)
        fault_set = Faults(seed=fault_seed, rules=[FaultRule.from_dict(f) for f in faults or []])
        throttle, replays = Throttle(), Replays()
        control = Control(engine, identity, fault_set, throttle, replays, state_dir)
        server.dispatcher = pipeline.Pipeline(
            engine, identity, fault_set, throttle, replays, control
        )
        ca_bundle = tls.write_ca_bundle(state_dir / "ca.pem")
        emu = cls(
            server=server,
            control=control,
            state_dir=state_dir,
            ca_bundle=ca_bundle,
            connection_file=state_dir / "connection.json",
        )
        emu._write_connection_file(engine, identity)
        if background:
            emu._serve_in_background()
        return emu

    def _serve_in_background(self) -> None:
        """Serve on a daemon thread (``stop`` shuts it down and joins it)."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="emulator", daemon=True
        )
        self._thread.start()

    def _write_connection_file(self, engine: Engine, identity: Identity) -> None:
        tenants = []
        for partner in engine.world.partners.values():
            confidential = next((a for a in partner.apps if not a.public), None)
            public = next((a for a in partner.apps if a.public), None)
            tenants.append(
                {
                    "name": partner.name,
                    "tenantId": partner.tenant_id,
                    "clientId": confidential.client_id if confidential else None,
                    "clientSecret": confidential.secret if confidential else None,
                    "publicClientId": public.client_id if public else None,
                    "domain": partner.domain,
                    "users": [u.upn for u in partner.users],
                }
            )
        doc = {
            "format": CONNECTION_FORMAT,
            "apiRoot": self.url,
            "authorityHost": self.url,
            "controlRoot": f"{self.url}/_emulator",
            "caBundle": str(self.ca_bundle.resolve()),
            "githubOidc": {
                "requestUrl": f"{self.url}/_emulator/github-oidc",
                "requestToken": identity.github_request_token,
                "audience": "api://AzureADTokenExchange",
                "subject": engine.world.github_subject,
            },
            "tenants": tenants,
        }
        tmp = self.connection_file.with_suffix(".tmp")
        # It carries client secrets: owner-only, like any credential file.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
        os.replace(tmp, self.connection_file)

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``stop()`` (CLI; Ctrl-C raises KeyboardInterrupt)."""
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        self._server.shutdown()
        self._server.close_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
