"""How often and how fast a step that failed temporarily is tried again."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, attempt: int, suggested: float | None) -> float:
        if suggested is not None:
            return min(max(suggested, 0.0), self.max_delay)
        return min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)
