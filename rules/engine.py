"""The pure evaluation engine: an event and a context in, decisions out, no I/O."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from connector.domain import Decision, Event
from rules.base import Context, Rule


def evaluate(
    event: Event,
    context: Context,
    rules: Iterable[Rule],
    params: Mapping[str, Any],
) -> list[Decision]:
    """Every decision the given rules take on `event`, stamped with the policy version.

    `rules` are the enabled rules; `params` maps a rule id to its `Params` instance (a rule
    missing from it runs on its policy defaults). Rules exempted for the context's pairing
    (or the whole program) are skipped. Decisions are unique by key, first wins.
    """
    decisions: dict[str, Decision] = {}
    for rule in rules:
        if event.kind not in rule.triggers or rule.id in context.exempt:
            continue
        rule_params = params.get(rule.id) or rule.Params()
        for decision in rule.evaluate(event, context, rule_params):
            stamped = dataclasses.replace(decision, policy_version=context.policy_version)
            decisions.setdefault(stamped.key, stamped)
    return list(decisions.values())
