"""A small client of GitHub's REST API: the issue-comment calls a plan comment needs.

``Client(api_url, repo, token)``; every failure is an ``errors.GitHubError`` naming the call,
the status and what to do. Tokens are sent as a header and never appear in a message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from reconciler import errors

DEFAULT_API_URL = "https://api.github.com"
_PAGE = 100


def from_environ(environ: Mapping[str, str], repo: str | None = None) -> Client:
    """The client a workflow step configures: $GITHUB_API_URL, $GITHUB_REPOSITORY, $GITHUB_TOKEN."""
    return Client(
        environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
        repo or environ.get("GITHUB_REPOSITORY", ""),
        environ.get("GITHUB_TOKEN", ""),
    )


def run_url(environ: Mapping[str, str]) -> str | None:
    """This GitHub Actions run's page, where its artifacts are (None outside Actions)."""
    server, repo, run_id = (
        environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if not (server and repo and run_id):
        return None
    return f"{server.rstrip('/')}/{repo}/actions/runs/{run_id}"


@dataclass(frozen=True)
class Comment:
    id: int
    body: str


class Client:
    """Issue and pull-request comments of one repository (``owner/name``)."""

    def __init__(self, api_url: str, repo: str, token: str, *, timeout: float = 30.0) -> None:
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise errors.GitHubError(
                f"'{repo}' is not a repository name: give it as owner/name (in GitHub Actions, "
                "$GITHUB_REPOSITORY)."
            )
        if not token:
            raise errors.GitHubError(
                "No GitHub token: set GITHUB_TOKEN (in GitHub Actions: `GITHUB_TOKEN: "
                "${{ github.token }}` in the step's env, with `pull-requests: write` or "
                "`issues: write` in the job's permissions)."
            )
        self._base = f"{api_url.rstrip('/')}/repos/{repo}"
        self._repo = repo
        self._timeout = timeout
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "reconciler",
            }
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self._base}{path}"
        try:
            resp = self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise errors.GitHubError(
                f"GitHub could not be reached ({method} {path} on {self._repo}): "
                f"{type(exc).__name__}. Check the network and GITHUB_API_URL, then run again."
            ) from None
        if resp.status_code >= 400:
            hint = {
                401: "the token was refused: is GITHUB_TOKEN set and still valid?",
                403: "the token may not do this: the job needs `pull-requests: write` (plan "
                "comments) or `issues: write` (follow-up issue) in its permissions",
                404: "no such repository, pull request or comment, or the token cannot see it",
                422: "GitHub refused the content (a comment over 65,536 characters?)",
            }.get(resp.status_code, "GitHub's answer is above; run again later if it is 5xx")
            detail = ""
            try:
                detail = str(resp.json().get("message", ""))[:200]
            except ValueError:
                detail = resp.text[:200]
            raise errors.GitHubError(
                f"GitHub answered {resp.status_code} to {method} {path} on {self._repo}"
                f"{f' ({detail})' if detail else ''}: {hint}."
            )
        if resp.status_code == 204 or not resp.content:
            return None
        return resp.json()

    def comments(self, number: int) -> Iterator[Comment]:
        """Every comment on issue or pull request ``number``, oldest first, all pages."""
        page = 1
        while True:
            found = self._call(
                "GET", f"/issues/{number}/comments", params={"per_page": _PAGE, "page": page}
            )
            for item in found or []:
                yield Comment(int(item["id"]), str(item.get("body") or ""))
            if not found or len(found) < _PAGE:
                return
            page += 1

    def create_comment(self, number: int, body: str) -> Comment:
        item = self._call("POST", f"/issues/{number}/comments", json={"body": body})
        return Comment(int(item["id"]), str(item.get("body") or ""))

    def update_comment(self, comment_id: int, body: str) -> None:
        self._call("PATCH", f"/issues/comments/{comment_id}", json={"body": body})

    def delete_comment(self, comment_id: int) -> None:
        self._call("DELETE", f"/issues/comments/{comment_id}")


@dataclass(frozen=True)
class Issue:
    number: int
    body: str
    state: str


def _issue(item: Any) -> Issue:
    return Issue(int(item["number"]), str(item.get("body") or ""), str(item.get("state", "")))


def open_issues(client: Client, label: str) -> list[Issue]:
    """The open issues carrying ``label`` (first page of 100: the follow-up keeps one)."""
    found = client._call(
        "GET", "/issues", params={"state": "open", "labels": label, "per_page": _PAGE}
    )
    return [_issue(item) for item in found or [] if "pull_request" not in item]


def create_issue(client: Client, title: str, body: str, label: str) -> Issue:
    item = client._call("POST", "/issues", json={"title": title, "body": body, "labels": [label]})
    return _issue(item)


def update_issue(client: Client, number: int, *, body: str, state: str = "open") -> None:
    client._call("PATCH", f"/issues/{number}", json={"body": body, "state": state})
