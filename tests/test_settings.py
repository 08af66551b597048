"""Settings: one TOML file, every error at once with its key path, secrets only by reference,
and an example file that documents every key with its real default.

The example is checked against the code in both directions: every key it shows holds the
default of its dataclass, and every field of every settings dataclass and of every rule's
`Params` is shown (a new key fails here until it is documented in config.example.toml).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from pathlib import Path
from typing import Any

import pytest

from connector.hosts import HOST_ADAPTERS
from connector.settings import (
    ConfigError,
    RuleSettings,
    Secret,
    Settings,
    load_settings,
    masked,
    parse_settings,
)
from rules import ALL_RULES, RULES_BY_ID

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"
EXAMPLE_ENV = {  # every variable the example references, with values easy to spot in text
    "CONNECTOR_SECRET_KEY": "s3cret-key-VALUE-0001",
    "CONNECTOR_ADMIN_TOKEN": "s3cret-admin-VALUE-0002",
    "ZOOM_WEBHOOK_SECRET": "s3cret-zoom-VALUE-0003",
    "ZOOM_CLIENT_SECRET": "s3cret-client-VALUE-0004",  # only in a commented-out line
    "TEAMS_CLIENT_STATE": "s3cret-state-VALUE-0005",
    "TEAMS_CLIENT_SECRET": "s3cret-teams-VALUE-0006",  # only in a commented-out line
    "HUBSPOT_ACCESS_TOKEN": "s3cret-hubspot-VALUE-0007",
    "HUBSPOT_CLIENT_SECRET": "s3cret-hubspot-VALUE-0008",
    "ESPOCRM_API_KEY": "s3cret-espocrm-VALUE-0009",
    "ESPOCRM_HOOK_CONTACT_UPDATE": "s3cret-espohook-VALUE-0010",
    "ESPOCRM_HOOK_PAIRING_DELETE": "s3cret-espohook-VALUE-0011",
    "SALESFORCE_CLIENT_SECRET": "s3cret-salesforce-VALUE-0012",
    "SALESFORCE_WEBHOOK_SECRET": "s3cret-salesforce-VALUE-0013",
    "SMTP_USERNAME": "s3cret-smtp-user-VALUE-0014",  # only in a commented-out line
    "SMTP_PASSWORD": "s3cret-smtp-VALUE-0015",  # only in a commented-out line
}
TABLES = {
    "zoom": "video.zoom",
    "teams": "video.teams",
    "meet": "video.meet",
    "smtp": "notify.smtp",
}  # Settings attribute -> its TOML table, where they differ
NOT_A_SECTION = {"rules", "source", "webhooks"}  # checked rule by rule; no key; per host
HEADER = re.compile(r"^\[([^\]]+)\]\s*(#.*)?$")
COMMENTED_KEY = re.compile(r"^# ([a-z_]+) = (.+)$")  # an optional key with no default


# --------------------------------------------------------------------------- helpers


def example_text(*, uncommented: bool = False) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    if uncommented:
        text = "\n".join(
            line[2:] if COMMENTED_KEY.match(line) else line for line in text.splitlines()
        )
    return text


def documented_keys() -> dict[str, set[str]]:
    """TOML table -> its keys, the set ones and the optional ones shown commented out."""
    keys: dict[str, set[str]] = {}
    table = ""
    for line in example_text(uncommented=True).splitlines():
        if header := HEADER.match(line):
            table = header.group(1)
            keys.setdefault(table, set())
        elif (key := re.match(r"^([a-z_]+) = ", line)) and table:
            keys[table].add(key.group(1))
    return keys


def commented_out() -> list[tuple[str, str]]:
    """(table, key) of each optional key written as `# key = value`."""
    found, table = [], ""
    for line in example_text().splitlines():
        if header := HEADER.match(line):
            table = header.group(1)
        elif match := COMMENTED_KEY.match(line):
            found.append((table, match.group(1)))
    return found


def sections() -> list[tuple[str, str]]:
    """(Settings attribute, TOML table) for every section of `Settings`, walked, not listed."""
    return [
        (f.name, TABLES.get(f.name, f.name))
        for f in dataclasses.fields(Settings)
        if f.name not in NOT_A_SECTION
    ]


def section_class(attribute: str) -> type[Any]:
    cls = typing.get_type_hints(Settings)[attribute]
    assert dataclasses.is_dataclass(cls), f"Settings.{attribute} is not a section dataclass"
    return cls


def is_secret(cls: type[Any], name: str) -> bool:
    hint = typing.get_type_hints(cls)[name]
    return Secret in typing.get_args(hint) or hint is Secret


def secrets_in(value: Any) -> list[Secret]:
    if isinstance(value, Secret):
        return [value]
    return [s for v in value for s in secrets_in(v)] if isinstance(value, tuple) else []


def merge(into: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value
    return into


# --------------------------------------------------------------------------- the example


def test_the_example_loads_with_the_variables_it_references() -> None:
    settings = load_settings(EXAMPLE, env=EXAMPLE_ENV)
    assert settings.source == str(EXAMPLE)
    assert settings.connector.secret_key == Secret(
        "env:CONNECTOR_SECRET_KEY", "s3cret-key-VALUE-0001"
    )
    assert settings.admin.tokens == (
        Secret("env:CONNECTOR_ADMIN_TOKEN", "s3cret-admin-VALUE-0002"),
    )
    assert settings.zoom.webhook_secret == Secret(
        "env:ZOOM_WEBHOOK_SECRET", "s3cret-zoom-VALUE-0003"
    )


def test_the_example_with_its_optional_keys_switched_on_loads_too() -> None:
    document = tomllib.loads(example_text(uncommented=True))
    settings = parse_settings(document, EXAMPLE_ENV, "uncommented example")
    assert commented_out(), "the example shows its optional keys as `# key = value` lines"
    for table, key in commented_out():
        if table.startswith("rules."):
            assert getattr(settings.rule(table.removeprefix("rules.")), key) is not None
        else:
            attribute = next(a for a, t in sections() if t == table)
            assert getattr(getattr(settings, attribute), key) is not None, f"{table}.{key}"


@pytest.mark.parametrize(("table", "key"), commented_out(), ids="{0[0]}.{0[1]}".format)
def test_only_keys_without_a_default_are_commented_out(table: str, key: str) -> None:
    if table.startswith("rules."):
        default = getattr(RuleSettings(), key)
    else:
        attribute = next(a for a, t in sections() if t == table)
        default = getattr(getattr(Settings(), attribute), key)
    assert default is None, f"{table}.{key} has a default: show it as a set value"


@pytest.mark.parametrize(("attribute", "table"), sections(), ids=[t for _, t in sections()])
def test_every_field_of_every_section_is_documented(attribute: str, table: str) -> None:
    fields = {f.name for f in dataclasses.fields(section_class(attribute))}
    fields -= {"options"}  # [host] options: the chosen adapter's own table, [host.<adapter>]
    assert documented_keys().get(table) == fields


@pytest.mark.parametrize(("attribute", "table"), sections(), ids=[t for _, t in sections()])
def test_every_value_in_the_example_is_the_default(attribute: str, table: str) -> None:
    loaded = getattr(load_settings(EXAMPLE, env=EXAMPLE_ENV), attribute)
    default = getattr(Settings(), attribute)
    for field in dataclasses.fields(default):
        value = getattr(loaded, field.name)
        if is_secret(type(default), field.name):
            # secrets have no default ("not set"); the example shows a reference instead
            for secret in secrets_in(value):
                name = secret.ref.removeprefix("env:")
                assert secret == Secret(f"env:{name}", EXAMPLE_ENV[name]), field.name
        else:
            assert value == getattr(default, field.name), f"{table}.{field.name}"


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.id)
def test_every_rule_is_documented_with_every_parameter(rule: Any) -> None:
    own = {f.name for f in dataclasses.fields(RuleSettings) if f.name != "params"}
    parameters = {f.name for f in dataclasses.fields(rule.Params)}
    assert own == {"enabled", "reason"}
    assert documented_keys().get(f"rules.{rule.id}") == own | parameters


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.id)
def test_every_rule_in_the_example_has_its_defaults(rule: Any) -> None:
    settings = load_settings(EXAMPLE, env=EXAMPLE_ENV)
    assert rule.id in settings.rules
    assert settings.rule(rule.id) == RuleSettings(enabled=True, params=rule.Params(), reason=None)


def test_the_example_documents_only_known_rules() -> None:
    documented = {t.removeprefix("rules.") for t in documented_keys() if t.startswith("rules.")}
    assert documented == set(RULES_BY_ID)


# --------------------------------------------------------------------------- which file


@pytest.mark.parametrize(
    "env",
    [{}, {"CONNECTOR_CONFIG": ""}],
    ids=["no environment at all", "empty CONNECTOR_CONFIG"],
)
def test_without_a_file_the_embedded_default_runs(env: dict[str, str]) -> None:
    settings = load_settings(env=env)
    assert settings == Settings(source="embedded default")
    assert settings.connector.database_url == "sqlite:///var/connector.db"
    assert settings.host.adapter == "local"
    assert settings.runner.enabled is True
    assert (settings.admin.tokens, settings.zoom.webhook_secret) == ((), None)


def test_the_embedded_default_takes_its_secrets_from_the_environment_when_set() -> None:
    settings = load_settings(env=EXAMPLE_ENV)
    assert settings.admin.tokens == (
        Secret("env:CONNECTOR_ADMIN_TOKEN", "s3cret-admin-VALUE-0002"),
    )
    assert settings.zoom.webhook_secret == Secret(
        "env:ZOOM_WEBHOOK_SECRET", "s3cret-zoom-VALUE-0003"
    )


@pytest.mark.parametrize(
    ("given", "in_env", "chosen"),
    [
        (None, "a.toml", "a.toml"),  # CONNECTOR_CONFIG is honoured
        ("b.toml", "a.toml", "b.toml"),  # --config wins over it
        ("b.toml", None, "b.toml"),
    ],
)
def test_which_file_is_read(
    tmp_path: Path, given: str | None, in_env: str | None, chosen: str
) -> None:
    (tmp_path / "a.toml").write_text('[connector]\ntimezone = "Europe/Berlin"\n')
    (tmp_path / "b.toml").write_text('[connector]\ntimezone = "Asia/Tokyo"\n')
    env = {"CONNECTOR_CONFIG": str(tmp_path / in_env)} if in_env else {}
    settings = load_settings(tmp_path / given if given else None, env=env)
    assert settings.source == str(tmp_path / chosen)
    assert (
        settings.connector.timezone == {"a.toml": "Europe/Berlin", "b.toml": "Asia/Tokyo"}[chosen]
    )


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("missing.toml", None, "{path}: cannot read (No such file or directory)"),
        ("a-directory", "dir", "{path}: cannot read (Is a directory)"),
        (
            "broken.toml",
            b"[connector\n",
            "{path}: not valid TOML (Expected ']' at the end of a table declaration "
            "(at line 1, column 11))",
        ),
        (
            "duplicate.toml",
            b"[server]\nport = 1\nport = 2\n",
            "{path}: not valid TOML (Cannot overwrite a value (at line 3, column 9))",
        ),
        # TOML is UTF-8 only; a Latin-1 file is not valid TOML either
        ("latin1.toml", b'[connector]\ntimezone = "Europe/Z\xfcrich"\n', "{path}: not valid TOML"),
    ],
)
def test_an_unreadable_or_broken_file_is_one_clear_error(
    tmp_path: Path, name: str, content: bytes | str | None, error: str
) -> None:
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert len(caught.value.errors) == 1
    assert caught.value.errors[0].startswith(error.format(path=path))
    assert str(caught.value) == "invalid configuration:\n  " + caught.value.errors[0]


# --------------------------------------------------------------------------- every error at once

KNOWN_RULES = ", ".join(sorted(RULES_BY_ID))
RANGE = "Must be greater than or equal to {} and less than or equal to {}."
MUST_BE_REF = 'must be a reference such as "env:NAME", never the secret itself'
PROBLEMS = [  # (a fragment of a document, the one error it gives)
    ({"nonsense": {"a": 1}}, "nonsense: unknown key"),
    ({"connector": {"colour": "blue"}}, "connector.colour: unknown key"),
    (
        {"connector": {"timezone": "Mars/Olympus"}},
        "connector.timezone: unknown time zone 'Mars/Olympus'",
    ),
    ({"server": {"port": 70000}}, "server.port: " + RANGE.format(1, 65535)),
    ({"connector": {"secret_key": "hunter2-literal"}}, "connector.secret_key: " + MUST_BE_REF),
    ({"admin": {"tokens": ["literal-token-9"]}}, "admin.tokens.0: " + MUST_BE_REF),
    (
        {"video": {"zoom": {"webhook_secret": "env:NOT_SET_ANYWHERE"}}},
        "video.zoom.webhook_secret: environment variable NOT_SET_ANYWHERE is not set",
    ),
    ({"video": {"webex": {}}}, "video.webex: unknown key"),
    (
        {"host": {"adapter": "salesforce"}},
        "host.salesforce: [host.salesforce] is required for adapter 'salesforce'",
    ),
    ({"rules": {"no-such-rule": {}}}, f"rules.no-such-rule: unknown rule; known: {KNOWN_RULES}"),
    (
        {"rules": {"feedback-after-sessions": {"after_sessions": "two"}}},
        "rules.feedback-after-sessions.after_sessions: must be int, like the default 2",
    ),
    (
        {"rules": {"feedback-after-sessions": {"colour": 1}}},
        "rules.feedback-after-sessions.colour: unknown parameter",
    ),
    (
        {"rules": {"monthly-meeting": {"enabled": False}}},
        "rules.monthly-meeting.reason: a rule is switched off only with a written reason",
    ),
]


@pytest.mark.parametrize(
    ("fragment", "error"), PROBLEMS, ids=[e.split(":")[0] for _, e in PROBLEMS]
)
def test_each_problem_is_one_error_with_its_key_path(fragment: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(fragment, {}, "test")
    assert caught.value.errors == [error]


def test_every_error_is_reported_at_once() -> None:
    document: dict[str, Any] = {}
    for fragment, _ in PROBLEMS:
        merge(document, fragment)
    with pytest.raises(ConfigError) as caught:
        parse_settings(document, {"CONNECTOR_ADMIN_TOKEN": "unused"}, "test")
    assert sorted(caught.value.errors) == sorted(error for _, error in PROBLEMS)
    message = str(caught.value)
    assert message.startswith("invalid configuration:\n  ")
    assert all(error in message for _, error in PROBLEMS)
    assert "hunter2-literal" not in message  # a secret written as a value is not echoed
    assert "literal-token-9" not in message


def test_an_unknown_host_adapter_is_told_every_registered_one() -> None:
    # Built from the registry, so registering a host does not break this test.
    unknown = "no-such-crm"
    assert unknown not in HOST_ADAPTERS
    with pytest.raises(ConfigError) as caught:
        parse_settings({"host": {"adapter": unknown}}, {}, "test")
    assert caught.value.errors == [
        "host.adapter: Must be one of: " + ", ".join(HOST_ADAPTERS) + "."
    ]


def test_every_error_is_reported_at_once_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        "[connector]\n"
        'timezone = "Mars/Olympus"\n'
        "[server]\n"
        "port = 0\n"
        "[video.zoom]\n"
        'webhook_secret = "env:ZOOM_WEBHOOK_SECRET"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert sorted(caught.value.errors) == [
        "connector.timezone: unknown time zone 'Mars/Olympus'",
        "server.port: " + RANGE.format(1, 65535),
        "video.zoom.webhook_secret: environment variable ZOOM_WEBHOOK_SECRET is not set",
    ]


# --------------------------------------------------------------------------- secrets


def test_a_secret_reveals_its_value_only_when_asked() -> None:
    secret = load_settings(EXAMPLE, env=EXAMPLE_ENV).zoom.webhook_secret
    assert secret is not None
    assert secret.reveal() == "s3cret-zoom-VALUE-0003"
    assert repr(secret) == "Secret(ref='env:ZOOM_WEBHOOK_SECRET')"
    assert str(secret) == "<secret env:ZOOM_WEBHOOK_SECRET>"
    assert f"{secret}" == "<secret env:ZOOM_WEBHOOK_SECRET>"


def test_no_rendering_of_the_settings_shows_a_secret() -> None:
    document = tomllib.loads(example_text(uncommented=True))  # every secret key set
    settings = parse_settings(document, EXAMPLE_ENV, "test")
    shown = masked(settings)
    for text in (repr(settings), str(settings), str(shown), repr(settings.admin)):
        for value in EXAMPLE_ENV.values():
            assert value not in text
    assert shown["connector"]["secret_key"] == "env:CONNECTOR_SECRET_KEY (set, ****)"
    assert shown["admin"]["tokens"] == ["env:CONNECTOR_ADMIN_TOKEN (set, ****)"]
    assert shown["zoom"]["webhook_secret"] == "env:ZOOM_WEBHOOK_SECRET (set, ****)"
    assert shown["zoom"]["client_secret"] == "env:ZOOM_CLIENT_SECRET (set, ****)"
    assert "source" not in shown


# --------------------------------------------------------------------------- rule parameters


@pytest.mark.parametrize(
    ("rules", "rule_id", "expected"),
    [
        (
            {"feedback-after-sessions": {"after_sessions": 3}},
            "feedback-after-sessions",
            RuleSettings(params=RULES_BY_ID["feedback-after-sessions"].Params(after_sessions=3)),
        ),
        (  # TOML arrays become the tuples of the Params dataclass
            {"vetting-gate": {"required_steps": ["interview"], "criminal_background_check": True}},
            "vetting-gate",
            RuleSettings(
                params=RULES_BY_ID["vetting-gate"].Params(
                    required_steps=("interview",), criminal_background_check=True
                )
            ),
        ),
        (
            {"monthly-meeting": {"enabled": False, "reason": "summer pilot without meetings"}},
            "monthly-meeting",
            RuleSettings(
                enabled=False,
                params=RULES_BY_ID["monthly-meeting"].Params(),
                reason="summer pilot without meetings",
            ),
        ),
        (  # a rule not mentioned keeps its defaults
            {"feedback-after-sessions": {"after_sessions": 3}},
            "minimum-sessions",
            RuleSettings(enabled=True, params=RULES_BY_ID["minimum-sessions"].Params()),
        ),
    ],
)
def test_rule_parameters_and_switches(
    rules: dict[str, Any], rule_id: str, expected: RuleSettings
) -> None:
    settings = parse_settings({"rules": rules}, {}, "test")
    assert settings.rule(rule_id) == expected


def test_after_sessions_reads_back_as_given() -> None:
    document = {"rules": {"feedback-after-sessions": {"after_sessions": 3}}}
    settings = parse_settings(document, {}, "test")
    assert settings.rule("feedback-after-sessions").params.after_sessions == 3
    assert settings.rule("feedback-after-sessions").params.remind_after_days == 7


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.id)
def test_a_rule_not_mentioned_gets_its_defaults(rule: Any) -> None:
    settings = parse_settings({"rules": {"minimum-sessions": {"minimum": 4}}}, {}, "test")
    expected = rule.Params(minimum=4) if rule.id == "minimum-sessions" else rule.Params()
    assert settings.rule(rule.id) == RuleSettings(enabled=True, params=expected, reason=None)
