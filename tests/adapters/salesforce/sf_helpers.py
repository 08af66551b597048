"""What the Salesforce adapter tests share: the org's URLs, fixtures and a strict HTTP mock.

Bodies are `tests/fixtures/salesforce/<call>__<variant>.json`, built from the shapes in the
crm-hosts reference §1 (field names official, values invented). `strict_mock()` is
`responses` with `assert_all_requests_are_fired=True` and an ordered registry: every request
must be registered, in order, and every registered one made.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import responses
from responses import matchers
from responses.registries import OrderedRegistry

from adapters.salesforce import Credentials, SalesforceClient, SalesforceHost, WriterSettings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "salesforce"
DOMAIN = "acme.my"
INSTANCE = "https://acme.my.salesforce.com"
API = f"{INSTANCE}/services/data/v62.0"
TOKEN_URL = f"{INSTANCE}/services/oauth2/token"
CLIENT_ID = "3MVG9consumer-key-for-tests"
CLIENT_SECRET = "consumer-secret-for-tests"
TOKEN_1 = "00D5g000000ABCD!AQ4AQFirstTokenForTests"
TOKEN_2 = "00D5g000000ABCD!AQ4AQSecondTokenForTests"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@contextmanager
def strict_mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(
        assert_all_requests_are_fired=True, registry=OrderedRegistry
    ) as mock:
        yield mock


def make_client(**options: Any) -> SalesforceClient:
    credentials = Credentials("client_credentials", DOMAIN, CLIENT_ID, CLIENT_SECRET)
    return SalesforceClient(credentials, **options)


def make_host(writer: WriterSettings | None = None, **options: Any) -> SalesforceHost:
    return SalesforceHost(make_client(**options), writer=writer)


def token(mock: responses.RequestsMock, name: str = "token__client_credentials") -> None:
    """The client-credentials token request, answered with `name`."""
    mock.post(TOKEN_URL, json=fixture(name), status=200)


def bearer(value: str) -> Any:
    return matchers.header_matcher({"Authorization": f"Bearer {value}"})


def query(
    mock: responses.RequestsMock,
    soql: str,
    body: Any,
    *,
    status: int = 200,
    with_token: str = TOKEN_1,
) -> None:
    """A `queryAll` of exactly `soql`, answered with `body`."""
    mock.get(
        f"{API}/queryAll/",
        json=body,
        status=status,
        match=[matchers.query_param_matcher({"q": soql}), bearer(with_token)],
    )


def describe_body(obj: str, names: list[str]) -> dict[str, Any]:
    """A `GET sobjects/<obj>/describe` answer listing `names` (other keys left out)."""
    return {
        "name": obj,
        "custom": obj.endswith("__c"),
        "fields": [{"name": n, "type": "string", "label": n.replace("_", " ")} for n in names],
    }
