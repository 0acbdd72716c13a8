"""Tokens (hashed, scoped, revocable, last use recorded) and who may change which team."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from directory import accounts
from directory.db import get_session
from directory.models import ApiToken
from tests.conftest import team_doc


def make_user_token(app: Any, email: str, scope: str = "write", *, admin: bool = False) -> str:
    with app.app_context():
        session = get_session()
        user = accounts.find_user(session, email) or accounts.create_user(session, email, password="long password!",
                                                                          is_admin=admin)
        _token, plain = accounts.create_token(session, f"{email} token", scope, user)
        session.commit()
        return plain


def patch(client: Any, slug: str, token: str, **changes: Any) -> Any:
    etag = client.get(f"/api/v1/teams/{slug}").headers["ETag"]
    return client.patch(f"/api/v1/teams/{slug}", json=changes,
                        headers={"Authorization": f"Bearer {token}", "If-Match": etag})


def test_owners_change_their_team_and_not_others(app: Any, client: Any, make_team: Any) -> None:
    make_team()  # owned by alice
    make_team(slug="legal", name="Legal", contacts=[], owners=["bob@example.com"])
    alice = make_user_token(app, "alice@example.com")
    assert patch(client, "payroll", alice, summary="Alice was here").status_code == 200
    refused = patch(client, "legal", alice, summary="Not Alice's")
    assert refused.status_code == 403
    assert refused.json["code"] == "forbidden"
    assert client.get("/api/v1/teams/legal").json["summary"] == team_doc()["summary"]
    admin = make_user_token(app, "root@example.com", admin=True)
    assert patch(client, "legal", admin, summary="Admins may").status_code == 200


def test_an_owner_cannot_remove_every_owner(app: Any, client: Any, make_team: Any) -> None:
    make_team()
    alice = make_user_token(app, "alice@example.com")
    response = patch(client, "payroll", alice, owners=[])
    assert response.status_code == 422
    assert "owners" in response.json["errors"]


def test_revoked_tokens_are_refused_and_use_is_recorded(app: Any, client: Any, make_team: Any) -> None:
    make_team()
    with app.app_context():
        session = get_session()
        token, plain = accounts.create_token(session, "bot", "write")
        session.commit()
        token_id = token.id
    assert patch(client, "payroll", plain, summary="first").status_code == 200
    with app.app_context():
        session = get_session()
        stored = session.get(ApiToken, token_id)
        assert stored.last_used_at is not None
        assert stored.token_hash == accounts.hash_token(plain)
        accounts.revoke_token(session, token_id)
        session.commit()
    response = patch(client, "payroll", plain, summary="second")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/teams/payroll").json["summary"] == "first"


def test_tokens_are_stored_only_as_hashes(app: Any) -> None:
    with app.app_context():
        session = get_session()
        _token, plain = accounts.create_token(session, "x", "read")
        session.commit()
        rows = session.scalars(select(ApiToken)).all()
        assert all(plain not in (r.token_hash, r.prefix, r.name) for r in rows)
        assert accounts.verify_token(session, plain) is not None
        assert accounts.verify_token(session, plain + "x") is None


def test_read_scope_can_read_but_not_write(app: Any, client: Any, make_team: Any) -> None:
    make_team()
    reader = make_user_token(app, "alice@example.com", scope="read")
    assert client.get("/api/v1/teams/payroll", headers={"Authorization": f"Bearer {reader}"}).status_code == 200
    assert patch(client, "payroll", reader, summary="nope").status_code == 403


def test_a_read_records_the_token_use_and_a_refused_write_keeps_it(app: Any, client: Any, make_team: Any) -> None:
    """The use is written in a transaction of its own: a read, which commits nothing, records it,
    and a write that is refused and rolled back does not take it back."""
    make_team()
    with app.app_context():
        session = get_session()
        token, plain = accounts.create_token(session, "reader", "read")
        session.commit()
        token_id = token.id

    def last_used() -> Any:
        with app.app_context():
            return get_session().scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id))

    assert client.get("/api/v1/teams/payroll", headers={"Authorization": f"Bearer {plain}"}).status_code == 200
    first = last_used()
    assert first is not None
    assert patch(client, "payroll", plain, summary="not allowed").status_code == 403
    assert last_used() >= first
    assert client.get("/api/v1/teams/payroll").json["summary"] != "not allowed"
