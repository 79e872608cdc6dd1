"""The audit chain: appends, and tampering (edit, insert, delete) named by seq."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import duckdb
import pytest

from cardiofabric.governance import audit
from cardiofabric.store import SiteStore


def _fill(con: duckdb.DuckDBPyConnection, n: int = 8) -> list[audit.AuditEntry]:
    t0 = datetime(2025, 1, 1, 12, 0, 0, 123456)
    return [
        audit.append(
            con,
            caller="alice" if i % 2 else "anonymous",
            contract_id=f"c-{i}" if i % 2 else None,
            purpose=["DUO:0000006"] if i % 2 else [],
            endpoint="/individuals",
            query={"filters": [{"id": "LOINC:22748-8", "operator": ">", "value": 4 + i}]},
            decision="granted" if i != 3 else "refused 429 privacy-budget-exhausted",
            result_size=10 + i if i != 3 else None,
            now=t0 + timedelta(seconds=i),
        )
        for i in range(1, n + 1)
    ]


def _rows(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute("SELECT * FROM audit_log ORDER BY seq").fetchall()


def _rewrite(con: duckdb.DuckDBPyConnection, rows: list[tuple[object, ...]]) -> None:
    """Replace the whole table (what someone with write access to the file could do)."""
    con.execute("DELETE FROM audit_log")
    con.executemany("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def test_the_chain_links_and_verifies(store: SiteStore) -> None:
    con = store.connection
    entries = _fill(con)
    assert [e.seq for e in entries] == list(range(1, 9))
    assert entries[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    report = audit.verify(con)
    assert report.ok and report.entries == 8 and report.head == entries[-1].hash
    # What is stored is what was hashed (the time survives the TIMESTAMP column).
    assert audit.show(con, limit=None) == entries
    assert [e.seq for e in audit.show(con, limit=3)] == [6, 7, 8]
    assert [e.seq for e in audit.show(con, limit=2, since=2)] == [7, 8]
    assert audit.show(con, limit=0) == []
    assert audit.verify(con).to_json()["problems"] == []


def test_an_edited_entry_is_named(store: SiteStore) -> None:
    con = store.connection
    _fill(con)
    con.execute("UPDATE audit_log SET result_size = 5 WHERE seq = 4")
    report = audit.verify(con)
    assert not report.ok
    assert report.problems == [(4, "edited: entry 4 does not match its hash")]


def test_an_edited_and_rehashed_entry_is_named(store: SiteStore) -> None:
    con = store.connection
    entries = _fill(con)
    e = entries[4]  # seq 5
    changed = audit.AuditEntry(**{**e.__dict__, "decision": "refused 403 access-denied"})
    new_hash = audit.entry_hash(changed.content())
    con.execute(
        "UPDATE audit_log SET decision = ?, hash = ? WHERE seq = 5", [changed.decision, new_hash]
    )
    report = audit.verify(con)
    assert report.problems[0][0] == 5 and report.problems[0][1].startswith("edited")


def test_an_inserted_entry_is_named(store: SiteStore) -> None:
    con = store.connection
    _fill(con)
    rows = _rows(con)
    # A forged entry after seq 5, hashed properly and linked to entry 5; the later entries
    # renumbered to make room (their hashes cannot be recomputed without rewriting all).
    five = audit.show(con, limit=None)[4]
    forged = audit.AuditEntry(
        6, five.logged_at, "mallory", None, (), "/individuals", "{}", "granted", 1, five.hash, ""
    )
    forged = audit.AuditEntry(**{**forged.__dict__, "hash": audit.entry_hash(forged.content())})
    new = [*rows[:5], tuple(forged.__dict__[c] for c in forged.__dict__)]
    new += [(r[0] + 1, *r[1:]) for r in rows[5:]]  # type: ignore[operator]
    _rewrite(con, [(*r[:4], list(r[4]), *r[5:]) for r in new])
    report = audit.verify(con)
    assert report.problems == [
        (6, "inserted: entry 6 is not in the chain (entry 7 links to the entry before it)")
    ]


@pytest.mark.parametrize("renumber", [False, True])
def test_a_deleted_entry_is_named(store: SiteStore, renumber: bool) -> None:
    con = store.connection
    _fill(con)
    if renumber:
        rows = _rows(con)
        kept = rows[:5] + [(r[0] - 1, *r[1:]) for r in rows[6:]]  # type: ignore[operator]
        _rewrite(con, kept)
    else:
        con.execute("DELETE FROM audit_log WHERE seq = 6")
    report = audit.verify(con)
    assert len(report.problems) == 1
    seq, what = report.problems[0]
    assert seq == 6 and what.startswith("deleted")


def test_an_empty_log_verifies(store: SiteStore) -> None:
    report = audit.verify(store.connection)
    assert report.ok and report.entries == 0 and report.head == audit.GENESIS
