"""Gates: rules that refuse a pairing's status change before it is made (API and sync)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from connector.context import build_context
from connector.settings import Settings
from connector.state import Applied
from rules import GATES
from rules.base import Context, Refusal, Transition


def refusals(
    session: Session,
    pairing_id: int,
    transition: Transition,
    settings: Settings,
    now: datetime,
) -> list[Refusal]:
    """Every enabled, non-exempt gate's refusal of `transition` for the pairing as it is now."""
    if transition.status_from == transition.status_to:
        return []
    context = build_context(session, Applied(pairing_id=pairing_id), now, settings)
    return gate_refusals(context, transition, settings)


def gate_refusals(context: Context, transition: Transition, settings: Settings) -> list[Refusal]:
    """Every enabled, non-exempt gate's refusal of `transition` given a built context."""
    out = []
    for gate in GATES:
        rule = settings.rule(gate.id)
        if not rule.enabled or gate.id in context.exempt:
            continue
        refusal = gate.gate(transition, context, rule.params)
        if refusal is not None:
            out.append(refusal)
    return out
