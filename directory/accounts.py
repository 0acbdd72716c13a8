"""People and API tokens: every change to who may sign in, and with which rights, goes through here.

Like `directory.services` for teams, these functions take the session (and, for changes an
administrator makes, the acting person), check the rules, flush and leave the commit to the caller,
so a page, the CLI and a test change people the same way. Passwords and tokens are stored only as
hashes.
"""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from directory.contacts import email_problem
from directory.errors import Conflict, Forbidden, Invalid, NotFound, Throttled
from directory.models import ApiToken, SignInFailure, User, utcnow
from directory.services import Actor
from directory.text import text_problem

TOKEN_PREFIX = "dir_"
SCOPES = ("read", "write")
MIN_PASSWORD = 10

# Failed sign-ins counted over a sliding window: enough for typos, far too few to guess passwords.
THROTTLE_WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5  # per account, whoever tries
CLIENT_LIMIT = 20  # per client address, whichever accounts it tries (several people may share one)
MAX_NAME = 200  # the users.name column


class InvalidAccount(Invalid):
    """A person's address, name or password, or a token's scope, that cannot be stored; `errors`
    names the field."""


class TooManyAttempts(Throttled):
    """Sign-in refused without looking at the password: too many recent failures for the account
    or from the client address. `retry_after` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            f"Too many failed sign-ins for this account or from your network. Try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}.",
            retry_after,
        )


def hash_token(token: str) -> str:
    """SHA-256 suffices: tokens carry 256 random bits, unlike passwords, so no slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def _name_problem(name: str) -> str | None:
    if len(name) > MAX_NAME:
        return f"at most {MAX_NAME} characters"
    return text_problem(name)


def create_user(session: Session, email: str, name: str = "", password: str | None = None,
                *, is_admin: bool = False) -> User:
    """A new account; without a password the person signs in through the proxy only."""
    email = email.strip().lower()
    name = name.strip()
    problem = email_problem(email)
    if problem:
        raise InvalidAccount("Not an e-mail address.", {"email": [problem]})
    problem = _name_problem(name)
    if problem:
        raise InvalidAccount("The name cannot be stored.", {"name": [problem]})
    if find_user(session, email) is not None:
        raise Conflict(f"{email} already has an account.", {"email": ["already has an account"]})
    user = User(email=email, name=name, is_admin=is_admin)
    if password is not None:
        set_password(user, password)
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, user: User, actor: Actor, *, name: str, is_admin: bool, active: bool) -> None:
    """Change a person's name, role and whether they may sign in: administrators only.

    Two rules keep someone able to manage the directory. Nobody takes away their own administrator
    role or deactivates themselves (they would lock themselves out mid-task), and the last active
    administrator stays one. A refusal (InvalidAccount) names the field and changes nothing.
    """
    if not actor.is_admin or not actor.can_write:
        raise Forbidden("Only the directory's administrators can change people.")
    name = name.strip()
    errors: dict[str, list[str]] = {}
    problem = _name_problem(name)
    if problem:
        errors["name"] = [problem]
    if _is(actor, user):
        if user.is_admin and not is_admin:
            errors["is_admin"] = ["you cannot take away your own administrator role"]
        if not active:
            errors["active"] = ["you cannot deactivate yourself"]
    if not errors and user.is_admin and user.active and not (is_admin and active) and _active_admins(session) <= 1:
        errors["is_admin" if not is_admin else "active"] = [
            f"{user.email} is the last active administrator: make someone else one first"]
    if errors:
        raise InvalidAccount(f"{user.email} was not changed.", errors)
    user.name, user.is_admin, user.active = name, is_admin, active
    session.flush()


def make_admin(session: Session, email: str, name: str, password: str) -> User:
    """An administrator who signs in with this password: a new account, or an existing one promoted
    (its name kept). For the operator at the command line, who needs no administrator to act."""
    user = find_user(session, email)
    if user is None:
        return create_user(session, email, name, password, is_admin=True)
    set_password(user, password)
    user.is_admin = True
    session.flush()
    return user


def proxy_account(session: Session, name: str, domain: str) -> User:
    """The account of a person the single sign-on proxy names, made on their first visit.

    The proxy may send a bare user name (`dana`): it becomes `dana@<domain>`, and an account made
    for either form is found again.
    """
    user = find_user(session, name)
    if user is not None:
        return user
    email = name if "@" in name else f"{name}@{domain}"
    return find_user(session, email) or create_user(session, email, name=name[:MAX_NAME])


def _is(actor: Actor, user: User) -> bool:
    return bool(actor.email) and actor.email.lower() == user.email.lower()


def _active_admins(session: Session) -> int:
    return session.scalar(
        select(func.count()).select_from(User).where(User.is_admin.is_(True), User.active.is_(True))) or 0


def set_password(user: User, password: str) -> None:
    """A new password also ends every session signed in with the old one (someone who learnt it
    may be holding one)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidAccount("Password too short.", {"password": [f"must be at least {MIN_PASSWORD} characters"]})
    if user.password_hash:
        end_sessions(user)
    user.password_hash = generate_password_hash(password)


def end_sessions(user: User) -> None:
    """Make every session and remember-me cookie of this person useless, on every device."""
    user.session_generation = (user.session_generation or 0) + 1


def user_for_session(session: Session, session_id: str) -> User | None:
    """The person a session or remember-me cookie names (`id:generation`), if it is still valid."""
    user_id, _, generation = session_id.partition(":")
    try:
        user = session.get(User, int(user_id))
        current = user is not None and int(generation) == user.session_generation
    except ValueError:
        return None
    return user if current and user is not None and user.active else None


@functools.cache
def _dummy_hash() -> str:
    """A hash made like real ones (same method and cost), checked for unknown accounts so that the
    answer takes as long whether or not the address has an account."""
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(session: Session, email: str, password: str, *, client: str = "",
                 now: datetime | None = None) -> User | None:
    """The person with this e-mail and password, or None; TooManyAttempts while throttled.

    Every failure is recorded (the caller commits, whatever the outcome); while the account or the
    client address has too many recent failures, even the right password is refused unchecked.
    """
    now = now or utcnow()
    account = email.strip().lower()[:320]
    client = client[:64]
    _check_throttle(session, account, client, now)
    user = find_user(session, account)
    if user is None or not user.active or not user.password_hash:
        check_password_hash(_dummy_hash(), password)
        found = None
    else:
        found = user if check_password_hash(user.password_hash, password) else None
    if found is None:
        session.execute(delete(SignInFailure).where(SignInFailure.at < now - THROTTLE_WINDOW))
        session.add(SignInFailure(account=account, client=client, at=now))
    else:
        session.execute(delete(SignInFailure).where(SignInFailure.account == account))
    session.flush()
    return found


def _check_throttle(session: Session, account: str, client: str, now: datetime) -> None:
    """TooManyAttempts, saying for how long, while the window holds too many failures for either key."""
    keys = [SignInFailure.account == account] + ([SignInFailure.client == client] if client else [])
    recent = session.execute(
        select(SignInFailure.account, SignInFailure.client, SignInFailure.at)
        .where(SignInFailure.at >= now - THROTTLE_WINDOW, or_(*keys))
        .order_by(SignInFailure.at.desc())
    ).all()
    until = None
    for key, limit, position in ((account, ACCOUNT_LIMIT, 0), (client, CLIENT_LIMIT, 1)):
        times = [row.at for row in recent if row[position] == key]
        if key and len(times) >= limit:
            ends = times[limit - 1] + THROTTLE_WINDOW  # when the window no longer holds `limit` failures
            until = ends if until is None else max(until, ends)
    if until is not None and until > now:
        raise TooManyAttempts(math.ceil((until - now).total_seconds()))


def create_token(session: Session, name: str, scope: str = "read", user: User | None = None) -> tuple[ApiToken, str]:
    """Make a token; the plain text is returned once and never stored."""
    if scope not in SCOPES:
        raise InvalidAccount("Unknown scope.", {"scope": ["must be read or write"]})
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name or "token", prefix=plain[:10], token_hash=hash_token(plain), scope=scope, user=user)
    session.add(token)
    session.flush()
    return token, plain


def verify_token(session: Session, plain: str) -> ApiToken | None:
    """The active token with this plain text, or None; reading changes nothing (see `record_token_use`)."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain.strip())))
    if token is None or not token.active or (token.user is not None and not token.user.active):
        return None
    return token


def use_token(session: Session, plain: str, now: datetime | None = None) -> ApiToken | None:
    """`verify_token`, noting when the token was last used (the tokens page shows it, to spot the
    ones nothing uses any more)."""
    token = verify_token(session, plain)
    if token is not None:
        token.last_used_at = now or utcnow()
        session.flush()
    return token


def revoke_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No token {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def actor_for_user(user: User) -> Actor:
    return Actor(name=user.email, email=user.email, is_admin=user.is_admin)


def actor_for_token(token: ApiToken) -> Actor:
    """An operator's token (no user) with write scope may change any team, as the contract says.

    With read scope it is an ordinary reader: it names nobody, so it has no administrator's right to
    see archived teams and their history.
    """
    if token.user is None:
        writes = token.scope == "write"
        return Actor(name=f"token:{token.name}", is_admin=writes, can_write=writes)
    return Actor(name=token.user.email, email=token.user.email, is_admin=token.user.is_admin,
                 can_write=token.scope == "write")
