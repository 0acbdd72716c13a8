"""Text analysis: the fast indexing path gives exactly the terms of Whoosh's analyzer chain."""

from __future__ import annotations

import pytest

from search.analysis import FastAnalyzer, index_terms, plain_analyzer, stemming_analyzer


@pytest.mark.parametrize("text", [
    "Who do I ask about a broken door badge? Reimbursements, payslips & P60s.",
    "Crème brûlée Straße Æsir ÉCOLE naïve façade œuvre İstanbul ﬁnance",
    "e-mail wi-fi 3.5 v2.0 payroll@example.com #it-help it's IT's",
])
def test_fast_analysis_gives_exactly_the_whoosh_chain_terms(text: str) -> None:
    """Indexing uses a faster path than Whoosh's analyzer chain; both must agree term for term."""
    assert index_terms(text) == [t.text for t in stemming_analyzer()(text)]
    assert [t.text for t in FastAnalyzer(stemmed=False)(text)] == [t.text for t in plain_analyzer()(text)]
