"""Odd query strings never produce a server error on the pages."""

from __future__ import annotations

from typing import Any

import pytest

ODD = [
    "/teams/payroll?at=9999-12-31T23:59:00", "/teams/payroll?at=0001-01-01T00:00", "/teams/payroll?at=garbage",
    "/teams/payroll?at=2026-11-24T10:00:00 00:00", "/teams/payroll?tz=Mars/Base",
    "/search?page=99999999999999999999999", "/search?page=-1", "/search?page=abc", "/search?q=%00",
    "/search?q=%22unbalanced", "/search?q=a*b?c[", "/search?open_now=maybe&department=x&department=y",
    "/teams/payroll/history?a=1&b=99999999999999999999", "/teams?letter=%FF", "/departments/nothing",
]


@pytest.mark.parametrize("url", ODD)
def test_odd_query_strings_are_answered_without_a_server_error(app: Any, client: Any, make_team: Any, url: str) -> None:
    make_team()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get(url)
    assert response.status_code < 500, url
