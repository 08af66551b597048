"""E-mailing each party their form link (`[notify.smtp]`), through the outbox.

When a task that asks the parties to fill in a form (`links.RULE_FORMS`) has been written to
the host, `queue_notices` puts one `Notify` decision per party in the outbox, keyed on the
task's key and the party. The outbox is unique on that key, so a second delivery of the same
task (a replay, a retry after a lost answer) queues nothing new and nobody gets a second
e-mail; a failed send is retried with backoff and then dead-lettered like every other row.

Each `Notify` is sent by `SmtpNotifier` with the standard library's smtplib: STARTTLS when
`starttls` is on (a server that does not offer it is an error, never a silent plain-text
login), then a login when credentials are set. E-mail addresses and bodies never reach log
lines nor error messages: both name the outbox row and the person's id only.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from email.message import EmailMessage

from connector.clock import Clock
from connector.domain import Notify, Task
from connector.errors import AdapterError, InvalidRequest, Unauthorized, Unavailable
from connector.links import PARTIES, RULE_FORMS, form_url, ttl
from connector.runner import write_decision
from connector.settings import Settings, SmtpSettings
from connector.store.db import Store
from connector.store.models import Pairing, Person

log = logging.getLogger("connector.notify")
KEY_MAX = 255  # the outbox key column

FORM_NAMES = {
    "consent": "recording consent",
    "goals": "goals and expectations",
    "feedback": "feedback",
    "closing": "closing reflection",
    "session": "in-person session log",
    "concern": "concern report",
}


def notice_key(task_key: str, party: str) -> str:
    key = f"notify:{party}:{task_key}"
    if len(key) > KEY_MAX:  # a digest keeps it unique and within the column
        key = f"notify:{party}:{hashlib.sha256(task_key.encode()).hexdigest()}"
    return key


def queue_notices(store: Store, settings: Settings, clock: Clock, task: Task) -> int:
    """Queue an e-mail to each party of `task`'s pairing when it asks them for a form.

    The number newly queued: 0 when notifying is off, the task asks for no form, is
    confidential, or its notices are queued already.
    """
    form = RULE_FORMS.get(task.rule_id)
    if (
        not settings.smtp.enabled
        or form is None
        or task.pairing_id is None
        or task.confidential
        or settings.connector.secret_key is None
    ):
        return 0
    now, new = clock.now(), 0
    with store.session() as session:
        for party in PARTIES:
            notice = Notify(
                key=notice_key(task.key, party),
                rule_id=task.rule_id,
                reason=f"e-mail the {party} their {form} form link",
                pairing_id=task.pairing_id,
                policy_version=task.policy_version,
                form=form,
                party=party,
            )
            new += write_decision(session, notice, now)
    return new


class SmtpNotifier:
    """Sends one e-mail per call over SMTP; failures leave as the connector's typed errors."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    def send(self, message: EmailMessage) -> None:
        s = self._settings
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username is not None and s.password is not None:
                    smtp.login(s.username.reveal(), s.password.reveal())
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise Unauthorized(f"SMTP login refused: {exc.smtp_code}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise InvalidRequest("the SMTP server does not offer STARTTLS") from exc
        except smtplib.SMTPResponseException as exc:
            raise _answered(exc.smtp_code) from exc
        except smtplib.SMTPRecipientsRefused as exc:  # the address: never in the message
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise _answered(codes[0] if codes else 550) from exc
        except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, TLS, dropped
            raise Unavailable(f"SMTP server unreachable: {type(exc).__name__}") from exc


def _answered(code: int) -> AdapterError:
    """4xx is temporary (retried); 5xx is permanent (dead letter, an admin looks)."""
    if 400 <= code < 500:
        return Unavailable(f"SMTP server answered {code}")
    return InvalidRequest(f"SMTP server answered {code}")


def send_notice(
    store: Store, settings: Settings, clock: Clock, notice: Notify, notifier: SmtpNotifier
) -> None:
    """E-mail one party their own signed link to the notice's form."""
    if not settings.smtp.enabled or settings.smtp.from_address is None:
        raise InvalidRequest("e-mail notices are switched off ([notify.smtp] enabled)")
    with store.session() as session:
        pairing = session.get(Pairing, notice.pairing_id) if notice.pairing_id else None
        if pairing is None or notice.party not in PARTIES:
            raise InvalidRequest(f"no pairing {notice.pairing_id} or party for this notice")
        person_id: int = getattr(pairing, f"{notice.party}_id")
        person = session.get_one(Person, person_id)
        address, name = person.email, person.name
    if not address:
        raise InvalidRequest(f"person {person_id} has no e-mail address")
    url = form_url(
        settings,
        clock,
        notice.form,
        person_id=person_id,
        pairing_id=notice.pairing_id,
        party=notice.party,
    )
    until = (clock.now() + ttl(settings, notice.form)).date().isoformat()
    message = EmailMessage()
    message["From"] = settings.smtp.from_address
    message["To"] = address
    what = FORM_NAMES.get(notice.form, notice.form)
    message["Subject"] = f"Your mentoring {what} form"
    message.set_content(
        f"Hello {name or 'there'},\n\n"
        f"Please fill in your {what} form for your mentoring pairing:\n\n{url}\n\n"
        f"The link is yours alone and works until {until}.\n"
    )
    notifier.send(message)
    log.info("notice sent key=%s person=%s form=%s", notice.key, person_id, notice.form)
