"""`recording-consent`: a session may be recorded only with the consent of both parties."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from connector.domain import (
    MEETING_EVENTS,
    Alert,
    Decision,
    Event,
    Priority,
    RecordingAction,
    RecordingAvailable,
    Task,
)
from rules.base import Context, PairingView


@dataclass(frozen=True)
class ConsentParams:
    # A consent given after the recording started does not cover it.
    consent_must_precede_recording: bool = True
    audience: str = "safeguarding"
    # "alert": tell the safeguarding lead; "trash": also move the files to the platform's
    # trash at once (recoverable there for 30 days), through the platform's API.
    on_missing_consent: str = "alert"

    def __post_init__(self) -> None:
        if self.on_missing_consent not in ("alert", "trash"):
            raise ValueError('on_missing_consent must be "alert" or "trash"')


class RecordingConsent:
    id: ClassVar[str] = "recording-consent"
    policy: ClassVar[str] = (
        "For the safety of both parties and to maintain a record of the mentorship, sessions "
        "may be recorded with the consent of both the mentor and the mentee."
    )
    triggers: ClassVar[frozenset[str]] = MEETING_EVENTS
    Params: ClassVar[type[ConsentParams]] = ConsentParams

    def evaluate(self, event: Event, context: Context, params: ConsentParams) -> list[Decision]:
        pairing, meeting = context.pairing, context.meeting
        if pairing is None or meeting is None:
            return []
        # The meeting's stored recordings, and those this event announces (a pure call may
        # bring them only in the event): judged on every meeting event, decided once by key.
        files = {r.external_id: r.started_at for r in context.recordings if r.status == "available"}
        if isinstance(event, RecordingAvailable):
            files.update({f.file_id: f.started_at for f in event.files})
        if not files:
            return []
        starts = [at for at in files.values() if at is not None]
        fallback = event.started_at if isinstance(event, RecordingAvailable) else meeting.started_at
        recorded_at = min(starts, default=fallback)
        if recorded_at is None:
            return []
        missing = _parties_without_consent(pairing, recorded_at, params)
        prefix = f"{self.id}:meeting:{meeting.id}"
        when = recorded_at.strftime("%Y-%m-%d %H:%M UTC")
        if not missing:
            digest = hashlib.sha256(",".join(sorted(files)).encode()).hexdigest()[:12]
            return [
                RecordingAction(
                    key=f"{prefix}:restrict:{digest}",
                    rule_id=self.id,
                    reason=(
                        f"Both the mentor and the mentee of pairing P{pairing.id} consented to "
                        f"recording; the recording of {when} is kept, restricted to review "
                        "or dispute."
                    ),
                    pairing_id=pairing.id,
                    action="restrict",
                    meeting_id=meeting.id,
                )
            ]
        who = " and ".join(missing)
        reason = (
            f"The {meeting.platform} session of pairing P{pairing.id} was recorded at {when} "
            f"without recording consent from the {who}.{_revocations(pairing)} "
            f"Policy: {self.policy}"
        )
        decisions: list[Decision] = [
            Alert(
                key=f"{prefix}:alert",
                rule_id=self.id,
                reason=reason,
                pairing_id=pairing.id,
                title=f"Session recorded without consent of the {who}",
                priority=Priority.CRITICAL,
                audience=params.audience,
                confidential=True,
            ),
            Task(
                key=f"{prefix}:remove",
                rule_id=self.id,
                reason=reason,
                pairing_id=pairing.id,
                title=f"Remove the recording of pairing P{pairing.id}'s session of {when}",
                priority=Priority.HIGH,
                audience=params.audience,
                confidential=True,
            ),
        ]
        if params.on_missing_consent == "trash":
            decisions.append(
                RecordingAction(
                    key=f"{prefix}:trash",
                    rule_id=self.id,
                    reason=reason,
                    pairing_id=pairing.id,
                    action="trash",
                    meeting_id=meeting.id,
                )
            )
        return decisions


def _parties_without_consent(
    pairing: PairingView, recorded_at: datetime, params: ConsentParams
) -> list[str]:
    parties = (
        ("mentor", pairing.mentor_recording_consent, pairing.mentor_consent_at),
        ("mentee", pairing.mentee_recording_consent, pairing.mentee_consent_at),
    )
    return [
        name
        for name, given, at in parties
        if not given or at is None or (params.consent_must_precede_recording and at > recorded_at)
    ]


def _revocations(pairing: PairingView) -> str:
    """A consent withdrawn keeps its withdrawal time in `*_consent_at` (see the API)."""
    notes = [
        f" The {name} revoked consent on {at:%Y-%m-%d %H:%M} UTC."
        for name, given, at in (
            ("mentor", pairing.mentor_recording_consent, pairing.mentor_consent_at),
            ("mentee", pairing.mentee_recording_consent, pairing.mentee_consent_at),
        )
        if not given and at is not None
    ]
    return "".join(notes)
