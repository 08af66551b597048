"""Scheduled checks: one set-based query per time-based rule, then the rule's pure `decide`.

Each query returns only the candidates a rule could act on (a superset: the SQL narrows,
the rule decides), so a program of 100,000 pairings costs a handful of indexed aggregate
queries, not a Python loop over every row. Running the checks twice for the same moment
writes nothing new: decisions carry period keys and the outbox is unique on them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connector.context import person_view
from connector.domain import Decision, PairingStatus
from connector.runner import outbox_row
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import (
    CheckIn,
    Concern,
    Exemption,
    Meeting,
    OutboxItem,
    Pairing,
    Person,
    Submission,
    VettingStep,
)
from rules import PERIODIC
from rules.base import Context, PeriodicRule
from rules.calendar import local_date, month_bounds_utc, previous_month, start_of_day_utc
from rules.concern_report import ConcernFacts, ConcernParams
from rules.feedback_after_sessions import FeedbackFacts, FeedbackParams
from rules.introductory_session import IntroFacts, IntroParams
from rules.monthly_meeting import MonthlyFacts, MonthlyParams
from rules.staff_check_in import PARTIES, CheckInFacts, CheckInParams, first_month_grace
from rules.vetting_gate import GATED, VettingFacts, VettingParams

log = logging.getLogger("connector.checks")
Query = Callable[[Session, datetime, Any, Settings, int | None], Iterable[Any]]


def _one(column: Any, pairing_id: int | None) -> ColumnElement[bool]:
    return column == pairing_id if pairing_id is not None else literal(True)


# --------------------------------------------------------------------------- the queries


def vetting_facts(
    session: Session, at: datetime, params: VettingParams, settings: Settings, pid: int | None
) -> Iterable[VettingFacts]:
    """Mentors in proposed or active pairings short of a required step in force today."""
    today = local_date(at, settings.connector.timezone)
    steps = params.steps()
    in_force = (
        select(VettingStep.person_id, func.count().label("n"))
        .where(
            VettingStep.step.in_(steps),
            VettingStep.status == "passed",
            or_(VettingStep.expires_on.is_(None), VettingStep.expires_on >= today),
        )
        .group_by(VettingStep.person_id)
        .subquery()
    )
    mentors = (
        select(Person)
        .join(Pairing, Pairing.mentor_id == Person.id)
        .outerjoin(in_force, in_force.c.person_id == Person.id)
        .where(
            Pairing.status.in_(GATED),
            Pairing.vetting_override_reason.is_(None),
            func.coalesce(in_force.c.n, 0) < len(steps),
            _one(Pairing.id, pid),
        )
        .distinct()
    )
    return [VettingFacts(person_view(p)) for p in session.scalars(mentors)]


def intro_facts(
    session: Session, at: datetime, params: IntroParams, settings: Settings, pid: int | None
) -> Iterable[IntroFacts]:
    """Active pairings past their first-session deadline with no held session."""
    latest_start = local_date(at, settings.connector.timezone) - timedelta(
        days=params.first_session_within_days
    )
    held = exists().where(Meeting.pairing_id == Pairing.id, Meeting.held.is_(True))
    rows = session.execute(
        select(Pairing.id, Pairing.started_on).where(
            Pairing.status == PairingStatus.ACTIVE,
            Pairing.started_on < latest_start,
            ~held,
            _one(Pairing.id, pid),
        )
    )
    return [IntroFacts(pid_, started) for pid_, started in rows if started is not None]


def monthly_facts(
    session: Session, at: datetime, params: MonthlyParams, settings: Settings, pid: int | None
) -> Iterable[MonthlyFacts]:
    """Active pairings short of sessions this or last calendar month (program time zone)."""
    zone = settings.connector.timezone
    today = local_date(at, zone)
    this_start, this_end = month_bounds_utc(today, zone)
    last_start, _ = month_bounds_utc(previous_month(today), zone)
    in_range = and_(
        Meeting.pairing_id == Pairing.id,
        Meeting.held.is_(True),
        Meeting.started_at >= last_start,
        Meeting.started_at < this_end,
    )
    this_month = func.sum(case((Meeting.started_at >= this_start, 1), else_=0))
    last_month = func.sum(case((Meeting.started_at < this_start, 1), else_=0))
    need = params.sessions_per_month
    rows = session.execute(
        select(Pairing.id, Pairing.started_on, this_month, last_month)
        .outerjoin(Meeting, in_range)
        .where(
            Pairing.status == PairingStatus.ACTIVE,
            Pairing.started_on.is_not(None),
            _one(Pairing.id, pid),
        )
        .group_by(Pairing.id, Pairing.started_on)
        .having(or_(func.coalesce(this_month, 0) < need, func.coalesce(last_month, 0) < need))
    )
    return [
        MonthlyFacts(pairing_id, started_on, this or 0, last or 0)
        for pairing_id, started_on, this, last in rows
    ]


def feedback_facts(
    session: Session, at: datetime, params: FeedbackParams, settings: Settings, pid: int | None
) -> Iterable[FeedbackFacts]:
    """Pairings whose Nth held session is older than the reminder delay, feedback missing.

    Sessions are ranked only for pairings still missing a party's feedback, which keeps the
    window function off most of the meetings table.
    """

    def gave(party: str, pairing: Any) -> Any:
        return exists().where(
            Submission.pairing_id == pairing,
            Submission.party == party,
            Submission.form == params.form,
        )

    ranked = (
        select(
            Meeting.pairing_id,
            Meeting.started_at,
            func.row_number()
            .over(partition_by=Meeting.pairing_id, order_by=(Meeting.started_at, Meeting.id))
            .label("n"),
        )
        .where(
            Meeting.held.is_(True),
            Meeting.pairing_id.is_not(None),
            _one(Meeting.pairing_id, pid),
            ~and_(gave("mentor", Meeting.pairing_id), gave("mentee", Meeting.pairing_id)),
        )
        .subquery()
    )
    mentor, mentee = gave("mentor", Pairing.id), gave("mentee", Pairing.id)
    rows = session.execute(
        select(Pairing.id, ranked.c.started_at, mentor, mentee)
        .join(ranked, ranked.c.pairing_id == Pairing.id)
        .where(
            ranked.c.n == params.after_sessions,
            ranked.c.started_at <= at - timedelta(days=params.remind_after_days),
            Pairing.status.in_((PairingStatus.ACTIVE, PairingStatus.CLOSING)),
        )
    )
    return [FeedbackFacts(*row) for row in rows]


def check_in_facts(
    session: Session, at: datetime, params: CheckInParams, settings: Settings, pid: int | None
) -> Iterable[CheckInFacts]:
    """Each party of an active pairing that may have a check-in due.

    Left out: parties past their first month whose last check-in is recent enough that
    nothing can be due yet. `StaffCheckIn.decide` works out the due date of the rest.
    """
    zone = settings.connector.timezone
    today = local_date(at, zone)
    # Pairings still on the first-month schedule (through its grace day, see next_due).
    first_month_since = today - (first_month_grace(today, params) - today)
    # Whole local days, as the rule decides by date: a check-in late in the evening must not
    # hide a reminder due on the morning the checks run.
    recent = start_of_day_utc(
        today - timedelta(days=params.then_every_days - params.remind_days_before - 1), zone
    )
    out: list[CheckInFacts] = []
    for party in PARTIES:
        mine = and_(CheckIn.pairing_id == Pairing.id, CheckIn.party == party)
        last = func.max(CheckIn.at)
        rows = session.execute(
            select(Pairing.id, Pairing.started_on, last)
            .outerjoin(CheckIn, mine)
            .where(
                Pairing.status == PairingStatus.ACTIVE,
                Pairing.started_on.is_not(None),
                _one(Pairing.id, pid),
            )
            .group_by(Pairing.id, Pairing.started_on)
            .having(or_(Pairing.started_on >= first_month_since, last.is_(None), last < recent))
        ).all()
        in_first_month = [r[0] for r in rows if r[1] is not None and r[1] >= first_month_since]
        early = _first_month_counts(session, in_first_month, party, params, zone)
        out += [
            CheckInFacts(pairing_id, party, started_on, early.get(pairing_id, 0), last_at)
            for pairing_id, started_on, last_at in rows
            if started_on is not None
        ]
    return out


def _first_month_counts(
    session: Session,
    pairing_ids: Sequence[int],
    party: str,
    params: CheckInParams,
    timezone: str,
) -> dict[int, int]:
    """Check-ins within each pairing's first month. Dates are compared in Python because
    date arithmetic differs between SQLite and PostgreSQL; only candidates are read."""
    counts: dict[int, int] = {}
    for chunk in _chunks(pairing_ids, 5000):
        rows = session.execute(
            select(CheckIn.pairing_id, CheckIn.at, Pairing.started_on)
            .join(Pairing, Pairing.id == CheckIn.pairing_id)
            .where(CheckIn.pairing_id.in_(chunk), CheckIn.party == party)
        )
        for pairing_id, at, started_on in rows:
            if started_on is None:
                continue
            if local_date(at, timezone) < started_on + timedelta(days=params.first_month_days):
                counts[pairing_id] = counts.get(pairing_id, 0) + 1
    return counts


def concern_facts(
    session: Session, at: datetime, params: ConcernParams, settings: Settings, pid: int | None
) -> Iterable[ConcernFacts]:
    """Concerns still new after the acknowledgement deadline."""
    rows = session.execute(
        select(Concern.id, Concern.reference, Concern.created_at).where(
            Concern.status == "new",
            Concern.created_at < at - timedelta(hours=params.acknowledge_within_hours),
            _one(Concern.pairing_id, pid),
        )
    )
    return [ConcernFacts(*row) for row in rows]


QUERIES: dict[str, Query] = {
    "vetting-gate": vetting_facts,
    "introductory-session": intro_facts,
    "monthly-meeting": monthly_facts,
    "feedback-after-sessions": feedback_facts,
    "staff-check-in": check_in_facts,
    "concern-report": concern_facts,
}


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- running


def check_context(settings: Settings, at: datetime) -> Context:
    policy = settings.policy
    return Context(
        now=at,
        policy_version=policy.policy_version,
        timezone=settings.connector.timezone,
        approved_platforms=policy.approved_platforms,
        in_person_allowed=policy.in_person_allowed,
    )


def periodic_decisions(
    session: Session,
    rule: PeriodicRule,
    settings: Settings,
    at: datetime,
    pairing_id: int | None = None,
) -> list[Decision]:
    """What one time-based rule decides at `at` (for one pairing, or the whole program).

    The decisions are not yet stamped with the policy version; `write_many` does that.
    """
    params = settings.rule(rule.id).params
    context = check_context(settings, at)
    exempt = _exempt_pairings(session, rule.id)
    facts = QUERIES[rule.id](session, at, params, settings, pairing_id)
    return [
        decision
        for fact in facts
        for decision in rule.decide(fact, context, params)
        if decision.pairing_id is None or decision.pairing_id not in exempt
    ]


def run_checks(store: Store, settings: Settings, at: datetime) -> dict[str, int]:
    """Run every enabled time-based rule; the number of new decisions per rule."""
    written: dict[str, int] = {}
    for rule in PERIODIC:
        if not settings.rule(rule.id).enabled:
            continue
        with store.session() as session:
            if _program_exempt(session, rule.id):
                continue
            decisions = periodic_decisions(session, rule, settings, at)
            written[rule.id] = write_many(session, decisions, at, settings.policy.policy_version)
        log.info("checks rule=%s decisions=%d new=%d", rule.id, len(decisions), written[rule.id])
    return written


def write_many(
    session: Session, decisions: Sequence[Decision], now: datetime, policy_version: str
) -> int:
    """Put decisions in the outbox in bulk, stamped with the policy version, skipping keys
    already there; how many were new."""
    if not decisions:
        return 0
    before = session.scalar(select(func.count(OutboxItem.id))) or 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(OutboxItem).on_conflict_do_nothing(index_elements=["key"])
    unique = {d.key: d for d in decisions}.values()
    rows = [outbox_row(d, now, policy_version=policy_version) for d in unique]
    connection = session.connection()
    for chunk in range(0, len(rows), 5000):
        connection.execute(stmt, rows[chunk : chunk + 5000])
    after = session.scalar(select(func.count(OutboxItem.id))) or 0
    return after - before


def _exempt_pairings(session: Session, rule_id: str) -> set[int]:
    return set(
        session.scalars(
            select(Exemption.pairing_id).where(
                Exemption.rule_id == rule_id,
                Exemption.pairing_id.is_not(None),
                Exemption.revoked_at.is_(None),
            )
        )
    )


def _program_exempt(session: Session, rule_id: str) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    Exemption.rule_id == rule_id,
                    Exemption.pairing_id.is_(None),
                    Exemption.revoked_at.is_(None),
                )
            )
        )
    )
