"""Tasks and alerts written to HubSpot as task objects, idempotently on the decision key.

Each task carries the decision key in `connector_key`, a custom task property the program
creates with unique values (`hasUniqueValue`). Two ways to write, chosen by
`[host.hubspot] task_write`:

- `"search"` (default): search tasks for the key; create the task when there is none, leave it
  as staff left it when there is one (no write at all, like the local host). Certain to work,
  two calls for a new task; the search index lags writes by seconds (§2.3), which the outbox's
  unique key already covers, since it writes each key once unless an attempt failed.
- `"upsert"`: `POST /crm/v3/objects/tasks/batch/upsert` with `idProperty: connector_key`, one
  call for the content. HubSpot documents batch upsert for objects in general; whether tasks
  accept a unique property there is **uncertain** (shared/reference/crm-hosts.md §2.2), so
  confirm it against the portal first. An upsert cannot tell a new task from an old one
  before it writes, so it never carries `hs_task_status`: sending NOT_STARTED again would
  reopen a task staff had completed. The answer's `new` (§2.2) says which it was: a new task
  then gets its status and its contact association by two more calls; for an existing one
  the task is read back (status and associations) and only what is missing is set, so a
  repeat after a failed follow-up completes it and a repeat after staff worked the task
  leaves their status alone. A repeat does write subject, body, priority, due time and owner
  again.

Facts (§2.1): `hs_timestamp` is required (the due time; the write time when a decision has no
due date); priorities are LOW, MEDIUM, HIGH; the task-to-contact association type is 204.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from adapters.base import Subject
from adapters.hubspot.client import HubSpotClient, segment
from adapters.hubspot.mapping import CONNECTOR_KEY, TASKS
from connector.clock import Clock
from connector.domain import Alert, Priority, Task
from connector.errors import Conflict, Unavailable

TaskWrite = Literal["search", "upsert"]
STATUS = "hs_task_status"
TASK_TO_CONTACT = 204

PRIORITIES: dict[Priority, str] = {
    Priority.LOW: "LOW",
    Priority.NORMAL: "MEDIUM",
    Priority.HIGH: "HIGH",
    Priority.CRITICAL: "HIGH",  # HubSpot has no higher priority; the subject says it
}


def _contact(subject: Subject | None) -> str | None:
    """The contact a task is associated with: the mentor's, when the subject names one.

    The mentor, as Salesforce's WhoId (adapters/salesforce/writer.py says why); people are
    synced from contacts, so the ref is a contact id. None leaves the task unassociated.
    """
    return subject.mentor_ref if subject else None


class TaskWriter:
    """Upserts tasks and alerts on `connector_key`; returns the HubSpot task id."""

    def __init__(
        self,
        client: HubSpotClient,
        clock: Clock,
        *,
        mode: TaskWrite = "search",
        owner_id: str | None = None,
    ) -> None:
        self._client = client
        self._clock = clock
        self._mode = mode
        self._owner_id = owner_id

    def upsert_task(self, task: Task, key: str, subject: Subject | None = None) -> str:
        return self._write(
            task, key, _contact(subject), title=task.title, priority=task.priority, due=task.due
        )

    def upsert_alert(self, alert: Alert, key: str, subject: Subject | None = None) -> str:
        # Alerts are HIGH priority tasks: HubSpot has no separate alert object.
        title = "Alert: " + alert.title
        return self._write(alert, key, _contact(subject), title=title, priority=Priority.HIGH)

    # ------------------------------------------------------------------ the two modes

    def _write(
        self,
        decision: Task | Alert,
        key: str,
        contact: str | None,
        *,
        title: str,
        priority: Priority,
        due: Any = None,
    ) -> str:
        properties = self._properties(decision, key, title, priority, due)
        if self._mode == "upsert":
            return self._upsert(key, properties, contact)
        existing = self._find(key)
        if existing is not None:
            return existing
        body: dict[str, Any] = {"properties": properties}
        if contact:
            body["associations"] = [
                {
                    "to": {"id": contact},
                    "types": [
                        {
                            "associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": TASK_TO_CONTACT,
                        }
                    ],
                }
            ]
        return _id(self._client.call("POST", f"/crm/v3/objects/{TASKS}", json=body))

    def _find(self, key: str) -> str | None:
        """The id of the task carrying `key`, or None; two of them is a Conflict."""
        answer = self._client.search(
            TASKS,
            {
                "filterGroups": [
                    {"filters": [{"propertyName": CONNECTOR_KEY, "operator": "EQ", "value": key}]}
                ],
                "properties": [CONNECTOR_KEY],
                "limit": 2,
            },
        )
        results = answer.get("results") or []
        if len(results) > 1:
            raise Conflict(f"two HubSpot tasks carry {CONNECTOR_KEY} {key!r}; is it unique?")
        return _id(results[0]) if results else None

    def _upsert(self, key: str, properties: Mapping[str, Any], contact: str | None) -> str:
        content = {k: v for k, v in properties.items() if k != STATUS}
        answer = self._client.call(
            "POST",
            f"/crm/v3/objects/{TASKS}/batch/upsert",
            json={"inputs": [{"id": key, "idProperty": CONNECTOR_KEY, "properties": content}]},
        )
        results = answer.get("results") or []
        if len(results) != 1:
            raise Unavailable("HubSpot batch upsert answered no single result")
        task_id = _id(results[0])
        if results[0].get("new") is True:
            has_status, associated = False, False
        else:  # an existing task, or HubSpot did not say: look before writing
            has_status, associated = self._follow_ups_done(task_id, contact)
        if not has_status:
            self._client.call(
                "PATCH",
                f"/crm/v3/objects/{TASKS}/{segment(task_id)}",
                json={"properties": {STATUS: properties[STATUS]}},
            )
        if contact and not associated:
            self._client.call(
                "PUT",
                f"/crm/v4/objects/{TASKS}/{segment(task_id)}/associations/contacts/"
                f"{segment(contact)}",
                json=[
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TASK_TO_CONTACT}
                ],
            )
        return task_id

    def _follow_ups_done(self, task_id: str, contact: str | None) -> tuple[bool, bool]:
        """Whether the existing task has a status, and is associated with `contact`."""
        params = {"properties": STATUS}
        if contact:
            params["associations"] = "contacts"
        path = f"/crm/v3/objects/{TASKS}/{segment(task_id)}"
        task = self._client.call("GET", path, params=params)
        status = (task.get("properties") or {}).get(STATUS)
        linked = ((task.get("associations") or {}).get("contacts") or {}).get("results") or []
        ids = {str(r.get("id")) for r in linked if isinstance(r, Mapping)}
        return bool(status), contact is None or contact in ids

    # ------------------------------------------------------------------ properties

    def _properties(
        self, decision: Task | Alert, key: str, title: str, priority: Priority, due: Any
    ) -> dict[str, Any]:
        when = due or self._clock.now()
        properties: dict[str, Any] = {
            CONNECTOR_KEY: key,
            "hs_timestamp": str(round(when.timestamp() * 1000)),
            "hs_task_subject": title[:255],
            "hs_task_body": _body(decision, key),
            STATUS: "NOT_STARTED",
            "hs_task_priority": PRIORITIES[priority],
            "hs_task_type": "TODO",
        }
        if self._owner_id:
            properties["hubspot_owner_id"] = self._owner_id
        return properties


def _body(decision: Task | Alert, key: str) -> str:
    """What staff read in the task. A confidential decision's reason stays in the connector,
    where reading it is audited; the task only points there."""
    if decision.confidential:
        lines = [f"Confidential, for {decision.audience}: open it on the connector's staff page."]
    else:
        lines = [decision.reason, f"Rule: {decision.rule_id}", f"For: {decision.audience}"]
    if decision.policy_version:
        lines.append(f"Policy version: {decision.policy_version}")
    lines.append(f"Connector key: {key}")
    return "\n".join(lines)


def _id(result: Mapping[str, Any]) -> str:
    value = result.get("id") if isinstance(result, Mapping) else None
    if value in (None, ""):
        raise Unavailable("HubSpot answered a task without an id")
    return str(value)
