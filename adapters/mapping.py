"""Vendor records to domain values, through the admin's field mapping.

Every host adapter reads raw records (a Salesforce row, a HubSpot object's `properties`, an
EspoCRM entity) and hands each to `to_domain()` with the stream's `StreamMapping`; the sync
engine then only ever sees domain fields. `check_mapping()` is what `check-config` reports.

The domain fields of each stream are the table below; `vetting.<step>.<part>` names a
vetting step of the program (e.g. `vetting.interview.status`) and `meeting.<platform>` the
video meeting id a pairing meets in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from adapters.base import HostRecord, StreamMapping
from connector.domain import MeetingKind, PairingStatus, PersonStatus, Role


@dataclass(frozen=True)
class DomainField:
    """One domain field of a stream: how its value is read, and whether a mapping needs it."""

    kind: str  # text | date | datetime | bool | one of the enum names below
    required: bool = False


_ENUMS: dict[str, frozenset[str]] = {
    "role": frozenset(r.value for r in Role),
    "person_status": frozenset(s.value for s in PersonStatus),
    "pairing_status": frozenset(s.value for s in PairingStatus),
    "vetting_status": frozenset({"pending", "passed", "failed"}),
    "meeting_kind": frozenset(k.value for k in MeetingKind),
}

DOMAIN_FIELDS: dict[str, dict[str, DomainField]] = {
    "people": {
        "role": DomainField("role", required=True),
        "name": DomainField("text", required=True),
        "status": DomainField("person_status"),
        "email": DomainField("text"),
        "phone": DomainField("text"),
    },
    "pairings": {
        "mentor": DomainField("text", required=True),  # the mentor's record id in the host
        "mentee": DomainField("text", required=True),
        "status": DomainField("pairing_status", required=True),
        "started_on": DomainField("date"),
        "ended_on": DomainField("date"),
        "mentor_consent": DomainField("bool"),
        "mentee_consent": DomainField("bool"),
        "mentor_consent_at": DomainField("datetime"),
        "mentee_consent_at": DomainField("datetime"),
        "extenuating_circumstances": DomainField("text"),
    },
    "sessions": {
        "pairing": DomainField("text", required=True),  # the pairing's record id in the host
        "started_at": DomainField("datetime", required=True),
        "ended_at": DomainField("datetime", required=True),
        "kind": DomainField("meeting_kind"),
        "held": DomainField("bool"),
    },
}

# Open-ended families of domain fields: a program names its own vetting steps and platforms.
_PATTERNS: dict[str, list[tuple[re.Pattern[str], DomainField]]] = {
    "people": [
        (re.compile(r"vetting\.[a-z][a-z0-9_]{0,63}\.status"), DomainField("vetting_status")),
        (re.compile(r"vetting\.[a-z][a-z0-9_]{0,63}\.completed_on"), DomainField("date")),
        (re.compile(r"vetting\.[a-z][a-z0-9_]{0,63}\.expires_on"), DomainField("date")),
    ],
    "pairings": [(re.compile(r"meeting\.(zoom|teams|meet)"), DomainField("text"))],
    "sessions": [],
}


def domain_field(stream: str, name: str) -> DomainField | None:
    """The domain field `name` of `stream`, or None when there is no such field."""
    known = DOMAIN_FIELDS.get(stream, {}).get(name)
    if known is not None:
        return known
    for pattern, spec in _PATTERNS.get(stream, []):
        if pattern.fullmatch(name):
            return spec
    return None


def check_mapping(stream: str, mapping: StreamMapping) -> list[str]:
    """Every problem with one stream's mapping, as `field: message` lines (empty when sound)."""
    if stream not in DOMAIN_FIELDS:
        return [f"{stream}: unknown stream (known: {', '.join(DOMAIN_FIELDS)})"]
    problems = [
        f"{stream}.fields.{name}: required"
        for name, spec in DOMAIN_FIELDS[stream].items()
        if spec.required and not mapping.fields.get(name)
    ]
    problems += [
        f"{stream}.fields.{name}: not a domain field of {stream}"
        for name in mapping.fields
        if domain_field(stream, name) is None
    ]
    for name, table in mapping.values.items():
        spec = domain_field(stream, name)
        if spec is None or name not in mapping.fields:
            problems.append(f"{stream}.values.{name}: no such mapped field")
            continue
        allowed = _ENUMS.get(spec.kind) or (
            frozenset({"true", "false"}) if spec.kind == "bool" else None
        )
        if allowed is None:
            continue
        problems += [
            f"{stream}.values.{name}: {vendor!r} maps to {value!r}, not one of {sorted(allowed)}"
            for vendor, value in table.items()
            if str(value).lower() not in allowed
        ]
    return problems


class MappingProblem(ValueError):
    """A vendor value that the mapping cannot turn into the domain field's type."""


def to_domain(
    stream: str,
    mapping: StreamMapping,
    raw: Mapping[str, Any],
    *,
    external_id: str,
    modified_at: datetime,
) -> tuple[HostRecord, list[str]]:
    """The domain record for one raw vendor record, and the fields that could not be read.

    A field the vendor left empty is None; a field whose value cannot be read is left out
    (and named in the problems) so one bad picklist value does not stop a whole sync.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, vendor_field in mapping.fields.items():
        if vendor_field not in raw:
            continue
        spec = domain_field(stream, name)
        if spec is None:
            continue
        try:
            values[name] = _read(spec, raw[vendor_field], mapping.values.get(name))
        except MappingProblem as exc:
            problems.append(f"{stream}.{name} ({vendor_field}): {exc}")
    record = HostRecord(stream, external_id, modified_at, values)
    return record, problems


def _read(spec: DomainField, value: Any, table: Mapping[str, str] | None) -> Any:
    if value is None or value == "":
        return None
    if table is not None:
        key = str(value).lower() if isinstance(value, bool) else str(value)
        if key not in table:
            raise MappingProblem(f"value {key!r} is not in the mapping's values table")
        value = table[key]
    reader = _READERS.get(spec.kind)
    if reader is not None:
        return reader(value)
    allowed = _ENUMS[spec.kind]
    text = str(value).strip().lower()
    if text not in allowed:
        raise MappingProblem(f"value {text!r} is not one of {sorted(allowed)}")
    return text


def parse_datetime(value: Any) -> datetime:
    """A vendor timestamp as an aware UTC datetime.

    Salesforce: `2026-11-01T10:00:00.000+0000`; HubSpot: ISO 8601 or epoch milliseconds;
    EspoCRM: `2026-11-21 16:39:30`, always UTC.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        parsed = datetime.fromtimestamp(int(value) / 1000, UTC)
    elif isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)  # Salesforce's +0000
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise MappingProblem(f"not a timestamp: {value!r}") from exc
    else:
        raise MappingProblem(f"not a timestamp: {value!r}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(text)
    except ValueError as exc:
        raise MappingProblem(f"not a date: {value!r}") from exc


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise MappingProblem(f"not a yes/no value: {value!r}")


def _text(value: Any) -> str:
    return str(value).strip()


_READERS: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "date": _date,
    "datetime": parse_datetime,
    "bool": _bool,
}
