"""Sends a run's build request to the Tekton Triggers EventListener as a binary-mode CloudEvent."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aiohttp
from cloudevents.core.bindings.http import to_binary_event
from cloudevents.core.v1.event import CloudEvent

from ..models.ids import EventId
from ..models.runs import Run
from ..models.spec import GitSource

BUILD_EVENT_TYPE = "io.tekton-runner.build.requested.v1"
EVENT_SOURCE = "tekton-runner"


class DispatchError(Exception):
    """The EventListener did not accept the request; `temporary` says whether a re-send may help."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


@dataclass(frozen=True)
class Accepted:
    event_id: EventId | None


def build_event_data(run: Run, *, archive_url: str) -> dict[str, str]:
    """The flat, all-string body the TriggerBinding reads (docs/contracts.md)."""
    source = run.spec.source
    return {
        "run_id": run.id,
        "workspace": run.workspace,
        "app": run.app,
        "source_type": source.type,
        "git_url": source.url if isinstance(source, GitSource) else "",
        "git_revision": source.revision if isinstance(source, GitSource) else "",
        "context_dir": source.context,
        "dockerfile": source.dockerfile,
        "archive_url": archive_url,
        "image": run.image,
        "spec_json": json.dumps(run.spec.model_dump(mode="json"), separators=(",", ":"), sort_keys=True),
    }


async def send_build_request(
    session: aiohttp.ClientSession, url: str, run: Run, *, archive_url: str, timeout: float = 10.0,
) -> Accepted:
    event = CloudEvent(
        attributes={"type": BUILD_EVENT_TYPE, "source": EVENT_SOURCE, "id": run.id, "subject": run.app,
                    "datacontenttype": "application/json"},
        data=build_event_data(run, archive_url=archive_url),
    )
    message = to_binary_event(event)
    try:
        async with session.post(url, data=message.body, headers=message.headers,
                                timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            text = await response.text()
            if response.status >= 500 or response.status in (404, 408, 429):
                raise DispatchError(f"EventListener answered {response.status}: {text[:300]}", temporary=True)
            if response.status >= 300:
                raise DispatchError(f"EventListener rejected the request with {response.status}: {text[:300]}",
                                    temporary=False)
            return Accepted(event_id=_event_id(text, response.headers.get("Ce-Id")))
    except (aiohttp.ClientError, TimeoutError) as error:
        raise DispatchError(f"EventListener unreachable at {url}: {error!r}", temporary=True) from error


def _event_id(body: str, header: str | None) -> EventId | None:
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("eventID"), str):
        return EventId(payload["eventID"])
    return EventId(header) if header else None
