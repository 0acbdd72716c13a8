"""Who is asking: browser sessions (local passwords or a trusted proxy's header) and bearer tokens."""

from __future__ import annotations

import ipaddress

from flask import Flask, abort, current_app, g, request
from flask_login import LoginManager, current_user, login_user

from directory import accounts
from directory.db import get_session, own_transaction
from directory.models import User
from directory.services import Actor

login_manager = LoginManager()
login_manager.login_view = "web.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """Session and remember-me cookies name `id:generation`; older generations load nobody."""
    return accounts.user_for_session(get_session(), session_id)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.before_request(_sign_in_from_proxy_header)


def connected_peer() -> str:
    """The address of the host that opened the connection: with PROXY_FIX on, ProxyFix has already
    rewritten `remote_addr` to the client named in X-Forwarded-For, which anyone can send, so the
    original is read from what ProxyFix kept aside."""
    original = request.environ.get("werkzeug.proxy_fix.orig") or {}
    return original.get("REMOTE_ADDR") or request.environ.get("REMOTE_ADDR") or ""


def _from_trusted_proxy() -> bool:
    return _is_trusted_proxy(connected_peer())


def sign_in_client() -> str:
    """The client address sign-in failures are counted against; empty when it is one of the trusted
    proxies (PROXY_FIX off behind a proxy), since every user would then share it and a stranger's
    guesses would lock everyone out. Accounts are throttled either way."""
    addr = request.remote_addr or ""
    return "" if _is_trusted_proxy(addr) else addr


def _is_trusted_proxy(addr: str) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    for allowed in current_app.config["DIRECTORY_TRUSTED_PROXIES"]:
        try:
            if ip in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


def _sign_in_from_proxy_header() -> None:
    """Single sign-on behind a reverse proxy: trust the user header only from the configured proxies."""
    if current_app.config["DIRECTORY_AUTH"] != "header":
        return
    name = request.headers.get(current_app.config["DIRECTORY_AUTH_HEADER"], "").strip().lower()
    if not name or not _from_trusted_proxy():
        return
    if current_user.is_authenticated and current_user.email == name:
        return
    with own_transaction() as own:  # made on a first visit, and kept whatever the request does
        user_id = accounts.proxy_account(own, name, current_app.config.get("DIRECTORY_AUTH_DOMAIN", "localhost")).id
    user = get_session().get(User, user_id)
    if user is not None and user.active:
        login_user(user)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def current_actor() -> Actor | None:
    """The actor of this request: a bearer token wins over the browser session.

    An invalid or revoked token is refused with 401 rather than silently treated as anonymous.
    """
    if "actor" in g:
        return g.actor
    actor: Actor | None = None
    plain = bearer_token()
    if plain is not None:
        with own_transaction() as own:  # its use is kept even when the request's own work is not
            token = accounts.use_token(own, plain)
            actor = accounts.actor_for_token(token) if token is not None else None
        if actor is None:
            abort(401, description="The bearer token is unknown or revoked.")
        g.auth_via = "token"
    elif current_user.is_authenticated:
        actor = accounts.actor_for_user(current_user)
        g.auth_via = "session"
    g.actor = actor
    return actor


def may_read() -> bool:
    """Reads are open unless DIRECTORY_REQUIRE_LOGIN is set."""
    if not current_app.config["DIRECTORY_REQUIRE_LOGIN"]:
        return True
    return current_actor() is not None
