"""DUO matching: which consents permit which purposes (deny by default)."""

from __future__ import annotations

import pytest
from gov_support import CONSENTS, DS, GRU, GSO, HMB, IRB, NCU, N, pseudonym

from cardiofabric.governance import (
    Purpose,
    SitePolicy,
    allowed_profiles,
    consenting_pseudonyms,
    permits,
)
from cardiofabric.governance.purpose import _KEY_SQL, NRES, POA, consent_key
from cardiofabric.store import SiteStore

NPU, NPUNCU, GS, NPOA, NMDS, CC, PUB = (
    "DUO:0000045",
    "DUO:0000018",
    "DUO:0000022",
    "DUO:0000044",
    "DUO:0000015",
    "DUO:0000043",
    "DUO:0000019",
)
hmb = Purpose((HMB,))
gru = Purpose((GRU,))
ds_i42 = Purpose((DS,), disease="ICD10:I42.2")


@pytest.mark.parametrize(
    ("perms", "purpose", "allowed"),
    [
        ((NRES,), gru, True),
        ((GRU,), gru, True),
        ((GRU,), hmb, True),
        ((GRU,), ds_i42, True),
        ((GRU,), Purpose((POA,)), True),
        ((HMB,), hmb, True),
        ((HMB,), ds_i42, True),
        ((HMB,), gru, False),
        ((HMB,), Purpose((POA,)), False),
        ((DS,), hmb, False),
        ((DS,), gru, False),
        ((POA,), hmb, False),
    ],
)
def test_permissions_nest(perms: tuple[str, ...], purpose: Purpose, allowed: bool) -> None:
    assert bool(permits("active", perms, (), purpose)) is allowed


def test_ds_needs_the_site_to_state_its_disease() -> None:
    # Ingest records DS without the disease: the site's policy states it.
    assert not permits("active", [DS], [], ds_i42)
    assert permits("active", [DS], [], ds_i42, ds_diseases=["ICD10:I42"])  # within the category
    assert permits("active", [DS], [], ds_i42, ds_diseases=["I42.2"])
    assert not permits("active", [DS], [], ds_i42, ds_diseases=["ICD10:I45"])
    mondo = Purpose((DS,), disease="MONDO:0005045")
    assert permits("active", [DS], [], mondo, ds_diseases=["MONDO:0005045"])
    assert not permits("active", [DS], [], mondo, ds_diseases=["MONDO:0004994"])


def test_withdrawn_unknown_and_empty_consents_permit_nothing() -> None:
    d = permits("withdrawn", [NRES], [], hmb)
    assert not d and "withdrawn" in d.reason
    assert not permits("unknown", [], [], hmb)
    assert not permits("active", [], [], hmb)  # ingest's "could not be read": nothing
    assert not permits("active", [GRU, "DUO:9999999"], [], hmb)
    assert not permits("active", [NCU], [], hmb)  # a modifier alone grants nothing


def test_modifiers() -> None:
    commercial = Purpose((HMB,), commercial=True)
    for mod in (NPU, NCU, NPUNCU):
        assert permits("active", [GRU, mod], [], hmb)
        assert not permits("active", [GRU, mod], [], commercial)
        assert not permits("active", [GRU], [mod], commercial)  # a modifier among prohibitions
    genomic = hmb.with_genomic(True)
    assert permits("active", [GRU], [GSO], hmb)
    assert not permits("active", [GRU], [GSO], genomic)  # no genomic use
    assert permits("active", [GRU, GSO], [], genomic)  # genetic studies only
    assert not permits("active", [GRU, GSO], [], hmb)
    assert not permits("active", [GRU, IRB], [], hmb)
    assert permits("active", [GRU, IRB], [], Purpose((HMB,), irb_approved=True))
    assert not permits("active", [GRU, GS], [], Purpose((HMB,), country="NL"))  # no site country
    assert permits("active", [GRU, GS], [], Purpose((HMB,), country="nl"), country="NL")
    assert not permits("active", [GRU, GS], [], Purpose((HMB,), country="US"), country="NL")
    assert not permits("active", [GRU, NPOA], [], Purpose((POA,)))
    assert permits("active", [GRU, NPOA], [], hmb)
    assert not permits("active", [GRU, NMDS], [], gru)
    assert permits("active", [GRU, NMDS], [], hmb)
    assert permits("active", [HMB, CC], [], hmb)
    d = permits("active", [GRU, PUB], [], hmb)  # an obligation the gate cannot check
    assert not d and "steward" in d.reason


def test_a_prohibited_permission_refuses_what_it_covers() -> None:
    assert not permits("active", [GRU], [HMB], ds_i42)
    assert permits("active", [GRU], [HMB], Purpose((POA,)))


def _expected(purpose: Purpose) -> list[str]:
    return sorted(
        pseudonym(i)
        for i in range(N)
        if permits(CONSENTS[i % 10][2], CONSENTS[i % 10][0], CONSENTS[i % 10][1], purpose)
    )


@pytest.mark.parametrize("genomic", [False, True])
def test_consenting_patients_in_the_store(store: SiteStore, genomic: bool) -> None:
    con = store.connection
    purpose = hmb.with_genomic(genomic)
    got = consenting_pseudonyms(con, purpose)
    assert got == _expected(purpose)
    numbers = {int(p[3:]) % 10 for p in got}
    assert numbers == ({0, 1, 2, 3, 4, 8} | (set() if genomic else {6}))  # not 5, 7, 9


def test_allowed_allele_profiles(store: SiteStore) -> None:
    profiles = allowed_profiles(store.connection, hmb.with_genomic(True))
    if not profiles:
        pytest.skip("the store has no consent profiles (allele counts not built)")
    assert all(p.startswith("active|") for p in profiles)
    assert not any(GSO in p or IRB in p or "withdrawn" in p for p in profiles)
    site = SitePolicy(ds_diseases=("ICD10:I42",))
    with_ds = allowed_profiles(store.connection, ds_i42.with_genomic(True), policy=site)
    assert any(p == f"active|{DS}" for p in with_ds)


def test_consent_key_matches_the_sql_key(store: SiteStore) -> None:
    rows = store.connection.execute(
        f"SELECT status, permissions, prohibitions, {_KEY_SQL} FROM consent"
    ).fetchall()
    assert rows and all(consent_key(s, p, q) == k for s, p, q, k in rows)
