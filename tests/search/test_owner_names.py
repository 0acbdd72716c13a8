"""Owners' names find their teams: the names come from the accounts, and a renamed account's teams
are reindexed when the change commits, whoever made it."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from directory import accounts
from directory.db import get_session
from directory.models import User
from directory.search_sync import get_search


def _slugs(client: Any, q: str) -> list[str]:
    return [hit["slug"] for hit in client.get("/api/v1/search", query_string={"q": q}).json["results"]]


def _add_person(app: Flask, email: str, name: str) -> None:
    with app.app_context():
        session = get_session()
        accounts.create_user(session, email, name)
        session.commit()


def _rename(app: Flask, email: str, name: str) -> None:
    with app.app_context():
        session = get_session()
        session.scalar(select(User).where(User.email == email)).name = name
        session.commit()


def test_a_persons_name_or_surname_finds_the_teams_they_own(app: Flask, client: Any, make_team: Any) -> None:
    _add_person(app, "quentin@example.com", "Quentin Abernathy")
    make_team(owners=["quentin@example.com"])
    make_team(slug="tax", name="Tax", owners=["quentin@example.com", "alice@example.com"])
    make_team(slug="travel", name="Travel", summary="Trains and hotels.", owners=["alice@example.com"])
    assert sorted(_slugs(client, "Quentin Abernathy")) == ["payroll", "tax"]
    assert sorted(_slugs(client, "abernathy")) == ["payroll", "tax"]
    hit = client.get("/api/v1/search", query_string={"q": "abernathy"}).json["results"][0]
    assert hit["highlights"]["owners"] == "Quentin <mark>Abernathy</mark>"


def test_an_owner_without_a_named_account_adds_no_words(app: Flask, client: Any, make_team: Any) -> None:
    """The address would match every team of its domain ("example")."""
    make_team(owners=["nobody.known@example.com"])
    assert _slugs(client, "example") == []
    assert _slugs(client, "nobody") == []


def test_a_new_or_renamed_account_reindexes_the_teams_it_owns(app: Flask, client: Any, make_team: Any) -> None:
    make_team(owners=["quentin@example.com"])
    make_team(slug="travel", name="Travel", summary="Trains and hotels.", owners=["alice@example.com"])
    assert _slugs(client, "abernathy") == []
    _add_person(app, "quentin@example.com", "Quentin Abernathy")  # the account comes after the team
    assert _slugs(client, "abernathy") == ["payroll"]
    _rename(app, "quentin@example.com", "Quentin Zebulon")
    assert _slugs(client, "abernathy") == []
    assert _slugs(client, "zebulon") == ["payroll"]


def test_a_rebuilt_index_keeps_the_owners_names(app: Flask, client: Any, make_team: Any) -> None:
    _add_person(app, "quentin@example.com", "Quentin Abernathy")
    make_team(owners=["Quentin@Example.com"])  # addresses compare without case
    with app.app_context():
        get_search().rebuild()
    assert _slugs(client, "abernathy") == ["payroll"]
