"""One follow-up issue per repository: opened when something is left, updated while it is,
closed when nothing is. Found by its label and the hidden marker at the top of its body."""

from __future__ import annotations

from reconciler.gitops import github

MARKER = "<!-- reconciler-followup -->"


def sync(client: github.Client, *, title: str, body: str, done: bool, label: str) -> str:
    """Open, update or close the follow-up issue; returns what was done, for the log."""
    ours = [i for i in github.open_issues(client, label) if i.body.startswith(MARKER)]
    if done:
        for issue in ours:
            github.update_issue(client, issue.number, body=body, state="closed")
        return f"closed issue #{ours[0].number}" if ours else "nothing left; no issue open"
    if not ours:
        created = github.create_issue(client, title, body, label)
        return f"opened issue #{created.number}"
    first, *extra = ours
    if first.body != body:
        github.update_issue(client, first.number, body=body)
    for issue in extra:  # a duplicate from a race between two runs: keep one
        github.update_issue(client, issue.number, body=body, state="closed")
    return (
        f"updated issue #{first.number}"
        if first.body != body
        else f"issue #{first.number} unchanged"
    )
