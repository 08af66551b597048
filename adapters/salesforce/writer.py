"""Tasks and alerts written into Salesforce, idempotently, on the decision's key.

Each item is upserted on an External ID field (default `Task.Connector_Key__c`) with
`PATCH /sobjects/Task/<field>/<value>` (crm-hosts reference §1.2): the first write creates
(201), a repeat updates the same record (200), so a retried delivery never makes a second task.
The value is not the key itself: a key containing `.` and a TLD-like suffix can make that URL
answer 404 (§1.2, caveat), and keys may hold `:` and `/`. It is `mc-` and the key's SHA-256 in
hex — URL-safe, fixed length, the same for the same key forever; the key in clear text goes in
the description, where staff can read it.

The body never carries `Status`: Salesforce applies the picklist's default on insert, and a
repeat must not reopen a task staff have completed.

`upsert_many()` sends up to 200 items per request with sObject Collections upsert
(`PATCH composite/sobjects/<object>/<field>`, §1.2) and answers per item.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from adapters.base import BatchItem, Subject, UpsertResult
from adapters.salesforce.client import SalesforceClient, error_codes
from adapters.salesforce.mapping import RECORD_ID
from connector.domain import Alert, Priority, Task
from connector.errors import AdapterError, Conflict, InvalidRequest, Unavailable

BATCH = 200  # sObject Collections' limit per request
SUBJECT_MAX = 255
DESCRIPTION_MAX = 32_000
PRIORITIES = {
    Priority.LOW: "Low",
    Priority.NORMAL: "Normal",
    Priority.HIGH: "High",
    Priority.CRITICAL: "High",  # Task's default picklist stops at High
}
# Per-item errors of a collection that a later attempt can get past.
RETRYABLE_ITEM_ERRORS = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
CONFLICT_ITEM_ERRORS = frozenset({"DUPLICATE_EXTERNAL_ID", "DUPLICATE_VALUE"})

Item = Task | Alert


@dataclass(frozen=True)
class WriterSettings:
    key_field: str = "Connector_Key__c"  # External ID field, on Task and on `alert_object`
    alert_object: str = "Task"  # or a custom object, e.g. Safeguarding_Alert__c
    owner_id: str | None = None  # User or Queue the items are assigned to; else the run-as user


# WhoId takes a Contact or a Lead only; their ids start with these key prefixes.
WHO_PREFIXES = ("003", "00Q")


def external_key(key: str) -> str:
    """The External ID value for a decision key: URL-safe, fixed length, deterministic."""
    return "mc-" + hashlib.sha256(key.encode()).hexdigest()


class TaskWriter:
    def __init__(self, client: SalesforceClient, settings: WriterSettings) -> None:
        self._client = client
        self._settings = settings

    def upsert_task(self, task: Task, key: str, subject: Subject | None = None) -> str:
        return self._upsert("Task", self._fields("Task", task, key, subject), key)

    def upsert_alert(self, alert: Alert, key: str, subject: Subject | None = None) -> str:
        obj = self._settings.alert_object
        return self._upsert(obj, self._fields(obj, alert, key, subject), key)

    def upsert_many(self, items: Sequence[BatchItem]) -> list[UpsertResult]:
        """Every item upserted, 200 per request and object; results in input order."""
        results: dict[int, UpsertResult] = {}
        by_object: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
        for index, one in enumerate(items):
            obj = self._object(one.item)
            body = self._fields(obj, one.item, one.key, one.subject)
            by_object.setdefault(obj, []).append((index, one.key, body))
        for obj, rows in by_object.items():
            for start in range(0, len(rows), BATCH):
                chunk = rows[start : start + BATCH]
                answers = self._collection(obj, [(key, body) for _, key, body in chunk])
                for (index, key, _), answer in zip(chunk, answers, strict=True):
                    results[index] = _result(key, answer)
        return [results[i] for i in range(len(items))]

    # -- requests ----------------------------------------------------------------------------

    def _upsert(self, obj: str, body: dict[str, Any], key: str) -> str:
        field_ = self._settings.key_field
        path = f"sobjects/{obj}/{field_}/{quote(external_key(key), safe='')}"
        answer = self._client.call(
            f"upsert {obj}", lambda sf: sf.restful(path, method="PATCH", json=body)
        )
        if isinstance(answer, Mapping) and isinstance(answer.get("id"), str):
            return str(answer["id"])
        # Before API 46.0 an update answered 204 without a body: read the id back.
        found = self._client.call(
            f"read {obj}", lambda sf: sf.restful(path, params={"fields": "Id"})
        )
        if isinstance(found, Mapping) and isinstance(found.get("Id"), str):
            return str(found["Id"])
        raise Unavailable(f"upsert {obj}: the answer names no record id")

    def _collection(self, obj: str, rows: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        field_ = self._settings.key_field
        # Unlike the single upsert, a collection names the External ID inside each record.
        records = [
            {"attributes": {"type": obj}, field_: external_key(key), **body} for key, body in rows
        ]
        answer = self._client.call(
            f"upsert {len(records)} {obj}",
            lambda sf: sf.restful(
                f"composite/sobjects/{obj}/{field_}",
                method="PATCH",
                json={"allOrNone": False, "records": records},
            ),
        )
        if not isinstance(answer, list) or len(answer) != len(records):
            raise Unavailable(f"upsert {obj}: expected {len(records)} results")
        return answer

    # -- bodies ------------------------------------------------------------------------------

    def _object(self, item: Item) -> str:
        return self._settings.alert_object if isinstance(item, Alert) else "Task"

    def _fields(self, obj: str, item: Item, key: str, subject: Subject | None) -> dict[str, Any]:
        """The fields written for one item (never the External ID: the URL names it)."""
        if obj == "Task":
            return self._task_fields(item, key, subject or Subject())
        # A custom alert object: the fields the README asks to create on it.
        body: dict[str, Any] = {
            "Name": _clip(item.title, 80),
            "Details__c": _description(item, key),
            "Priority__c": PRIORITIES[item.priority],
            "Rule__c": item.rule_id,
        }
        if self._settings.owner_id:
            body["OwnerId"] = self._settings.owner_id
        return body

    def _task_fields(self, item: Item, key: str, about: Subject) -> dict[str, Any]:
        title = item.title if isinstance(item, Task) else f"Alert: {item.title}"
        body: dict[str, Any] = {
            "Subject": _clip(title, SUBJECT_MAX),
            "Description": _description(item, key),
            "Priority": PRIORITIES[item.priority],
        }
        if isinstance(item, Task) and item.due is not None:
            body["ActivityDate"] = item.due.date().isoformat()  # a date: midnight UTC (§1.1)
        if self._settings.owner_id:
            body["OwnerId"] = self._settings.owner_id
        return body | _related(about)


def _related(subject: Subject) -> dict[str, str]:
    """WhatId ("Related To") is the pairing's record; WhoId ("Name") the mentor's Contact.

    The mentor, not the mentee: Task takes one WhoId, and the mentor is the program's
    volunteer whose vetting, conduct and sessions the rules judge and whom the coordinator
    follows up with; the mentee (often a young person) is reached through the pairing, which
    WhatId already links. A ref that is not a record id, or a WhoId that is not a Contact or
    Lead, is left out rather than refused by Salesforce.
    """
    related: dict[str, str] = {}
    if subject.pairing_ref and RECORD_ID.fullmatch(subject.pairing_ref):
        related["WhatId"] = subject.pairing_ref
    who = subject.mentor_ref
    if who and RECORD_ID.fullmatch(who) and who.startswith(WHO_PREFIXES):
        related["WhoId"] = who
    return related


def _description(item: Item, key: str) -> str:
    # A confidential item's reason (a concern report, say) stays in the connector, where only
    # the safeguarding lead reads it: Salesforce's sharing is not the connector's to judge.
    reason = (
        "Confidential: the details are on the connector's staff page (safeguarding lead)."
        if item.confidential
        else item.reason
    )
    lines = [reason, "", f"Rule: {item.rule_id}", f"Connector key: {key}"]
    if item.policy_version:
        lines.append(f"Policy version: {item.policy_version}")
    return _clip("\n".join(lines), DESCRIPTION_MAX)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _result(key: str, answer: Any) -> UpsertResult:
    if isinstance(answer, Mapping) and answer.get("success") is True:
        return UpsertResult(key, host_id=str(answer.get("id") or ""))
    errors = answer.get("errors") if isinstance(answer, Mapping) else None
    codes, fields = error_codes(errors or [])
    detail = f"{','.join(codes) or 'no error code'}" + (
        f" fields={','.join(fields)}" * bool(fields)
    )
    error: AdapterError
    if RETRYABLE_ITEM_ERRORS.intersection(codes):
        error = Unavailable(detail)
    elif CONFLICT_ITEM_ERRORS.intersection(codes):
        error = Conflict(detail, status=300)
    else:
        error = InvalidRequest(detail, status=400)
    return UpsertResult(key, error=error)
