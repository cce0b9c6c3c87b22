"""Sockets and bytes: a threaded HTTPS server bound to 127.0.0.1 only, HTTP/1.1 keep-alive,
TLS handshakes done in the worker thread (so a slow client never blocks ``accept``), and the
two ways of *not* answering that fault injection needs (drop, reset). It must not interpret
requests beyond HTTP framing; ``pipeline.Pipeline`` does.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl

from reconciler.emulator.protocol import Request, Response

LOOPBACK = "127.0.0.1"
MAX_BODY = 64 * 1024 * 1024


class Drop:
    """Answer nothing: close the connection (``reset=True``: with a TCP RST)."""

    def __init__(self, *, reset: bool) -> None:
        self.reset = reset


class Dispatcher(Protocol):
    """What the server calls for each request."""

    def dispatch(self, req: Request) -> Response | Drop:
        """Answer ``req`` (or drop it)."""


class LoopbackServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` on 127.0.0.1 with TLS; tracks connections to close on stop."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, port: int, context: ssl.SSLContext) -> None:
        self._context = context
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self.dispatcher: Dispatcher | None = None
        super().__init__((LOOPBACK, port), _Handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = self._context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self._open_lock:
            self._open.add(tls)
        return tls, addr

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client hang-ups and TLS failures are the client's business: stay quiet."""

    def close_all(self) -> None:
        """Close the listening socket and every open (keep-alive) connection."""
        with self._open_lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PartnerCenterEmulator/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections end eventually
    server: LoopbackServer

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr (tokens live in headers; keep the terminal calm)."""

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_GET

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        if not query and "&" in path:  # "…/github-oidc&audience=…" (URL that had no "?")
            path, _, query = path.partition("&")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            self._write(Response(413, {"error": "request body too large"}))
            return
        body = self.rfile.read(length) if length else b""
        req = Request(
            method=self.command,
            path=path.rstrip("/") or "/",
            query={k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        assert self.server.dispatcher is not None
        outcome = self.server.dispatcher.dispatch(req)
        if isinstance(outcome, Drop):
            self.close_connection = True
            if outcome.reset:
                self.request.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            return
        self._write(outcome)

    def _write(self, response: Response) -> None:
        payload = response.encode()
        self.send_response(response.status)
        if payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)
