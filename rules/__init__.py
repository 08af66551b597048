"""The rulebook: one module per policy rule, listed here top to bottom.

To add a rule: write `rules/<id>.py` with a class that satisfies `rules.base.Rule`, add one
line to `ALL_RULES`, a section to `RULES.md` and a test module opening with its truth table.
"""

from __future__ import annotations

from rules.approved_platform import ApprovedPlatform
from rules.base import Context, Gate, PeriodicRule, Rule
from rules.closing_session import ClosingSession
from rules.concern_report import ConcernReport
from rules.feedback_after_sessions import FeedbackAfterSessions
from rules.introductory_session import IntroductorySession
from rules.minimum_sessions import MinimumSessions
from rules.monthly_meeting import MonthlyMeeting
from rules.recording_consent import RecordingConsent
from rules.staff_check_in import StaffCheckIn
from rules.suspension import Suspension
from rules.unregistered_contact import UnregisteredContact
from rules.vetting_gate import VettingGate

_vetting, _intro, _monthly = VettingGate(), IntroductorySession(), MonthlyMeeting()
_minimum, _feedback, _closing = MinimumSessions(), FeedbackAfterSessions(), ClosingSession()
_check_in, _concern, _suspension = StaffCheckIn(), ConcernReport(), Suspension()

ALL_RULES: tuple[Rule, ...] = (
    _vetting,
    ApprovedPlatform(),
    RecordingConsent(),
    _intro,
    _monthly,
    _minimum,
    _feedback,
    _closing,
    _check_in,
    _concern,
    _suspension,
    UnregisteredContact(),
)

# Rules that can refuse a pairing's status change, checked before the change is made.
GATES: tuple[Gate, ...] = (_vetting, _suspension, _minimum, _closing)

# Time-based rules: `connector.checks` has one set-based query per rule here.
PERIODIC: tuple[PeriodicRule, ...] = (_vetting, _intro, _monthly, _feedback, _check_in, _concern)

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in ALL_RULES}

__all__ = [
    "ALL_RULES",
    "GATES",
    "PERIODIC",
    "RULES_BY_ID",
    "Context",
    "Gate",
    "PeriodicRule",
    "Rule",
]
