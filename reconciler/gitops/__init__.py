"""The pipeline around the tool: GitHub's REST API for plan comments and the follow-up issue.

An adapter beside ``partner_center``: it speaks HTTP to GitHub and knows nothing of plans
(the bodies it posts are made by ``rendering``). See docs/gitops.md.
"""
