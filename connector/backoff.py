"""When to try a failed row again: exponential backoff with jitter, from tenacity."""

from __future__ import annotations

from datetime import datetime, timedelta

import tenacity


def next_attempt(
    now: datetime,
    attempt: int,
    *,
    initial: float,
    maximum: float,
    retry_after: float | None = None,
) -> datetime:
    """The time of the next try after `attempt` failed tries.

    A `retry_after` the other side asked for wins over our own schedule (it knows its limits);
    otherwise `initial * 2**(attempt-1)` plus up to `initial` of jitter, capped at `maximum`.
    """
    if retry_after is not None:
        return now + timedelta(seconds=max(retry_after, 0.0))
    wait = tenacity.wait_exponential_jitter(initial=initial, max=maximum, jitter=initial)
    state = tenacity.RetryCallState(tenacity.Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = max(attempt, 1)
    return now + timedelta(seconds=wait(state))
