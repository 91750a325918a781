"""Sets a commit status on GitHub (POST /repos/{owner}/{repo}/statuses/{sha}); the token goes to that API only."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import quote

import aiohttp

from .delivery import TIMEOUT, DeliveryError, check_answer

CommitState = Literal["pending", "success", "failure", "error"]
# owner/repo at the end of an https, ssh or scp-style git URL, with or without .git
_REPOSITORY = re.compile(r"[/:](?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+?)(?:\.git)?/?$")
DESCRIPTION_LIMIT = 140  # what GitHub accepts


def repository_of(git_url: str) -> tuple[str, str] | None:
    """(owner, repo) named by a git URL, or None when it does not end in owner/repo."""
    found = _REPOSITORY.search(git_url)
    return (found["owner"], found["repo"]) if found else None


async def set_commit_status(
    session: aiohttp.ClientSession, api: str, token: str, *, repository: tuple[str, str], sha: str,
    state: CommitState, description: str, context: str, target_url: str | None = None,
) -> None:
    """Raises DeliveryError (temporary for 408, 429, 5xx and connection failures)."""
    owner, repo = repository
    url = f"{api.rstrip('/')}/repos/{quote(owner, safe='')}/{quote(repo, safe='')}/statuses/{quote(sha, safe='')}"
    body: dict[str, str] = {"state": state, "context": context, "description": description[:DESCRIPTION_LIMIT]}
    if target_url:
        body["target_url"] = target_url
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28"}
    try:
        # No redirects: the token is sent to the configured API and nowhere else.
        async with session.post(url, json=body, headers=headers, timeout=TIMEOUT, allow_redirects=False) as response:
            await check_answer(response, "the GitHub API")
    except (aiohttp.ClientError, TimeoutError) as error:
        raise DeliveryError(f"the GitHub API at {api} is unreachable: {error!r}", temporary=True) from error
