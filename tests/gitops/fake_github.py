"""A local fake of the parts of GitHub's REST API the tool uses, on 127.0.0.1 (no network).

Issue comments (list with pages, create, edit, delete) and issues (list, create, edit), with
GitHub's limits that matter: a comment body over 65,536 characters is refused (422), a request
without the expected bearer token is refused (401). Every request is recorded.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

BODY_LIMIT = 65_536
TOKEN = "fake-github-token"


@dataclass
class Repo:
    name: str = "contoso/consolidation"
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> comment
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> issue
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1000

    def on(self, number: int) -> list[dict[str, Any]]:
        return [
            c for c in sorted(self.comments.values(), key=lambda c: c["id"]) if c["issue"] == number
        ]


class FakeGitHub:
    def __init__(self) -> None:
        self.repo = Repo()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_comment(self, number: int, body: str, user: str = "someone") -> int:
        with self.lock:
            cid = self.repo.next_id
            self.repo.next_id += 1
            self.repo.comments[cid] = {"id": cid, "issue": number, "body": body, "user": user}
            return cid

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, payload: Any = None) -> None:
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}")

            def _route(self, method: str) -> None:
                url = urlparse(self.path)
                with fake.lock:
                    fake.repo.requests.append((method, url.path))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, {"message": "Bad credentials"})
                prefix = f"/repos/{fake.repo.name}"
                if not url.path.startswith(prefix):
                    return self._send(404, {"message": "Not Found"})
                parts = url.path[len(prefix) :].strip("/").split("/")
                body = self._body() if method in ("POST", "PATCH") else {}
                if len(str(body.get("body", ""))) > BODY_LIMIT:
                    return self._send(422, {"message": "body is too long (maximum is 65536)"})
                with fake.lock:
                    return self._dispatch(method, parts, parse_qs(url.query), body)

            def _dispatch(
                self,
                method: str,
                parts: list[str],
                query: dict[str, list[str]],
                body: dict[str, Any],
            ) -> None:
                repo = fake.repo
                if parts[:1] == ["issues"] and len(parts) == 3 and parts[2] == "comments":
                    number = int(parts[1])
                    if method == "GET":
                        per = int(query.get("per_page", ["30"])[0])
                        page = int(query.get("page", ["1"])[0])
                        items = repo.on(number)[(page - 1) * per : page * per]
                        return self._send(
                            200,
                            [
                                {"id": c["id"], "body": c["body"], "user": {"login": c["user"]}}
                                for c in items
                            ],
                        )
                    if method == "POST":
                        cid = repo.next_id
                        repo.next_id += 1
                        repo.comments[cid] = {
                            "id": cid,
                            "issue": number,
                            "body": body["body"],
                            "user": "github-actions[bot]",
                        }
                        return self._send(201, {"id": cid, "body": body["body"]})
                if parts[:2] == ["issues", "comments"] and len(parts) == 3:
                    cid = int(parts[2])
                    if cid not in repo.comments:
                        return self._send(404, {"message": "Not Found"})
                    if method == "PATCH":
                        repo.comments[cid]["body"] = body["body"]
                        return self._send(200, {"id": cid, "body": body["body"]})
                    if method == "DELETE":
                        del repo.comments[cid]
                        return self._send(204)
                if parts == ["issues"]:
                    if method == "GET":
                        state = query.get("state", ["open"])[0]
                        labels = set(query.get("labels", [""])[0].split(",")) - {""}
                        items = [
                            i
                            for i in sorted(repo.issues.values(), key=lambda i: i["number"])
                            if (state == "all" or i["state"] == state)
                            and labels <= set(i["labels"])
                        ]
                        return self._send(200, items)
                    if method == "POST":
                        number = len(repo.issues) + 1
                        repo.issues[number] = {
                            "number": number,
                            "title": body["title"],
                            "body": body.get("body", ""),
                            "state": "open",
                            "labels": list(body.get("labels", [])),
                        }
                        return self._send(201, repo.issues[number])
                if parts[:1] == ["issues"] and len(parts) == 2 and method == "PATCH":
                    issue = repo.issues.get(int(parts[1]))
                    if issue is None:
                        return self._send(404, {"message": "Not Found"})
                    issue.update({k: v for k, v in body.items() if k in ("title", "body", "state")})
                    return self._send(200, issue)
                return self._send(404, {"message": "Not Found"})

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_PATCH(self) -> None:
                self._route("PATCH")

            def do_DELETE(self) -> None:
                self._route("DELETE")

        return Handler
