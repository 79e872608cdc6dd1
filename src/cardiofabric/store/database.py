"""A store's DuckDB file: opening it with clear errors, its metadata, forward migrations.

``store_meta`` records what the file is (``encoding_type``), which schema it follows
(``schema_version``, see ``schema.py``) and whose data it holds (``site``). A store written by an
older release is migrated forward on a writable open, one version at a time, in a single
transaction; a store written by a newer release is refused rather than misread.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from cardiofabric import __version__
from cardiofabric.errors import StoreError
from cardiofabric.store import alleles, schema  # alleles imports no store module: no cycle

__all__ = [
    "ENCODING_TYPE",
    "MIGRATIONS",
    "Migration",
    "connect",
    "initialise",
    "migrate",
    "now",
    "read_meta",
]

ENCODING_TYPE = "cardiofabric.store"

Migration = Callable[[duckdb.DuckDBPyConnection], None]

#: Forward migrations keyed by the schema version they upgrade *from*: ``MIGRATIONS[n]`` turns a
#: version-n store into version n+1.
MIGRATIONS: dict[int, Migration] = {}


def _v1_to_v2(con: duckdb.DuckDBPyConnection) -> None:
    """Version 2 adds governance tables (consent history, audit log, privacy budgets) and the
    cohort view of variants (consent profiles, allele counts, genotyped individuals); it
    changes no existing table. ``CREATE ... IF NOT EXISTS`` over the whole DDL adds exactly
    those, and the allele counts are filled from the variant rows already there (in the
    migration's transaction: a failed refresh leaves the store at version 1)."""
    con.execute(schema.ddl())
    alleles.refresh_allele_counts(con)


MIGRATIONS[1] = _v1_to_v2


def now() -> str:
    """The time of a store change: UTC, without zone, as the TIMESTAMP columns hold it."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")


def connect(db: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, turning DuckDB's errors into ones that say what to do."""
    try:
        return duckdb.connect(os.fspath(db), read_only=read_only)
    except duckdb.ConnectionException:
        raise StoreError(
            "the store is already open in this process in the other mode (read-only/writable)",
            path=db,
            hint="close the other SiteStore first, or open both the same way",
        ) from None
    except duckdb.Error as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise StoreError(
                "the store is in use by another process; DuckDB lets one process write a "
                "database at a time, and readers open it only while no process writes",
                path=db,
                hint="stop the other program (a running node or ingest) or wait for it to end",
            ) from None
        if "not a valid DuckDB" in text:
            raise StoreError(
                "expected a DuckDB database, found a file DuckDB cannot read",
                path=db,
                hint="this is not a site store; give the directory made by SiteStore.create",
            ) from None
        raise StoreError(f"cannot open the store database ({text})", path=db) from None


def initialise(con: duckdb.DuckDBPyConnection, *, site: str) -> None:
    """Create every table of the current schema and record what the file is."""
    meta = {
        "encoding_type": ENCODING_TYPE,
        "schema_version": str(schema.SCHEMA_VERSION),
        "site": site,
        "created_at": now(),
        "created_by": f"cardiofabric {__version__}",
    }
    con.begin()
    try:
        con.execute(schema.ddl())
        con.execute(
            "INSERT INTO store_meta SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
            [list(meta), list(meta.values())],
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise


def read_meta(con: duckdb.DuckDBPyConnection, db: Path) -> tuple[str, int]:
    """The store's site and schema version; refuses a database that is not a site store."""
    try:
        meta = {
            str(k): str(v) for k, v in con.execute("SELECT key, value FROM store_meta").fetchall()
        }
    except duckdb.CatalogException:
        meta = {}
    if meta.get("encoding_type") != ENCODING_TYPE:
        raise StoreError(
            f"expected a CardioFabric site store (store_meta encoding_type {ENCODING_TYPE!r}), "
            "found a DuckDB database without it",
            path=db,
            hint="give the directory made by SiteStore.create, or create a new store",
        )
    try:
        return meta["site"], int(meta["schema_version"])
    except (KeyError, ValueError):
        raise StoreError(
            "the store's metadata lacks a valid site or schema_version",
            path=db,
            hint="the database was edited by hand; restore it from a backup",
        ) from None


def migrate(con: duckdb.DuckDBPyConnection, found: int, db: Path) -> None:
    """Bring a version-``found`` store to the current schema version, or leave it untouched."""
    target = schema.SCHEMA_VERSION
    for v in range(found, target):
        if v not in MIGRATIONS:
            raise StoreError(
                f"no migration from store schema version {v} to {v + 1}",
                path=db,
                hint="upgrade through a cardiofabric release that knows this version",
            )
    con.begin()
    try:
        for v in range(found, target):
            MIGRATIONS[v](con)
        con.execute("UPDATE store_meta SET value = ? WHERE key = 'schema_version'", [str(target)])
        con.commit()
    except duckdb.Error as exc:
        con.rollback()
        raise StoreError(
            f"migrating the store from schema version {found} to {target} failed ({exc}); "
            f"it is still at version {found}",
            path=db,
        ) from None
    except BaseException:
        con.rollback()
        raise
