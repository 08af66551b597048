"""Tasks and alerts written to EspoCRM as Task records, once per decision key.

EspoCRM has no upsert (reference §3). Each Task carries the decision's key in a custom field
(`cConnectorKey` by default) and a write first looks the key up:

    GET  /api/v1/Task?where[0][type]=equals&where[0][attribute]=cConnectorKey
                     &where[0][value]=<key>&select=id&maxSize=2
    none found -> POST /api/v1/Task {...}          one found -> PUT /api/v1/Task/<id> {...}

so a repeated decision (a replay, an outbox retry after a lost answer) updates the Task it
wrote before instead of adding a second one. The update leaves alone what staff own: the
status (they may have completed it) and the assignee (they may have handed it on).

Two writers racing on one key could both find nothing and both create; the outbox delivers a
key from one process at a time, and a second Task found later is a `Conflict` an admin sees.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from adapters.base import Subject
from adapters.espocrm.client import EspoClient, espo_time, record_path, where
from adapters.espocrm.mapping import ALERT_PRIORITY, NEW_TASK_STATUS, TASK_ENTITY, TASK_PRIORITY
from connector.domain import Alert, Task
from connector.errors import Conflict, Unavailable

log = logging.getLogger("connector.adapters.espocrm")

MAX_KEY = 100  # an EspoCRM varchar field holds 100 characters unless the admin raised it
MAX_NAME = 255
# What a confidential item (a recording-consent alert) says in a CRM that every coordinator
# can read: that it exists, not what it is about. The safeguarding lead reads it in /staff.
CONFIDENTIAL_NAME = "Confidential safeguarding item"
CONFIDENTIAL_TEXT = (
    "A confidential item needs the safeguarding lead. Its details are on the connector's "
    "staff page for the safeguarding role."
)


@dataclass(frozen=True)
class TaskTarget:
    """Where and as whom Tasks are written."""

    key_field: str  # the Task's custom key field, e.g. cConnectorKey
    assigned_user_id: str  # EspoCRM requires an assignee on records an API user creates
    pairing_entity: str  # the entity pairings live in, the Task's parent (CPairing)


def stored_key(key: str, *, confidential: bool = False) -> str:
    """The key as kept in the Task's key field: itself, or its SHA-256 when it is too long
    or names a confidential item's rule (every coordinator can read the field)."""
    if len(key) <= MAX_KEY and not confidential:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def upsert(
    client: EspoClient,
    target: TaskTarget,
    item: Task | Alert,
    key: str,
    subject: Subject | None = None,
) -> str:
    """Create the Task carrying `key`, or update the one that does; return its id."""
    kept = stored_key(key, confidential=item.confidential)
    existing = _find(client, target.key_field, kept)
    fields = _fields(item, key)
    if existing is not None:
        client.send_json("PUT", record_path(TASK_ENTITY, existing), fields)
        log.info("espocrm task updated id=%s rule=%s", existing, item.rule_id)
        return existing
    body: dict[str, Any] = {
        **fields,
        target.key_field: kept,
        "status": NEW_TASK_STATUS,
        "assignedUserId": target.assigned_user_id,
    }
    parent = subject.pairing_ref if subject else None
    if parent:  # filed under its pairing; set on create only, staff may re-file it
        body |= {"parentType": target.pairing_entity, "parentId": parent}
    created = client.send_json("POST", f"/{TASK_ENTITY}", body)
    task_id = created.get("id")
    if not isinstance(task_id, str) or not task_id:
        raise Unavailable("EspoCRM created a Task but answered without its id")
    log.info("espocrm task created id=%s rule=%s", task_id, item.rule_id)
    return task_id


def _find(client: EspoClient, key_field: str, kept: str) -> str | None:
    params = [
        *where(("equals", key_field, kept)),
        ("select", "id"),
        ("maxSize", "2"),
    ]
    rows = client.get_json(f"/{TASK_ENTITY}", params=params).get("list")
    if not isinstance(rows, list):
        raise Unavailable("EspoCRM's Task lookup answered without a list")
    ids = [str(row.get("id")) for row in rows if isinstance(row, dict) and row.get("id")]
    if len(ids) > 1:
        raise Conflict(f"{len(ids)} EspoCRM Tasks carry the same {key_field}; keep one")
    return ids[0] if ids else None


def _fields(item: Task | Alert, key: str) -> dict[str, Any]:
    """What the connector owns on its Task: the text, the priority and the due time."""
    alert = isinstance(item, Alert)
    if item.confidential:
        name, description = CONFIDENTIAL_NAME, CONFIDENTIAL_TEXT
    else:
        name = ("Alert: " if alert else "") + (item.title or item.rule_id)
        footer = f"Rule: {item.rule_id}\nDecision key: {key}"
        if item.policy_version:
            footer += f"\nPolicy version: {item.policy_version}"
        description = f"{item.reason}\n\n{footer}" if item.reason else footer
    fields: dict[str, Any] = {
        "name": name[:MAX_NAME],
        "description": description,
        "priority": (ALERT_PRIORITY if alert else TASK_PRIORITY)[item.priority],
    }
    if isinstance(item, Task) and item.due is not None:
        fields["dateEnd"] = espo_time(item.due)
    return fields
