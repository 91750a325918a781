"""Sends one run or step transition to the notification receiver as a binary-mode CloudEvent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp
from cloudevents.core.bindings.http import to_binary_event
from cloudevents.core.v1.event import CloudEvent

from .delivery import TIMEOUT, DeliveryError, check_answer


async def send_event(
    session: aiohttp.ClientSession, url: str, *, event_id: str, event_type: str, source: str, subject: str,
    time: datetime, data: dict[str, Any],
) -> None:
    """POSTs the event; raises DeliveryError (temporary for 408, 429, 5xx and connection failures)."""
    event = CloudEvent(
        attributes={"type": event_type, "source": source, "id": event_id, "subject": subject, "time": time,
                    "datacontenttype": "application/json"},
        data=data,
    )
    message = to_binary_event(event)
    try:
        async with session.post(url, data=message.body, headers=message.headers, timeout=TIMEOUT,
                                allow_redirects=False) as response:
            await check_answer(response, f"the notification receiver {url}")
    except (aiohttp.ClientError, TimeoutError) as error:
        raise DeliveryError(f"the notification receiver {url} is unreachable: {error!r}", temporary=True) from error
