"""The host's records a task or alert is about (`adapters.base.Subject`), from the store.

The outbox asks here before it writes a task or alert, so each host can file it under the
records staff already open (Salesforce WhatId/WhoId, EspoCRM parent, HubSpot association).
A ref is passed only when its record came from this host: the sync of a stream writes the
host's id into `external_ref`, so refs are read only for the streams this host syncs (the
built-in `local` host syncs none and gets no subject).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import aliased

from adapters.base import HostSystem, Subject
from connector.domain import Alert, Task
from connector.store.db import Store
from connector.store.models import Pairing, Person


def subject_of(store: Store, host: HostSystem, item: Task | Alert) -> Subject | None:
    """The subject of `item` in `host`, or None when the host knows none of its records.

    A confidential item names its pairing only: filing a concern under a person's record
    would show it on that person's timeline to everyone who can open the record.
    """
    streams = host.streams()
    if item.pairing_id is None or not {"people", "pairings"} & set(streams):
        return None
    mentor, mentee = aliased(Person), aliased(Person)
    with store.session() as session:
        row = session.execute(
            select(Pairing.external_ref, mentor.external_ref, mentee.external_ref)
            .join(mentor, mentor.id == Pairing.mentor_id)
            .join(mentee, mentee.id == Pairing.mentee_id)
            .where(Pairing.id == item.pairing_id)
        ).first()
    if row is None:
        return None
    pairing_ref, mentor_ref, mentee_ref = row
    people = "people" in streams and not item.confidential
    subject = Subject(
        pairing_ref=pairing_ref if "pairings" in streams else None,
        mentor_ref=mentor_ref if people else None,
        mentee_ref=mentee_ref if people else None,
    )
    return subject if subject != Subject() else None
