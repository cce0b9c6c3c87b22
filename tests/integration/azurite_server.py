"""Azurite (the Azure Storage emulator, npm package ``azurite``) for the shared-state tests:
started on a free loopback port in a temporary directory, like our own emulator, and stopped
at the end. ``scripts/dev.py test`` installs it into ``.tools/`` before the tests run."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / ".tools" / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
#: Azurite's well-known development account (public, documented by Microsoft).
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class AzuriteMissing(RuntimeError):
    pass


@dataclass
class Azurite:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint={self.endpoint};"
        )

    def container_url(self, name: str) -> str:
        return f"{self.endpoint}/{name}"

    def new_container(self, create: bool = True) -> str:
        """A fresh container's URL (created unless ``create`` is False)."""
        from azure.storage.blob import ContainerClient

        url = self.container_url("state-" + uuid.uuid4().hex[:12])
        if create:
            client = ContainerClient.from_container_url(
                url, credential={"account_name": ACCOUNT, "account_key": KEY}
            )
            client.create_container()
        return url

    @classmethod
    def start(cls, location: Path) -> Azurite:
        node = shutil.which("node")
        if node is None or not MAIN.exists():
            raise AzuriteMissing(
                f"Azurite is not installed ({MAIN} missing, or no node on PATH): run "
                "`python3 scripts/dev.py test` once, which installs the npm package azurite "
                "into .tools/, then run the tests again."
            )
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        process = subprocess.Popen(
            [
                node,
                str(MAIN),
                "--silent",
                "--location",
                str(location),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(port),
                "--skipApiVersionCheck",
                "--loose",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise RuntimeError(f"Azurite exited with {process.returncode}: {err}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return cls(port, process)
            except OSError:
                time.sleep(0.1)
        process.kill()
        raise RuntimeError(f"Azurite did not listen on port {port} within 60 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()
