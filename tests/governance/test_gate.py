"""The gate end to end over a real store: authenticate, authorise, consent, release, audit.

Every request, granted or refused, leaves exactly one audit entry; the chain verifies after.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from gov_support import DATASET, SITE, Keys, ldl_count, pseudonym

from cardiofabric.errors import AccessError
from cardiofabric.governance import (
    Gate,
    Purpose,
    SeededLaplace,
    SitePolicy,
    TrustStore,
    issue_patient_token,
    load_private_key,
)
from cardiofabric.governance.audit import show, verify
from cardiofabric.governance.policy import DifferentialPrivacy
from cardiofabric.store import SiteStore

EXACT = SitePolicy(dp=DifferentialPrivacy(enabled=False))


def _ask(
    gate: Gate,
    token: str | None,
    action: str = "discover-count",
    count: Callable[[Any], int] | None = None,
    **kw: Any,
) -> Any:
    return gate.answer(
        f"Bearer {token}" if token else None,
        action=action,
        endpoint="/individuals",
        query={"filters": ["LOINC:22748-8 > 4"]},
        count=count or ldl_count(gate),
        **kw,
    )


def _entries(gate: Gate) -> list[Any]:
    return show(gate.store.connection, limit=None)


def _refused(gate: Gate, token: str | None, **kw: Any) -> AccessError:
    before = len(_entries(gate))
    with pytest.raises(AccessError) as info:
        _ask(gate, token, **kw)
    entries = _entries(gate)
    assert len(entries) == before + 1
    assert entries[-1].decision == f"refused {info.value.status} {info.value.kind}"
    return info.value


def _exact(store: SiteStore, trust: TrustStore, policy: SitePolicy = EXACT) -> Gate:
    return Gate(store, policy, trust, site=SITE, datasets=[DATASET])


def test_anonymous_callers_get_booleans_only(gate: Gate) -> None:
    r = _ask(gate, None, action="discover-boolean")
    assert (r.granularity, r.count, r.noised) == ("boolean", None, False)
    # Anonymous purpose: only consents that permit any use (GRU without modifiers): patients
    # 0-3 mod 10 with LDL > 4 are 0, 3, 12, 21, 30, 33: six, above the threshold of 5.
    assert r.exists
    few = _ask(gate, None, action="discover-boolean", count=lambda g: 4)
    assert not few.exists  # fewer than anonymous_min_count: "not found"
    err = _refused(gate, None, action="discover-count")
    assert (err.status, err.kind) == (401, "unauthenticated")
    closed = Gate(gate.store, SitePolicy(anonymous_granularity="none"), gate.trust, site=SITE,
                  datasets=[DATASET])  # fmt: skip
    assert _refused(closed, None, action="discover-boolean").status == 401
    entries = _entries(gate)
    assert entries[0].caller == "anonymous" and entries[0].decision == "granted"
    assert entries[0].purpose == ("DUO:0000042", "commercial")


def test_bad_tokens_are_refused_and_audited(gate: Gate, keys: Keys) -> None:
    old = datetime.now(UTC) - timedelta(days=60)
    assert _refused(gate, keys.contract(now=old, not_before=old)).kind == "token-expired"
    assert _refused(gate, Keys(keys.directory, "rogue").contract()).kind == "untrusted-issuer"
    assert _refused(gate, keys.contract(audience="site-b")).status == 403
    with pytest.raises(AccessError) as info:
        gate.answer("Basic dXNlcjpwdw==", action="discover-count", endpoint="/x", query={},
                    count=lambda g: 1)  # fmt: skip
    assert info.value.status == 401
    entries = _entries(gate)
    assert len(entries) == 4 and all(e.caller == "unauthenticated" for e in entries)
    assert verify(gate.store.connection).ok


def test_contract_actions_limit_granularity(
    store: SiteStore, trust: TrustStore, keys: Keys
) -> None:
    gate = _exact(store, trust)
    boolean_only = keys.contract(actions=("discover-boolean",))
    assert _refused(gate, boolean_only, action="discover-count").kind == "action-not-allowed"
    r = _ask(gate, boolean_only, action="discover-boolean")
    assert (r.granularity, r.count, r.exists) == ("boolean", None, True)
    counts = keys.contract(actions=("discover-count",))
    r = _ask(gate, counts)
    assert (r.granularity, r.count) == ("count", 10)  # exact: DP off in this policy
    # Records need the action and a site that releases them.
    records = keys.contract(actions=("discover-count", "record"))
    assert _refused(gate, records, action="record").kind == "granularity-not-allowed"
    open_site = _exact(store, trust, SitePolicy(max_granularity="record", dp=EXACT.dp))
    assert _ask(open_site, records, action="record").granularity == "record"
    # A site that caps everything at booleans turns a count request into a boolean.
    capped = _exact(store, trust, SitePolicy(max_granularity="boolean", dp=EXACT.dp))
    r = _ask(capped, counts)
    assert (r.granularity, r.count) == ("boolean", None)


def test_datasets_of_the_contract_only(gate: Gate, keys: Keys) -> None:
    other = keys.contract(datasets=("site-b-cohort",))
    assert _refused(gate, other).kind == "dataset-not-allowed"
    mine = keys.contract()
    assert _refused(gate, mine, dataset="secret").kind == "dataset-not-allowed"
    assert _ask(gate, mine, dataset=DATASET).granularity == "count"


def test_withdrawn_patients_are_never_counted(
    store: SiteStore, trust: TrustStore, keys: Keys
) -> None:
    gate = _exact(store, trust)
    everyone = keys.contract(purpose=Purpose(("HMB",), irb_approved=True))
    seen: list[tuple[str, ...]] = []

    def count(grant: Any) -> int:
        cond, params = grant.consent_filter()
        rows = gate.store.connection.execute(
            f"SELECT pseudonym FROM mmio_index WHERE {cond} ORDER BY 1", params
        ).fetchall()
        seen.append(tuple(r[0] for r in rows))
        return len(rows)

    _ask(gate, everyone, count=count)
    withdrawn = {pseudonym(i) for i in range(40) if i % 10 == 7}
    assert seen[0] and not withdrawn & set(seen[0])


def test_consent_changes_hold_from_the_next_request(
    store: SiteStore, trust: TrustStore, keys: Keys
) -> None:
    gate = _exact(store, trust)
    token = keys.contract()
    assert _ask(gate, token).count == 10
    # Patient 0 (LDL > 4) withdraws with the token the site issued them.
    patient = issue_patient_token(load_private_key(keys.site_private), site=SITE,
                                  pseudonym=pseudonym(0))  # fmt: skip
    caller = gate.authenticate(f"Bearer {patient}")
    change = gate.change_consent(caller, status="withdrawn", endpoint="/consent")
    assert change.version == 2
    assert _ask(gate, token).count == 9
    # A patient token is for the patient's consent only; a researcher cannot change consent.
    assert _refused(gate, patient).kind == "action-not-allowed"
    with pytest.raises(AccessError):
        gate.change_consent(gate.authenticate(f"Bearer {token}"), status="active",
                            permissions=["GRU"], endpoint="/consent")  # fmt: skip
    decisions = [(e.endpoint, e.decision) for e in _entries(gate)]
    assert decisions == [
        ("/individuals", "granted"),
        ("/consent", "granted"),
        ("/individuals", "granted"),
        ("/individuals", "refused 403 action-not-allowed"),
        ("/consent", "refused 403 action-not-allowed"),
    ]
    assert pseudonym(0) not in str([e.caller for e in _entries(gate)])  # digest, not pseudonym
    assert verify(gate.store.connection).ok


def test_the_budget_refuses_and_is_audited(gate: Gate, keys: Keys) -> None:
    token = keys.contract(researcher="carol")
    for _ in range(10):  # 10 x 0.5 = the default budget of 5.0
        r = _ask(gate, token)
        assert r.noised and r.noise["epsilon"] == 0.5
    err = _refused(gate, token)
    assert (err.status, err.kind) == (429, "privacy-budget-exhausted")
    assert "ε = 0 left of 5" in err.detail
    # Booleans of a researcher are noised and charged too: nothing left for them either.
    assert _refused(gate, token, action="discover-boolean").status == 429
    row = gate.store.connection.execute(
        "SELECT epsilon_spent, queries FROM privacy_budget WHERE researcher = 'carol'"
    ).fetchone()
    assert row == (5.0, 10)
    entries = _entries(gate)
    assert [e.decision for e in entries].count("granted") == 10
    assert entries[-1].contract_id is not None and entries[-1].result_size is None
    assert verify(gate.store.connection).ok


def test_threads_share_one_gate(gate: Gate, keys: Keys) -> None:
    from concurrent.futures import ThreadPoolExecutor

    tokens = [keys.contract(researcher=f"r{i}") for i in range(8)]
    gate.sampler = SeededLaplace(11)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda t: _ask(gate, t), tokens * 3))
    assert len(results) == 24
    report = verify(gate.store.connection)
    assert report.ok and report.entries == 24


def test_a_failing_count_is_audited_too(gate: Gate, keys: Keys) -> None:
    def broken(grant: Any) -> int:
        raise RuntimeError("the query failed")

    with pytest.raises(RuntimeError):
        _ask(gate, keys.contract(), count=broken)
    entries = _entries(gate)
    assert len(entries) == 1 and entries[0].decision == "failed RuntimeError"
    assert entries[0].caller == "alice"
