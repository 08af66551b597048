"""`rules explain`: what every rule decides for one pairing, and why, without writing anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from connector.checks import QUERIES, periodic_decisions
from connector.context import exempt_rules
from connector.domain import PairingStatus
from connector.gates import refusals
from connector.settings import Settings
from connector.store.db import Store
from connector.store.models import Exemption, OutboxItem, Pairing
from rules import ALL_RULES, GATES, PERIODIC
from rules.base import Transition

NEXT = {
    PairingStatus.PROPOSED: (PairingStatus.ACTIVE,),
    PairingStatus.ACTIVE: (PairingStatus.CLOSING, PairingStatus.CLOSED),
    PairingStatus.CLOSING: (PairingStatus.CLOSED,),
    PairingStatus.CLOSED: (),
}


@dataclass
class RuleReport:
    rule_id: str
    policy: str
    state: str = "enabled"  # enabled | disabled (reason) | exempt (reason)
    due_now: list[str] = field(default_factory=list)  # titles a check at `at` would write
    decided: list[str] = field(default_factory=list)  # decisions already in the outbox
    refuses: list[str] = field(default_factory=list)  # status changes a gate would refuse


def explain(store: Store, settings: Settings, pairing_id: int, at: datetime) -> list[RuleReport]:
    """One report per rule. Read-only: the session is rolled back at the end."""
    periodic = {rule.id: rule for rule in PERIODIC}
    gates = {rule.id: rule for rule in GATES}
    reports = []
    with store.session() as session:
        pairing = session.get(Pairing, pairing_id)
        if pairing is None:
            raise LookupError(f"no pairing {pairing_id}")
        exempt = exempt_rules(session, pairing_id)
        reasons = dict(
            session.execute(
                select(Exemption.rule_id, Exemption.reason).where(
                    Exemption.revoked_at.is_(None),
                    (Exemption.pairing_id == pairing_id) | Exemption.pairing_id.is_(None),
                )
            ).all()
        )
        recorded = session.scalars(
            select(OutboxItem).where(OutboxItem.pairing_id == pairing_id).order_by(OutboxItem.id)
        ).all()
        blocked = {
            r.rule_id: f"{pairing.status} -> {target}: {r.message}"
            for target in NEXT[PairingStatus(pairing.status)]
            for r in refusals(session, pairing_id, Transition(pairing.status, target), settings, at)
        }
        for rule in ALL_RULES:
            report = RuleReport(rule.id, rule.policy)
            rule_settings = settings.rule(rule.id)
            if not rule_settings.enabled:
                report.state = f"disabled for the program: {rule_settings.reason}"
            elif rule.id in exempt:
                report.state = f"exempt: {reasons.get(rule.id, '')}"
            else:
                if rule.id in periodic and rule.id in QUERIES:
                    report.due_now = [
                        f"{d.kind}: {d.title}"  # type: ignore[attr-defined]
                        for d in periodic_decisions(
                            session, periodic[rule.id], settings, at, pairing_id
                        )
                    ]
                if rule.id in gates and rule.id in blocked:
                    report.refuses.append(blocked[rule.id])
            report.decided = [
                f"[{item.status}] {item.kind}: {item.decision.get('title', item.key)}"
                for item in recorded
                if item.rule_id == rule.id
            ]
            reports.append(report)
        session.rollback()
    return reports
