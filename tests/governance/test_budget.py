"""Privacy budgets per researcher per dataset: spending, refusing, raising."""

from __future__ import annotations

import pytest

from cardiofabric.errors import AccessError
from cardiofabric.governance.budget import budget_of, budgets, set_budget, spend
from cardiofabric.store import SiteStore


def test_spend_until_refused(store: SiteStore) -> None:
    con = store.connection
    for _ in range(10):  # ten spends of 0.1 sum to 0.9999999999999999: still within 1.0
        state = spend(con, "alice", "d1", 0.1, default_total=1.0)
    assert state.queries == 10 and state.epsilon_left == 0.0
    with pytest.raises(AccessError) as info:
        spend(con, "alice", "d1", 0.1, default_total=1.0)
    err = info.value
    assert (err.status, err.kind) == (429, "privacy-budget-exhausted")
    assert "ε = 0 left of 1" in err.detail and "10 noised answers" in err.detail
    assert err.hint is not None and "governance budget" in err.hint
    assert budget_of(con, "alice", "d1", default_total=1.0).queries == 10  # unchanged
    # Budgets are per researcher and per dataset.
    assert spend(con, "alice", "d2", 0.5, default_total=1.0).epsilon_left == 0.5
    assert spend(con, "bob", "d1", 0.5, default_total=1.0).epsilon_left == 0.5
    assert [(b.researcher, b.dataset) for b in budgets(con)] == [
        ("alice", "d1"), ("alice", "d2"), ("bob", "d1")]  # fmt: skip


def test_a_steward_raises_the_budget(store: SiteStore) -> None:
    con = store.connection
    spend(con, "alice", "d1", 1.0, default_total=1.0)
    with pytest.raises(AccessError):
        spend(con, "alice", "d1", 0.5, default_total=1.0)
    raised = set_budget(con, "alice", "d1", 2.0)
    assert (raised.epsilon_total, raised.epsilon_spent) == (2.0, 1.0)
    assert spend(con, "alice", "d1", 0.5, default_total=1.0).epsilon_left == 0.5
