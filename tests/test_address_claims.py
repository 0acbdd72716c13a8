"""Which team answers for an e-mail address is a recorded decision (a claim), never a side effect:
another team listing the address, or the holder removing and re-adding it, changes nothing; only the
holder's owners or an administrator hand it over."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from directory import accounts, services
from directory.db import get_session
from directory.errors import Conflict, Forbidden, InvalidTeam
from directory.models import AddressClaim, AddressNote
from directory.schemas import load_team
from tests.conftest import ADMIN, team_doc

ALICE = services.Actor(name="alice@example.com", email="alice@example.com")  # owns Payroll
BOB = services.Actor(name="bob@example.com", email="bob@example.com")  # owns Squatters
MAILBOX = "payroll@example.com"
PAYROLL_CONTACTS = team_doc()["contacts"]


def setup_teams(session: Any) -> tuple[Any, Any]:
    payroll = services.create_team(session, load_team(team_doc()), ADMIN)
    squat = services.create_team(session, load_team(team_doc(slug="squatters", name="Squatters", contacts=[],
                                                             owners=["bob@example.com"])), ADMIN)
    session.commit()
    return payroll, squat


def set_contacts(session: Any, team: Any, contacts: list[dict[str, Any]], actor: services.Actor) -> None:
    services.update_team(session, team, load_team(dict(team.data, contacts=contacts)), actor)
    session.commit()


def answering(session: Any) -> str | None:
    team = services.address_owner(session, MAILBOX)
    return None if team is None else team.slug


def test_listing_another_teams_mailbox_does_not_take_it_even_after_a_remove_and_re_add(db: Any) -> None:
    payroll, squat = setup_teams(db)
    set_contacts(db, squat, [{"kind": "email", "value": "Payroll@Example.com"}], BOB)
    assert answering(db) == "payroll"
    [warning] = services.address_warnings(db, squat)
    assert "payroll@example.com is answered by Payroll (payroll)" in warning
    [note] = db.scalars(select(AddressNote).where(AddressNote.team_id == payroll.id)).all()
    assert note.address == MAILBOX and "also listed by Squatters (squatters)" in note.message
    assert note.author == "bob@example.com"

    set_contacts(db, payroll, [], ALICE)
    assert answering(db) is None  # Payroll keeps the claim; Squatters does not answer in the gap
    assert db.get(AddressClaim, MAILBOX).team_id == payroll.id
    set_contacts(db, payroll, PAYROLL_CONTACTS, ALICE)
    assert answering(db) == "payroll"
    assert services.shared_addresses(db, squat) == {MAILBOX: ["Payroll"]}
    assert services.address_warnings(db, payroll) == []


def test_only_the_holders_owners_or_an_administrator_hand_an_address_over(db: Any) -> None:
    payroll, squat = setup_teams(db)
    set_contacts(db, squat, [{"kind": "email", "value": MAILBOX}], BOB)
    with pytest.raises(Conflict):  # Squatters does not answer for it, so has nothing to hand over
        services.hand_over_address(db, squat, MAILBOX, squat, BOB)
    with pytest.raises(Forbidden):
        services.hand_over_address(db, payroll, MAILBOX, squat, BOB)
    db.rollback()
    assert answering(db) == "payroll"

    assert services.hand_over_address(db, payroll, MAILBOX, squat, ALICE) is squat
    db.commit()
    assert answering(db) == "squatters"
    assert any("Payroll handed it over" in n.message
               for n in db.scalars(select(AddressNote).where(AddressNote.team_id == squat.id)))
    # Payroll still lists it, and now only gets the warning Squatters had.
    assert "answered by Squatters" in services.address_warnings(db, payroll)[0]

    assert services.hand_over_address(db, squat, MAILBOX, payroll, ADMIN) is payroll
    db.commit()
    assert answering(db) == "payroll"


def test_handing_over_needs_a_team_that_lists_the_address(db: Any) -> None:
    payroll, squat = setup_teams(db)
    with pytest.raises(InvalidTeam):
        services.hand_over_address(db, payroll, MAILBOX, squat, ALICE)
    with pytest.raises(InvalidTeam):  # nobody else lists it: releasing would silence the mailbox
        services.hand_over_address(db, payroll, MAILBOX, None, ALICE)
    db.rollback()
    set_contacts(db, squat, [{"kind": "email", "value": MAILBOX}], BOB)
    assert services.hand_over_address(db, payroll, MAILBOX, None, ALICE) is squat  # released to the next lister
    db.commit()
    assert answering(db) == "squatters"


def test_an_address_the_holder_no_longer_lists_can_be_released(db: Any) -> None:
    payroll, squat = setup_teams(db)
    set_contacts(db, payroll, [], ALICE)
    assert [a["address"] for a in services.address_listing(db, payroll)] == [MAILBOX]
    assert services.hand_over_address(db, payroll, MAILBOX, None, ALICE) is None
    db.commit()
    assert db.get(AddressClaim, MAILBOX) is None
    set_contacts(db, squat, [{"kind": "email", "value": MAILBOX}], BOB)
    assert answering(db) == "squatters"  # unclaimed, so the first to list it now holds it


def test_archiving_the_holder_hands_its_addresses_on(db: Any) -> None:
    payroll, squat = setup_teams(db)
    set_contacts(db, squat, [{"kind": "email", "value": MAILBOX}], BOB)
    services.archive_team(db, payroll, ADMIN)
    db.commit()
    assert answering(db) == "squatters"
    services.restore_revision(db, payroll, 1, ADMIN)
    db.commit()
    assert answering(db) == "squatters"  # coming back does not take it back


# --------------------------------------------------------------------------- through the API


def token_for(app: Flask, email: str) -> dict[str, str]:
    with app.app_context():
        session = get_session()
        user = accounts.find_user(session, email) or accounts.create_user(session, email, password="long password!")
        _token, plain = accounts.create_token(session, email, "write", user)
        session.commit()
    return {"Authorization": f"Bearer {plain}"}


def patch(client: FlaskClient, slug: str, headers: dict[str, str], **changes: Any) -> Any:
    etag = client.get(f"/api/v1/teams/{slug}").headers["ETag"]
    return client.patch(f"/api/v1/teams/{slug}", json=changes, headers={**headers, "If-Match": etag})


def test_the_api_warns_tells_the_holder_and_hands_over(app: Flask, client: FlaskClient, make_team: Any) -> None:
    make_team()
    make_team(slug="squatters", name="Squatters", contacts=[], owners=["bob@example.com"])
    alice, bob = token_for(app, "alice@example.com"), token_for(app, "bob@example.com")

    saved = patch(client, "squatters", bob, contacts=[{"kind": "email", "value": MAILBOX}])
    assert saved.status_code == 200
    assert saved.json["contacts"] == [{"kind": "email", "value": MAILBOX}]
    assert len(saved.json["warnings"]) == 1 and "is answered by Payroll (payroll)" in saved.json["warnings"][0]
    assert "warnings" not in patch(client, "payroll", alice, summary="Pay.").json

    public = client.get("/api/v1/teams/payroll/addresses").json
    assert public == {"addresses": [{"address": MAILBOX, "listed": True,
                                     "answered_by": {"slug": "payroll", "name": "Payroll"},
                                     "also_listed_by": [{"slug": "squatters", "name": "Squatters"}]}]}
    assert "notes" not in client.get("/api/v1/teams/payroll/addresses", headers=bob).json
    notes = client.get("/api/v1/teams/payroll/addresses", headers=alice).json["notes"]
    assert len(notes) == 1 and "also listed by Squatters" in notes[0]["message"]

    assert patch(client, "payroll", alice, contacts=[]).status_code == 200
    assert client.get(f"/api/v1/auto-reply?to={MAILBOX}&format=json").status_code == 404
    assert patch(client, "payroll", alice, contacts=PAYROLL_CONTACTS).status_code == 200
    reply = client.get(f"/api/v1/auto-reply?to={MAILBOX}&format=json")
    assert reply.status_code == 200 and reply.json["team"]["slug"] == "payroll"

    url = f"/api/v1/teams/payroll/addresses/{MAILBOX}/hand-over"
    assert client.post(url, json={"to": "squatters"}, headers=bob).status_code == 403
    assert client.post(url, json={"to": "nobody"}, headers=alice).status_code == 404
    assert client.post(url, json={"to": "squatters"}).status_code == 401
    handed = client.post(url, json={"to": "squatters"}, headers=alice)
    assert handed.status_code == 200
    assert handed.json["answered_by"] == {"slug": "squatters", "name": "Squatters"}
    assert client.get(f"/api/v1/auto-reply?to={MAILBOX}&format=json").json["team"]["slug"] == "squatters"
    assert client.post(url, json={"to": "squatters"}, headers=alice).status_code == 409  # no longer Payroll's


# --------------------------------------------------------------------------- the migration


def test_the_migration_records_todays_answers_as_claims(storage_url: str) -> None:
    """Upgrading keeps every auto-reply where it was: the team that listed an address first holds it."""
    from alembic import command
    from sqlalchemy import text

    from directory.db import alembic_config, make_engine

    engine = make_engine(storage_url)
    cfg = alembic_config(storage_url)

    def migrate(to: str, down: bool = False) -> None:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(cfg, to)

    try:
        migrate("0003")
        with engine.begin() as connection:
            for team_id, slug in ((1, "payroll"), (2, "payroll-queries")):
                connection.execute(text(
                    "INSERT INTO teams (id, slug, name, timezone, data, version, created_at, updated_at) "
                    "VALUES (:id, :slug, :slug, 'UTC', '{}', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"id": team_id, "slug": slug})
            connection.execute(text("INSERT INTO contact_addresses (id, address, team_id) VALUES "
                                    "(1, 'queries@example.com', 2), (2, 'payroll@example.com', 1), "
                                    "(3, 'payroll@example.com', 2)"))
        migrate("0004")
        with engine.connect() as connection:
            claims = dict(connection.execute(text("SELECT address, team_id FROM address_claims")).all())
            generations = connection.execute(text("SELECT COUNT(*) FROM users WHERE session_generation <> 0")).scalar()
        assert claims == {"payroll@example.com": 1, "queries@example.com": 2}
        assert generations == 0
        migrate("0003", down=True)
        migrate("0004")
    finally:
        engine.dispose()
