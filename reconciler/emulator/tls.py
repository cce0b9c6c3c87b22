"""Throwaway TLS for the emulator: a CA and a 127.0.0.1 server certificate made at start-up.

The CA bundle is written to a file so clients (requests, MSAL's http client) can verify the
server. Nothing here listens or binds; the server module does that, on loopback only.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme


class Tls:
    """A fresh CA and leaf certificate; ``server_context()`` for the listening socket."""

    def __init__(self) -> None:
        self._ca = trustme.CA(organization_name="reconciler emulator CA")
        self._leaf = self._ca.issue_cert("127.0.0.1", "localhost")

    def write_ca_bundle(self, path: Path) -> Path:
        """Write the CA certificate (PEM) to ``path`` and return it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(self._ca.cert_pem.bytes())
        tmp.replace(path)
        return path

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for the server side (TLS 1.2+, our leaf certificate)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._leaf.configure_cert(context)
        return context
