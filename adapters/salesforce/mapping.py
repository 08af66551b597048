"""Where a mentoring program keeps its data in Salesforce, and the SOQL that reads it.

`DEFAULT_MAPPING` is what a program creates when it follows the README ("Connecting
Salesforce"): people are Contacts with a few custom fields, pairings and sessions are custom
objects. An admin maps their own objects in `[host.salesforce.streams.<stream>]`.

SOQL is built here and only here, from two kinds of parts: identifiers (object and field names
from the mapping) that must match `IDENTIFIER` — checked when the settings load and again
before every query — and values this module formats itself (datetime literals, record ids
that must match `RECORD_ID`). Nothing read from outside is ever pasted into a query as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from adapters.base import StreamMapping
from connector.errors import InvalidRequest

# An API name: a letter, then letters, digits and underscores (`Mentoring_Pair__c`,
# `ns__Field__c`). Salesforce allows 40 characters plus namespace and suffix; 80 is generous.
IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
# A record id: 15 case-sensitive or 18 case-insensitive characters
# (https://help.salesforce.com/s/articleView?id=000385008).
RECORD_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
# The change watermark: unlike LastModifiedDate it also moves on system-driven updates
# (crm-hosts reference §1.3).
DEFAULT_MODIFIED_FIELD = "SystemModstamp"
# Only these standard objects can be merged; a deleted loser names its winner here.
MERGEABLE = frozenset({"Contact", "Lead", "Account"})
IDS_PER_QUERY = 200  # 200 ids x 21 characters stays far below SOQL's 100,000-character limit

DEFAULT_MAPPING: dict[str, StreamMapping] = {
    "people": StreamMapping(
        object="Contact",
        fields={
            "role": "Mentoring_Role__c",  # picklist: Mentor, Mentee, Staff
            "name": "Name",
            "status": "Mentoring_Status__c",  # picklist: Applicant, Active, Suspended, Removed
            "email": "Email",
            "phone": "Phone",
            # picklists: Pending, Passed, Failed (rules/vetting_gate.py names the steps)
            "vetting.professional_verification.status": "Professional_Verification_Status__c",
            "vetting.personal_references.status": "References_Status__c",
            "vetting.interview.status": "Interview_Status__c",
            "vetting.criminal_background_check.status": "Background_Check_Status__c",
            "vetting.criminal_background_check.completed_on": "Background_Check_Date__c",
            "vetting.criminal_background_check.expires_on": "Background_Check_Expires__c",
        },
    ),
    "pairings": StreamMapping(
        object="Mentoring_Pair__c",
        fields={
            "mentor": "Mentor__c",  # lookup(Contact)
            "mentee": "Mentee__c",  # lookup(Contact)
            "status": "Status__c",  # picklist: Proposed, Active, Closing, Closed
            "started_on": "Start_Date__c",
            "ended_on": "End_Date__c",
            "mentor_consent": "Mentor_Recording_Consent__c",  # checkbox
            "mentee_consent": "Mentee_Recording_Consent__c",
            "mentor_consent_at": "Mentor_Consent_Date__c",  # date/time
            "mentee_consent_at": "Mentee_Consent_Date__c",
            "meeting.zoom": "Zoom_Meeting_Id__c",
        },
    ),
    "sessions": StreamMapping(
        object="Mentoring_Session__c",
        fields={
            "pairing": "Mentoring_Pair__c",  # master-detail(Mentoring_Pair__c)
            "started_at": "Start__c",
            "ended_at": "End__c",
            "kind": "Kind__c",  # picklist: Intro, Regular, Closing
            "held": "Held__c",  # checkbox
        },
    ),
}


def identifier_problems(stream: str, mapping: StreamMapping) -> list[str]:
    """Every object or field name of a mapping that is not a plain API name (config check)."""
    named = {"object": mapping.object, "modified_field": modified_field(mapping)}
    named |= {f"fields.{domain}": vendor for domain, vendor in mapping.fields.items()}
    return [
        f"{stream}.{where}: {name!r} is not a Salesforce API name (letters, digits, _)"
        for where, name in named.items()
        if not IDENTIFIER.fullmatch(name)
    ]


def modified_field(mapping: StreamMapping) -> str:
    return mapping.modified_field or DEFAULT_MODIFIED_FIELD


def soql_datetime(at: datetime) -> str:
    """A SOQL datetime literal: unquoted ISO 8601 in UTC with `Z`, whole seconds.

    Whole seconds (rounded down) on both ends of a window keep consecutive windows
    (a, b], (b, c] contiguous: a change in the second after `b` is read by the next run.
    """
    if at.tzinfo is None:
        raise InvalidRequest("a SOQL datetime needs a timezone-aware value")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def select_list(mapping: StreamMapping) -> str:
    """The fields a read asks for: identity, watermark, deletion and merge, then the mapping."""
    names = ["Id", "IsDeleted", modified_field(mapping)]
    if mapping.object in MERGEABLE:
        names.append("MasterRecordId")
    names += sorted(set(mapping.fields.values()))
    return ", ".join(_identifier(n) for n in dict.fromkeys(names))


def changes_query(mapping: StreamMapping, since: datetime | None, until: datetime) -> str:
    """SOQL for the records changed in (`since`, `until`], oldest change first."""
    stamp = _identifier(modified_field(mapping))
    window = f"{stamp} <= {soql_datetime(until)}"
    if since is not None:
        window = f"{stamp} > {soql_datetime(since)} AND {window}"
    return _soql(mapping, window, f"{stamp}, Id")


def records_queries(mapping: StreamMapping, ids: Sequence[str]) -> Iterable[str]:
    """SOQL reading the named records, `IDS_PER_QUERY` ids at a time."""
    checked = list(dict.fromkeys(record_id(i) for i in ids))
    for start in range(0, len(checked), IDS_PER_QUERY):
        chunk = ", ".join(f"'{i}'" for i in checked[start : start + IDS_PER_QUERY])
        yield _soql(mapping, f"Id IN ({chunk})", "Id")


def record_id(value: str) -> str:
    """`value` when it is a Salesforce record id, else InvalidRequest (never a SOQL fragment)."""
    if not isinstance(value, str) or not RECORD_ID.fullmatch(value):
        raise InvalidRequest(f"not a Salesforce record id: {str(value)[:40]!r}")
    return value


def object_streams(streams: Mapping[str, StreamMapping]) -> dict[str, str]:
    """sObject API name -> the stream kept in it (what a webhook's record type means)."""
    return {mapping.object: stream for stream, mapping in streams.items()}


def _soql(mapping: StreamMapping, where: str, order_by: str) -> str:
    """The one SELECT shape: the parts are validated names and literals formatted above."""
    parts = ("SELECT", select_list(mapping), "FROM", _identifier(mapping.object))
    return " ".join((*parts, "WHERE", where, "ORDER BY", order_by))


def _identifier(name: str) -> str:
    # Checked again here, not only at config load: this is the line SOQL is built on.
    if not IDENTIFIER.fullmatch(name):
        raise InvalidRequest(f"not a Salesforce API name: {name[:80]!r}")
    return name
