"""What a refused or failed delivery means: whether sending the same thing again may help."""

from __future__ import annotations

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=10.0)


class DeliveryError(Exception):
    """The receiver did not take the notification; `temporary` says whether a re-send may help."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


async def check_answer(response: aiohttp.ClientResponse, receiver: str) -> None:
    """2xx is delivered; 408, 429 and 5xx are temporary; any other answer is a permanent refusal."""
    if 200 <= response.status < 300:
        return
    text = (await response.text())[:300]
    temporary = response.status >= 500 or response.status in (408, 429)
    raise DeliveryError(f"{receiver} answered {response.status}: {text}", temporary=temporary)
