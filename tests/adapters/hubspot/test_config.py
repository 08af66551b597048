"""`[host.hubspot]` and `[webhooks.hubspot]` as config.example.toml documents them.

The example shows every key with its default (the stream tables are the adapter's default
mapping, written out); switching `[host] adapter` to "hubspot" is all it takes to build the host.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from adapters.hubspot import HubSpotHost
from adapters.hubspot.mapping import DEFAULT
from connector.clock import FrozenClock
from connector.config_fields import Secret
from connector.hosts.hubspot import (
    HubSpotSettings,
    HubSpotWebhookSettings,
    build,
    receiver,
)
from connector.settings import ConfigError, Settings, parse_settings
from tests.adapters.hubspot.support import NOW

EXAMPLE = Path(__file__).resolve().parents[3] / "config.example.toml"
ENV = {
    "CONNECTOR_SECRET_KEY": "k",
    "CONNECTOR_ADMIN_TOKEN": "a",
    "ZOOM_WEBHOOK_SECRET": "z",
    "TEAMS_CLIENT_STATE": "t",
    "HUBSPOT_ACCESS_TOKEN": "pat-na1-from-env",
    "HUBSPOT_CLIENT_SECRET": "client-secret-from-env",
}


def example(**host: Any) -> dict[str, Any]:
    document = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["host"].update(host)
    return document


def settings(**host: Any) -> Settings:
    return parse_settings(example(adapter="hubspot", **host), env(), "example")


def env() -> dict[str, str]:
    """Our values, and a placeholder for every other variable the example references."""
    others = re.findall(r'"env:([A-Z_0-9]+)"', EXAMPLE.read_text(encoding="utf-8"))
    return {**dict.fromkeys(others, "x"), **ENV}


def test_the_example_documents_every_hubspot_key_with_its_default() -> None:
    table = example()["host"]["hubspot"]
    documented = set(table) - {"streams"}
    fields = {f.name for f in dataclasses.fields(HubSpotSettings)} - {"streams"}
    assert documented == fields
    loaded = settings().host.options
    assert isinstance(loaded, HubSpotSettings)
    assert loaded.access_token == Secret("env:HUBSPOT_ACCESS_TOKEN", "pat-na1-from-env")
    defaults = HubSpotSettings()
    for name in fields - {"access_token"}:
        assert getattr(loaded, name) == getattr(defaults, name), name
    assert dict(loaded.streams) == DEFAULT  # the stream tables are the default mapping


def test_the_example_documents_the_webhook_table_with_its_defaults() -> None:
    hooks = settings().webhooks["hubspot"]
    assert isinstance(hooks, HubSpotWebhookSettings)
    assert hooks.client_secret == Secret("env:HUBSPOT_CLIENT_SECRET", "client-secret-from-env")
    assert hooks.timestamp_tolerance_seconds == HubSpotWebhookSettings().timestamp_tolerance_seconds
    assert set(example()["webhooks"]["hubspot"]) == {
        f.name for f in dataclasses.fields(HubSpotWebhookSettings)
    }


def test_a_program_writes_only_what_differs_from_the_default_mapping() -> None:
    document = example(adapter="hubspot")
    document["host"]["hubspot"]["streams"] = {
        "pairings": {"object": "2-3456789", "fields": {"meeting.zoom": ""}},
    }
    options = parse_settings(document, env(), "test").host.options
    assert options.streams["pairings"].object == "2-3456789"
    assert "meeting.zoom" not in options.streams["pairings"].fields  # "" unmaps it
    assert options.streams["pairings"].fields["status"] == "pairing_status"
    assert options.streams["people"] == DEFAULT["people"]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"task_write": "create"}, "host.hubspot.task_write"),
        ({"owner_id": "Jane"}, "host.hubspot.owner_id"),
        ({"access_token": "pat-na1-in-the-file"}, "host.hubspot.access_token"),
        ({"streams": {"people": {"fields": {"role": ""}}}}, "host.hubspot.streams"),
        ({"synced_streams": ["contacts"]}, "host.hubspot.synced_streams"),
    ],
)
def test_bad_values_are_errors_with_their_key_path(change: dict[str, Any], error: str) -> None:
    document = example(adapter="hubspot")
    document["host"]["hubspot"].update(change)
    with pytest.raises(ConfigError) as caught:
        parse_settings(document, env(), "test")
    assert any(line.startswith(error) for line in caught.value.errors), caught.value.errors
    assert "pat-na1-in-the-file" not in "\n".join(caught.value.errors)


def test_build_makes_the_host_and_the_receiver_from_the_settings() -> None:
    document = example(adapter="hubspot")
    document["host"]["hubspot"]["synced_streams"] = ["people", "pairings"]
    document["host"]["hubspot"]["streams"] = {"pairings": {"object": "2-3456789"}}
    loaded = parse_settings(document, env(), "test")
    host = build(loaded, FrozenClock(NOW))
    assert isinstance(host, HubSpotHost)
    assert list(host.streams()) == ["people", "pairings"]
    assert "pat-na1-from-env" not in repr(host._client)
    hub = receiver(loaded, FrozenClock(NOW))
    assert hub._object_streams == {"2-3456789": "pairings"}


def receiver_of(hooks: dict[str, Any], **host: Any) -> Any:
    document = example(adapter="hubspot")
    document["webhooks"]["hubspot"].update(hooks)
    document["host"]["hubspot"].update(host)
    return receiver(parse_settings(document, env(), "test"), FrozenClock(NOW))


def test_custom_objects_kept_by_name_route_their_events_by_the_configured_type_ids() -> None:
    # The defaults name the objects (p_mentoring_pairs): without type ids no event can route.
    assert receiver_of({})._object_streams == {}
    routed = receiver_of({"object_type_ids": {"pairings": "2-3456789", "sessions": "2-3456790"}})
    assert routed._object_streams == {"2-3456789": "pairings", "2-3456790": "sessions"}
    # A stream's object given as a type id routes by it; a stream not synced does not route.
    mixed = receiver_of(
        {"object_type_ids": {"sessions": "2-3456790"}},
        streams={"pairings": {"object": "2-1111111"}},
        synced_streams=["people", "pairings"],
    )
    assert mixed._object_streams == {"2-1111111": "pairings"}


NOT_A_TYPE_ID = "must be an objectTypeId like 2-1234567"


@pytest.mark.parametrize(
    ("type_ids", "error"),
    [
        (  # contacts are 0-1 and route without configuration
            {"people": "2-3456789"},
            "object_type_ids.people.key: Must be one of: pairings, sessions.",
        ),
        ({"pairings": "p_mentoring_pairs"}, "object_type_ids.pairings.value: " + NOT_A_TYPE_ID),
        ({"pairings": "2-3456789\n"}, "object_type_ids.pairings.value: " + NOT_A_TYPE_ID),
        (
            {"pairings": "2-3456789", "sessions": "2-3456789"},
            "object_type_ids: two streams share one objectTypeId",
        ),
    ],
)
def test_bad_object_type_ids_are_errors_with_their_key_path(
    type_ids: dict[str, str], error: str
) -> None:
    document = example(adapter="hubspot")
    document["webhooks"]["hubspot"]["object_type_ids"] = type_ids
    with pytest.raises(ConfigError) as caught:
        parse_settings(document, env(), "test")
    assert caught.value.errors == ["webhooks.hubspot." + error]
