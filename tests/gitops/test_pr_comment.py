"""The plan on a pull request, against a local fake of GitHub's REST API (no network).

Comments are found and edited by their hidden marker, split above the size limit, replaced by
the error when the plan failed; at 5,000 customers x 10 subscriptions every customer has a
table row, and the customers the pull request changes come first.
"""

from __future__ import annotations

import re
from pathlib import Path

from fake_github import BODY_LIMIT
from scaled_plans import scaled

from reconciler.gitops import comments, github
from reconciler.rendering import jsondoc, prcomment

ROOT = Path(__file__).resolve().parents[2]
LITWARE = "3f2c6d55-0000-4000-8000-00000000c005"


def _ours(fake, number: int = 7) -> list[str]:
    return [c["body"] for c in fake.repo.on(number) if c["body"].startswith("<!-- reconciler-plan")]


def _client(fake) -> github.Client:
    from fake_github import TOKEN

    return github.Client(fake.url, fake.repo.name, TOKEN)


def test_5000_customers_each_get_a_row_and_the_prs_customers_come_first(demo_plan, github):
    plan = scaled(demo_plan, 5000, 10)
    assert len(plan.changes) == 50_000
    mine = {plan.customers[4321].tenant_id, plan.customers[17].tenant_id}
    bodies = prcomment.pages(plan, changed=mine, details_url="https://example.test/run/1")
    assert 1 < len(bodies) <= 12
    text = "".join(bodies)
    rows = re.findall(r"^\| (Customer \d{5} GmbH) \| `(?:de|fr)` \|", text, flags=re.M)
    assert sorted(set(rows)) == sorted(c.name for c in plan.customers)
    assert len(rows) == 5000  # one row each, none twice
    assert rows[:2] == ["Customer 00017 GmbH", "Customer 04321 GmbH"]
    assert "Customers this pull request changes (2)" in bodies[0]
    # Split pages keep the table readable: every page holding rows starts them with the header.
    for body in bodies:
        assert len(body) <= prcomment.DEFAULT_LIMIT < BODY_LIMIT
        first_row = re.search(r"^\| Customer \d{5} GmbH", body, flags=re.M)
        if first_row:
            assert "| Customer | Source |" in body[: first_row.start()]
    assert "more customers with changes are in the plan artifact of this run" in bodies[-1]
    assert bodies[-1].rstrip().endswith(").")  # the summary line closes the last page
    result = comments.sync(_client(github), 7, bodies)
    assert result.created == len(bodies) and len(_ours(github)) == len(bodies)


def test_comments_are_found_by_marker_and_edited_in_place(demo_plan, github):
    github.add_comment(7, "LGTM, but check Adatum first")  # a person's comment: never touched
    big = prcomment.pages(scaled(demo_plan, 300, 10), limit=8_000)
    assert len(big) > 3
    first = comments.sync(_client(github), 7, big)
    assert (first.created, first.updated, first.deleted) == (len(big), 0, 0)
    again = comments.sync(_client(github), 7, big)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(big))
    ids_before = [c["id"] for c in github.repo.on(7)]
    small = prcomment.pages(demo_plan)
    shrunk = comments.sync(_client(github), 7, small)
    assert (shrunk.created, shrunk.updated, shrunk.deleted) == (0, 1, len(big) - 1)
    assert _ours(github) == small
    assert github.repo.on(7)[0]["body"] == "LGTM, but check Adatum first"
    assert [c["id"] for c in github.repo.on(7)] == ids_before[:2]  # edited, not re-posted
    # Another plan's comments (another --key) on the same pull request are left alone.
    comments.sync(_client(github), 7, prcomment.pages(demo_plan, key="staging"), key="staging")
    assert len(_ours(github)) == 2 and _ours(github)[0] == small[0]


def _save(plan, tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(jsondoc.render(plan), encoding="utf-8")
    return path


def test_the_command_posts_then_replaces_the_plan_with_the_error(
    demo_plan, github, run_cli, tmp_path, monkeypatch
):
    monkeypatch.chdir(ROOT)
    changed = tmp_path / "changed.txt"
    changed.write_text("manifests/customers/litware.yaml\nmanifests/offers.yaml\n", "utf-8")
    plan_file = _save(demo_plan, tmp_path)
    result = run_cli("comment", str(plan_file), "--pr", "7", "--changed-files", str(changed))
    assert result.code == 0, result.err
    assert (
        result.out.strip()
        == "Pull request #7: 1 comment (1 created, 0 updated, 0 unchanged, 0 deleted)."
    )
    body = _ours(github)[0]
    mine = body.index("Customers this pull request changes (1)")
    others = body.index(f"Other customers ({len(demo_plan.customers) - 1})")
    assert mine < body.index("| Litware Bank SA |") < others
    result = run_cli("comment", str(plan_file), "--pr", "7", "--changed-files", str(changed))
    assert "0 created, 0 updated, 1 unchanged" in result.out
    # Two pages now (a bigger plan), then the plan fails: one comment with the error remains.
    comments.sync(_client(github), 7, prcomment.pages(scaled(demo_plan, 200, 10), limit=9_000))
    assert len(_ours(github)) > 2
    log = tmp_path / "plan.log"
    log.write_text(
        "Error: GitHub OIDC token could not be read: ACTIONS_ID_TOKEN_REQUEST_URL is not set.\n"
    )
    result = run_cli("comment", "--failed", str(log), "--pr", "7")
    assert result.code == 0, result.err
    assert len(_ours(github)) == 1
    assert "reconciler plan failed" in _ours(github)[0]
    assert "ACTIONS_ID_TOKEN_REQUEST_URL is not set" in _ours(github)[0]
    assert "| Litware Bank SA |" not in _ours(github)[0]


def test_github_refusing_is_one_paragraph_without_the_token(
    demo_plan, github, run_cli, tmp_path, monkeypatch
):
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_wrong-token-value")
    result = run_cli("comment", str(_save(demo_plan, tmp_path)), "--pr", "7")
    assert result.code == 1
    assert "GitHub answered 401 to GET /issues/7/comments on contoso/consolidation" in result.err
    assert "ghs_wrong" not in result.err + result.out
    assert len(result.err.strip().splitlines()) == 1
    monkeypatch.delenv("GITHUB_TOKEN")
    result = run_cli("comment", str(_save(demo_plan, tmp_path)), "--pr", "7")
    assert result.code == 1 and "No GitHub token: set GITHUB_TOKEN" in result.err
    result = run_cli("comment", "--pr", "7")
    assert result.code == 1 and "either the saved plan" in result.err
