"""The audit log: one hash-chained entry per request, granted or refused.

Each entry's ``hash`` is SHA-256 over the canonical JSON (keys sorted, no whitespace, UTF-8;
the subset of RFC 8785 JCS that strings, integers, null and lists need) of the entry's fields,
``seq`` and ``prev_hash`` included; ``prev_hash`` is the previous entry's hash, 64 zeros for
the first. Changing, inserting or deleting an entry inside the chain therefore shows:

- an **edited** entry no longer matches its own hash (or, re-hashed, no longer matches the
  ``prev_hash`` its successor recorded);
- an **inserted** entry is skipped by its successor's ``prev_hash`` (which names the entry
  before it), and the entries after it are renumbered;
- a **deleted** entry leaves a gap in ``seq``, or, renumbered, a successor whose
  ``prev_hash`` matches no entry.

:func:`verify` names the first entry concerned by its ``seq``. What a chain cannot show
without a copy kept elsewhere: removing the newest entries, or rewriting the whole tail with
fresh hashes. ``audit show`` prints the head hash; a site that records it elsewhere from time
to time (a ticket, a notary, the hub) can prove the log up to that point.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from cardiofabric.errors import InputError, StoreError

__all__ = [
    "GENESIS",
    "LOCK",
    "AuditEntry",
    "AuditReport",
    "append",
    "canonical_json",
    "entry_hash",
    "head",
    "show",
    "verify",
]

GENESIS = "0" * 64
_COLUMNS = (
    "seq, logged_at, caller, contract_id, purpose, endpoint, query, decision, result_size, "
    "prev_hash, hash"
)
#: Appends from threads of one process are serialised; other processes cannot write the store.
#: Re-entrant: a caller whose transaction ends in an append (the gate's budget charge and
#: entry) holds it from before its BEGIN, so that no other append lands in between.
LOCK = threading.RLock()


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _stamp(t: datetime) -> str:
    return t.isoformat(sep=" ", timespec="microseconds")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    logged_at: datetime
    caller: str
    contract_id: str | None
    purpose: tuple[str, ...]
    endpoint: str
    query: str  # canonical JSON of the request
    decision: str
    result_size: int | None
    prev_hash: str
    hash: str

    def content(self, *, seq: int | None = None) -> dict[str, Any]:
        """The hashed fields (with another ``seq``, to recognise a renumbered entry)."""
        return {
            "seq": self.seq if seq is None else seq,
            "logged_at": _stamp(self.logged_at),
            "caller": self.caller,
            "contract_id": self.contract_id,
            "purpose": list(self.purpose),
            "endpoint": self.endpoint,
            "query": self.query,
            "decision": self.decision,
            "result_size": self.result_size,
            "prev_hash": self.prev_hash,
        }

    def to_json(self) -> dict[str, Any]:
        d = self.content()
        d["hash"] = self.hash
        with contextlib.suppress(ValueError):
            d["query"] = json.loads(self.query)
        return d


def entry_hash(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(dict(content)).encode("utf-8")).hexdigest()


def _entry(r: Sequence[Any]) -> AuditEntry:
    return AuditEntry(
        int(r[0]),
        r[1],
        str(r[2]),
        None if r[3] is None else str(r[3]),
        tuple(str(p) for p in r[4] or ()),
        str(r[5]),
        str(r[6]),
        str(r[7]),
        None if r[8] is None else int(r[8]),
        str(r[9]),
        str(r[10]),
    )


def _in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    # Inside a transaction txid_current() stays the same between statements (see
    # cardiofabric.store.alleles); a second BEGIN would abort the caller's transaction.
    a = con.execute("SELECT txid_current()").fetchone()
    b = con.execute("SELECT txid_current()").fetchone()
    return a == b


def head(con: duckdb.DuckDBPyConnection) -> tuple[int, str]:
    """The last entry's seq and hash: (0, 64 zeros) for an empty log."""
    r = con.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(r[0]), str(r[1])) if r else (0, GENESIS)


def append(
    con: duckdb.DuckDBPyConnection,
    *,
    caller: str,
    contract_id: str | None,
    purpose: Sequence[str],
    endpoint: str,
    query: Mapping[str, Any] | str,
    decision: str,
    result_size: int | None,
    now: datetime | None = None,
    in_transaction: bool | None = None,
) -> AuditEntry:
    """Append one entry (in the caller's transaction when one is open, else in its own).

    ``in_transaction`` says whether the caller holds one (None: find out, two queries).
    """
    t = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    q = query if isinstance(query, str) else canonical_json(dict(query))
    with LOCK:
        own = not (_in_transaction(con) if in_transaction is None else in_transaction)
        if own:
            con.begin()
        try:
            seq, prev = head(con)
            entry = AuditEntry(
                seq + 1,
                t,
                caller,
                contract_id,
                tuple(purpose),
                endpoint,
                q,
                decision,
                result_size,
                prev,
                "",
            )
            entry = AuditEntry(**{**entry.__dict__, "hash": entry_hash(entry.content())})
            con.execute(
                f"INSERT INTO audit_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    entry.seq,
                    _stamp(t),
                    caller,
                    contract_id,
                    list(entry.purpose),
                    endpoint,
                    q,
                    decision,
                    result_size,
                    prev,
                    entry.hash,
                ],
            )
            if own:
                con.commit()
        except BaseException:
            if own:
                con.rollback()
            raise
    return entry


def _entries(
    con: duckdb.DuckDBPyConnection, where: str = "", params: Sequence[Any] = ()
) -> list[AuditEntry]:
    try:
        rows = con.execute(
            f"SELECT {_COLUMNS} FROM audit_log {where} ORDER BY seq", list(params)
        ).fetchall()
    except duckdb.CatalogException:
        raise StoreError(
            "the store has no audit_log table (schema version 1)",
            hint="open the store writable once to migrate it to schema version 2",
        ) from None
    return [_entry(r) for r in rows]


def show(
    con: duckdb.DuckDBPyConnection, limit: int | None = 20, since: int | datetime | None = None
) -> list[AuditEntry]:
    """The newest ``limit`` entries (None: all), from seq or time ``since``; oldest first."""
    where, params = "", []  # type: tuple[str, list[Any]]
    if isinstance(since, datetime):
        where, params = "WHERE logged_at >= ?", [since]
    elif since is not None:
        where, params = "WHERE seq >= ?", [since]
    if limit is None:
        return _entries(con, where, params)
    if limit < 0:
        raise InputError(f"expected a limit of 0 or more, found {limit}")
    newest = f"WHERE seq IN (SELECT seq FROM audit_log {where} ORDER BY seq DESC LIMIT ?)"
    return _entries(con, newest, [*params, limit])


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    entries: int
    head: str  # the last entry's hash
    problems: list[tuple[int, str]] = field(default_factory=list)  # (seq, what)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head,
            "problems": [{"seq": s, "problem": w} for s, w in self.problems],
        }


def verify(con: duckdb.DuckDBPyConnection) -> AuditReport:
    """Check the whole chain; name each problem by the seq of the first entry concerned."""
    entries = _entries(con)
    problems: list[tuple[int, str]] = []
    prev_hash, before_prev = GENESIS, None
    prev_seq, expected = 0, 1
    # Once an entry is found inserted or deleted, the renumbered entries after it are that
    # problem's consequence, not edits of their own.
    shifted = False
    for e in entries:
        own = entry_hash(e.content()) == e.hash
        moved = (not own) and any(entry_hash(e.content(seq=e.seq + d)) == e.hash for d in (-1, 1))
        if e.seq > expected:
            missing = f"{expected}" if e.seq == expected + 1 else f"{expected}..{e.seq - 1}"
            problems.append((expected, f"deleted: entry {missing} is missing from the chain"))
        elif e.prev_hash != prev_hash:
            if before_prev is not None and e.prev_hash == before_prev:
                problems.append(
                    (
                        prev_seq,
                        f"inserted: entry {prev_seq} is not in the chain (entry {e.seq} "
                        f"links to the entry before it)",
                    )
                )
                shifted = True
            elif moved:
                problems.append(
                    (
                        e.seq,
                        f"deleted: an entry before {e.seq} is missing (entry {e.seq} links "
                        "to no entry present and was renumbered)",
                    )
                )
                shifted = True
            else:
                problems.append(
                    (
                        prev_seq,
                        f"edited: entry {prev_seq} was changed and re-hashed (entry "
                        f"{e.seq} links to its original hash), or entries after it were deleted",
                    )
                )
        if not own and not (moved and shifted):
            problems.append((e.seq, f"edited: entry {e.seq} does not match its hash"))
        before_prev, prev_hash, prev_seq, expected = prev_hash, e.hash, e.seq, e.seq + 1
    problems.sort(key=lambda p: p[0])
    return AuditReport(not problems, len(entries), prev_hash, problems)
