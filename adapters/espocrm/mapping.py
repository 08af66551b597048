"""Where a program keeps mentoring in EspoCRM by default, and how tasks are written there.

The default mapping is what `README.md` ("Connecting EspoCRM") asks an admin to create with
the Entity Manager; `config.example.toml` shows it key by key, and `[host.espocrm.streams.*]`
overrides any part of it. EspoCRM names what an admin adds: a custom entity gets a `C` prefix
(`Pairing` becomes `CPairing`) and a custom field on a built-in entity a `c` prefix
(`mentoringRole` on Contact becomes `cMentoringRole`); fields of a custom entity keep their
names. A link field `mentor` reads as the attribute `mentorId` (reference §3).
"""

from __future__ import annotations

from types import MappingProxyType

from adapters.base import StreamMapping
from connector.domain import Priority

MODIFIED_FIELD = "modifiedAt"  # every EspoCRM entity has it; UTC, whole seconds
TASK_ENTITY = "Task"
DEFAULT_TASK_KEY_FIELD = "cConnectorKey"

PEOPLE = StreamMapping(
    object="Contact",
    fields={
        "role": "cMentoringRole",  # enum Mentor | Mentee | Staff
        "name": "name",
        "status": "cParticipantStatus",  # enum Applicant | Active | Suspended | Removed
        "email": "emailAddress",
        "phone": "phoneNumber",
        "vetting.professional_verification.status": "cVettingStatus",
        "vetting.professional_verification.completed_on": "cVettingCompletedOn",
        "vetting.personal_references.status": "cReferencesStatus",
        "vetting.interview.status": "cInterviewStatus",
    },
    values={
        # Enum options as the reference's Entity Manager example created them.
        "vetting.professional_verification.status": {
            "Pending": "pending",
            "Approved": "passed",
            "Rejected": "failed",
        },
        "vetting.personal_references.status": {
            "Pending": "pending",
            "Approved": "passed",
            "Rejected": "failed",
        },
        "vetting.interview.status": {
            "Pending": "pending",
            "Approved": "passed",
            "Rejected": "failed",
        },
    },
    modified_field=MODIFIED_FIELD,
)

PAIRINGS = StreamMapping(
    object="CPairing",  # a custom entity of type Base
    fields={
        "mentor": "mentorId",  # link to Contact
        "mentee": "menteeId",  # link to Contact
        "status": "status",  # enum Proposed | Active | Closing | Closed
        "started_on": "startedOn",
        "ended_on": "endedOn",
        "mentor_consent": "mentorRecordingConsent",
        "mentee_consent": "menteeRecordingConsent",
        "mentor_consent_at": "mentorConsentAt",
        "mentee_consent_at": "menteeConsentAt",
        "meeting.zoom": "zoomMeetingId",
        "extenuating_circumstances": "extenuatingCircumstances",
    },
    modified_field=MODIFIED_FIELD,
)

SESSIONS = StreamMapping(
    object="CSession",  # a custom entity of type Event: dateStart, dateEnd, status come with it
    fields={
        "pairing": "pairingId",  # link to CPairing
        "started_at": "dateStart",
        "ended_at": "dateEnd",
        "kind": "kind",  # enum Intro | Regular | Closing
        "held": "status",  # the Event status: Planned | Held | Not Held
    },
    values={"held": {"Held": "true", "Not Held": "false", "Planned": "false"}},
    modified_field=MODIFIED_FIELD,
)

DEFAULT_STREAMS: MappingProxyType[str, StreamMapping] = MappingProxyType(
    {"people": PEOPLE, "pairings": PAIRINGS, "sessions": SESSIONS}
)

# Task priorities are `Low | Normal | High | Urgent` (entityDefs.Task.fields.priority.options).
TASK_PRIORITY: MappingProxyType[Priority, str] = MappingProxyType(
    {
        Priority.LOW: "Low",
        Priority.NORMAL: "Normal",
        Priority.HIGH: "High",
        Priority.CRITICAL: "Urgent",
    }
)
# An alert is a Task no lower than High, so it stands out in the list staff work from.
ALERT_PRIORITY: MappingProxyType[Priority, str] = MappingProxyType(
    {
        Priority.LOW: "High",
        Priority.NORMAL: "High",
        Priority.HIGH: "High",
        Priority.CRITICAL: "Urgent",
    }
)
NEW_TASK_STATUS = "Not Started"  # Task status options: Not Started | Started | Completed | ...
# Built-in Task fields the writer sets; check_connection verifies them with the key field.
TASK_FIELDS = ("name", "description", "status", "priority", "dateEnd", "assignedUser", "parent")
