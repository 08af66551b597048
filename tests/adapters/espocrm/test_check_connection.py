"""`check_connection()`: the API key first, then every mapped field in EspoCRM's metadata.

| EspoCRM                                          | code             |
|--------------------------------------------------|------------------|
| `GET /App/user` 200, every mapped field defined  | ok               |
| connection refused, or 5xx                       | cannot_connect   |
| 401 (wrong key)                                  | unauthorized     |
| a mapped field or the Task key field undefined   | missing_field    |
| a mapped entity that does not exist (null)       | missing_field    |
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from tests.adapters.espocrm.helpers import API, API_KEY, fixture, make_host

ENTITIES = ("Contact", "CPairing", "CSession", "Task")


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def expect_user(api: responses.RequestsMock, **answer: Any) -> None:
    answer = answer or {"json": fixture("api.App.user__api_user")}
    api.get(f"{API}/App/user", match=[matchers.header_matcher({"X-Api-Key": API_KEY})], **answer)


def expect_metadata(api: responses.RequestsMock, changes: dict[str, Any] | None = None) -> None:
    for entity in ENTITIES:
        fields = fixture(f"api.Metadata.{entity}.fields__ok")
        if changes and entity in changes:
            fields = changes[entity](fields)
        api.get(
            f"{API}/Metadata",
            json=fields,
            match=[matchers.query_param_matcher({"key": f"entityDefs.{entity}.fields"})],
        )


def test_ok_when_the_key_works_and_every_field_exists(api: responses.RequestsMock) -> None:
    expect_user(api)
    expect_metadata(api)
    check = make_host().check_connection()
    assert (check.ok, check.code) == (True, "ok")
    assert "connector" in check.message


def test_cannot_connect(api: responses.RequestsMock) -> None:
    expect_user(api, body=requests.ConnectionError("refused"))
    check = make_host().check_connection()
    assert (check.ok, check.code) == (False, "cannot_connect")


def test_a_server_error_is_cannot_connect(api: responses.RequestsMock) -> None:
    expect_user(api, status=503, body="")
    assert make_host().check_connection().code == "cannot_connect"


def test_unauthorized(api: responses.RequestsMock) -> None:
    expect_user(api, status=401, body="")
    check = make_host().check_connection()
    assert (check.ok, check.code) == (False, "unauthorized")
    assert API_KEY not in check.message


def test_missing_field_names_every_missing_field(api: responses.RequestsMock) -> None:
    def without(*names: str) -> Any:
        return lambda fields: {k: v for k, v in fields.items() if k not in names}

    expect_user(api)
    expect_metadata(api, {"Contact": without("cMentoringRole"), "Task": without("cConnectorKey")})
    check = make_host().check_connection()
    assert (check.ok, check.code) == (False, "missing_field")
    assert "Contact.cMentoringRole" in check.message
    assert "Task.cConnectorKey" in check.message
    assert "CPairing" not in check.message  # a link's `mentorId` is its field `mentor`


def test_a_missing_entity_is_a_missing_field(api: responses.RequestsMock) -> None:
    expect_user(api)
    expect_metadata(api, {"CSession": lambda fields: None})
    check = make_host().check_connection()
    assert check.code == "missing_field"
    assert "CSession (no such entity)" in check.message
