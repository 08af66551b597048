"""Google Workspace's Admin SDK Directory API: the primary e-mail of a signed-in Meet user.

Meet names a signed-in participant `signedinUser.user = "users/{user}"`, an id "interoperable
with Admin SDK API and People API" (Meet REST v2 reference, `SignedinUser`), and never an
address. People are matched to program records by e-mail, so the connector asks the directory
(`users.get`, https://developers.google.com/workspace/admin/directory/reference/rest/v1/users/get):

    GET https://admin.googleapis.com/admin/directory/v1/users/{userKey}?fields=primaryEmail

`userKey` may be the numeric id; `fields` (a standard partial-response parameter) asks for the
address and nothing else of the user's profile.

| the directory answers                         | returned / raised                            |
|-----------------------------------------------|----------------------------------------------|
| 200 `{"primaryEmail": ...}`                   | the address, lower-cased (people match so)   |
| 404 (deleted, or not a user of this domain)   | None: no e-mail, not an error                |
| 401 (after one refresh and retry); 403        | `Unauthorized`, naming the scope to grant    |
| the token endpoint refuses (`unauthorized_client`) | `Unauthorized`, naming the scope to grant |
| 429                                           | `RateLimited(retry_after)` from Retry-After  |
| 400 and any other 4xx; a malformed user name  | `InvalidRequest`                             |
| 5xx, connection error, timeout, non-JSON body | `Unavailable`                                |

Auth: the same service account and domain-wide delegation as `MeetClient`, impersonating a
Workspace admin allowed to read users, with the scope in `SCOPES` added to the service
account's delegation. Pass credentials scoped to `SCOPES` alone (`credentials.with_scopes`):
delegation refuses a token that asks for any scope not granted, so sharing one token with the
Meet client would let a missing directory grant stop every Meet read too.

Answers (addresses, and "not in the directory") are kept per process in a bounded LRU cache: a
mentoring session repeats the same two people on every event. E-mails are personal data: they
are never logged nor put in an error message.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict

import google.auth.credentials
import requests

from adapters.http import error_for, json_object
from adapters.meet.client import (
    DEFAULT_TIMEOUT,
    TokenProvider,
    describe_error,
    token_source,
)
from connector.clock import Clock, SystemClock
from connector.errors import (
    InvalidRequest,
    Unauthorized,
    Unavailable,
)

log = logging.getLogger("connector.adapters.meet")

DIRECTORY_URL = "https://admin.googleapis.com/admin/directory/v1"
SCOPES = ("https://www.googleapis.com/auth/admin.directory.user.readonly",)
CACHE_SIZE = 4096  # distinct people per process: far beyond one program's mentors and mentees
# Meet's `users/{user}`; Google user ids are decimal. Only this shape reaches the URL path.
USER_NAME = re.compile(r"users/(?P<id>[0-9]{1,40})")
GRANT_HINT = (
    "the connector's service account needs the scope "
    f"{SCOPES[0]} in the Admin console (Security > API controls > Domain-wide delegation), "
    "and the impersonated user must be a Workspace admin who can read users"
)


class DirectoryClient:
    """`users.get` for one thing only: a Meet user's primary e-mail, cached per process."""

    def __init__(
        self,
        credentials_or_token_provider: google.auth.credentials.Credentials | TokenProvider,
        *,
        session: requests.Session | None = None,
        base_url: str = DIRECTORY_URL,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self._session = session or requests.Session()
        self._credentials, self._token = token_source(credentials_or_token_provider, self._session)
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._clock = clock or SystemClock()
        self._cache: OrderedDict[str, str | None] = OrderedDict()
        self._cache_size = max(1, cache_size)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DirectoryClient(base_url={self._base_url!r})"

    def primary_email(self, user: str) -> str | None:
        """The primary address of the Meet user `users/{id}`, or None when the directory has
        no such user (deleted, or a user outside the Workspace domain)."""
        match = USER_NAME.fullmatch(user) if isinstance(user, str) else None
        if match is None:
            raise InvalidRequest(f"not a Meet user name: {str(user)[:60]!r}")
        user_id = match.group("id")
        hit = self._cached(user_id)
        if hit is not None:
            return hit[0]
        email = self._lookup(user_id)
        with self._lock:
            self._cache[user_id] = email
            self._cache.move_to_end(user_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return email

    def _cached(self, user_id: str) -> tuple[str | None] | None:
        """(the cached answer,) or None on a miss: a cached None means "not in the directory"."""
        with self._lock:
            if user_id not in self._cache:
                return None
            self._cache.move_to_end(user_id)
            return (self._cache[user_id],)

    # ------------------------------------------------------------------ the call

    def _lookup(self, user_id: str) -> str | None:
        response = self._send(user_id)
        if response.status_code == 401 and self._credentials is not None:
            log.info("directory users.get answered 401; refreshing the credentials once")
            self._credentials.expire()
            response = self._send(user_id)
        if response.status_code == 404:
            return None  # deleted, or not a user of this domain: no address to match on
        self._raise_for_status(response)
        body = json_object(response, "Directory users.get")
        email = body.get("primaryEmail")
        if not isinstance(email, str) or "@" not in email:
            raise Unavailable("Directory users.get answered without a primaryEmail")
        # Program records are matched on lower-case addresses; Google keeps them so anyway.
        return email.strip().lower()

    def _send(self, user_id: str) -> requests.Response:
        try:
            token = self._token()
        except Unauthorized as exc:  # typically `unauthorized_client`: the scope is not granted
            raise Unauthorized(f"{exc}; {GRANT_HINT}", status=exc.status) from exc
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        url = f"{self._base_url}/users/{user_id}"
        try:
            response = self._session.get(
                url, headers=headers, params={"fields": "primaryEmail"}, timeout=self._timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Unavailable(f"cannot reach the Directory API ({type(exc).__name__})") from exc
        log.debug("directory users.get -> %s", response.status_code)  # no id, no address
        return response

    def _raise_for_status(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        message = f"Directory users.get answered {status}: {describe_error(response)}"
        if status in (401, 403):
            message = f"{message}; {GRANT_HINT}"
        raise error_for(response, message, self._clock.now())


__all__ = ["CACHE_SIZE", "DIRECTORY_URL", "SCOPES", "DirectoryClient"]
