"""Staff accounts: hashed passwords, sign-in with throttling, and the changes the CLI makes.

Passwords are hashed with werkzeug's scrypt (`generate_password_hash`) and never stored or
logged in clear. Sign-in is throttled from the store, so every web process sees the same
count: after `MAX_FAILURES_PER_USER` refusals for one user name, or
`MAX_FAILURES_PER_ADDRESS` from one address, within `THROTTLE_WINDOW`, further tries are
refused until the oldest refusal leaves the window. Each change is written to the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from connector import audit
from connector.store.models import SignInFailure, User

ROLES = ("admin", "coordinator", "safeguarding")
MIN_PASSWORD_LENGTH = 12
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
THROTTLE_WINDOW = timedelta(minutes=15)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
HASH_METHOD = "scrypt"
# Checked against when the user name is unknown, so a wrong name costs as long as a wrong
# password and the answer's timing does not tell which names exist.
_DUMMY_HASH = generate_password_hash("not-a-password-of-anyone", method=HASH_METHOD)


class AccountError(Exception):
    """A refused account change; the message says why and is safe to show."""


class Throttled(Exception):
    """Too many refused sign-ins; `retry_after` is how long until one may try again."""

    def __init__(self, retry_after: timedelta) -> None:
        super().__init__("too many failed sign-ins; try again later")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    username: str
    role: str
    session_version: int


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def add_user(
    session: Session, username: str, role: str, password: str, now: datetime, actor: str
) -> User:
    """A new active account; the user name is normalised to lower case."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise AccountError("a user name is 2-64 of a-z, 0-9 and . _ @ -, starting alphanumeric")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    check_password_rules(password)
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise AccountError(f"user {username} already exists")
    user = User(
        username=username,
        role=role,
        password_hash=generate_password_hash(password, method=HASH_METHOD),
        active=True,
        session_version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(session, now, actor, "user.added", "user", user.id, role=role)
    return user


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise AccountError(f"no user {username}")
    return user


def set_password(session: Session, username: str, password: str, now: datetime, actor: str) -> None:
    """A new password; every session signed in with the old one ends."""
    check_password_rules(password)
    user = find_user(session, username)
    user.password_hash = generate_password_hash(password, method=HASH_METHOD)
    user.session_version += 1
    user.updated_at = now
    audit.record(session, now, actor, "user.password_set", "user", user.id)


def set_active(session: Session, username: str, active: bool, now: datetime, actor: str) -> None:
    """Disable (or enable again) an account; disabling ends its sessions at once."""
    user = find_user(session, username)
    user.active = active
    user.session_version += 1
    user.updated_at = now
    action = "user.enabled" if active else "user.disabled"
    audit.record(session, now, actor, action, "user", user.id)


def sign_in(
    session: Session, username: str, password: str, address: str, now: datetime
) -> SignedIn | None:
    """The account for a correct name and password, or None; throttled before checking.

    Raises `Throttled` while the user name or the address has too many recent refusals; the
    password is then not even checked, so guessing on gains nothing.
    """
    username = username.strip().lower()[:64]
    address = address[:64]
    _throttle(session, username, address, now)
    user = session.scalar(select(User).where(User.username == username))
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not valid or not user.active:
        session.add(SignInFailure(username=username, address=address, at=now))
        audit.record(session, now, "anonymous", "user.sign_in_refused", "user", username)
        return None
    user.last_sign_in_at = now
    audit.record(session, now, f"user:{user.username}", "user.signed_in", "user", user.id)
    return SignedIn(user.id, user.username, user.role, user.session_version)


def _throttle(session: Session, username: str, address: str, now: datetime) -> None:
    since = now - THROTTLE_WINDOW
    for column, value, limit in (
        (SignInFailure.username, username, MAX_FAILURES_PER_USER),
        (SignInFailure.address, address, MAX_FAILURES_PER_ADDRESS),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(SignInFailure.at)).where(
                column == value, SignInFailure.at > since
            )
        ).one()
        if count >= limit:
            # The column is naive UTC in SQL aggregates; the model's type is not applied.
            oldest_at = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
            raise Throttled(oldest_at + THROTTLE_WINDOW - now)


def current(session: Session, user_id: int, session_version: int) -> SignedIn | None:
    """The account a session cookie names, if it is still active and the cookie still valid."""
    user = session.get(User, user_id)
    if user is None or not user.active or user.session_version != session_version:
        return None
    return SignedIn(user.id, user.username, user.role, user.session_version)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))
