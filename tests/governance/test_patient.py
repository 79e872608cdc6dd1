"""A patient's consent changed at the site: one transaction, history, allele counts."""

from __future__ import annotations

from importlib.util import find_spec

import pytest
from gov_support import GRU, GSO, HMB, pseudonym

from cardiofabric.errors import InputError
from cardiofabric.governance import (
    Purpose,
    allowed_profiles,
    change_consent,
    consenting_pseudonyms,
)
from cardiofabric.store import SiteStore

GENOMIC_HMB = Purpose((HMB,), genomic=True)


def _carriers(store: SiteStore, profiles: list[str]) -> int:
    row = store.connection.execute(
        "SELECT coalesce(sum(carriers), 0) FROM allele_count WHERE gene = 'LDLR' "
        "AND profile IN (SELECT unnest(?::VARCHAR[]))",
        [profiles],
    ).fetchone()
    return int(row[0]) if row else 0


def test_a_withdrawal_holds_everywhere_at_once(store: SiteStore) -> None:
    p = pseudonym(0)  # GRU, LDLR carrier
    con = store.connection
    assert p in consenting_pseudonyms(con, GENOMIC_HMB)
    before = _carriers(store, allowed_profiles(con, GENOMIC_HMB))
    change = change_consent(
        store, p, status="withdrawn", permissions=["GRU"], changed_by="steward", note="by phone"
    )
    assert (change.version, change.status, change.permissions) == (2, "withdrawn", (GRU,))
    assert p not in consenting_pseudonyms(con, GENOMIC_HMB)
    assert change.allele_counts_refreshed is (find_spec("cardiofabric.store.alleles") is not None)
    if change.allele_counts_refreshed:
        assert _carriers(store, allowed_profiles(con, GENOMIC_HMB)) == before - 1
    history = con.execute(
        "SELECT status, version, changed_by, note FROM consent_history WHERE pseudonym = ? "
        "ORDER BY version",
        [p],
    ).fetchall()
    assert history == [
        ("active", 1, "ingest", "as recorded before the first change"),
        ("withdrawn", 2, "steward", "by phone"),
    ]
    # And back: a new consent, without genomic use.
    again = change_consent(
        store, p, status="active", permissions=["GRU"], prohibitions=["GSO"], changed_by="steward"
    )
    assert again.version == 3 and again.prohibitions == (GSO,)
    assert p in consenting_pseudonyms(con, Purpose((HMB,)))
    assert p not in consenting_pseudonyms(con, GENOMIC_HMB)


def test_a_failed_change_changes_nothing(store: SiteStore) -> None:
    con = store.connection
    before = con.execute("SELECT * FROM consent ORDER BY pseudonym").fetchall()
    with pytest.raises(InputError, match="unknown DUO term"):
        change_consent(store, pseudonym(1), status="active", permissions=["XYZ"], changed_by="s")
    with pytest.raises(InputError, match="no patient"):
        change_consent(store, "pt-9999", status="withdrawn", changed_by="s")
    with pytest.raises(InputError, match="status"):
        change_consent(store, pseudonym(1), status="paused", changed_by="s")
    assert con.execute("SELECT * FROM consent ORDER BY pseudonym").fetchall() == before
    assert con.execute("SELECT count(*) FROM consent_history").fetchone() == (0,)
