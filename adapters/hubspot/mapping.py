"""Where a program keeps its mentoring data in HubSpot, by default, and how it is read.

People are contacts. Pairings and sessions are custom objects (Enterprise tiers; reference §2.2)
that the program creates with the properties below; a custom object is addressed by its
`objectTypeId` (`2-1234567`) or fully qualified name (`p{portalId}_mentoring_pairs`), both
shown by `GET /crm/v3/schemas` and in Settings > Data Management > Objects. The defaults name
`p_mentoring_pairs` and `p_mentoring_sessions`; a program sets its real ones in
`[host.hubspot.streams.<stream>] object`.

A vendor field written as several property names separated by spaces (`"firstname lastname"`)
is read as those properties joined by a space: HubSpot keeps a contact's name in two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.base import StreamMapping

CONTACTS = "contacts"
TASKS = "tasks"
CONNECTOR_KEY = "connector_key"  # the unique property tasks are written on
MERGED_IDS = "hs_merged_object_ids"  # on a merge's surviving contact: `;`-separated ids

DEFAULT: dict[str, StreamMapping] = {
    "people": StreamMapping(
        object=CONTACTS,
        fields={
            "role": "mentoring_role",  # enumeration: mentor | mentee | staff
            "name": "firstname lastname",
            "status": "mentoring_status",  # enumeration: applicant | active | suspended | removed
            "email": "email",
            "phone": "phone",
            "vetting.professional_verification.status": "vetting_professional_verification",
            "vetting.personal_references.status": "vetting_personal_references",
            "vetting.interview.status": "vetting_interview",
            "vetting.interview.completed_on": "vetting_interview_date",
        },
    ),
    "pairings": StreamMapping(
        object="p_mentoring_pairs",
        fields={
            "mentor": "mentor_contact_id",  # the mentor's contact record id
            "mentee": "mentee_contact_id",
            "status": "pairing_status",  # enumeration: proposed | active | closing | closed
            "started_on": "start_date",
            "ended_on": "end_date",
            "mentor_consent": "mentor_recording_consent",
            "mentee_consent": "mentee_recording_consent",
            "extenuating_circumstances": "extenuating_circumstances",
            "meeting.zoom": "zoom_meeting_id",
        },
    ),
    "sessions": StreamMapping(
        object="p_mentoring_sessions",
        fields={
            "pairing": "pairing_record_id",  # the pairing's record id
            "started_at": "session_start",
            "ended_at": "session_end",
            "kind": "session_kind",  # enumeration: intro | regular | closing
            "held": "session_held",
        },
    ),
}


def modified_property(mapping: StreamMapping) -> str:
    """The change watermark: the mapping's, else `lastmodifieddate` on contacts and
    `hs_lastmodifieddate` on every other object (reference §2.3)."""
    if mapping.modified_field:
        return mapping.modified_field
    return "lastmodifieddate" if mapping.object == CONTACTS else "hs_lastmodifieddate"


def properties_of(mapping: StreamMapping) -> list[str]:
    """Every HubSpot property a read of this stream asks for, in a stable order."""
    names = [name for vendor in mapping.fields.values() for name in vendor.split()]
    names.append(modified_property(mapping))
    if mapping.object == CONTACTS:
        names.append(MERGED_IDS)
    return list(dict.fromkeys(names))


def flatten(mapping: StreamMapping, properties: Mapping[str, Any]) -> dict[str, Any]:
    """An object's `properties` with each joined vendor field (`"firstname lastname"`) added."""
    raw = dict(properties)
    for vendor in mapping.fields.values():
        parts = vendor.split()
        if len(parts) > 1 and any(part in raw for part in parts):
            raw[vendor] = " ".join(str(raw[p]).strip() for p in parts if raw.get(p)) or None
    return raw
