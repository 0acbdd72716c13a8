"""What people and integrations see of `make run`: sign-in, tokens, owners' rights, authorship.

Each check runs for several rounds with requests from different identities interleaved, so that
every gunicorn worker serves every kind of request right after every other kind: state left over
from one request (the acting user or token, the CSRF token, the signed-in user) shows up as a
wrong answer to the next one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import served
from tests.smoke.conftest import (
    ADMIN,
    OWNER,
    TICKS_AT_START,
    Tokens,
    Visitor,
    assert_edit_controls,
    assert_no_edit_controls,
    worker_cpu_ticks,
)

pytestmark = [pytest.mark.smoke, pytest.mark.slow]

ROUNDS = 12
ADMIN_PAGES = ("/admin", "/admin/users", "/admin/tokens")


def test_sign_in_over_http_works_and_sign_out_ends_it(directory: served.ServedDirectory) -> None:
    for n in range(ROUNDS):
        browser = Visitor(directory)
        assert browser.signed_in_as() is None
        browser.sign_in(ADMIN)
        assert browser.signed_in_as() == ADMIN, f"round {n}"
        assert browser.get("/admin").status_code == 200
        kept = browser.http.cookies.get_dict()
        browser.sign_out()
        assert browser.signed_in_as() is None
        gone = browser.get("/admin")
        assert gone.status_code == 302 and gone.headers["Location"].startswith("/login")
        replay = Visitor(directory)  # someone who copied the cookie before the sign-out
        replay.http.cookies.update(kept)
        assert replay.signed_in_as() is None, f"round {n}: the old session cookie still signs in"
        assert replay.get("/admin").status_code == 302


def test_write_tokens_patch_with_the_current_etag(directory: served.ServedDirectory, tokens: Tokens) -> None:
    writers = [Visitor(directory, tokens.write_a.plain), Visitor(directory, tokens.write_b.plain)]
    for n in range(ROUNDS):
        writer = writers[n % 2]
        before, etag = writer.team("treasury")
        summary = f"Cash, banking and FX; round {n}."
        answer = writer.patch_team("treasury", {"summary": summary}, etag=etag)
        assert answer.status_code == 200, answer.text[:400]
        assert answer.json()["summary"] == summary
        after, _ = Visitor(directory).team("treasury")
        assert (after["summary"], after["version"]) == (summary, before["version"] + 1)
        stale = writer.patch_team("treasury", {"summary": "stale"}, etag=etag)
        assert stale.status_code == 412, stale.text[:400]


def test_missing_bogus_and_revoked_tokens_get_401_and_a_read_token_403(
        directory: served.ServedDirectory, tokens: Tokens) -> None:
    slug = "employment-law"
    before, etag = Visitor(directory).team(slug)
    refused = [
        (Visitor(directory), 401),
        (Visitor(directory, "dir_not-a-token-anyone-was-given"), 401),
        (Visitor(directory, tokens.revoked.plain), 401),
        (Visitor(directory, tokens.read.plain), 403),
    ]
    writer = Visitor(directory, tokens.write_a.plain)
    for n in range(ROUNDS):
        assert writer.get(f"/api/v1/teams/{slug}").status_code == 200  # a valid token between refusals
        for visitor, status in refused:
            answer = visitor.patch_team(slug, {"summary": f"Should not be saved ({n})."}, etag=etag)
            assert answer.status_code == status, (visitor.http.headers.get("Authorization"), answer.text[:400])
            assert answer.json()["status"] == status
    after, _ = Visitor(directory).team(slug)
    assert (after["summary"], after["version"]) == (before["summary"], before["version"])


def test_an_owner_edits_their_own_team_and_no_other(directory: served.ServedDirectory, tokens: Tokens) -> None:
    own_by_token, own_by_session, other = "tax", "expenses-travel", "commercial-contracts"
    reader = Visitor(directory)
    untouched, other_etag = reader.team(other)
    token_etag, session_etag = reader.team(own_by_token)[1], reader.team(own_by_session)[1]
    by_token = Visitor(directory, tokens.owner.plain)
    browser = Visitor(directory)
    browser.sign_in(OWNER)
    for n in range(ROUNDS):
        answer = by_token.patch_team(own_by_token, {"summary": f"Tax codes, round {n}."}, etag=token_etag)
        assert answer.status_code == 200, answer.text[:400]
        token_etag = answer.headers["ETag"]
        assert by_token.patch_team(other, {"summary": "Not theirs."}, etag=other_etag).status_code == 403

        answer = browser.patch_team(own_by_session, {"summary": f"Expenses, round {n}."}, etag=session_etag)
        assert answer.status_code == 200, answer.text[:400]
        session_etag = answer.headers["ETag"]
        assert browser.patch_team(other, {"summary": "Not theirs."}, etag=other_etag).status_code == 403
        no_csrf = browser.patch_team(own_by_session, {"summary": "No CSRF token."}, etag=session_etag, csrf=False)
        assert no_csrf.status_code == 400, no_csrf.text[:400]
        assert browser.get("/admin").status_code == 403
        if n % 3 == 0:  # the pages are heavier than the API: fewer rounds still reach both workers
            assert browser.signed_in_as() == OWNER
            assert browser.get(f"/teams/{own_by_session}/edit").status_code == 200
            assert browser.get(f"/teams/{other}/edit").status_code == 403
            assert_edit_controls(browser, own_by_session)
            assert_no_edit_controls(browser, other)
    assert reader.team(other)[0]["version"] == untouched["version"]
    assert reader.team(own_by_session)[0]["summary"] == f"Expenses, round {ROUNDS - 1}."
    assert reader.team(own_by_token)[0]["summary"] == f"Tax codes, round {ROUNDS - 1}."


def test_anonymous_visitors_never_reach_admin_pages_or_edit_controls(
        directory: served.ServedDirectory, tokens: Tokens) -> None:
    slug = "identity-access"
    admin = Visitor(directory)
    admin.sign_in(ADMIN)
    integration = Visitor(directory, tokens.write_b.plain)
    for _ in range(ROUNDS):
        assert_edit_controls(admin, slug)
        assert all(admin.get(path).status_code == 200 for path in ADMIN_PAGES)
        anonymous = Visitor(directory)
        for path in ADMIN_PAGES:
            answer = anonymous.get(path)
            assert answer.status_code == 302 and answer.headers["Location"].startswith("/login"), path
        assert_no_edit_controls(anonymous, slug)
        assert integration.get(f"/api/v1/teams/{slug}").status_code == 200
        assert anonymous.get(f"/teams/{slug}/edit").status_code == 302
        assert_no_edit_controls(anonymous, slug)
        made = anonymous.post("/admin/tokens", data={"csrf_token": anonymous.csrf(), "name": "anon", "scope": "write"})
        assert made.status_code == 302 and "dir_" not in made.text


def test_each_revision_names_whoever_made_it(directory: served.ServedDirectory, tokens: Tokens) -> None:
    """Token A, anonymous, a signed-in admin, token B and an owner's token take turns on one team."""
    slug = "accounts-payable"  # owned by the owner whose token is used
    admin = Visitor(directory)
    admin.sign_in(ADMIN)
    writers = [(Visitor(directory, tokens.write_a.plain), tokens.write_a.author), (admin, ADMIN),
               (Visitor(directory, tokens.write_b.plain), tokens.write_b.author),
               (Visitor(directory, tokens.owner.plain), tokens.owner.author)]
    anonymous = Visitor(directory)
    first_new = anonymous.revisions(slug)[0]["number"] + 1
    _, etag = anonymous.team(slug)
    expected = []
    for n in range(ROUNDS):
        for visitor, author in writers:
            summary = f"Supplier invoices; round {n}, saved by {author}."
            answer = visitor.patch_team(slug, {"summary": summary}, etag=etag)
            assert answer.status_code == 200, (author, answer.text[:400])
            etag = answer.headers["ETag"]
            expected.append((author, summary))
            assert anonymous.patch_team(slug, {"summary": "anonymous"}, etag=etag).status_code == 401
    saved = [r for r in anonymous.revisions(slug) if r["number"] >= first_new]
    assert [(r["author"], r["team"]["summary"]) for r in reversed(saved)] == expected


def test_after_a_token_write_anonymous_requests_stay_anonymous(
        directory: served.ServedDirectory, tokens: Tokens) -> None:
    slug = "end-user-devices"
    writer = Visitor(directory, tokens.write_a.plain)
    for n in range(ROUNDS):
        anonymous = Visitor(directory)
        _, etag = anonymous.team(slug)  # anonymous first, then the token: the token still counts
        assert writer.patch_team(slug, {"summary": f"Laptops and phones, round {n}."}, etag=etag).status_code == 200
        refused = anonymous.patch_team(slug, {"summary": "anonymous"})
        assert refused.status_code == 401, refused.text[:400]
        assert_no_edit_controls(anonymous, slug)
        assert anonymous.get("/admin").status_code == 302


def test_every_worker_answered(directory: served.ServedDirectory) -> None:
    """The rounds above are worth something only if both workers served them (runs last here)."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("reads the workers' CPU time from Linux's /proc")
    before, now = TICKS_AT_START[directory.url], worker_cpu_ticks(directory)
    assert len(before) == 2 and set(now) == set(before), "a worker was restarted or is missing"
    assert all(now[pid] - before[pid] >= 10 for pid in before), {pid: now[pid] - before[pid] for pid in before}
