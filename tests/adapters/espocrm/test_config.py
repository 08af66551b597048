"""`[host.espocrm]` and `[webhooks.espocrm]` as config.example.toml documents them.

The example shows every key with its default (the stream tables are the adapter's default
mapping, written out); switching `[host] adapter` to "espocrm" is all it takes to build the
host, and its webhook tables build a receiver that verifies what EspoCRM signs.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from adapters.espocrm import DEFAULT_STREAMS, EspoCrmHost
from connector.clock import FrozenClock
from connector.config_fields import Secret
from connector.hosts.espocrm import EspoCrmSettings, build, receiver
from connector.settings import ConfigError, Settings, parse_settings
from tests.adapters.espocrm.helpers import NOW
from webhooks.base import MissingSecret, Request
from webhooks.espocrm import sign

EXAMPLE = Path(__file__).resolve().parents[3] / "config.example.toml"
ENV = {
    "ESPOCRM_API_KEY": "api-key-from-env",
    "ESPOCRM_HOOK_CONTACT_UPDATE": "hook-secret-contact-update",
    "ESPOCRM_HOOK_PAIRING_DELETE": "hook-secret-pairing-delete",
}


def example(**host: Any) -> dict[str, Any]:
    document = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["host"].update(host)
    return document


def env() -> dict[str, str]:
    """Our values, and a placeholder for every other variable the example references."""
    others = re.findall(r'"env:([A-Z_0-9]+)"', EXAMPLE.read_text(encoding="utf-8"))
    return {**dict.fromkeys(others, "x"), **ENV}


def settings(document: dict[str, Any] | None = None) -> Settings:
    return parse_settings(document or example(adapter="espocrm"), env(), "example")


def test_the_example_documents_every_espocrm_key() -> None:
    table = example()["host"]["espocrm"]
    fields = {f.name for f in dataclasses.fields(EspoCrmSettings)}
    assert set(table) == fields


def test_the_example_loads_with_the_default_mapping_written_out() -> None:
    options: EspoCrmSettings = settings().host.options
    assert options.api_key == Secret("env:ESPOCRM_API_KEY", "api-key-from-env")
    assert options.base_url == "https://crm.example.org"
    assert options.task_key_field == "cConnectorKey"
    assert options.timeout_seconds == EspoCrmSettings().timeout_seconds
    assert options.synced_streams == EspoCrmSettings().synced_streams
    assert dict(options.streams) == dict(DEFAULT_STREAMS)


def test_the_example_builds_the_host() -> None:
    host = build(settings(), FrozenClock(NOW))
    assert isinstance(host, EspoCrmHost)
    assert set(host.streams()) == {"people", "pairings", "sessions"}
    assert "api-key-from-env" not in repr(host.__dict__)


def test_the_example_webhooks_build_a_receiver_that_verifies_them() -> None:
    espo = receiver(settings(), FrozenClock(NOW))
    body = b'[{"id":"6741f4b0a9e3c2f18"}]'
    headers = sign("6741aa0000000p0d1", "hook-secret-pairing-delete", body)
    request = Request(body=body, headers={k.lower(): v for k, v in headers.items()})
    espo.verify(request)  # raises when the secret or the id is not the configured one
    assert espo.read_payload(request)["event"] == "CPairing.delete"


def test_an_admin_writes_only_what_differs() -> None:
    document = example(adapter="espocrm")
    document["host"]["espocrm"]["streams"] = {
        "pairings": {"object": "CMatch", "fields": {"mentor": "bigId", "meeting.zoom": ""}}
    }
    pairings = settings(document).host.options.streams["pairings"]
    assert pairings.object == "CMatch"
    assert pairings.fields["mentor"] == "bigId"
    assert pairings.fields["mentee"] == "menteeId"  # the default, untouched
    assert "meeting.zoom" not in pairings.fields  # "" unmaps it


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"host": {"espocrm": {"api_key": "plain-text-key"}}}, "host.espocrm.api_key"),
        ({"host": {"espocrm": {"base_url": "not a url"}}}, "host.espocrm.base_url"),
        ({"host": {"espocrm": {"task_key_field": "c key"}}}, "host.espocrm.task_key_field"),
        (
            {"host": {"espocrm": {"streams": {"people": {"fields": {"role": ""}}}}}},
            "host.espocrm.streams",
        ),
        (
            {"webhooks": {"espocrm": {"hooks": {"h1": {"event": "Contact.explode"}}}}},
            "webhooks.espocrm.hooks.h1.value.event",
        ),
    ],
    ids=["secret-in-file", "bad-url", "bad-key-field", "required-field-unmapped", "bad-event"],
)
def test_each_mistake_is_reported_with_its_key_path(change: dict[str, Any], path: str) -> None:
    document = example(adapter="espocrm")
    for section, tables in change.items():
        for name, table in tables.items():
            document[section][name] = {**document[section][name], **table}
    with pytest.raises(ConfigError) as raised:
        settings(document)
    assert any(error.startswith(path) for error in raised.value.errors), raised.value.errors


def test_without_webhook_tables_the_receiver_refuses_everything() -> None:
    document = example()
    del document["webhooks"]["espocrm"]
    espo = receiver(settings(document), FrozenClock(NOW))
    body = b'[{"id":"x"}]'
    headers = sign("6741aa0000000p0d1", "hook-secret-pairing-delete", body)
    request = Request(body=body, headers={k.lower(): v for k, v in headers.items()})
    with pytest.raises(MissingSecret, match="no EspoCRM webhook is configured"):
        espo.verify(request)
