"""The people service (`directory.accounts`), without HTTP: adding people, roles, passwords, the
rules that keep someone able to manage the directory, and tokens' recorded use."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from directory import accounts, services
from directory.errors import Conflict, Forbidden
from directory.models import ApiToken, User

CLI = services.Actor(name="cli", is_admin=True)  # an operator: an administrator who is nobody's account
PASSWORD = "long-enough-pw"


def actor(user: User) -> services.Actor:
    return accounts.actor_for_user(user)


def stored(session: Any, user_id: int) -> User:
    session.expire_all()
    found = session.get(User, user_id)
    assert found is not None
    return found


def test_a_person_is_added_once_and_bad_input_names_the_field(session: Any) -> None:
    erin = accounts.create_user(session, " Erin@Example.com ", " Erin ", PASSWORD)
    session.commit()
    assert (erin.email, erin.name, erin.is_admin, erin.active) == ("erin@example.com", "Erin", False, True)
    with pytest.raises(Conflict) as again:
        accounts.create_user(session, "erin@example.com")
    assert again.value.errors == {"email": ["already has an account"]}
    session.rollback()
    for email, name, password, field in (("nobody", "", None, "email"), ("x@example.com", "n" * 201, None, "name"),
                                         ("y@example.com", "a\x00b", None, "name"),
                                         ("z@example.com", "", "short", "password")):
        with pytest.raises(accounts.InvalidAccount) as refused:
            accounts.create_user(session, email, name, password)
        assert list(refused.value.errors) == [field]
        session.rollback()
    assert [u.email for u in session.scalars(select(User))] == ["erin@example.com"]


def test_an_administrator_changes_name_role_and_access(session: Any) -> None:
    admin = accounts.create_user(session, "admin@example.com", "Admin", PASSWORD, is_admin=True)
    erin = accounts.create_user(session, "erin@example.com", "Erin", PASSWORD)
    session.commit()
    accounts.update_user(session, erin, actor(admin), name=" Erin E. ", is_admin=True, active=True)
    session.commit()
    assert (stored(session, erin.id).name, stored(session, erin.id).is_admin) == ("Erin E.", True)
    accounts.update_user(session, erin, actor(admin), name="Erin E.", is_admin=False, active=False)
    session.commit()
    assert not stored(session, erin.id).is_admin and not stored(session, erin.id).active


def test_nobody_demotes_or_deactivates_themselves(session: Any) -> None:
    admin = accounts.create_user(session, "admin@example.com", "Admin", PASSWORD, is_admin=True)
    accounts.create_user(session, "root@example.com", "Root", PASSWORD, is_admin=True)  # not the last admin
    session.commit()
    me = actor(admin)
    with pytest.raises(accounts.InvalidAccount) as demoted:
        accounts.update_user(session, admin, me, name="Renamed", is_admin=False, active=True)
    assert demoted.value.errors == {"is_admin": ["you cannot take away your own administrator role"]}
    session.rollback()
    with pytest.raises(accounts.InvalidAccount) as deactivated:
        accounts.update_user(session, admin, me, name="Renamed", is_admin=True, active=False)
    assert deactivated.value.errors == {"active": ["you cannot deactivate yourself"]}
    session.rollback()
    after = stored(session, admin.id)
    assert (after.name, after.is_admin, after.active) == ("Admin", True, True)  # the name was not saved either
    accounts.update_user(session, admin, me, name="Renamed", is_admin=True, active=True)  # the rest is allowed
    session.commit()
    assert stored(session, admin.id).name == "Renamed"


def test_the_last_active_administrator_stays_one(session: Any) -> None:
    admin = accounts.create_user(session, "admin@example.com", "Admin", PASSWORD, is_admin=True)
    retired = accounts.create_user(session, "old@example.com", "Old", PASSWORD, is_admin=True)
    session.commit()
    accounts.update_user(session, retired, CLI, name="Old", is_admin=True, active=False)  # two active: allowed
    session.commit()
    for is_admin, active, field in ((False, True, "is_admin"), (True, False, "active"), (False, False, "is_admin")):
        with pytest.raises(accounts.InvalidAccount) as refused:
            accounts.update_user(session, admin, CLI, name="Admin", is_admin=is_admin, active=active)
        assert list(refused.value.errors) == [field]
        assert "last active administrator" in refused.value.errors[field][0]
        session.rollback()
    assert stored(session, admin.id).is_admin and stored(session, admin.id).active
    erin = accounts.create_user(session, "erin@example.com", "Erin", PASSWORD, is_admin=True)
    session.commit()
    accounts.update_user(session, admin, actor(erin), name="Admin", is_admin=False, active=True)
    session.commit()
    assert not stored(session, admin.id).is_admin


def test_only_administrators_change_people(session: Any) -> None:
    erin = accounts.create_user(session, "erin@example.com", "Erin", PASSWORD)
    dana = accounts.create_user(session, "dana@example.com", "Dana", PASSWORD)
    session.commit()
    for who in (actor(erin), services.Actor(name="token:sync", is_admin=True, can_write=False)):
        with pytest.raises(Forbidden):
            accounts.update_user(session, dana, who, name="Dana", is_admin=True, active=True)
        session.rollback()
    with pytest.raises(accounts.InvalidAccount) as long_name:
        accounts.update_user(session, dana, CLI, name="d" * 201, is_admin=False, active=True)
    assert list(long_name.value.errors) == ["name"]
    session.rollback()
    assert not stored(session, dana.id).is_admin


def test_make_admin_creates_or_promotes_with_the_password(session: Any) -> None:
    made = accounts.make_admin(session, "Root@Example.com", "Root", PASSWORD)
    session.commit()
    assert made.is_admin and accounts.authenticate(session, "root@example.com", PASSWORD) is not None
    erin = accounts.create_user(session, "erin@example.com", "Erin", "first-password")
    session.commit()
    generation = erin.session_generation
    promoted = accounts.make_admin(session, "erin@example.com", "Ignored", "second-password")
    session.commit()
    assert promoted.id == erin.id and promoted.is_admin and promoted.name == "Erin"
    assert promoted.session_generation == generation + 1  # the old password's sessions end
    with pytest.raises(accounts.InvalidAccount) as short:
        accounts.make_admin(session, "new@example.com", "", "short")
    assert list(short.value.errors) == ["password"]


def test_the_proxy_names_one_account_by_name_or_address(session: Any) -> None:
    dana = accounts.proxy_account(session, "dana", "example.org")
    session.commit()
    assert (dana.email, dana.name, dana.password_hash) == ("dana@example.org", "dana", None)
    assert accounts.proxy_account(session, "dana", "example.org").id == dana.id
    assert accounts.proxy_account(session, "dana@example.org", "elsewhere.org").id == dana.id
    assert len(list(session.scalars(select(User)))) == 1


def test_a_token_in_use_is_noted_and_checking_one_writes_nothing(session: Any) -> None:
    token, plain = accounts.create_token(session, "sync", "write")
    session.commit()
    assert accounts.verify_token(session, plain) is not None
    assert token.last_used_at is None and not session.dirty
    used = accounts.use_token(session, plain)
    session.commit()
    assert used is not None and used.id == token.id
    assert session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token.id)) is not None
    assert accounts.use_token(session, plain + "x") is None
    with pytest.raises(accounts.InvalidAccount) as scope:
        accounts.create_token(session, "x", "admin")
    assert list(scope.value.errors) == ["scope"]
