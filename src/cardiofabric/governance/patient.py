"""A patient's consent changed at the site: a withdrawal, a narrower or a wider consent.

One transaction does all of it, so that no answer ever sees half a change:

1. the ``consent`` row gets the new terms and ``version`` + 1 (the store's re-ingest keeps a
   consent whose version is higher than the object's, so an older source consent read again
   later cannot undo the change);
2. a ``consent_history`` row records the new state, who changed it and why (before the first
   change the state the ingest recorded is written too, so the history is complete);
3. the cohort allele counts are rebuilt (:func:`cardiofabric.store.alleles.refresh_allele_counts`)
   so that a patient who withdrew is in no allele count from the next request on.

The gate counts over the ``consent`` table as it is at each request, and re-reads the store's
distinct consents when :attr:`SiteStore.consent_version` moves (bumped here after the commit),
so the change holds from the next request.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import duckdb

from cardiofabric.errors import InputError, StoreError
from cardiofabric.store.database import now as _now
from cardiofabric.store.site import SiteStore
from cardiofabric.vocab.duo import resolve

__all__ = ["STATUSES", "ConsentChange", "change_consent", "consent_row"]

STATUSES = ("active", "withdrawn")


@dataclass(frozen=True)
class ConsentChange:
    pseudonym: str
    version: int
    status: str
    permissions: tuple[str, ...]
    prohibitions: tuple[str, ...]
    changed_at: str
    changed_by: str
    allele_counts_refreshed: bool
    #: ``seq`` of the audit entry of the change when the gate made it (None otherwise).
    audit_seq: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _codes(terms: Sequence[str]) -> list[str]:
    return sorted({resolve(t).code for t in terms})


def _refresh(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        from cardiofabric.store.alleles import refresh_allele_counts
    except ImportError:  # a store without the cohort view of variants
        return False
    refresh_allele_counts(con)
    return True


def consent_row(con: duckdb.DuckDBPyConnection, pseudonym: str) -> tuple[Any, ...] | None:
    """The patient's stored consent as ``(status, version, permissions, prohibitions,
    updated_at)``, or None when none is recorded."""
    return con.execute(
        "SELECT status, version, permissions, prohibitions, updated_at FROM consent "
        "WHERE pseudonym = ?",
        [pseudonym],
    ).fetchone()


def change_consent(
    store_or_con: SiteStore | duckdb.DuckDBPyConnection,
    pseudonym: str,
    *,
    status: str,
    permissions: Sequence[str] = (),
    prohibitions: Sequence[str] = (),
    changed_by: str,
    note: str | None = None,
) -> ConsentChange:
    """Record a new consent for ``pseudonym`` (steps in the module docstring).

    ``permissions``/``prohibitions`` are DUO codes or abbreviations; a withdrawal may keep the
    terms (they are recorded, and permit nothing while the status is ``withdrawn``).
    """
    if isinstance(store_or_con, SiteStore):
        if store_or_con.read_only:
            raise StoreError(
                "the store was opened read-only",
                path=store_or_con.root,
                hint="open it writable to change a consent",
            )
        con = store_or_con.connection
    else:
        con = store_or_con
    if status not in STATUSES:
        raise InputError(f"expected a consent status of 'active' or 'withdrawn', found {status!r}")
    if not changed_by:
        raise InputError("a consent change must say who made it (changed_by)")
    perms, prohibs = _codes(permissions), _codes(prohibitions)
    t = _now()
    con.begin()
    try:
        row = consent_row(con, pseudonym)
        if row is None:
            known = con.execute(
                "SELECT count(*) FROM mmio_index WHERE pseudonym = ?", [pseudonym]
            ).fetchone()
            if not known or not known[0]:
                raise InputError(
                    f"no patient {pseudonym!r} in this store",
                    hint="check the pseudonym (cardiofabric store info lists the patients)",
                )
            version = 1
        else:
            version = int(row[1]) + 1
            logged = con.execute(
                "SELECT count(*) FROM consent_history WHERE pseudonym = ?", [pseudonym]
            ).fetchone()
            if not logged or not logged[0]:
                con.execute(
                    "INSERT INTO consent_history VALUES (?, ?, ?, ?, ?, ?, 'ingest', ?)",
                    [pseudonym, row[0], row[1], row[2], row[3], row[4] or t,
                     "as recorded before the first change"],
                )  # fmt: skip
        con.execute(
            "INSERT INTO consent VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (pseudonym) DO UPDATE SET "
            "status = excluded.status, version = excluded.version, "
            "permissions = excluded.permissions, prohibitions = excluded.prohibitions, "
            "updated_at = excluded.updated_at",
            [pseudonym, status, version, perms, prohibs, t],
        )
        con.execute(
            "INSERT INTO consent_history VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [pseudonym, status, version, perms, prohibs, t, changed_by, note],
        )
        refreshed = _refresh(con)
        con.commit()
        if isinstance(store_or_con, SiteStore):
            store_or_con.consents_changed()  # the gate's consent cache keys on it
    except BaseException as exc:
        with contextlib.suppress(duckdb.Error):
            con.rollback()
        if isinstance(exc, duckdb.Error):
            raise StoreError(f"the consent change could not be recorded ({exc})") from None
        raise
    return ConsentChange(
        pseudonym, version, status, tuple(perms), tuple(prohibs), t, changed_by, refreshed
    )
