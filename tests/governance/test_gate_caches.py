"""What the gate remembers between requests, and what it must not: the audit seq of an answer,
verified tokens (revocation and expiry still hold), the store's kinds of consent (a change holds
from the next request however it was made), and the audit chain and budget under threads."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import gov_support
import pytest
from gov_support import DATASET, HMB, SITE, Keys, ldl_count, make_object, pseudonym

from cardiofabric.errors import AccessError
from cardiofabric.governance import (
    NETWORK_AUDIENCE,
    Gate,
    Purpose,
    SitePolicy,
    TrustStore,
    audit,
    change_consent,
    issue_patient_token,
    load_private_key,
    release_count,
    revoke,
)
from cardiofabric.governance.policy import DifferentialPrivacy
from cardiofabric.store import SiteStore

EXACT = SitePolicy(dp=DifferentialPrivacy(enabled=False))
NPU = "DUO:0000045"  # not for profit use: permits a non-commercial HMB request


def _ask(gate: Gate, token: str) -> Any:
    return gate.answer(f"Bearer {token}", action="discover-count", endpoint="/individuals",
                       query={}, count=ldl_count(gate))  # fmt: skip


def _exact(store: SiteStore, trust: TrustStore) -> Gate:
    return Gate(store, EXACT, trust, site=SITE, datasets=[DATASET])


# -- the audit seq of an answer --------------------------------------------------------------
def test_released_carries_the_seq_of_its_audit_entry(gate: Gate, keys: Keys) -> None:
    token = keys.contract()
    first = _ask(gate, token)
    assert first.audit_seq == audit.head(gate.store.connection)[0] == 1
    with pytest.raises(AccessError):
        _ask(gate, "forged")  # a refusal takes seq 2
    second = _ask(gate, token)
    assert second.audit_seq == 3
    entry = audit.show(gate.store.connection, limit=1)[0]
    assert (entry.seq, entry.decision, entry.result_size) == (3, "granted", second.count)
    # Disclosure control alone has audited nothing.
    assert release_count(10, EXACT, granularity="count").audit_seq is None


def test_a_consent_change_carries_the_seq_of_its_audit_entry(gate: Gate, keys: Keys) -> None:
    patient = issue_patient_token(load_private_key(keys.site_private), site=SITE,
                                  pseudonym=pseudonym(1))  # fmt: skip
    change = gate.change_consent(gate.authenticate(f"Bearer {patient}"), status="withdrawn",
                                 endpoint="/consent")  # fmt: skip
    assert change.audit_seq == audit.head(gate.store.connection)[0]
    assert audit.show(gate.store.connection, limit=1)[0].endpoint == "/consent"


# -- consent: a change holds from the next request -------------------------------------------
def test_a_new_kind_of_consent_from_the_patient_counts_from_the_next_request(
    store: SiteStore, trust: TrustStore, keys: Keys
) -> None:
    gate = _exact(store, trust)
    token = keys.contract()
    assert _ask(gate, token).count == 10  # the kinds of consent are read and remembered
    # Patient 27 (LDL > 4, withdrawn) consents again with a kind no patient had: HMB + NPU.
    patient = issue_patient_token(load_private_key(keys.site_private), site=SITE,
                                  pseudonym=pseudonym(27))  # fmt: skip
    gate.change_consent(gate.authenticate(f"Bearer {patient}"), status="active",
                        permissions=[HMB, NPU], endpoint="/consent")  # fmt: skip
    assert _ask(gate, token).count == 11
    gate.change_consent(gate.authenticate(f"Bearer {patient}"), status="withdrawn",
                        permissions=[HMB, NPU], endpoint="/consent")  # fmt: skip
    assert _ask(gate, token).count == 10


def test_a_change_through_the_library_or_an_ingest_counts_from_the_next_request(
    store: SiteStore, trust: TrustStore, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _exact(store, trust)
    token = keys.contract()
    assert _ask(gate, token).count == 10
    version = store.consent_version
    change_consent(store, pseudonym(27), status="active", permissions=[HMB, NPU], changed_by="s")
    assert store.consent_version != version
    assert _ask(gate, token).count == 11
    # An ingest of a new patient (42: LDL > 4) with another new kind (HMB + NPU + NCU).
    monkeypatch.setitem(gov_support.CONSENTS, 2, ((HMB, NPU, "DUO:0000046"), (), "active"))
    version = store.consent_version
    store.add_many([make_object(42)])
    assert store.consent_version != version
    assert _ask(gate, token).count == 12


def test_a_withdrawal_in_plain_sql_holds_from_the_next_request(
    store: SiteStore, trust: TrustStore, keys: Keys
) -> None:
    gate = _exact(store, trust)
    token = keys.contract()
    assert _ask(gate, token).count == 10
    # No version moves: the remembered kinds of consent are used, but which patients hold
    # them is read at the request, so the withdrawal holds at once.
    store.connection.execute(
        "UPDATE consent SET status = 'withdrawn' WHERE pseudonym = ?", [pseudonym(0)]
    )
    assert _ask(gate, token).count == 9
    # A new kind written in plain SQL permits nothing until it is read (deny by default) ...
    store.connection.execute(
        "UPDATE consent SET status = 'active', permissions = [?, ?] WHERE pseudonym = ?",
        [HMB, NPU, pseudonym(27)],
    )
    assert _ask(gate, token).count == 9
    # ... which the time limit bounds (and invalidate() forces).
    gate.consents.invalidate()
    assert _ask(gate, token).count == 10
    # A gate whose consents are never older than the request reads a new kind at once.
    quick = Gate(store, EXACT, trust, site=SITE, datasets=[DATASET], consent_ttl=0.0)
    store.connection.execute(
        "UPDATE consent SET status = 'active', permissions = [?, ?, ?] WHERE pseudonym = ?",
        [HMB, NPU, "DUO:0000046", pseudonym(0)],
    )
    assert _ask(quick, token).count == 11


def test_the_grant_carries_the_stored_consents_it_permits(
    gate: Gate, keys: Keys, store: SiteStore
) -> None:
    grant = gate.authorise(gate.authenticate(f"Bearer {keys.contract()}"), action="discover-count")
    stored = {
        (s, tuple(p), tuple(q))
        for s, p, q in store.connection.execute(
            "SELECT DISTINCT status, permissions, prohibitions FROM consent"
        ).fetchall()
    }
    assert grant.consents and set(grant.consents) <= stored
    assert all(status == "active" for status, _, _ in grant.consents)
    assert len(grant.consent_keys) == len(grant.consents) and not grant.profiles
    genomic = gate.authorise(grant.caller, action="discover-count", genomic=True)
    assert genomic.profiles and len(genomic.consents) < len(grant.consents)  # GSO prohibited


# -- tokens ----------------------------------------------------------------------------------
def test_a_verified_token_is_remembered_but_revocation_still_holds(
    keys: Keys, tmp_path: Path
) -> None:
    lst = tmp_path / "revoked.jwt"
    priv = load_private_key(keys.private)
    revoke(lst, priv, ["other"], issuer="dac-1")
    trust = TrustStore({"dac-1": keys.public}, audience=NETWORK_AUDIENCE, revocation_list=lst,
                       refresh_every=0)  # fmt: skip
    token = keys.contract(contract_id="c-9")
    first = trust.verify(token)
    assert trust.verify(token) is first  # remembered: not decoded again
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    with pytest.raises(AccessError) as info:
        trust.verify(forged)
    assert info.value.kind in ("invalid-signature", "invalid-token")
    revoke(lst, priv, ["c-9"], issuer="dac-1")
    with pytest.raises(AccessError) as info:
        trust.verify(token)
    assert info.value.kind == "token-revoked"


def test_a_remembered_token_expires(keys: Keys) -> None:
    trust = TrustStore({"dac-1": keys.public}, audience=NETWORK_AUDIENCE, leeway=0)
    token = keys.contract(valid_for=timedelta(seconds=1))
    trust.verify(token)
    time.sleep(1.1)
    with pytest.raises(AccessError) as info:
        trust.verify(token)
    assert info.value.kind == "token-expired"


# -- threads ---------------------------------------------------------------------------------
def test_answers_and_other_appends_from_threads_keep_one_chain(gate: Gate, keys: Keys) -> None:
    tokens = [keys.contract(researcher=f"r{i}") for i in range(4)]

    def other(i: int) -> int:
        # An append outside the gate (the node's collection endpoints), on its own cursor.
        con = gate.store.connection.cursor()
        try:
            return audit.append(con, caller="x", contract_id=None, purpose=[], endpoint="/c",
                                query={"i": i}, decision="granted", result_size=1).seq  # fmt: skip
        finally:
            con.close()

    with ThreadPoolExecutor(6) as pool:
        asks = [pool.submit(_ask, gate, t) for t in tokens * 4]
        appends = [pool.submit(other, i) for i in range(16)]
        seqs = [f.result().audit_seq for f in asks] + [f.result() for f in appends]
    assert sorted(seqs) == list(range(1, 33))
    report = audit.verify(gate.store.connection)
    assert report.ok and report.entries == 32


def test_the_budget_holds_under_threads(store: SiteStore, trust: TrustStore, keys: Keys) -> None:
    policy = SitePolicy(dp=DifferentialPrivacy(epsilon_per_query=0.5, epsilon_budget=3.0))
    gate = Gate(store, policy, trust, site=SITE, datasets=[DATASET])
    token = keys.contract(researcher="dave", purpose=Purpose((HMB,)))

    def ask(_: int) -> str:
        try:
            _ask(gate, token)
            return "granted"
        except AccessError as exc:
            return exc.kind

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(ask, range(16)))
    assert outcomes.count("granted") == 6  # 6 x 0.5 = 3.0, the budget
    assert outcomes.count("privacy-budget-exhausted") == 10
    row = store.connection.execute(
        "SELECT epsilon_spent, queries FROM privacy_budget WHERE researcher = 'dave'"
    ).fetchone()
    assert row == (3.0, 6)
    assert audit.verify(store.connection).entries == 16
