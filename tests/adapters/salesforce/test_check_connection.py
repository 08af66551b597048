"""`check_connection()`: a token, then a describe of every mapped object, field by field.

| what happens                                   | code            |
|------------------------------------------------|-----------------|
| token, every object has every mapped field      | ok              |
| a mapped field (or the Task key field) missing  | missing_field   |
| a mapped object unknown to the org (404)        | missing_field   |
| the token request refused                       | unauthorized    |
| the org unreachable                             | cannot_connect  |
"""

from __future__ import annotations

from typing import Any

import requests

from adapters.base import ConnectionCheck
from adapters.salesforce.mapping import DEFAULT_MAPPING
from tests.adapters.salesforce.sf_helpers import (
    API,
    TOKEN_URL,
    describe_body,
    fixture,
    make_host,
    strict_mock,
    token,
)

BASE = ["Id", "IsDeleted", "SystemModstamp"]


def fields_of(stream: str) -> list[str]:
    return BASE + sorted(DEFAULT_MAPPING[stream].fields.values())


def describes(
    mock: Any, *, contact: list[str] | None = None, task: list[str] | None = None
) -> None:
    mock.get(
        f"{API}/sobjects/Contact/describe",
        json=describe_body("Contact", contact or fields_of("people")),
    )
    for stream in ("pairings", "sessions"):
        obj = DEFAULT_MAPPING[stream].object
        mock.get(f"{API}/sobjects/{obj}/describe", json=describe_body(obj, fields_of(stream)))
    task_fields = task if task is not None else ["Id", "Subject", "Connector_Key__c"]
    mock.get(f"{API}/sobjects/Task/describe", json=describe_body("Task", task_fields))


def test_every_mapped_field_found_is_ok() -> None:
    with strict_mock() as mock:
        token(mock)
        describes(mock)
        check = make_host().check_connection()
    assert (check.ok, check.code) == (True, "ok")


def test_a_missing_mapped_field_is_named() -> None:
    without_role = [f for f in fields_of("people") if f != "Mentoring_Role__c"]
    with strict_mock() as mock:
        token(mock)
        mock.get(f"{API}/sobjects/Contact/describe", json=describe_body("Contact", without_role))
        check = make_host().check_connection()
    assert check == ConnectionCheck(
        False, "missing_field", "Contact has no field Mentoring_Role__c"
    )


def test_a_missing_task_key_field_is_a_missing_field() -> None:
    with strict_mock() as mock:
        token(mock)
        describes(mock, task=["Id", "Subject"])
        check = make_host().check_connection()
    assert check == ConnectionCheck(False, "missing_field", "Task has no field Connector_Key__c")


def test_an_unknown_object_is_a_missing_field() -> None:
    with strict_mock() as mock:
        token(mock)
        mock.get(
            f"{API}/sobjects/Contact/describe", json=describe_body("Contact", fields_of("people"))
        )
        mock.get(
            f"{API}/sobjects/Mentoring_Pair__c/describe",
            json=fixture("error__not_found"),
            status=404,
        )
        check = make_host().check_connection()
    assert (check.code, check.message) == (
        "missing_field",
        "no object Mentoring_Pair__c in this org",
    )


def test_a_refused_token_is_unauthorized() -> None:
    with strict_mock() as mock:
        mock.post(TOKEN_URL, json=fixture("token__invalid_client"), status=400)
        check = make_host().check_connection()
    assert (check.ok, check.code) == (False, "unauthorized")


def test_an_unreachable_org_cannot_connect() -> None:
    with strict_mock() as mock:
        mock.post(TOKEN_URL, body=requests.ConnectionError("no route to host"))
        check = make_host().check_connection()
    assert (check.ok, check.code) == (False, "cannot_connect")
