"""Keep a pull request's plan comments in step with a list of bodies, found by their marker.

The workflow runs on every push to the pull request: the first run creates the comments,
later runs edit them in place (unchanged ones are left alone), create more when the plan grew
and delete the extra ones when it shrank, or when a failed plan replaces them with one error.
Comments without our marker (people's, other tools') are never touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.gitops.github import Client

MARKER_RE = re.compile(r"\A<!-- reconciler-plan key=(?P<key>[\w.-]+) part=(?P<part>\d+)/\d+ -->")


@dataclass(frozen=True)
class SyncResult:
    created: int
    updated: int
    unchanged: int
    deleted: int

    def __str__(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.deleted} deleted"
        )


def sync(client: Client, number: int, bodies: list[str], *, key: str = "plan") -> SyncResult:
    """Make the comments marked ``key`` on ``number`` read ``bodies``, in order."""
    ours: list[tuple[int, int, str]] = []
    for comment in client.comments(number):
        found = MARKER_RE.match(comment.body)
        if found and found["key"] == key:
            ours.append((int(found["part"]), comment.id, comment.body))
    ours.sort()
    created = updated = unchanged = deleted = 0
    for i, body in enumerate(bodies):
        if i < len(ours):
            _, comment_id, old = ours[i]
            if old == body:
                unchanged += 1
            else:
                client.update_comment(comment_id, body)
                updated += 1
        else:
            client.create_comment(number, body)
            created += 1
    for _, comment_id, _ in ours[len(bodies) :]:
        client.delete_comment(comment_id)
        deleted += 1
    return SyncResult(created, updated, unchanged, deleted)
