"""The rulebook: one module per policy rule, listed here top to bottom.

To add a rule: write `rules/<id>.py` with a class that satisfies `rules.base.Rule`, add one
line to `ALL_RULES`, a section to `RULES.md` and a test module opening with its truth table.
"""

from __future__ import annotations

from rules.base import Context, Rule
from rules.feedback_after_sessions import FeedbackAfterSessions
from rules.recording_consent import RecordingConsent
from rules.unregistered_contact import UnregisteredContact

ALL_RULES: tuple[Rule, ...] = (
    RecordingConsent(),
    FeedbackAfterSessions(),
    UnregisteredContact(),
)

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in ALL_RULES}

__all__ = ["ALL_RULES", "RULES_BY_ID", "Context", "Rule"]
