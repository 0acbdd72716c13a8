"""A small organisation for the search tests: eight teams, a synonyms file, and a helper."""

from __future__ import annotations

from typing import Any

from search import SearchIndex

SYNONYMS = """\
# test synonyms
pay, salary, payslip, wages   # trailing comment
badge, door pass, access card
log in, password
"""


def team(team_id: int, slug: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"id": team_id, "slug": slug, "name": name, **fields}


TEAMS = [
    team(1, "payroll", "Payroll", summary="Payslips, tax codes and overtime.", department="Finance",
         tags=["pay", "tax"], location="London HQ",
         contacts=[{"kind": "email", "value": "payroll@example.com"}, {"kind": "chat", "value": "#payroll-help"}],
         services=[{"name": "Payslip corrections", "description": "Wrong amount or missing overtime."}]),
    team(2, "expenses", "Expenses", summary="We reimburse what you spent on company business.",
         description="Submit receipts within 30 days. <script>alert('x')</script> & friends.",
         department="Finance", tags=["expenses", "travel"], location="Leeds",
         contacts=[{"kind": "email", "value": "expenses@example.com"}]),
    team(3, "it-helpdesk", "IT Helpdesk", summary="Laptops, passwords and printers.", department="IT",
         tags=["laptop", "password"], location="London HQ",
         contacts=[{"kind": "chat", "value": "#it-help"}, {"kind": "phone", "value": "+44 20 7946 0100"}],
         services=[{"name": "Password reset", "description": "Locked out of your account."}]),
    team(4, "cafe", "Café Lumière", summary="Coffee, lunch and catering for meetings.", department="Facilities",
         tags=["food"], location="London HQ"),
    team(5, "security-desk", "Security Desk", summary="Door badges, visitors and lost property.",
         department="Facilities", tags=["badge", "visitors"], location="Leeds",
         services=[{"name": "Replacement badge", "description": "Broken or lost door badge."}]),
    team(6, "print-room", "Print Room", summary="Large format printing and binding.", department="Facilities",
         tags=["printing"], location="Manchester"),
    team(7, "tax", "Tax", summary="Corporate tax returns.",
         description="We handle codes of conduct for tax filings and the VAT codes.", department="Finance",
         tags=["tax"], location="London HQ"),
    team(8, "travel", "Travel Desk", summary="Trains, flights and hotels for business trips.",
         description="Printing boarding passes is not something we do.", department="Operations",
         tags=["travel"], location="Manchester"),
]


def slugs(ix: SearchIndex, q: str, **kwargs: Any) -> list[str]:
    return [hit["slug"] for hit in ix.query(q, **kwargs).hits]
