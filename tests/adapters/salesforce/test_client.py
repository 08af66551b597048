"""The Salesforce client against the documented token and error shapes (crm-hosts §1.4-1.5).

| Salesforce answers                                  | raised / returned                     |
|-----------------------------------------------------|---------------------------------------|
| token (client credentials or JWT), then 200          | the 200 body                          |
| 401 INVALID_SESSION_ID, new token, 200               | the 200 body                          |
| 401 twice                                           | Unauthorized                          |
| token endpoint 400 invalid_client                    | Unauthorized (no secret in the text)  |
| 403 REQUEST_LIMIT_EXCEEDED                           | RequestLimitExceeded, once, long wait |
| 403 other                                           | Unauthorized                          |
| 400 restricted picklist, 404                         | InvalidRequest (codes, fields only)   |
| 503, connection error                                | Unavailable                           |
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.salesforce import Credentials, RequestLimitExceeded, SalesforceClient
from connector.clock import FrozenClock
from connector.errors import InvalidRequest, RateLimited, Unauthorized, Unavailable
from tests.adapters.salesforce.sf_helpers import (
    API,
    CLIENT_ID,
    CLIENT_SECRET,
    DOMAIN,
    TOKEN_2,
    TOKEN_URL,
    fixture,
    make_client,
    query,
    strict_mock,
    token,
)

SOQL = "SELECT Id FROM Contact"
EMPTY = {"totalSize": 0, "done": True, "records": []}


def run_query(client: SalesforceClient) -> object:
    return client.call("query Contact", lambda sf: sf.query(SOQL, include_deleted=True))


def test_client_credentials_posts_the_grant_with_basic_auth() -> None:
    client = make_client()
    with strict_mock() as mock:
        token(mock)
        query(mock, SOQL, EMPTY)
        assert run_query(client) == EMPTY
        sent = mock.calls[0].request
    assert sent.url == TOKEN_URL
    assert parse_qs(str(sent.body)) == {"grant_type": ["client_credentials"]}
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert sent.headers["Authorization"] == f"Basic {basic}"
    assert client.requests == 2


def test_jwt_bearer_posts_a_signed_assertion_for_the_run_as_user(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "connector.key"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    credentials = Credentials(
        "jwt",
        DOMAIN,
        CLIENT_ID,
        username="connector@acme.org",
        private_key_file=str(pem),
        login_domain="test",
    )
    client = SalesforceClient(credentials)
    with strict_mock() as mock:
        token(mock)
        query(mock, SOQL, EMPTY)
        run_query(client)
        form = parse_qs(str(mock.calls[0].request.body))
        assert mock.calls[0].request.url == TOKEN_URL  # the org's My Domain
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = jwt.decode(
        form["assertion"][0],
        key.public_key(),
        algorithms=["RS256"],
        audience="https://test.salesforce.com",
    )
    assert (claims["iss"], claims["sub"]) == (CLIENT_ID, "connector@acme.org")
    assert 170 < int(claims["exp"]) - time.time() <= 181  # three minutes, rounded to a second


def test_an_unreadable_key_file_is_unauthorized_without_a_request(tmp_path: Path) -> None:
    credentials = Credentials(
        "jwt", DOMAIN, CLIENT_ID, username="u@acme.org", private_key_file=str(tmp_path / "no")
    )
    with strict_mock(), pytest.raises(Unauthorized, match="JWT"):
        run_query(SalesforceClient(credentials))


def test_an_expired_session_gets_a_new_token_and_one_retry() -> None:
    client = make_client()
    with strict_mock() as mock:
        token(mock)
        query(mock, SOQL, EMPTY)
        query(mock, SOQL, fixture("error__invalid_session"), status=401)
        token(mock, "token__refreshed")
        query(mock, SOQL, EMPTY, with_token=TOKEN_2)
        run_query(client)
        assert run_query(client) == EMPTY
    assert client.requests == 5


def test_a_session_refused_after_a_new_token_is_unauthorized() -> None:
    client = make_client()
    with strict_mock() as mock:
        token(mock)
        query(mock, SOQL, EMPTY)
        query(mock, SOQL, fixture("error__invalid_session"), status=401)
        token(mock, "token__refreshed")
        query(mock, SOQL, fixture("error__invalid_session"), status=401, with_token=TOKEN_2)
        run_query(client)
        with pytest.raises(Unauthorized, match="refused after a new token"):
            run_query(client)


def test_a_brand_new_token_refused_is_not_retried() -> None:
    with strict_mock() as mock:
        token(mock)
        query(mock, SOQL, fixture("error__invalid_session"), status=401)
        with pytest.raises(Unauthorized):
            run_query(make_client())


def test_a_refused_token_request_is_unauthorized_and_hides_the_secret() -> None:
    with strict_mock() as mock:
        mock.post(TOKEN_URL, json=fixture("token__invalid_client"), status=400)
        with pytest.raises(Unauthorized, match="invalid_client") as caught:
            run_query(make_client())
    assert CLIENT_SECRET not in str(caught.value)


def test_the_daily_request_limit_is_a_long_rate_limit_that_asks_for_staff() -> None:
    client = make_client(limit_backoff_seconds=7200.0)
    with strict_mock() as mock:
        token(mock)
        query(mock, SOQL, fixture("error__request_limit_exceeded"), status=403)
        with pytest.raises(RequestLimitExceeded) as caught:
            run_query(client)
    assert isinstance(caught.value, RateLimited)
    assert caught.value.retry_after == 7200.0
    assert caught.value.alert_staff is True
    assert caught.value.status == 403
    assert client.requests == 2  # no hot retry


def test_after_the_limit_no_request_is_made_until_the_back_off_has_passed() -> None:
    clock = FrozenClock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    client = make_client(limit_backoff_seconds=3600.0, clock=clock)
    with strict_mock() as mock:
        token(mock)
        query(mock, SOQL, fixture("error__request_limit_exceeded"), status=403)
        with pytest.raises(RequestLimitExceeded):
            run_query(client)
        clock.advance(minutes=59)
        with pytest.raises(RequestLimitExceeded) as caught:
            run_query(client)  # refused here: the strict mock has nothing more to answer
        assert caught.value.retry_after == 60.0
        clock.advance(minutes=1)
        query(mock, SOQL, EMPTY)
        assert run_query(client) == EMPTY
    assert client.requests == 3


def test_another_403_is_unauthorized() -> None:
    with strict_mock() as mock:
        token(mock)
        query(mock, SOQL, fixture("error__insufficient_access"), status=403)
        with pytest.raises(Unauthorized) as caught:
            run_query(make_client())
    assert not isinstance(caught.value, RateLimited)


def test_a_validation_error_names_codes_and_fields_never_the_message() -> None:
    with strict_mock() as mock:
        token(mock)
        query(mock, SOQL, fixture("error__restricted_picklist"), status=400)
        with pytest.raises(InvalidRequest) as caught:
            run_query(make_client())
    text = str(caught.value)
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in text
    assert "fields=Status" in text
    assert "Waiting" not in text  # the message quotes the value; values stay out of logs


def test_not_found_is_an_invalid_request() -> None:
    with strict_mock() as mock:
        token(mock)
        query(mock, SOQL, fixture("error__not_found"), status=404)
        with pytest.raises(InvalidRequest) as caught:
            run_query(make_client())
    assert caught.value.status == 404


def test_server_busy_and_connection_errors_are_unavailable() -> None:
    client = make_client()
    with strict_mock() as mock:
        token(mock)
        query(mock, SOQL, fixture("error__server_unavailable"), status=503)
        mock.get(f"{API}/queryAll/", body=requests.ConnectionError("refused"))
        with pytest.raises(Unavailable) as caught:
            run_query(client)
        assert caught.value.status == 503
        with pytest.raises(Unavailable):
            run_query(client)


def test_an_unreachable_token_endpoint_is_unavailable() -> None:
    with strict_mock() as mock:
        mock.post(TOKEN_URL, body=requests.ConnectionError("no route"))
        with pytest.raises(Unavailable):
            run_query(make_client())
