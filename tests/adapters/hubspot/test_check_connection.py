"""`check_connection()`: the token, then every mapped object and property, as stable codes.

| what happens                                   | code            |
|------------------------------------------------|-----------------|
| everything is there                            | ok              |
| the portal cannot be reached / answers 5xx     | cannot_connect  |
| the token is refused (401, 403)                | unauthorized    |
| a mapped property or object is missing         | missing_field   |
| `connector_key` is not unique on tasks         | missing_field   |
| the mapping itself is unsound                  | missing_field   |
"""

from __future__ import annotations

from typing import Any

import requests
import responses

from adapters.base import StreamMapping
from adapters.hubspot.mapping import properties_of
from tests.adapters.hubspot.support import BASE, PAIRS, make_host, streams

PING = f"{BASE}/crm/v3/objects/contacts"


def props(names: list[str], unique: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "results": [
            {"name": n, "label": n, "type": "string", "hasUniqueValue": n in unique} for n in names
        ]
    }


def task_props(unique: bool = True) -> dict[str, Any]:
    names = ["hs_timestamp", "hs_task_subject", "hs_task_body", "hs_task_priority", "connector_key"]
    return props(names, ("connector_key",) if unique else ())


def mock_all(rsps: responses.RequestsMock, **overrides: Any) -> None:
    rsps.get(PING, json={"results": []})
    mapping = streams()
    answers = {
        "tasks": task_props(),
        "contacts": props(properties_of(mapping["people"])),
        PAIRS: props(properties_of(mapping["pairings"])),
        "p_mentoring_sessions": props(properties_of(mapping["sessions"])),
        **overrides,
    }
    for object_type, answer in answers.items():
        status = answer.pop("_status", 200) if isinstance(answer, dict) else 200
        rsps.get(f"{BASE}/crm/v3/properties/{object_type}", json=answer, status=status)


def test_ok_when_every_mapped_property_exists() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        mock_all(rsps)
        check = make_host().check_connection()
    assert (check.ok, check.code) == (True, "ok")


def test_cannot_connect() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(PING, body=requests.ConnectionError("refused"))
        check = make_host().check_connection()
    assert (check.ok, check.code) == (False, "cannot_connect")


def test_unauthorized() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(PING, status=401, json={"status": "error", "category": "INVALID_AUTHENTICATION"})
        check = make_host().check_connection()
    assert (check.ok, check.code) == (False, "unauthorized")


def test_missing_field_names_each_missing_property_and_object() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        mock_all(
            rsps,
            contacts=props(["email", "firstname", "lastname", "lastmodifieddate"]),
            p_mentoring_sessions={
                "_status": 404,
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
            },
            tasks=task_props(unique=False),
        )
        check = make_host().check_connection()
    assert (check.ok, check.code) == (False, "missing_field")
    assert "contacts.mentoring_role: missing" in check.message
    assert "p_mentoring_sessions: no such object type" in check.message
    assert "connector_key: not unique" in check.message
    assert "contacts.email" not in check.message


def test_an_unsound_mapping_is_missing_field_before_any_call() -> None:
    mappings = {"people": StreamMapping(object="contacts", fields={"name": "firstname"})}
    with responses.RequestsMock(assert_all_requests_are_fired=True):
        check = make_host(mappings=mappings).check_connection()
    assert (check.ok, check.code) == (False, "missing_field")
    assert "people.fields.role: required" in check.message
