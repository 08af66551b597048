"""What the outbox does on platforms and hosts besides writing tasks and alerts.

`Outbox._carry_out` hands every decision that is not a task or an alert to `Actions.carry_out`:
recording actions (restrict here, trash on the platform), reading a held meeting back from its
platform, reading what a platform's change notification named, Graph subscription actions,
targeted host syncs and notices. Each raises the typed errors of `connector.errors`; the
outbox turns them into a retry or a dead letter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.base import ChangeReader, HostSystem, VideoPlatform
from connector import audit
from connector.clock import Clock
from connector.domain import (
    Decision,
    Event,
    HostSync,
    MeetingSecurityReported,
    Notify,
    ParticipantJoined,
    ParticipantLeft,
    PlatformFetch,
    PlatformRead,
    RecordingAction,
    SubscriptionAction,
    to_json,
)
from connector.errors import InvalidRequest
from connector.inbox import Inbox
from connector.notify import SmtpNotifier, send_notice
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import Meeting, Recording
from connector.subscriptions import build_graph_subscriptions

if TYPE_CHECKING:
    from connector.sync import Syncer


class Actions:
    """Carries out the platform and host actions of the outbox, one decision at a time."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        host: HostSystem,
        clock: Clock,
        platforms: Mapping[str, VideoPlatform] | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._host = host
        self._clock = clock
        self._platforms = dict(platforms or {})
        self._subscriptions = build_graph_subscriptions(store, settings, clock)
        self._notifier = SmtpNotifier(settings.smtp)
        self._syncer: Syncer | None = None

    def carry_out(self, decision: Decision) -> None:
        match decision:
            case RecordingAction(action="restrict"):
                with self._store.session() as session:
                    restrict_recordings(session, decision, self._clock)
            case RecordingAction(action="trash"):
                self._trash(decision)
            case PlatformFetch():
                self._fetch(decision)
            case PlatformRead():
                self._read(decision)
            case SubscriptionAction():
                if self._subscriptions is None:  # not retryable: an admin has to act
                    raise InvalidRequest("no Teams API credentials are configured ([video.teams])")
                self._subscriptions.carry_out(decision)
            case HostSync():
                self._host_sync(decision)
            case Notify():
                send_notice(self._store, self._settings, self._clock, decision, self._notifier)
            case _:
                raise NotImplementedError(f"no handler for {decision.kind} {decision!r}")

    def _host_sync(self, sync: HostSync) -> None:
        """Read the named records back from the host and apply them like a scheduled sync."""
        from connector.sync import Syncer  # the sync engine imports the runner's writer

        if sync.host != self._host.name:  # the host was changed in the settings since
            raise InvalidRequest(f"{sync.host} is not the configured host ({self._host.name})")
        if self._syncer is None:
            self._syncer = Syncer(self._store, self._settings, self._host, self._clock)
        self._syncer.targeted(sync.stream, sync.external_ids)

    def _trash(self, action: RecordingAction) -> None:
        """Move a meeting's recordings to the platform's trash, then record that here."""
        with self._store.session() as session:
            meeting = session.get_one(Meeting, action.meeting_id)
            platform_name, uuid = meeting.platform, meeting.instance_uuid
        platform = self._platforms.get(platform_name)
        if platform is None:  # not retryable: an admin has to act (dead-letter list)
            raise InvalidRequest(
                f"no {platform_name} API credentials are configured to trash recordings; "
                "remove them on the platform by hand"
            )
        platform.trash_recordings(uuid)
        now = self._clock.now()
        with self._store.session() as session:
            for recording in session.scalars(
                select(Recording).where(
                    Recording.meeting_id == action.meeting_id, Recording.status == "available"
                )
            ):
                recording.status = "trashed"
                audit.record(
                    session,
                    now,
                    f"rule:{action.rule_id}",
                    "recording.trashed",
                    "recording",
                    recording.id,
                    meeting_id=action.meeting_id,
                    reason=action.reason,
                )

    def _read(self, read: PlatformRead) -> None:
        """Read what a change notification named and queue what it says as events.

        The inbox key is the platform's (`ChangeRead.delivery`, a call record's version), so a
        second read of an unchanged resource stores nothing new.
        """
        platform = self._platforms.get(read.platform)
        if platform is None:  # not retryable: an admin has to act, then replay the row
            raise InvalidRequest(f"no {read.platform} API credentials are configured")
        if not isinstance(platform, ChangeReader):
            raise InvalidRequest(f"{read.platform} cannot read a changed resource back")
        answer = platform.read_change(read.resource, read.change_type)
        Inbox(self._store, self._clock).accept(
            f"{read.platform}-api", answer.delivery, answer.event_type, {}, answer.events
        )

    def _fetch(self, fetch: PlatformFetch) -> None:
        """Read a held meeting back from its platform and queue what it says as events."""
        platform = self._platforms.get(fetch.platform)
        if platform is None:
            raise InvalidRequest(f"no {fetch.platform} API credentials are configured")
        events: list[Event] = []
        try:
            security = platform.meeting_security(fetch.meeting_external_id)
        except InvalidRequest:
            security = None  # a one-off meeting may be gone once it ended; attendance still counts
        if security is not None:
            events.append(
                MeetingSecurityReported(
                    platform=fetch.platform,
                    meeting_id=fetch.meeting_external_id,
                    instance_uuid=fetch.instance_uuid,
                    passcode=security.passcode,
                    waiting_room=security.waiting_room,
                    authentication=security.authentication,
                )
            )
        for person in platform.past_participants(fetch.instance_uuid):
            common = {
                "platform": fetch.platform,
                "meeting_id": fetch.meeting_external_id,
                "instance_uuid": fetch.instance_uuid,
                "participant_key": person.key,
                "name": person.name,
                "email": person.email,
            }
            events.append(ParticipantJoined(at=person.join_time, **common))
            if person.leave_time is not None:
                events.append(ParticipantLeft(at=person.leave_time, **common))
        digest = hashlib.sha256(
            json.dumps([to_json(e) for e in events], sort_keys=True).encode()
        ).hexdigest()[:16]
        Inbox(self._store, self._clock).accept(
            f"{fetch.platform}-api",
            f"fetch:{fetch.instance_uuid}:{digest}",
            "meeting.fetched",
            {},
            events,
        )


def restrict_recordings(session: Session, action: RecordingAction, clock: Clock) -> None:
    """Keep a meeting's recordings for review or dispute only, and say so in the audit log."""
    recordings = session.scalars(
        select(Recording).where(
            Recording.meeting_id == action.meeting_id, Recording.restricted.is_(False)
        )
    ).all()
    for recording in recordings:
        recording.restricted = True
        audit.record(
            session,
            clock.now(),
            f"rule:{action.rule_id}",
            "recording.restricted",
            "recording",
            recording.id,
            meeting_id=action.meeting_id,
            reason=action.reason,
        )
