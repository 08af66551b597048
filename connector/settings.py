"""Settings: one TOML file, validated once at start, every error reported together, then frozen.

Secrets are never values in the file, only references such as `"env:ZOOM_WEBHOOK_SECRET"`;
they load as `Secret` objects whose `repr` is masked, so they cannot leak into a log line.
With no file at all the embedded default applies: SQLite under `./var/`, the `local` host
and the in-process runner.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, post_load, validate, validates, validates_schema
from marshmallow import fields as mf

from connector.config_fields import ENV, LENIENT, Secret, SecretField, Section
from connector.hosts import HostSchema, HostSettings, WebhooksSchema
from connector.video_settings import MeetSettings, TeamsSettings, VideoSchema, ZoomSettings
from rules import RULES_BY_ID


class ConfigError(Exception):
    """The configuration is invalid; `errors` holds one `key.path: message` line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("invalid configuration:\n  " + "\n  ".join(errors))
        self.errors = errors


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class ConnectorSettings:
    database_url: str = "sqlite:///var/connector.db"
    public_url: str = "http://127.0.0.1:8000"
    secret_key: Secret | None = None
    timezone: str = "UTC"
    log_level: str = "INFO"


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    threads: int = 4
    access_log: bool = False  # the app logs every webhook with its outcome already
    proxy_hops: int = 0  # trusted proxies in front that set X-Forwarded-For/-Proto/-Host


@dataclass(frozen=True)
class AdminSettings:
    tokens: tuple[Secret, ...] = ()
    coordinator_tokens: tuple[Secret, ...] = ()
    safeguarding_tokens: tuple[Secret, ...] = ()


@dataclass(frozen=True)
class RunnerSettings:
    enabled: bool = True
    poll_interval_seconds: float = 0.5
    batch_size: int = 50
    max_attempts: int = 5


@dataclass(frozen=True)
class OutboxSettings:
    max_attempts: int = 8
    backoff_initial_seconds: float = 2.0
    backoff_max_seconds: float = 3600.0
    lease_seconds: float = 60.0


@dataclass(frozen=True)
class SchedulerSettings:
    enabled: bool = True
    checks_at_hour: int = 6  # daily, in the program's time zone ([connector] timezone)


@dataclass(frozen=True)
class PolicySettings:
    policy_version: str = "2025-01"
    approved_platforms: tuple[str, ...] = ("zoom", "teams", "meet")
    in_person_allowed: bool = True


@dataclass(frozen=True)
class FormsSettings:
    # Origins allowed to show the pages in a frame (CSP frame-ancestors), e.g. the CRM's.
    frame_ancestors: tuple[str, ...] = ("'self'",)
    link_ttl_days: int = 14  # how long a signed link sent to a person stays valid
    concern_link_ttl_days: int = 90  # signed concern-report links live longer


@dataclass(frozen=True)
class SmtpSettings:
    """`[notify.smtp]`: e-mail each party their form link (connector/notify.py)."""

    enabled: bool = False
    host: str = "localhost"
    port: int = 587
    from_address: str | None = None  # required when enabled
    username: Secret | None = None  # with password: log in (after STARTTLS when it is on)
    password: Secret | None = None
    starttls: bool = True
    timeout: float = 30.0  # seconds, for the connection and each command


@dataclass(frozen=True)
class RuleSettings:
    enabled: bool = True
    params: Any = None  # the rule's own Params dataclass
    reason: str | None = None  # required when a rule is switched off for the whole program


@dataclass(frozen=True)
class Settings:
    connector: ConnectorSettings = ConnectorSettings()
    server: ServerSettings = ServerSettings()
    admin: AdminSettings = AdminSettings()
    runner: RunnerSettings = RunnerSettings()
    outbox: OutboxSettings = OutboxSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    host: HostSettings = field(default_factory=HostSettings)
    webhooks: Mapping[str, Any] = field(default_factory=dict)  # by host, [webhooks.<host>]
    zoom: ZoomSettings = field(default_factory=ZoomSettings)
    teams: TeamsSettings = field(default_factory=TeamsSettings)
    meet: MeetSettings = field(default_factory=MeetSettings)
    policy: PolicySettings = PolicySettings()
    forms: FormsSettings = FormsSettings()
    smtp: SmtpSettings = SmtpSettings()  # [notify.smtp]
    rules: Mapping[str, RuleSettings] = field(default_factory=dict)
    source: str = "embedded default"

    def rule(self, rule_id: str) -> RuleSettings:
        rule = RULES_BY_ID[rule_id]
        return self.rules.get(rule_id) or RuleSettings(params=rule.Params())


# --------------------------------------------------------------------------- schemas


class ConnectorSchema(Section):
    target = ConnectorSettings
    database_url = mf.String(validate=validate.Regexp(r"^(sqlite|postgresql)(\+\w+)?://"))
    public_url = mf.Url(require_tld=False)
    secret_key = SecretField()
    timezone = mf.String()
    log_level = mf.String(validate=validate.OneOf(["DEBUG", "INFO", "WARNING", "ERROR"]))

    @validates("timezone")
    def _known_zone(self, value: str, **_: Any) -> None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(f"unknown time zone {value!r}") from exc


class ServerSchema(Section):
    target = ServerSettings
    host = mf.String()
    port = mf.Integer(strict=True, validate=validate.Range(1, 65535))
    workers = mf.Integer(strict=True, validate=validate.Range(1, 64))
    threads = mf.Integer(strict=True, validate=validate.Range(1, 256))
    access_log = mf.Boolean(truthy={True}, falsy={False})
    proxy_hops = mf.Integer(strict=True, validate=validate.Range(0, 5))


class AdminSchema(Section):
    target = AdminSettings
    tokens = mf.List(SecretField())
    coordinator_tokens = mf.List(SecretField())
    safeguarding_tokens = mf.List(SecretField())

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Any:
        return AdminSettings(**{k: tuple(s for s in v if s is not None) for k, v in data.items()})


class RunnerSchema(Section):
    target = RunnerSettings
    enabled = mf.Boolean(truthy={True}, falsy={False})
    poll_interval_seconds = mf.Float(validate=validate.Range(0.01, 60))
    batch_size = mf.Integer(strict=True, validate=validate.Range(1, 10_000))
    max_attempts = mf.Integer(strict=True, validate=validate.Range(1, 100))


class OutboxSchema(Section):
    target = OutboxSettings
    max_attempts = mf.Integer(strict=True, validate=validate.Range(1, 100))
    backoff_initial_seconds = mf.Float(validate=validate.Range(0.01, 3600))
    backoff_max_seconds = mf.Float(validate=validate.Range(1, 86_400))
    lease_seconds = mf.Float(validate=validate.Range(1, 3600))


class SchedulerSchema(Section):
    target = SchedulerSettings
    enabled = mf.Boolean(truthy={True}, falsy={False})
    checks_at_hour = mf.Integer(strict=True, validate=validate.Range(0, 23))


class PolicySchema(Section):
    target = PolicySettings
    policy_version = mf.String(validate=validate.Length(1, 32))
    approved_platforms = mf.List(
        mf.String(validate=validate.OneOf(["zoom", "teams", "meet", "in_person"]))
    )
    in_person_allowed = mf.Boolean(truthy={True}, falsy={False})

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Any:
        if "approved_platforms" in data:
            data["approved_platforms"] = tuple(data["approved_platforms"])
        return PolicySettings(**data)


_ORIGIN = r"^('self'|'none'|https?://[A-Za-z0-9.*-]+(:[0-9]{1,5})?)$"


class FormsSchema(Section):
    target = FormsSettings
    frame_ancestors = mf.List(
        mf.String(validate=validate.Regexp(_ORIGIN, error="must be 'self', 'none' or an origin"))
    )
    link_ttl_days = mf.Integer(strict=True, validate=validate.Range(1, 365))
    concern_link_ttl_days = mf.Integer(strict=True, validate=validate.Range(1, 3650))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Any:
        if "frame_ancestors" in data:
            data["frame_ancestors"] = tuple(data["frame_ancestors"])
        return FormsSettings(**data)


class SmtpSchema(Section):
    target = SmtpSettings
    enabled = mf.Boolean(truthy={True}, falsy={False})
    host = mf.String(validate=validate.Regexp(r"^[A-Za-z0-9.:\[\]-]{1,253}\Z"))
    port = mf.Integer(strict=True, validate=validate.Range(1, 65535))
    from_address = mf.Email()
    username = SecretField()
    password = SecretField()
    starttls = mf.Boolean(truthy={True}, falsy={False})
    timeout = mf.Float(validate=validate.Range(1, 300))

    @validates_schema
    def _complete(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("enabled") and not data.get("from_address"):
            raise ValidationError("required when enabled = true", "from_address")
        if bool(data.get("username")) != bool(data.get("password")):
            raise ValidationError("username and password go together", "password")


class NotifySchema(Schema):
    smtp = mf.Nested(SmtpSchema)


class RulesField(mf.Field[dict[str, RuleSettings]]):
    """`[rules.<id>]` tables: a known rule id, `enabled`, and that rule's own parameters."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError("must be a table of rule ids")
        errors: dict[str, Any] = {}
        result: dict[str, RuleSettings] = {}
        for rule_id, table in value.items():
            rule = RULES_BY_ID.get(rule_id)
            if rule is None:
                errors[rule_id] = [f"unknown rule; known: {', '.join(sorted(RULES_BY_ID))}"]
                continue
            try:
                result[rule_id] = _rule_settings(rule.Params, table)
            except ValidationError as exc:
                errors[rule_id] = exc.messages
        if errors:
            raise ValidationError(errors)
        return result


def _rule_settings(params_cls: type[Any], table: Any) -> RuleSettings:
    if not isinstance(table, dict):
        raise ValidationError("must be a table")
    table = dict(table)
    enabled = table.pop("enabled", True)
    reason = table.pop("reason", None)
    errors: dict[str, list[str]] = {}
    if not isinstance(enabled, bool):
        errors["enabled"] = ["must be true or false"]
    if reason is not None and (not isinstance(reason, str) or not reason.strip()):
        errors["reason"] = ["must be a non-empty text"]
    elif enabled is False and reason is None:
        errors["reason"] = ["a rule is switched off only with a written reason"]
    known = {f.name: f for f in fields(params_cls)} if is_dataclass(params_cls) else {}
    for key, val in table.items():
        default = getattr(params_cls(), key, None)
        if key not in known:
            errors[key] = ["unknown parameter"]
            continue
        if isinstance(default, tuple) and isinstance(val, list):  # TOML arrays are lists
            val = table[key] = tuple(val)
            same = all(isinstance(v, type(d)) for v in val for d in default[:1])
            if not same:
                errors[key] = [f"must be a list like the default {list(default)!r}"]
        elif type(val) is not type(default):
            errors[key] = [f"must be {type(default).__name__}, like the default {default!r}"]
    if errors:
        raise ValidationError(errors)
    try:
        params = params_cls(**table)
    except ValueError as exc:  # a Params dataclass checking its own values
        raise ValidationError(str(exc)) from exc
    return RuleSettings(enabled=enabled, params=params, reason=reason)


class SettingsSchema(Schema):
    connector = mf.Nested(ConnectorSchema)
    server = mf.Nested(ServerSchema)
    admin = mf.Nested(AdminSchema)
    runner = mf.Nested(RunnerSchema)
    outbox = mf.Nested(OutboxSchema)
    scheduler = mf.Nested(SchedulerSchema)
    host = mf.Nested(HostSchema)
    webhooks = mf.Nested(WebhooksSchema)
    video = mf.Nested(VideoSchema)
    policy = mf.Nested(PolicySchema)
    forms = mf.Nested(FormsSchema)
    notify = mf.Nested(NotifySchema)
    rules = RulesField()


# --------------------------------------------------------------------------- loading

EMBEDDED_DEFAULT = """
[admin]
tokens = ["env:CONNECTOR_ADMIN_TOKEN"]
[video.zoom]
webhook_secret = "env:ZOOM_WEBHOOK_SECRET"
"""


def load_settings(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Load and validate `path` (or `$CONNECTOR_CONFIG`, or the embedded default)."""
    env = os.environ if env is None else env
    path = path or env.get("CONNECTOR_CONFIG") or None
    if path is None:
        return parse_settings(tomllib.loads(EMBEDDED_DEFAULT), env, "embedded default", True)
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc})"]) from exc
    return parse_settings(document, env, str(path))


def parse_settings(
    document: Mapping[str, Any], env: Mapping[str, str], source: str, lenient: bool = False
) -> Settings:
    """Validate a parsed TOML document; secrets missing from `env` are errors unless lenient."""
    env_token, lenient_token = ENV.set(env), LENIENT.set(lenient)
    try:
        data = SettingsSchema().load(document)
    except ValidationError as exc:
        raise ConfigError(_flatten(exc.messages)) from exc
    finally:
        ENV.reset(env_token)
        LENIENT.reset(lenient_token)
    video = data.pop("video", {})
    notify = data.pop("notify", {})
    return Settings(
        **data,
        smtp=notify.get("smtp", SmtpSettings()),
        zoom=video.get("zoom", ZoomSettings()),
        teams=video.get("teams", TeamsSettings()),
        meet=video.get("meet", MeetSettings()),
        source=source,
    )


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if value == ["Unknown field."]:
                out.append(f"{path}: unknown key")
            else:
                out.extend(_flatten(value, path))
        return out
    if isinstance(messages, list):
        return [
            f"{prefix}: {m}" if isinstance(m, str) else _flatten(m, prefix)[0] for m in messages
        ]
    return [f"{prefix}: {messages}"]


def masked(settings: Settings) -> dict[str, Any]:
    """The resolved settings as plain data with every secret shown as its reference."""

    def render(value: Any) -> Any:
        if isinstance(value, Secret):
            return f"{value.ref} (set, ****)"
        if is_dataclass(value) and not isinstance(value, type):
            return {f.name: render(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, Mapping):
            return {k: render(v) for k, v in value.items()}
        if isinstance(value, tuple | list):
            return [render(v) for v in value]
        return value

    return {k: v for k, v in render(settings).items() if k != "source"}
