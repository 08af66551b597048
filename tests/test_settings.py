"""Settings: one TOML file, every error at once with its key path, secrets only by reference,
and an example file that documents every key with its real default."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pytest

from connector.settings import (
    ConfigError,
    Settings,
    load_settings,
    masked,
    parse_settings,
)
from rules import ALL_RULES

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"
EXAMPLE_ENV = {
    "CONNECTOR_SECRET_KEY": "k" * 32,
    "CONNECTOR_ADMIN_TOKEN": "admin-secret-value",
    "ZOOM_WEBHOOK_SECRET": "zoom-secret-value",
}
SECTIONS = {  # TOML table -> Settings attribute
    "connector": "connector",
    "server": "server",
    "admin": "admin",
    "runner": "runner",
    "outbox": "outbox",
    "scheduler": "scheduler",
    "host": "host",
    "video.zoom": "zoom",
    "policy": "policy",
}


def example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def table(document: dict[str, Any], dotted: str) -> dict[str, Any]:
    for part in dotted.split("."):
        document = document[part]
    return document


def test_the_example_loads_with_its_environment() -> None:
    settings = load_settings(EXAMPLE, env=EXAMPLE_ENV)
    assert settings.source == str(EXAMPLE)
    assert settings.zoom.webhook_secret is not None
    assert settings.zoom.webhook_secret.reveal() == "zoom-secret-value"


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_the_example_documents_every_key_with_its_default(section: str) -> None:
    defaults = getattr(Settings(), SECTIONS[section])
    documented = table(example(), section)
    names = {f.name for f in dataclasses.fields(defaults)}
    assert set(documented) == names, "keys missing from or unknown to config.example.toml"
    for name, value in documented.items():
        default = getattr(defaults, name)
        refs = value if isinstance(value, list) else [value]
        if refs and all(isinstance(r, str) and r.startswith("env:") for r in refs):
            continue  # secret references: examples, their default is "not set"
        if isinstance(default, tuple):  # TOML arrays load as lists
            default = list(default)
        assert value == default, f"{section}.{name}"


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_the_example_documents_every_rule_parameter_with_its_default(rule: Any) -> None:
    documented = dict(example()["rules"][rule.id])
    assert documented.pop("enabled") is True
    defaults = dataclasses.asdict(rule.Params())
    assert set(documented) == set(defaults)
    for name, value in documented.items():
        default = defaults[name]
        assert value == (list(default) if isinstance(default, tuple) else default), name


def test_with_no_file_the_embedded_default_runs_without_any_environment() -> None:
    settings = load_settings(env={})
    assert settings.source == "embedded default"
    assert settings.connector.database_url == "sqlite:///var/connector.db"
    assert settings.host.adapter == "local"
    assert settings.runner.enabled is True
    assert settings.admin.tokens == ()
    assert settings.zoom.webhook_secret is None


def test_connector_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[connector]\ntimezone = "Europe/Berlin"\n')
    assert load_settings(env={"CONNECTOR_CONFIG": str(path)}).connector.timezone == (
        "Europe/Berlin"
    )


def test_every_error_is_reported_at_once_with_its_key_path() -> None:
    document = {
        "nonsense": {},
        "connector": {"timezone": "Mars/Olympus", "colour": "blue", "secret_key": "hunter2"},
        "server": {"port": 70000},
        "video": {"zoom": {"webhook_secret": "env:NOT_SET_ANYWHERE"}},
        "rules": {
            "no-such-rule": {},
            "feedback-after-sessions": {"after_sessions": "two", "colour": 1},
            "monthly-meeting": {"enabled": False},
        },
    }
    with pytest.raises(ConfigError) as caught:
        parse_settings(document, {}, "test")
    errors = caught.value.errors
    expected = [
        "nonsense: unknown key",
        "connector.colour: unknown key",
        "connector.timezone: unknown time zone 'Mars/Olympus'",
        'connector.secret_key: must be a reference such as "env:NAME"',
        "server.port:",
        "video.zoom.webhook_secret: environment variable NOT_SET_ANYWHERE is not set",
        "rules.no-such-rule: unknown rule",
        "rules.feedback-after-sessions.after_sessions: must be int",
        "rules.feedback-after-sessions.colour: unknown parameter",
        "rules.monthly-meeting.reason: a rule is switched off only with a written reason",
    ]
    for start in expected:
        assert any(e.startswith(start) for e in errors), (start, errors)
    assert len(errors) == len(expected)


def test_secrets_never_show_their_value() -> None:
    settings = load_settings(EXAMPLE, env=EXAMPLE_ENV)
    for text in (repr(settings), str(settings), str(masked(settings))):
        for secret in EXAMPLE_ENV.values():
            assert secret not in text
    assert "env:ZOOM_WEBHOOK_SECRET (set, ****)" in str(masked(settings))


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("[connector\n", "not valid TOML")],
)
def test_an_unreadable_or_broken_file_is_a_clear_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "c.toml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings(path, env={})


def test_rule_parameters_and_switches() -> None:
    settings = parse_settings(
        {
            "rules": {
                "feedback-after-sessions": {"after_sessions": 3},
                "vetting-gate": {
                    "criminal_background_check": True,
                    "required_steps": ["interview"],
                },
                "monthly-meeting": {"enabled": False, "reason": "summer break pilot"},
            }
        },
        {},
        "test",
    )
    assert settings.rule("feedback-after-sessions").params.after_sessions == 3
    assert settings.rule("vetting-gate").params.steps() == (
        "interview",
        "criminal_background_check",
    )
    assert settings.rule("recording-consent").params == ALL_RULES[2].Params()
    monthly = settings.rule("monthly-meeting")
    assert (monthly.enabled, monthly.reason) == (False, "summer break pilot")
