"""GitHub push deliveries as GitHub sends them, for the webhook path (docs/triggers.md, "The git webhook path").

A delivery is a JSON body posted with `X-GitHub-Event` and `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the
exact body bytes, keyed with the webhook secret>`; the per-app Trigger's `github` interceptor checks both.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.kubeapi import KubeAPI, Obj, poll

TRIGGERS_API = "/apis/triggers.tekton.dev/v1beta1"


def new_sha() -> str:
    return secrets.token_hex(20)


def trigger_path(namespace: str, name: str = "") -> str:
    base = f"{TRIGGERS_API}/namespaces/{namespace}/triggers"
    return f"{base}/{name}" if name else base


def push_event(repository_url: str, branch: str, sha: str, *, deleted: bool = False) -> dict[str, Any]:
    """A GitHub push payload (the fields the Trigger reads and a few more), shaped like the real thing.

    A branch deletion is a push whose `after` is all zeros and `deleted` is true.
    """
    base = repository_url.removesuffix(".git")
    owner, name = base.rsplit("/", 2)[-2:]
    return {
        "ref": f"refs/heads/{branch}",
        "before": sha if deleted else "0" * 40,
        "after": "0" * 40 if deleted else sha,
        "created": False,
        "deleted": deleted,
        "forced": False,
        "compare": f"{base}/compare/{sha[:12]}",
        "head_commit": {"id": sha, "message": "e2e push", "timestamp": "2026-01-01T00:00:00Z"},
        "repository": {
            "name": name,
            "full_name": f"{owner}/{name}",
            "html_url": base,
            "clone_url": base + ".git",
            "ssh_url": f"git@git.invalid:{owner}/{name}.git",
        },
        "pusher": {"name": "e2e", "email": "e2e@git.invalid"},
    }


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def deliver(eventlistener_url: str, payload: dict[str, Any], secret: str | None,
                  event: str = "push") -> str:
    """POST one delivery to the EventListener, signed with `secret` (None: unsigned).

    The EventListener answers 202 once it has read the body, whatever its Triggers decide later; returns
    the event id it gave the delivery.
    """
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/e2e",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
    }
    if secret is not None:
        headers["X-Hub-Signature-256"] = signature(body, secret)
    async with aiohttp.ClientSession() as session, \
            session.post(eventlistener_url, data=body, headers=headers) as resp:
        text = await resp.text()
        assert resp.status == 202, f"EventListener answered {resp.status}: {text}"
        event_id: str = json.loads(text)["eventID"]
        return event_id


async def create_webhook_secret(kube: KubeAPI, namespace: str, name: str, key: str, value: str) -> None:
    await kube.create(f"/api/v1/namespaces/{namespace}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace},
        "data": {key: base64.b64encode(value.encode()).decode()},
    })


async def push_taskruns(kube: KubeAPI, namespace: str, app_id: str) -> list[Obj]:
    return await kube.list(f"/apis/tekton.dev/v1/namespaces/{namespace}/taskruns",
                           f"tekton-runner.io/app-id={app_id}")


class InterceptorLog:
    """The core interceptors' own log: their server logs every answer it gives, at info level, as
    `Interceptor response is: &{... Continue:<bool> Status:{Code:<code> Message:<why>}}`.

    Lets a test wait until the interceptors have decided on the deliveries it sent, instead of guessing how
    long the EventListener takes (it answers 202 before it runs any Trigger).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    async def mark(self) -> None:
        """Only answers logged from now on count."""
        self._offset = (await asyncio.to_thread(self.path.stat)).st_size

    def _read_since_mark(self) -> str:
        with self.path.open("rb") as f:
            f.seek(self._offset)
            return f.read().decode(errors="replace")

    async def answers(self, *needles: str) -> list[str]:
        """The answers since mark() whose line contains every needle."""
        text = await asyncio.to_thread(self._read_since_mark)
        return [line for line in text.splitlines()
                if "Interceptor response is" in line and all(n in line for n in needles)]

    async def wait_for(self, what: str, *needles: str, count: int = 1, within: float = 30) -> list[str]:
        async def probe() -> list[str] | None:
            found = await self.answers(*needles)
            return found if len(found) >= count else None
        return await poll(f"{what} in {self.path}", probe, within)
