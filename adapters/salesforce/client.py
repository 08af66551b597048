"""Salesforce's REST API through simple-salesforce: an OAuth token and typed errors.

The token comes from an External Client App, server to server, by one of two flows
(crm-hosts reference §1.4), both run by `simple_salesforce.SalesforceLogin`:
client credentials (client id and secret, posted to the org's My Domain) or JWT bearer (a
certificate's private key signs an assertion for the run-as user). Neither gives a refresh
token, so an expired session is answered by running the flow again, once.

Every failure leaves this module as one of the errors in `connector.errors` (STYLE.md habit 8);
simple-salesforce's exceptions carry the status and the parsed error array (§1.5):

| Salesforce answers                                    | raised                                |
|-------------------------------------------------------|---------------------------------------|
| 401 INVALID_SESSION_ID, then 2xx after a new token     | the 2xx result                        |
| 401 twice; the token endpoint refuses                 | `Unauthorized`                        |
| 403 REQUEST_LIMIT_EXCEEDED (the org's 24-hour limit)  | `RequestLimitExceeded` (a RateLimited) |
| 403 otherwise (the run-as user lacks a permission)    | `Unauthorized`                        |
| 300 (an external id matched several records)          | `Conflict`                            |
| 400, 404 (and any other 4xx)                          | `InvalidRequest`                      |
| 5xx, connection error, timeout                        | `Unavailable`                         |

After a `RequestLimitExceeded` the client makes no request at all until the back-off has passed:
each call raises it again at once, with the time left, so no caller can hot-retry into the limit.

Tokens, the client secret and Salesforce's error messages (which can quote field values) are
never logged nor put in an error message: only error codes and field names are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.login import SalesforceLogin

from connector.clock import Clock, SystemClock
from connector.errors import (
    AdapterError,
    Conflict,
    InvalidRequest,
    RateLimited,
    Unauthorized,
    Unavailable,
)

log = logging.getLogger("connector.adapters.salesforce")
T = TypeVar("T")

DEFAULT_API_VERSION = "62.0"  # simple-salesforce defaults to 59.0; composite upsert needs 46+
DEFAULT_TIMEOUT = 30.0
# The request limit is a rolling 24-hour window: retrying within minutes only burns more of
# it. One hour is the default wait; the sync run and the outbox both honour `retry_after`.
DEFAULT_LIMIT_BACKOFF_SECONDS = 3600.0


class RequestLimitExceeded(RateLimited):
    """The org's 24-hour API request limit is used up (403 REQUEST_LIMIT_EXCEEDED).

    Unlike a short rate limit this needs people: other integrations share the limit, and only
    an admin can raise it or find who spends it. `alert_staff` says so to whoever records the
    error (a sync run, the outbox), which raises an alert for staff instead of only waiting.
    """

    alert_staff: ClassVar[bool] = True
    code: ClassVar[str] = "REQUEST_LIMIT_EXCEEDED"
    advice: ClassVar[str] = (
        "Salesforce's 24-hour API request limit of the org is used up "
        "(REQUEST_LIMIT_EXCEEDED): the connector sends nothing until its back-off "
        "([host.salesforce] limit_backoff_seconds) has passed, then retries what waited. "
        "In Setup > Company Information see API Requests, Last 24 Hours; find which "
        "integration spends them, ask Salesforce to raise the limit, or lower the "
        "connector's [host] request_budget or lengthen sync_interval_minutes."
    )


@dataclass(frozen=True)
class Credentials:
    """How to get a token. `domain` is the org's My Domain without `.salesforce.com`.

    client_credentials: `client_id` + `client_secret`, posted to `https://<domain>.salesforce.com`.
    jwt: `client_id` (the consumer key) + `username` (the run-as user) + a private key, the
    assertion's audience `https://<login_domain>.salesforce.com` (`login`, or `test` for a
    sandbox), posted to the org's My Domain too.
    """

    auth: str  # client_credentials | jwt
    domain: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    username: str | None = None
    private_key_file: str | None = None
    login_domain: str = "login"

    def login(self, session: requests.Session, version: str) -> tuple[str, str]:
        """(access token, instance host) from the configured flow."""
        if self.auth == "jwt":
            return SalesforceLogin(
                session=session,
                username=self.username,
                consumer_key=self.client_id,
                privatekey_file=self.private_key_file,
                domain=self.login_domain,
                instance_url=self.domain,
                sf_version=version,
            )
        return SalesforceLogin(
            session=session,
            consumer_key=self.client_id,
            consumer_secret=self.client_secret,
            domain=self.domain,
            sf_version=version,
        )


class _Session(requests.Session):
    """A session that never waits forever (simple-salesforce's login passes no timeout)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


class SalesforceClient:
    """One org's REST API: `call()` runs an action with a token and turns failures typed."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        version: str = DEFAULT_API_VERSION,
        timeout: float = DEFAULT_TIMEOUT,
        limit_backoff_seconds: float = DEFAULT_LIMIT_BACKOFF_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        self._credentials = credentials
        self._clock = clock or SystemClock()
        self._limited_until: datetime | None = None
        self._version = version
        self._limit_backoff = limit_backoff_seconds
        self._http = _Session(timeout)
        self._http.hooks["response"].append(self._count)
        self._sf: Salesforce | None = None
        self.requests = 0  # every HTTP request made, token requests included (the API cost)

    def _count(self, response: requests.Response, *_: Any, **__: Any) -> None:
        self.requests += 1

    def call(self, what: str, action: Callable[[Salesforce], T]) -> T:
        """`action` on a logged-in connection; on an expired session, a new token and one retry.

        `what` names the call in errors and logs (never a value: it reaches log lines).
        """
        self._refuse_while_limited(what)
        fresh = self._sf is None
        try:
            return self._typed(what, lambda: action(self._connection()))
        except _Expired as exc:
            if fresh:  # the token we just got was refused: a retry would be refused too
                raise Unauthorized(f"{what}: a new session was refused", status=401) from exc
            log.info("salesforce session expired, getting a new token what=%s", what)
            self._sf = None
        try:
            return self._typed(what, lambda: action(self._connection()))
        except _Expired as exc:
            raise Unauthorized(f"{what}: refused after a new token", status=401) from exc

    def _refuse_while_limited(self, what: str) -> None:
        if self._limited_until is None:
            return
        left = (self._limited_until - self._clock.now()).total_seconds()
        if left <= 0:
            self._limited_until = None
            return
        raise RequestLimitExceeded(
            f"{what}: not sent, the API request limit was exceeded", retry_after=left, status=403
        )

    def reset(self) -> None:
        """Forget the token (the next call logs in again)."""
        self._sf = None

    def _connection(self) -> Salesforce:
        if self._sf is None:
            token, instance = self._login()
            self._sf = Salesforce(
                session_id=token, instance=instance, version=self._version, session=self._http
            )
        return self._sf

    def _login(self) -> tuple[str, str]:
        try:
            return self._credentials.login(self._http, self._version)
        except SalesforceAuthenticationFailed as exc:
            code = exc.code
            if isinstance(code, int) and code >= 500:
                raise Unavailable(f"token endpoint answered {code}", status=code) from exc
            # `code` is OAuth's `error` (e.g. invalid_client, invalid_grant): safe to show.
            raise Unauthorized(f"token request refused: {code}", status=400) from exc
        except requests.RequestException as exc:  # before OSError: it is one
            raise Unavailable(f"token endpoint unreachable: {type(exc).__name__}") from exc
        except (OSError, ValueError) as exc:  # the key file is unreadable or not a key
            raise Unauthorized(f"cannot sign the JWT assertion: {type(exc).__name__}") from exc

    def _typed(self, what: str, run: Callable[[], T]) -> T:
        try:
            return run()
        except SalesforceExpiredSession as exc:
            raise _Expired() from exc
        except SalesforceError as exc:
            raise self._mapped(what, exc) from exc
        except requests.RequestException as exc:
            raise Unavailable(f"{what}: {type(exc).__name__}") from exc
        except ValueError as exc:  # a 2xx body that is not JSON
            raise Unavailable(f"{what}: answered a body that is not JSON") from exc

    def _mapped(self, what: str, exc: SalesforceError) -> AdapterError:
        codes, fields = error_codes(exc.content)
        detail = f"{what}: {exc.status} {','.join(codes) or 'no error code'}"
        if fields:
            detail += f" fields={','.join(fields)}"
        if isinstance(exc, SalesforceRefusedRequest):
            if "REQUEST_LIMIT_EXCEEDED" in codes:
                log.warning("salesforce API request limit exceeded what=%s", what)
                self._limited_until = self._clock.now() + timedelta(seconds=self._limit_backoff)
                return RequestLimitExceeded(
                    detail, retry_after=self._limit_backoff, status=exc.status
                )
            return Unauthorized(detail, status=exc.status)
        if isinstance(exc, SalesforceMoreThanOneRecord):
            return Conflict(detail, status=exc.status)
        if isinstance(exc, SalesforceMalformedRequest | SalesforceResourceNotFound):
            return InvalidRequest(detail, status=exc.status)
        if exc.status == 429:
            return RateLimited(detail, retry_after=None, status=429)
        if exc.status >= 500:
            return Unavailable(detail, status=exc.status)
        return InvalidRequest(detail, status=exc.status)


class _Expired(Exception):
    """401 INVALID_SESSION_ID: the token expired or was revoked."""


def error_codes(content: Any) -> tuple[list[str], list[str]]:
    """(errorCode values, field names) of Salesforce's error array; the messages are left out."""
    items = content if isinstance(content, list) else [content]
    codes: list[str] = []
    fields: list[str] = []
    for item in items:
        if isinstance(item, dict):
            if isinstance(item.get("errorCode"), str):
                codes.append(item["errorCode"])
            if isinstance(item.get("statusCode"), str):  # composite results name it so
                codes.append(item["statusCode"])
            fields += [f for f in item.get("fields") or [] if isinstance(f, str)]
    return codes, fields
