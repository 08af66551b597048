"""The engine, as a specification: it runs the rules an event triggers, stamps every
decision with the policy version the context was built under, skips exempted rules, and
returns one decision per key (the first wins)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from connector.domain import (
    Decision,
    Event,
    MeetingEnded,
    RecordingAvailable,
    RecordingFile,
    Task,
)
from rules.base import Context
from rules.engine import evaluate
from rules.recording_consent import RecordingConsent
from tests.rules.views import POLICY_VERSION, context, meeting, pairing

ENDED = MeetingEnded(
    platform="zoom",
    meeting_id="81234567890",
    instance_uuid="uuid-42==",
    started_at=datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
    ended_at=datetime(2026, 11, 2, 14, 45, tzinfo=UTC),
)
RECORDED = RecordingAvailable(
    platform="zoom",
    meeting_id="81234567890",
    instance_uuid="uuid-42==",
    started_at=datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
    files=(RecordingFile("rec-a", "MP4", "speaker_view", None, None),),
)


@dataclass(frozen=True)
class NoParams:
    label: str = "default"


class Scripted:
    """A rule that answers with fixed tasks and remembers what it was called with."""

    id: ClassVar[str]
    triggers: ClassVar[frozenset[str]]
    policy: ClassVar[str] = "test"
    Params: ClassVar[type[NoParams]] = NoParams

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self.calls: list[tuple[Event, Any]] = []

    def evaluate(self, event: Event, context: Context, params: Any) -> list[Decision]:
        self.calls.append((event, params))
        return [
            Task(key=key, rule_id=self.id, reason=f"{self.id} says so", title=self.id)
            for key in self.keys
        ]


def scripted(rule_id: str, trigger: str, *keys: str) -> Scripted:
    """A `Scripted` rule with its own id and triggers (class variables, as `Rule` says)."""

    class Named(Scripted):
        id = rule_id
        triggers = frozenset({trigger})

    return Named(keys)


def test_decisions_are_stamped_with_the_contexts_policy_version() -> None:
    ctx = context(pairing=pairing(), meeting=meeting(), policy_version="2026-11-rev3")
    decisions = evaluate(RECORDED, ctx, [RecordingConsent()], {})
    assert len(decisions) == 2
    assert {d.policy_version for d in decisions} == {"2026-11-rev3"}


def test_a_rule_is_not_called_for_an_event_outside_its_triggers() -> None:
    on_recording = scripted("on-recording", RecordingAvailable.kind, "k1")
    on_end = scripted("on-end", MeetingEnded.kind, "k2")
    decisions = evaluate(ENDED, context(), [on_recording, on_end], {})
    assert on_recording.calls == []
    assert [c[0] for c in on_end.calls] == [ENDED]
    assert [(d.key, d.policy_version) for d in decisions] == [("k2", POLICY_VERSION)]


def test_duplicate_keys_collapse_to_the_first() -> None:
    first = scripted("first", MeetingEnded.kind, "same", "own-1", "same")
    second = scripted("second", MeetingEnded.kind, "same", "own-2")
    decisions = evaluate(ENDED, context(), [first, second], {})
    assert [(d.key, d.rule_id) for d in decisions] == [
        ("same", "first"),
        ("own-1", "first"),
        ("own-2", "second"),
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [({}, "default"), ({"r": NoParams("configured")}, "configured")],
    ids=["missing-params-use-policy-defaults", "configured-params"],
)
def test_params_come_from_the_map_or_the_rules_defaults(
    params: dict[str, Any], expected: str
) -> None:
    rule = scripted("r", MeetingEnded.kind, "k")
    evaluate(ENDED, context(), [rule], params)
    assert [p.label for _event, p in rule.calls] == [expected]


def test_an_exempted_rule_is_skipped() -> None:
    exempt = scripted("exempt", MeetingEnded.kind, "k1")
    kept = scripted("kept", MeetingEnded.kind, "k2")
    decisions = evaluate(ENDED, context(exempt=frozenset({"exempt"})), [exempt, kept], {})
    assert exempt.calls == []
    assert [d.key for d in decisions] == ["k2"]
