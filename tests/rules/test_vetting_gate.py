"""`vetting-gate`, as a specification.

Policy (Safety & Confidentiality, 2. Background Checks): "The following steps are taken for
each mentor before they are accepted into the program: Professional Verification … Personal
References … Interview Process … Criminal Background Check: [To be factored in]"

Truth table (`gaps()`): a required step is in force when its status is `passed` and its expiry
date, if any, is today or later in the program's time zone. A step that is absent, pending or
failed is `missing`; a passed step whose expiry date is before today is `expired-<date>`. The
required steps default to professional verification, personal references and interview; the
criminal background check is required only when `criminal_background_check` is on.

Decisions: a mentor in a proposed or active pairing gets one task per gap (none once an
override reason is on the pairing); a held session with an unvetted mentor raises one alert;
activating or proposing a pairing with an unvetted mentor is refused unless overridden.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from connector.domain import (
    Alert,
    Decision,
    Event,
    MeetingEnded,
    PairingStatusChanged,
    Priority,
    SessionLogged,
    Task,
    VettingChanged,
)
from rules.base import Context, PersonView, Refusal, Transition, VettingView
from rules.vetting_gate import VettingFacts, VettingGate, VettingParams, gaps
from tests.rules.views import (
    ELI,
    MAYA,
    MEETING_ID,
    MENTOR_ID,
    NOW,
    PAIRING_ID,
    context,
    meeting,
    pairing,
)

RULE = VettingGate()
DEFAULT = VettingParams()
WITH_CBC = VettingParams(criminal_background_check=True)

TODAY = NOW.date()  # 2026-11-02 in UTC, the views' default time zone
YESTERDAY = TODAY - timedelta(days=1)
TOMORROW = TODAY + timedelta(days=1)

PV, PR, IV, CBC = (
    "professional_verification",
    "personal_references",
    "interview",
    "criminal_background_check",
)
DEFAULT_STEPS = (PV, PR, IV)
MISSING = "missing"
EXPIRED_YESTERDAY = f"expired-{YESTERDAY.isoformat()}"


def step(name: str, status: str = "passed", expires_on: date | None = None) -> VettingView:
    return VettingView(name, status, completed_on=date(2026, 1, 5), expires_on=expires_on)


def mentor(*vetting: VettingView, base: PersonView = MAYA) -> PersonView:
    return dataclasses.replace(base, vetting=vetting)


def vetted_except(name: str, replacement: VettingView | None) -> PersonView:
    """A mentor with every default step passed, except `name`, replaced (None: absent)."""
    steps = [step(s) for s in DEFAULT_STEPS if s != name]
    if replacement is not None:
        steps.append(replacement)
    return mentor(*steps)


VETTED = mentor(*(step(s) for s in DEFAULT_STEPS))
UNVETTED = mentor()  # no step on record at all
NO_INTERVIEW = vetted_except(IV, None)
INTERVIEW_EXPIRED = vetted_except(IV, step(IV, expires_on=YESTERDAY))


# --------------------------------------------------------------------------- gaps()


@dataclass(frozen=True)
class GapRow:
    id: str
    mentor: PersonView
    params: VettingParams
    gaps: list[tuple[str, str]]


def _per_step_rows() -> list[GapRow]:
    rows = []
    for name in DEFAULT_STEPS:
        rows += [
            GapRow(f"{name}-absent", vetted_except(name, None), DEFAULT, [(name, MISSING)]),
            GapRow(
                f"{name}-pending",
                vetted_except(name, step(name, "pending")),
                DEFAULT,
                [(name, MISSING)],
            ),
            GapRow(
                f"{name}-failed",
                vetted_except(name, step(name, "failed")),
                DEFAULT,
                [(name, MISSING)],
            ),
            GapRow(
                f"{name}-passed-expired-yesterday",
                vetted_except(name, step(name, expires_on=YESTERDAY)),
                DEFAULT,
                [(name, EXPIRED_YESTERDAY)],
            ),
            GapRow(
                f"{name}-passed-expires-today-still-in-force",
                vetted_except(name, step(name, expires_on=TODAY)),
                DEFAULT,
                [],
            ),
            GapRow(
                f"{name}-passed-expires-tomorrow",
                vetted_except(name, step(name, expires_on=TOMORROW)),
                DEFAULT,
                [],
            ),
        ]
    return rows


GAP_TABLE = [
    GapRow("all-default-steps-passed", VETTED, DEFAULT, []),
    GapRow("nothing-on-record", UNVETTED, DEFAULT, [(s, MISSING) for s in DEFAULT_STEPS]),
    *_per_step_rows(),
    GapRow(
        "failed-with-a-future-expiry-is-still-missing",
        vetted_except(IV, step(IV, "failed", expires_on=TOMORROW)),
        DEFAULT,
        [(IV, MISSING)],
    ),
    GapRow(
        "pending-with-a-past-expiry-is-missing-not-expired",
        vetted_except(IV, step(IV, "pending", expires_on=YESTERDAY)),
        DEFAULT,
        [(IV, MISSING)],
    ),
    GapRow("background-check-off-not-required", VETTED, DEFAULT, []),
    GapRow(
        "background-check-off-failed-one-is-ignored",
        mentor(*VETTED.vetting, step(CBC, "failed")),
        DEFAULT,
        [],
    ),
    GapRow("background-check-on-absent", VETTED, WITH_CBC, [(CBC, MISSING)]),
    GapRow(
        "background-check-on-pending",
        mentor(*VETTED.vetting, step(CBC, "pending")),
        WITH_CBC,
        [(CBC, MISSING)],
    ),
    GapRow(
        "background-check-on-expired",
        mentor(*VETTED.vetting, step(CBC, expires_on=YESTERDAY)),
        WITH_CBC,
        [(CBC, EXPIRED_YESTERDAY)],
    ),
    GapRow("background-check-on-passed", mentor(*VETTED.vetting, step(CBC)), WITH_CBC, []),
    GapRow(
        "background-check-on-nothing-on-record-in-policy-order",
        UNVETTED,
        WITH_CBC,
        [(PV, MISSING), (PR, MISSING), (IV, MISSING), (CBC, MISSING)],
    ),
    GapRow(
        "custom-steps-only-interview",
        mentor(step(IV)),
        VettingParams(required_steps=(IV,)),
        [],
    ),
    GapRow(
        "custom-steps-extra-training-missing",
        VETTED,
        VettingParams(required_steps=(*DEFAULT_STEPS, "safeguarding_training")),
        [("safeguarding_training", MISSING)],
    ),
    GapRow(
        "custom-steps-name-the-background-check-once",
        UNVETTED,
        VettingParams(required_steps=(CBC,), criminal_background_check=True),
        [(CBC, MISSING)],
    ),
    GapRow(
        "custom-steps-may-require-the-background-check-with-the-flag-off",
        UNVETTED,
        VettingParams(required_steps=(CBC,)),
        [(CBC, MISSING)],
    ),
]


@pytest.mark.parametrize("row", GAP_TABLE, ids=lambda row: row.id)
def test_gaps_truth_table(row: GapRow) -> None:
    assert gaps(row.mentor, TODAY, row.params) == row.gaps


# --------------------------------------------------------------------------- "today" by zone

# 02:00 UTC on 3 November is still 2 November (21:00) in New York; 16:00 UTC on 2 November is
# already 3 November (01:00) in Tokyo. A step expiring on 2 November is in force through it.
EXPIRES = date(2026, 11, 2)


@dataclass(frozen=True)
class ZoneRow:
    id: str
    now: datetime
    timezone: str
    gaps: list[tuple[str, str]]


ZONE_TABLE = [
    ZoneRow(
        "after-utc-midnight-in-new-york-expires-today",
        datetime(2026, 11, 3, 2, 0, tzinfo=UTC),
        "America/New_York",
        [],
    ),
    ZoneRow(
        "after-utc-midnight-in-utc-expired-yesterday",
        datetime(2026, 11, 3, 2, 0, tzinfo=UTC),
        "UTC",
        [(IV, "expired-2026-11-02")],
    ),
    ZoneRow(
        "before-utc-midnight-in-utc-expires-today",
        datetime(2026, 11, 2, 16, 0, tzinfo=UTC),
        "UTC",
        [],
    ),
    ZoneRow(
        "before-utc-midnight-in-tokyo-expired-yesterday",
        datetime(2026, 11, 2, 16, 0, tzinfo=UTC),
        "Asia/Tokyo",
        [(IV, "expired-2026-11-02")],
    ),
]

ZONE_MENTOR = vetted_except(IV, step(IV, expires_on=EXPIRES))


@pytest.mark.parametrize("row", ZONE_TABLE, ids=lambda row: row.id)
def test_today_is_the_programs_date(row: ZoneRow) -> None:
    ctx = context(
        now=row.now, timezone=row.timezone, pairing=pairing(mentor=ZONE_MENTOR, status="active")
    )
    keys = [f"vetting-gate:person:{MENTOR_ID}:{s}:{state}" for s, state in row.gaps]

    assert [d.key for d in RULE.decide(VettingFacts(ZONE_MENTOR), ctx, DEFAULT)] == keys
    changed = PairingStatusChanged(PAIRING_ID, "proposed", "active")
    assert [d.key for d in RULE.evaluate(changed, ctx, DEFAULT)] == keys
    refusal = RULE.gate(Transition("proposed", "active"), ctx, DEFAULT)
    assert (refusal is None) == (row.gaps == [])


# --------------------------------------------------------------------------- evaluate()

STARTED = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
ENDED = MeetingEnded(
    platform="zoom",
    meeting_id="81234567890",
    instance_uuid="uuid-42==",
    started_at=STARTED,
    ended_at=STARTED + timedelta(minutes=45),
)
LOGGED = SessionLogged(
    platform="in_person",
    pairing_id=PAIRING_ID,
    meeting_id=MEETING_ID,
    started_at=STARTED,
    ended_at=STARTED + timedelta(minutes=45),
)
VETTING_CHANGED = VettingChanged(person_id=MENTOR_ID)


def changed(status_from: str | None, status_to: str) -> PairingStatusChanged:
    return PairingStatusChanged(PAIRING_ID, status_from, status_to)


def in_pairing(status: str, who: PersonView, **overrides: Any) -> dict[str, Any]:
    return {"pairing": pairing(status=status, mentor=who, **overrides)}


def task_key(name: str, state: str = MISSING) -> str:
    return f"vetting-gate:person:{MENTOR_ID}:{name}:{state}"


MEETING_KEY = f"vetting-gate:meeting:{MEETING_ID}"
ALL_MISSING: list[tuple[type[Decision], str]] = [(Task, task_key(s)) for s in DEFAULT_STEPS]
OVERRIDE = "Vetted by the partner charity; papers on file"


@dataclass(frozen=True)
class Row:
    id: str
    event: Event
    ctx: dict[str, Any]  # Context fields beyond now and policy_version
    decisions: list[tuple[type[Decision], str]]  # (type, key), in order
    pairing_id: int | None = PAIRING_ID


TRUTH_TABLE = [
    Row(
        "proposed-unvetted",
        changed(None, "proposed"),
        in_pairing("proposed", UNVETTED),
        ALL_MISSING,
    ),
    Row(
        "activated-unvetted",
        changed("proposed", "active"),
        in_pairing("active", UNVETTED),
        ALL_MISSING,
    ),
    Row(
        "activated-one-step-missing",
        changed("proposed", "active"),
        in_pairing("active", NO_INTERVIEW),
        [(Task, task_key(IV))],
    ),
    Row(
        "activated-one-step-expired-a-renewal-is-a-new-key",
        changed("proposed", "active"),
        in_pairing("active", INTERVIEW_EXPIRED),
        [(Task, task_key(IV, EXPIRED_YESTERDAY))],
    ),
    Row("activated-vetted", changed("proposed", "active"), in_pairing("active", VETTED), []),
    Row(
        "activated-unvetted-with-override",
        changed("proposed", "active"),
        in_pairing("active", UNVETTED, vetting_override_reason=OVERRIDE),
        [],
    ),
    Row("closing-unvetted", changed("active", "closing"), in_pairing("closing", UNVETTED), []),
    Row("closed-unvetted", changed("closing", "closed"), in_pairing("closed", UNVETTED), []),
    Row(
        "vetting-changed-mentor-unvetted",
        VETTING_CHANGED,
        {"person": UNVETTED},
        ALL_MISSING,
        pairing_id=None,
    ),
    Row(
        "vetting-changed-mentor-vetted",
        VETTING_CHANGED,
        {"person": VETTED},
        [],
        pairing_id=None,
    ),
    Row(
        "vetting-changed-mentee",
        VettingChanged(person_id=ELI.id),
        {"person": ELI},
        [],
        pairing_id=None,
    ),
    Row("vetting-changed-no-person", VETTING_CHANGED, {}, [], pairing_id=None),
    Row(
        "held-meeting-unvetted-mentor",
        ENDED,
        {**in_pairing("active", NO_INTERVIEW), "meeting": meeting(held=True)},
        [(Alert, MEETING_KEY)],
    ),
    Row(
        "held-meeting-expired-step",
        ENDED,
        {**in_pairing("active", INTERVIEW_EXPIRED), "meeting": meeting(held=True)},
        [(Alert, MEETING_KEY)],
    ),
    Row(
        "logged-session-unvetted-mentor",
        LOGGED,
        {**in_pairing("active", UNVETTED), "meeting": meeting(held=True)},
        [(Alert, MEETING_KEY)],
    ),
    Row(
        "meeting-not-held",
        ENDED,
        {**in_pairing("active", UNVETTED), "meeting": meeting(held=False)},
        [],
    ),
    Row(
        "held-meeting-with-override",
        ENDED,
        {
            **in_pairing("active", UNVETTED, vetting_override_reason=OVERRIDE),
            "meeting": meeting(held=True),
        },
        [],
    ),
    Row(
        "held-meeting-vetted-mentor",
        ENDED,
        {**in_pairing("active", VETTED), "meeting": meeting(held=True)},
        [],
    ),
    Row("held-meeting-no-pairing", ENDED, {"meeting": meeting(held=True)}, []),
]


@pytest.mark.parametrize("row", TRUTH_TABLE, ids=lambda row: row.id)
def test_truth_table(row: Row) -> None:
    decisions = RULE.evaluate(row.event, context(**row.ctx), DEFAULT)

    assert [(type(d), d.key) for d in decisions] == row.decisions
    for decision in decisions:
        assert isinstance(decision, Task | Alert)
        assert decision.rule_id == "vetting-gate"
        assert decision.pairing_id == row.pairing_id
        assert decision.priority == Priority.HIGH
        assert (decision.audience, decision.confidential) == ("coordinator", False)
        assert decision.reason.endswith(f"Policy: {RULE.policy}")


def test_a_missing_step_task_says_complete_and_an_expired_one_says_renew() -> None:
    (missing,) = RULE.evaluate(
        changed("proposed", "active"), context(**in_pairing("active", NO_INTERVIEW)), DEFAULT
    )
    assert isinstance(missing, Task)
    assert missing.title == "Complete interview for Maya"
    assert missing.reason.startswith("Maya's interview is not passed yet. ")

    (expired,) = RULE.evaluate(
        changed("proposed", "active"), context(**in_pairing("active", INTERVIEW_EXPIRED)), DEFAULT
    )
    assert isinstance(expired, Task)
    assert expired.title == "Renew interview for Maya"
    assert expired.reason.startswith(f"Maya's interview is expired on {YESTERDAY.isoformat()}. ")


def test_the_meeting_alert_names_the_mentor_and_the_gaps() -> None:
    ctx = context(**in_pairing("active", INTERVIEW_EXPIRED), meeting=meeting(held=True))
    (alert,) = RULE.evaluate(ENDED, ctx, DEFAULT)
    assert isinstance(alert, Alert)
    assert alert.title == "Maya met a mentee before vetting was complete"
    assert alert.reason.startswith(
        f"Pairing P{PAIRING_ID} held a session while interview is expired on "
        f"{YESTERDAY.isoformat()}. "
    )


def test_the_background_check_is_tasked_when_switched_on() -> None:
    ctx = context(**in_pairing("active", VETTED))
    event = changed("proposed", "active")
    assert RULE.evaluate(event, ctx, DEFAULT) == []
    (task,) = RULE.evaluate(event, ctx, WITH_CBC)
    assert isinstance(task, Task)
    assert (task.key, task.title) == (task_key(CBC), "Complete criminal background check for Maya")


# --------------------------------------------------------------------------- decide()


@pytest.mark.parametrize(
    ("who", "keys"),
    [
        (UNVETTED, [task_key(s) for s in DEFAULT_STEPS]),
        (INTERVIEW_EXPIRED, [task_key(IV, EXPIRED_YESTERDAY)]),
        (VETTED, []),
        (mentor(base=ELI), []),
    ],
    ids=["unvetted-mentor", "expired-step", "vetted-mentor", "mentee-is-not-vetted"],
)
def test_decide_daily(who: PersonView, keys: list[str]) -> None:
    decisions = RULE.decide(VettingFacts(who), context(), DEFAULT)
    assert [(type(d), d.key) for d in decisions] == [(Task, k) for k in keys]
    assert all(d.pairing_id is None for d in decisions)


# --------------------------------------------------------------------------- gate()


def refused(status_to: str, gaps_text: str) -> str:
    article = "an" if status_to == "active" else "a"
    return (
        f"Maya cannot be in {article} {status_to} pairing yet: {gaps_text}. "
        "Complete the vetting, or give an override reason."
    )


ALL_THREE_TEXT = (
    "professional verification is not passed; personal references is not passed; "
    "interview is not passed"
)


@dataclass(frozen=True)
class GateRow:
    id: str
    transition: Transition
    who: PersonView
    message: str | None  # the refusal's message; None: allowed
    pairing_override: str | None = None


GATE_TABLE = [
    GateRow(
        "new-to-active-unvetted",
        Transition(None, "active"),
        UNVETTED,
        refused("active", ALL_THREE_TEXT),
    ),
    GateRow(
        "new-to-proposed-unvetted",
        Transition(None, "proposed"),
        UNVETTED,
        refused("proposed", ALL_THREE_TEXT),
    ),
    GateRow(
        "proposed-to-active-interview-missing",
        Transition("proposed", "active"),
        NO_INTERVIEW,
        refused("active", "interview is not passed"),
    ),
    GateRow(
        "proposed-to-active-interview-expired",
        Transition("proposed", "active"),
        INTERVIEW_EXPIRED,
        refused("active", f"interview is expired on {YESTERDAY.isoformat()}"),
    ),
    GateRow(
        "proposed-to-active-override-in-transition",
        Transition("proposed", "active", override_reason=OVERRIDE),
        UNVETTED,
        None,
    ),
    GateRow(
        "proposed-to-active-override-on-pairing",
        Transition("proposed", "active"),
        UNVETTED,
        None,
        pairing_override=OVERRIDE,
    ),
    GateRow("proposed-to-active-vetted", Transition("proposed", "active"), VETTED, None),
    GateRow("new-to-active-vetted", Transition(None, "active"), VETTED, None),
    GateRow("active-to-closing-unvetted", Transition("active", "closing"), UNVETTED, None),
    GateRow("closing-to-closed-unvetted", Transition("closing", "closed"), UNVETTED, None),
    GateRow("active-to-closed-unvetted", Transition("active", "closed"), UNVETTED, None),
]


@pytest.mark.parametrize("row", GATE_TABLE, ids=lambda row: row.id)
def test_gate_truth_table(row: GateRow) -> None:
    ctx = context(
        pairing=pairing(
            status=row.transition.status_from or "proposed",
            mentor=row.who,
            vetting_override_reason=row.pairing_override,
        )
    )
    refusal = RULE.gate(row.transition, ctx, DEFAULT)

    if row.message is None:
        assert refusal is None
        return
    assert refusal == Refusal("vetting-gate", row.message)
    assert "override reason" in refusal.message


def test_gate_without_a_pairing_allows() -> None:
    assert RULE.gate(Transition(None, "active"), context(), DEFAULT) is None


def test_gate_names_the_background_check_when_switched_on() -> None:
    ctx: Context = context(pairing=pairing(status="proposed", mentor=VETTED))
    assert RULE.gate(Transition("proposed", "active"), ctx, DEFAULT) is None
    refusal = RULE.gate(Transition("proposed", "active"), ctx, WITH_CBC)
    assert refusal == Refusal(
        "vetting-gate", refused("active", "criminal background check is not passed")
    )
