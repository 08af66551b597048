"""Following a host's page tokens without ever going round in circles.

Every host pages differently (Salesforce's `nextRecordsUrl`, HubSpot's `paging.next.after`,
EspoCRM's `offset`), but all can hand back a token they handed out before — a bug, a
changing sort order — and a sync must not loop forever on it. `Pager` is that one guard.
"""

from __future__ import annotations

from connector.errors import InvalidRequest


class PagingLoop(InvalidRequest):
    """The host handed back a page token it had handed out before in the same read."""


class Pager:
    """Remembers the tokens of one read; `advance()` refuses a repeat or too many pages."""

    def __init__(self, what: str, max_pages: int = 100_000) -> None:
        self._what = what
        self._seen: set[str] = set()
        self._max_pages = max_pages

    def advance(self, token: str) -> str:
        """Accept the next page's token, or raise `PagingLoop`."""
        if token in self._seen:
            raise PagingLoop(f"{self._what}: the host repeated page token {token[:80]!r}")
        if len(self._seen) >= self._max_pages:
            raise PagingLoop(f"{self._what}: more than {self._max_pages} pages in one read")
        self._seen.add(token)
        return token
