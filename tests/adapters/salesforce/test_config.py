"""`[host.salesforce]` and `[webhooks.salesforce]`: the example, the defaults, the refusals.

The example file's tables are the documentation: they load, every key they show is the
default (or a required value), and every setting is shown. A mapping that is not made of
plain API names is refused when the settings load, so nothing in the config file can change
a SOQL query.
"""

from __future__ import annotations

import dataclasses
import tomllib
from typing import Any

import pytest

from adapters.salesforce import SalesforceHost
from adapters.salesforce.mapping import DEFAULT_MAPPING
from connector.clock import FrozenClock
from connector.config_fields import Secret
from connector.hosts import salesforce
from connector.settings import ConfigError, Settings, parse_settings
from tests.support import START
from tests.test_settings import EXAMPLE, EXAMPLE_ENV, documented_keys
from webhooks.salesforce import SalesforceReceiver

ENV = {"SF_SECRET": "s3cret-sf", "SF_HOOK": "s3cret-hook"}
MINIMAL = {"domain": "acme.my", "client_id": "3MVG9key", "client_secret": "env:SF_SECRET"}


def example(adapter: str = "salesforce") -> Settings:
    document = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["host"]["adapter"] = adapter
    return parse_settings(document, EXAMPLE_ENV, "example")


def load(options: dict[str, Any], **extra: Any) -> Settings:
    document = {"host": {"adapter": "salesforce", "salesforce": options}, **extra}
    return parse_settings(document, ENV, "test")


def errors_of(options: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(options)
    return caught.value.errors


def test_the_example_shows_every_setting_of_both_tables() -> None:
    documented = documented_keys()
    fields = {f.name for f in dataclasses.fields(salesforce.SalesforceSettings)}
    assert documented["host.salesforce"] == fields - {
        "streams",
        "username",
        "private_key_file",
        "owner_id",
    }
    assert documented["webhooks.salesforce"] == {
        f.name for f in dataclasses.fields(salesforce.SalesforceWebhookSettings)
    }


def test_the_example_loads_with_the_defaults_and_the_default_mapping() -> None:
    settings = example()
    options = settings.host.options
    assert options == salesforce.SalesforceSettings(
        domain="acme.my",
        client_id="3MVG9your-consumer-key",
        client_secret=Secret("env:SALESFORCE_CLIENT_SECRET", "s3cret-salesforce-VALUE-0012"),
    )
    assert options.streams == DEFAULT_MAPPING
    hooks = settings.webhooks["salesforce"]
    assert hooks.organization_id == "00D5g000000ABCDEAZ"
    assert hooks.shared_secret.reveal() == "s3cret-salesforce-VALUE-0013"


def test_the_example_builds_the_host_and_the_receiver() -> None:
    settings = example()
    clock = FrozenClock(START)
    host = salesforce.build(settings, clock)
    assert isinstance(host, SalesforceHost)
    assert set(host.streams()) == {"people", "pairings", "sessions"}
    receiver = salesforce.receiver(settings, clock)
    assert isinstance(receiver, SalesforceReceiver)
    assert set(receiver.handled_events) == {"Contact", "Mentoring_Pair__c", "Mentoring_Session__c"}


def test_an_admin_maps_only_what_differs() -> None:
    options = MINIMAL | {
        "synced_streams": ["people", "pairings"],
        "streams": {
            "pairings": {"object": "Match__c", "fields": {"mentor": "Big__c", "ended_on": ""}},
        },
    }
    loaded = load(options).host.options
    streams = loaded.streams
    assert loaded.synced_streams == ("people", "pairings")
    assert streams["pairings"].object == "Match__c"
    assert streams["pairings"].fields["mentor"] == "Big__c"
    assert streams["pairings"].fields["mentee"] == "Mentee__c"
    assert "ended_on" not in streams["pairings"].fields
    settings = load(options)
    assert set(salesforce.build(settings, FrozenClock(START)).streams()) == {"people", "pairings"}
    receiver = salesforce.receiver(settings, FrozenClock(START))
    assert set(receiver.handled_events) == {"Contact", "Match__c"}


@pytest.mark.parametrize(
    ("written", "error"),
    [
        (
            {"people": {"fields": {"email": "Email, (SELECT Id FROM Cases)"}}},
            "people.fields.email: 'Email, (SELECT Id FROM Cases)' is not a Salesforce API name",
        ),
        (
            {"pairings": {"object": "Mentoring_Pair__c WHERE Name != ''"}},
            "pairings.object: \"Mentoring_Pair__c WHERE Name != ''\" is not a Salesforce API name",
        ),
        (
            {"sessions": {"modified_field": "SystemModstamp OR Id != null"}},
            "sessions.modified_field: 'SystemModstamp OR Id != null' is not a Salesforce API name",
        ),
    ],
    ids=["field", "object", "modified_field"],
)
def test_a_soql_injection_in_the_mapping_is_refused(written: dict[str, Any], error: str) -> None:
    (message,) = errors_of(MINIMAL | {"streams": written})
    assert message.startswith(f"host.salesforce.streams: {error}")


def test_a_mapping_that_names_no_domain_field_is_refused() -> None:
    (message,) = errors_of(MINIMAL | {"streams": {"people": {"fields": {"shoe_size": "Size__c"}}}})
    assert (
        message == "host.salesforce.streams: people.fields.shoe_size: not a domain field of people"
    )


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (
            {"domain": "acme.my", "client_id": "k", "auth": "jwt"},
            'host.salesforce.username: required with auth = "jwt"',
        ),
        ({"domain": "acme.my", "client_id": "k"}, "host.salesforce.client_secret: required with"),
        (MINIMAL | {"domain": "login"}, "host.salesforce.domain: client credentials need"),
        (MINIMAL | {"api_version": "45.0"}, "host.salesforce.api_version: must be 46.0 or newer"),
        (MINIMAL | {"owner_id": "'; DROP"}, "host.salesforce.owner_id: String does not match"),
        (MINIMAL | {"task_key_field": "Key__c/x"}, "host.salesforce.task_key_field: String does"),
        (MINIMAL | {"domain": "acme.my/evil"}, "host.salesforce.domain: String does not match"),
        (MINIMAL | {"client_secret": "literal"}, "host.salesforce.client_secret: must be a ref"),
        (MINIMAL | {"colour": "blue"}, "host.salesforce.colour: unknown key"),
    ],
    ids=[
        "jwt user",
        "secret",
        "login domain",
        "old api",
        "owner",
        "key field",
        "domain",
        "literal",
        "unknown",
    ],
)
def test_incomplete_or_unsafe_settings_are_refused(options: dict[str, Any], error: str) -> None:
    assert any(e.startswith(error) for e in errors_of(options)), errors_of(options)


def test_jwt_settings_load_without_a_client_secret() -> None:
    options = {
        "domain": "acme.my",
        "client_id": "3MVG9key",
        "auth": "jwt",
        "username": "connector@acme.org",
        "private_key_file": "/etc/mentor-connector/salesforce.key",
        "login_domain": "test",
    }
    loaded = load(options).host.options
    assert (loaded.auth, loaded.client_secret, loaded.login_domain) == ("jwt", None, "test")


def test_webhook_settings_refuse_a_malformed_organization_id() -> None:
    with pytest.raises(ConfigError) as caught:
        load(MINIMAL, webhooks={"salesforce": {"organization_id": "00D' OR 1=1"}})
    assert caught.value.errors[0].startswith("webhooks.salesforce.organization_id:")
