"""Salesforce change notices at `POST /webhooks/salesforce`: Outbound Messages and Flow callouts.

Facts used here are in `shared/reference/crm-hosts.md` §1.6:
- an Outbound Message is SOAP 1.1 XML with up to 100 `<Notification>`s, each with its own `Id`
  and an `sObject` (`xsi:type="sf:Contact"`) carrying the fields chosen at setup. Delivery is
  retried for 24 h, out of order and more than once; it carries no signature. The sender is
  checked by `OrganizationId` (required: unset refuses every message) and, once a shared
  secret is set, by that secret in `?token=` or the `X-Connector-Secret` header too;
- Salesforce retries anything but HTTP 200 with the SOAP `<Ack>true</Ack>` in `text/xml`, so
  every accepted, duplicate, ignored or unsupported message is answered with it
  (`accepted_reply`); a refusal is not acknowledged, and Salesforce tries again;
- a Flow HTTP callout posts JSON we define (README, "Connecting Salesforce"):
  `{"sObjectType": "Contact", "recordIds": ["003…"], "deliveryId": "{!$Flow.InterviewGuid}"}`,
  authenticated by the shared secret in `X-Connector-Secret`, compared in constant time.

Either way the notice is a hint: `HostChanged` names the records, and a targeted sync reads
them back from Salesforce. Only ids are kept — the sObject's other fields (an e-mail, a name)
are dropped at the door, so they never reach the inbox or a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from connector.domain import Event, HostChanged
from webhooks.base import BadPayload, BadSignature, MissingSecret, Parser, Reply, Request

HOST = "salesforce"
SECRET_HEADER = "x-connector-secret"  # noqa: S105 - a header name
SECRET_PARAM = "token"  # noqa: S105 - a query parameter name
MAX_NOTIFICATIONS = 100
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SOBJECT = "urn:sobject.enterprise.soap.sforce.com"
RECORD_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
SOBJECT_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
DELIVERY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP}">'
    f'<soapenv:Body><notificationsResponse xmlns="{OUTBOUND}">'
    "<Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"
)


def sign(secret: str) -> dict[str, str]:
    """The header a Flow callout's External Credential (or an Outbound Message) sends."""
    return {"X-Connector-Secret": secret}


def is_soap(request: Request) -> bool:
    """An Outbound Message (XML) rather than a Flow callout (JSON)."""
    return request.body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


class SalesforceReceiver:
    source: ClassVar[str] = "salesforce"
    accepted_status: ClassVar[int] = 200
    ignored_events: ClassVar[Mapping[str, str]] = {
        "Task": "tasks are what the connector writes; staff's edits to them are no policy input",
    }

    def __init__(
        self,
        organization_id: str | None,
        shared_secret: str | None,
        *,
        object_streams: Mapping[str, str],
    ) -> None:
        self._organization_id = organization_id
        self._secret = shared_secret
        # sObject API name -> stream, from the host's mapping: a type maps to one stream.
        self.handled_events: Mapping[str, Parser] = {
            obj: _host_changed(stream) for obj, stream in object_streams.items()
        }

    # -- verification --------------------------------------------------------------------

    def handshake(self, request: Request) -> Reply | None:
        return None  # neither sender has a handshake

    def verify(self, request: Request) -> None:
        if not is_soap(request):
            if not self._secret:
                raise MissingSecret("no shared secret is configured ([webhooks.salesforce])")
            self._check_secret(request)
            return
        if not self._organization_id:
            raise MissingSecret("no organization_id is configured ([webhooks.salesforce])")
        if self._secret:
            self._check_secret(request)
        sent = _text(_notifications(_xml(request.body)), "OrganizationId")
        # Salesforce sends the 18-character id; its first 15 characters are the 15-character id.
        if not hmac.compare_digest(sent[:15].encode(), self._organization_id[:15].encode()):
            raise BadSignature("OrganizationId is not the configured org")

    def challenge(self, request: Request, payload: Mapping[str, Any]) -> Reply | None:
        return None  # no sender validates the endpoint with a challenge

    def _check_secret(self, request: Request) -> None:
        assert self._secret  # callers check first
        given = request.header(SECRET_HEADER) or request.query.get(SECRET_PARAM) or ""
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            raise BadSignature(f"missing or wrong {SECRET_HEADER} header or ?{SECRET_PARAM}=")

    # -- decoding (a pipeline hook: the payload kept is ids only) ------------------------

    def decode(self, request: Request) -> dict[str, Any]:
        if is_soap(request):
            return _outbound_message(_xml(request.body))
        return _flow_callout(_json_object(request.body))

    def accepted_reply(self, request: Request, status: int, body: dict[str, Any]) -> Reply:
        if is_soap(request):
            return Reply(200, ACK, "text/xml; charset=utf-8")
        return Reply(status, body)

    # -- identity of a delivery ------------------------------------------------------------

    def event_type(self, payload: Mapping[str, Any]) -> str:
        return str(payload["sobject_type"])

    def delivery_id(self, payload: Mapping[str, Any]) -> str:
        return delivery_id(payload)


def delivery_id(payload: Mapping[str, Any]) -> str:
    """`flow:<deliveryId>`, or `om:` and the notification id (a hash of them when several).

    A retried Outbound Message repeats its notification ids, so it dedupes to one delivery.
    """
    if payload["format"] == "flow":
        return f"flow:{payload['delivery_id']}"
    ids = sorted(n["id"] for n in payload["notifications"])
    if len(ids) == 1:
        return f"om:{ids[0]}"
    return "om:" + hashlib.sha256(",".join(ids).encode()).hexdigest()[:32]


def _host_changed(stream: str) -> Parser:
    def parse(payload: Mapping[str, Any]) -> list[Event]:
        return [
            HostChanged(
                host=HOST,
                stream=stream,
                external_ids=tuple(sorted(set(payload["record_ids"]))),
                delivery=delivery_id(payload),
            )
        ]

    return parse


# --------------------------------------------------------------------------- Outbound Messages


def _xml(body: bytes) -> Element:
    try:
        return ElementTree.fromstring(body, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise BadPayload(f"body is not acceptable XML: {type(exc).__name__}") from exc


def _notifications(root: Element) -> Element:
    found = root.find(f"{{{SOAP}}}Body/{{{OUTBOUND}}}notifications")
    if found is None:
        raise BadPayload("not an Outbound Message: no soapenv:Body/notifications")
    return found


def _text(parent: Element, name: str, namespace: str = OUTBOUND) -> str:
    child = parent.find(f"{{{namespace}}}{name}")
    text = (child.text or "").strip() if child is not None else ""
    if not text:
        raise BadPayload(f"missing field {name}")
    return text


def _outbound_message(root: Element) -> dict[str, Any]:
    notifications = _notifications(root)
    items = notifications.findall(f"{{{OUTBOUND}}}Notification")
    if not 1 <= len(items) <= MAX_NOTIFICATIONS:
        raise BadPayload(f"{len(items)} notifications; 1 to {MAX_NOTIFICATIONS} expected")
    parsed = [_notification(item) for item in items]
    types = {n["sobject_type"] for n in parsed}
    if len(types) != 1:
        raise BadPayload("notifications about more than one sObject type")
    return {
        "format": "outbound_message",
        "organization_id": _text(notifications, "OrganizationId"),
        "action_id": _text(notifications, "ActionId"),
        "sobject_type": types.pop(),
        "notifications": parsed,
        "record_ids": [n["record_id"] for n in parsed],
    }


def _notification(item: Element) -> dict[str, str]:
    sobject = item.find(f"{{{OUTBOUND}}}sObject")
    if sobject is None:
        raise BadPayload("missing field Notification.sObject")
    declared = sobject.get(f"{{{XSI}}}type", "")
    sobject_type = declared.rpartition(":")[2]
    return {
        "id": _checked(_text(item, "Id"), RECORD_ID, "Notification.Id"),
        "sobject_type": _checked(sobject_type, SOBJECT_TYPE, "sObject xsi:type"),
        "record_id": _checked(_text(sobject, "Id", SOBJECT), RECORD_ID, "sObject.Id"),
    }


# --------------------------------------------------------------------------- Flow callouts


def _json_object(body: bytes) -> Mapping[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayload(f"body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise BadPayload("body is not a JSON object")
    return payload


def _flow_callout(body: Mapping[str, Any]) -> dict[str, Any]:
    record_ids = body.get("recordIds")
    if not isinstance(record_ids, list) or not 1 <= len(record_ids) <= MAX_NOTIFICATIONS:
        raise BadPayload(f"recordIds must be a list of 1 to {MAX_NOTIFICATIONS} record ids")
    return {
        "format": "flow",
        "sobject_type": _checked(body.get("sObjectType"), SOBJECT_TYPE, "sObjectType"),
        "record_ids": [_checked(i, RECORD_ID, "recordIds[]") for i in record_ids],
        "delivery_id": _checked(body.get("deliveryId"), DELIVERY_ID, "deliveryId"),
    }


def _checked(value: Any, pattern: re.Pattern[str], name: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise BadPayload(f"{name} is missing or malformed")
    return value


__all__ = ["ACK", "SalesforceReceiver", "delivery_id", "sign"]
