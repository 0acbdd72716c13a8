"""People and API tokens: passwords and tokens are stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from directory.errors import Conflict, InvalidTeam, NotFound
from directory.models import ApiToken, User, utcnow
from directory.services import Actor

TOKEN_PREFIX = "dir_"
SCOPES = ("read", "write")
MIN_PASSWORD = 10


def hash_token(token: str) -> str:
    """SHA-256 suffices: tokens carry 256 random bits, unlike passwords, so no slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def create_user(session: Session, email: str, name: str = "", password: str | None = None,
                *, is_admin: bool = False) -> User:
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidTeam("Not an e-mail address.", {"email": ["is not an e-mail address"]})
    if find_user(session, email) is not None:
        raise Conflict(f"{email} already has an account.", {"email": ["already has an account"]})
    user = User(email=email, name=name.strip(), is_admin=is_admin)
    if password is not None:
        set_password(user, password)
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidTeam("Password too short.", {"password": [f"must be at least {MIN_PASSWORD} characters"]})
    user.password_hash = generate_password_hash(password)


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = find_user(session, email)
    if user is None or not user.active or not user.password_hash:
        # Hash anyway so that timing does not reveal which addresses have accounts.
        check_password_hash(generate_password_hash("x"), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def create_token(session: Session, name: str, scope: str = "read", user: User | None = None) -> tuple[ApiToken, str]:
    """Make a token; the plain text is returned once and never stored."""
    if scope not in SCOPES:
        raise InvalidTeam("Unknown scope.", {"scope": ["must be read or write"]})
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name or "token", prefix=plain[:10], token_hash=hash_token(plain), scope=scope, user=user)
    session.add(token)
    session.flush()
    return token, plain


def verify_token(session: Session, plain: str, *, now: datetime | None = None) -> ApiToken | None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain.strip())))
    if token is None or not token.active or (token.user is not None and not token.user.active):
        return None
    token.last_used_at = now or utcnow()
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
