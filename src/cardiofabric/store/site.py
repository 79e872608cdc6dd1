"""The site store: one directory per site, a DuckDB database beside the MMIO objects.

Layout (see ``docs/data-model.md``)::

    STORE/
        store.duckdb            # harmonised tables, MMIO index and history, consent
        objects/<said>.mmio/    # every object ever added, content-addressed

A store is addressed by its directory so that it can be backed up, moved or handed to a node as
one path; object paths in the index are relative to it and stay valid when it moves.

Adding an object writes it to ``objects/`` first (atomic, idempotent), then changes every table
in one DuckDB transaction, so the index never names an object that is not on disk and a failed
add leaves the tables as they were. DuckDB lets one process write a database file at a time;
read-only opens may share it only while no process writes (DuckDB, "Concurrency").
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import duckdb

from cardiofabric.errors import CardioFabricError, InputError, StoreError
from cardiofabric.mmio import MMIO
from cardiofabric.store import alleles, database, schema
from cardiofabric.store.alleles import AlleleCountStats
from cardiofabric.store.bulk import (
    BatchInsertError,
    RowBatch,
    collect_content,
    content_batches,
    content_types,
    quote,
)
from cardiofabric.store.schema import CONTENT_TABLES

__all__ = ["DATABASE", "OBJECTS", "AddResult", "ObjectVersion", "SiteStore", "StoreInfo"]

DATABASE = "store.duckdb"
OBJECTS = "objects"
Status = Literal["added", "unchanged", "replaced"]

_SITE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CONSENT_VERSIONS = itertools.count(1)
_CONSENT_UPSERT = (
    "ON CONFLICT (pseudonym) DO UPDATE SET status = excluded.status, "
    "version = excluded.version, permissions = excluded.permissions, "
    "prohibitions = excluded.prohibitions, updated_at = excluded.updated_at "
    # A consent changed at the site (a withdrawal) has a higher version than the object that
    # is re-ingested later: the older consent must never overwrite it.
    "WHERE excluded.version >= consent.version"
)


@dataclass(frozen=True)
class AddResult:
    """What adding one object did. ``rows`` counts the rows it loaded, per table."""

    pseudonym: str
    object_digest: str
    status: Status
    path: str
    replaced: str | None = None
    rows: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ObjectVersion:
    """One object a patient had; ``replaced_at`` is None for the current one."""

    pseudonym: str
    object_digest: str
    kinds: tuple[str, ...]
    path: str
    added_at: datetime
    replaced_at: datetime | None = None
    replaced_by: str | None = None


@dataclass(frozen=True)
class StoreInfo:
    """A summary of a store for stewards: what it holds and how big it is."""

    site: str
    path: str
    schema_version: int
    objects: int  # object directories on disk, current and replaced
    patients: int  # pseudonyms with a current object
    replaced: int  # object versions kept in the history
    modalities: dict[str, int]  # patients per modality kind
    tables: dict[str, int]  # rows per content table
    consent: dict[str, int]  # patients per consent status
    size_bytes: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class SiteStore:
    """One site's store. Open it with :meth:`create` or :meth:`open`; use it as a context."""

    def __init__(
        self, root: Path, con: duckdb.DuckDBPyConnection, *, site: str, read_only: bool
    ) -> None:
        self.root, self.site, self.read_only = root, site, read_only
        self._con: duckdb.DuckDBPyConnection | None = con
        #: Changed (:meth:`consents_changed`) after each committed write through this object
        #: that may change the consents or the consent profiles (an ingest batch, an
        #: allele-count refresh, a consent change): caches of the distinct consents key on it.
        self.consent_version = 0
        # The store's own tables are typed from the file itself, so that they follow schema.py
        # (and its migrations) without a second list of their columns here.
        self._types: dict[str, dict[str, str]] = content_types()
        for t in ("mmio_index", "mmio_history", "consent"):
            cols = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
                "ORDER BY column_index",
                [t],
            ).fetchall()
            self._types[t] = {str(c): str(d) for c, d in cols}

    # -- lifecycle ------------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path | str, *, site: str) -> SiteStore:
        """Make a new store in a new (or empty) directory ``path`` for ``site``."""
        root = Path(path)
        if not isinstance(site, str) or not _SITE_RE.fullmatch(site):
            raise InputError(
                f"expected a site name of letters, digits, '.', '_' or '-', found {site!r}",
                hint="use the site's short code, e.g. 'umcu' or 'site-a'",
            )
        if (root / DATABASE).exists():
            raise StoreError(
                "a site store already exists here",
                path=root,
                hint="open it with SiteStore.open, or choose another directory",
            )
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise StoreError(
                "expected a new or empty directory for the store, found "
                + ("a file" if not root.is_dir() else "one with other files in it"),
                path=root,
                hint="choose a new directory; the store creates it",
            )
        made = not root.exists()
        con: duckdb.DuckDBPyConnection | None = None
        try:
            (root / OBJECTS).mkdir(parents=True)
            con = database.connect(root / DATABASE, read_only=False)
            database.initialise(con, site=site)
        except BaseException:
            if con is not None:
                con.close()
            # Leave nothing behind: a half-made store would be refused by the next create.
            shutil.rmtree(root if made else root / OBJECTS, ignore_errors=True)
            for name in (DATABASE, DATABASE + ".wal"):
                (root / name).unlink(missing_ok=True)
            raise
        return cls(root, con, site=site, read_only=False)

    @classmethod
    def open(cls, path: Path | str, *, read_only: bool = False) -> SiteStore:
        """Open an existing store (its directory, or its ``store.duckdb``)."""
        root = Path(path)
        if root.name == DATABASE and root.is_file():
            root = root.parent
        db = root / DATABASE
        if not root.exists():
            raise StoreError(
                "no site store here: the path does not exist",
                path=root,
                hint="check the path, or create a store with SiteStore.create(path, site=...)",
            )
        if not db.is_file():
            raise StoreError(
                f"expected a site store directory holding {DATABASE} and {OBJECTS}/, found "
                + ("a file" if not root.is_dir() else f"a directory without {DATABASE}"),
                path=root,
                hint="give the store's directory, or create one with SiteStore.create",
            )
        con = database.connect(db, read_only=read_only)
        try:
            site, version = database.read_meta(con, db)
            if version > schema.SCHEMA_VERSION:
                raise StoreError(
                    f"the store has schema version {version}, newer than the version "
                    f"{schema.SCHEMA_VERSION} this release reads",
                    path=db,
                    hint="upgrade cardiofabric to the release that wrote this store",
                )
            if version < schema.SCHEMA_VERSION:
                if read_only:
                    raise StoreError(
                        f"the store has schema version {version} and needs migrating to "
                        f"{schema.SCHEMA_VERSION}, which a read-only open cannot do",
                        path=db,
                        hint="open it once writable (read_only=False) to migrate it",
                    )
                database.migrate(con, version, db)
            if not read_only:
                (root / OBJECTS).mkdir(exist_ok=True)
            return cls(root, con, site=site, read_only=read_only)
        except BaseException:
            con.close()
            raise

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> SiteStore:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "closed" if self._con is None else ("read-only" if self.read_only else "writable")
        return f"SiteStore({str(self.root)!r}, site={self.site!r}, {mode})"

    # -- properties -----------------------------------------------------------------------
    @property
    def database(self) -> Path:
        return self.root / DATABASE

    @property
    def objects_dir(self) -> Path:
        return self.root / OBJECTS

    @property
    def schema_version(self) -> int:
        return schema.SCHEMA_VERSION

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, for query code that reads the tables."""
        if self._con is None:
            raise StoreError(
                "the store is closed", path=self.root, hint="open it again with SiteStore.open"
            )
        return self._con

    # -- writing --------------------------------------------------------------------------
    def consents_changed(self) -> int:
        """Give :attr:`consent_version` a new value (after a committed consent write)."""
        # next() of one process-wide counter: two writers never make the same value, which a
        # read-modify-write of the attribute from two threads could.
        self.consent_version = next(_CONSENT_VERSIONS)
        return self.consent_version

    def add(self, mmio: MMIO) -> AddResult:
        """Add one patient's object: ``added``, ``replaced`` (a new object) or ``unchanged``."""
        return self._add_batch([mmio])[0]

    def add_many(self, mmios: Iterable[MMIO], *, batch_size: int | None = 1000) -> list[AddResult]:
        """Add objects in transactions of ``batch_size`` (None: one for all), in order.

        Each object gets the same outcome as :meth:`add` would give it in sequence. A failing
        batch stores nothing of itself; batches before it stay, and adding them again is a no-op.
        """
        if batch_size is not None and batch_size < 1:
            raise InputError(f"expected a batch size of at least 1, found {batch_size}")
        results: list[AddResult] = []
        batch: list[MMIO] = []
        try:
            for m in mmios:
                batch.append(m)
                if batch_size is not None and len(batch) >= batch_size:
                    results += self._add_batch(batch)
                    batch = []
            if batch:
                results += self._add_batch(batch)
        except CardioFabricError as exc:
            if results:  # the message is what the steward reads: say what did get stored
                exc.message += f" ({len(results)} objects before this batch are stored)"
            raise
        return results

    def _add_batch(self, mmios: list[MMIO]) -> list[AddResult]:
        """Check everything, write the objects, then change the tables in one transaction."""
        con = self.connection
        if self.read_only:
            raise StoreError(
                "the store was opened read-only",
                path=self.root,
                hint="open it with SiteStore.open(path) to add objects",
            )
        for m in mmios:
            if m.manifest.site != self.site:
                raise InputError(
                    f"object {m.digest} of patient {m.pseudonym} belongs to site "
                    f"{m.manifest.site!r}; this store holds site {self.site!r}",
                    hint="add it to its own site's store",
                )
        current: dict[str, tuple[str, list[str], str, str]] = {
            p: (d, list(k), path, added.isoformat(sep=" "))
            for p, d, k, path, added in con.execute(
                "SELECT pseudonym, object_digest, kinds, path, added_at FROM mmio_index "
                "WHERE pseudonym IN (SELECT unnest(?::VARCHAR[]))",
                [sorted({m.pseudonym for m in mmios})],
            ).fetchall()
        }
        stored = set(current)
        now = database.now()
        # Pass 1: each object's outcome in order, as separate adds would have it.
        plan: list[tuple[MMIO, Status, str | None]] = []
        history = RowBatch("mmio_history", self._types["mmio_history"])
        for m in mmios:
            p, path = m.pseudonym, f"{OBJECTS}/{MMIO.dirname(m.digest)}"
            prev = current.get(p)
            if prev is not None and prev[0] == m.digest:
                plan.append((m, "unchanged", None))
                continue
            if prev is not None:
                history.append(
                    f"history of patient {p}",
                    pseudonym=p,
                    object_digest=prev[0],
                    kinds=prev[1],
                    path=prev[2],
                    added_at=prev[3],
                    replaced_at=now,
                    replaced_by=m.digest,
                )
            current[p] = (m.digest, m.manifest.kinds, path, now)
            plan.append((m, "added", None) if prev is None else (m, "replaced", prev[0]))
        changed = [m for m, status, _ in plan if status != "unchanged"]
        # The last new object of each patient (by position: one object may come twice).
        last = {m.pseudonym: i for i, (m, status, _) in enumerate(plan) if status != "unchanged"}
        finals = {p: plan[i][0] for p, i in last.items()}
        # Pass 2: rows. Objects replaced later in the same batch are checked, not loaded.
        content = content_batches()
        results: list[AddResult] = []
        for i, (m, status, replaced) in enumerate(plan):
            rows: dict[str, int] = {}
            if status != "unchanged":
                into = content if last[m.pseudonym] == i else content_batches()
                rows = collect_content(m, into)
                for batch in into.values() if into is not content else ():
                    batch.check()
            path = f"{OBJECTS}/{MMIO.dirname(m.digest)}"
            results.append(AddResult(m.pseudonym, m.digest, status, path, replaced, rows))
        index = RowBatch("mmio_index", self._types["mmio_index"])
        consent = RowBatch("consent", self._types["consent"], suffix=_CONSENT_UPSERT)
        for p, m in finals.items():
            c = m.manifest.consent
            index.append(
                f"index entry of patient {p}",
                pseudonym=p,
                object_digest=m.digest,
                site=m.manifest.site,
                kinds=m.manifest.kinds,
                modality_digests=[x.digest for x in m.modalities],
                path=current[p][2],
                added_at=now,
            )
            consent.append(
                f"consent of patient {p}",
                pseudonym=p,
                status=c.status,
                version=c.version,
                permissions=[t.code for t in c.permissions],
                prohibitions=[t.code for t in c.prohibitions],
                updated_at=c.updated,
            )
        for r in content.values():
            r.check()
        if not changed:
            return results
        created = self._write_objects(changed)
        con.begin()
        try:
            gone = sorted(stored & set(finals))
            if gone:
                for t in [*CONTENT_TABLES, "mmio_index"]:
                    con.execute(
                        f"DELETE FROM {quote(t)} WHERE pseudonym IN (SELECT unnest(?::VARCHAR[]))",
                        [gone],
                    )
            for r in (history, index, consent, *content.values()):
                r.insert(con)
            con.commit()
            self.consents_changed()
        except BaseException as exc:
            with contextlib.suppress(duckdb.Error):
                con.rollback()
            for d in created:
                shutil.rmtree(d, ignore_errors=True)
            if isinstance(exc, BatchInsertError):
                raise exc.batch.explain(con, exc.cause) from None
            if isinstance(exc, duckdb.Error):
                raise StoreError(
                    f"the store could not record the objects ({exc})", path=self.database
                ) from None
            raise
        return results

    def refresh_allele_counts(self, *, only_if_stale: bool = False) -> AlleleCountStats | None:
        """Rebuild the cohort view of variants (``store.alleles``) from the current objects.

        Not done per :meth:`add` batch (a rebuild reads every variant row): the ingest runner
        calls this once at the end of a run, and with ``only_if_stale`` skips it when the
        counts already match the objects and consents (returning None).
        """
        con = self.connection
        if self.read_only:
            raise StoreError(
                "the store was opened read-only",
                path=self.root,
                hint="open it with SiteStore.open(path) to refresh the allele counts",
            )
        if only_if_stale and alleles.counts_are_current(con):
            return None
        try:
            stats = alleles.refresh_allele_counts(con)
            self.consents_changed()
            return stats
        except duckdb.Error as exc:
            raise StoreError(
                f"the allele counts could not be rebuilt ({exc}); the previous counts are kept",
                path=self.database,
            ) from None

    def _write_objects(self, mmios: Sequence[MMIO]) -> list[Path]:
        """Write objects not yet on disk; return the ones this call created."""
        created: list[Path] = []
        m: MMIO | None = None
        try:
            for m in mmios:
                target = self.objects_dir / MMIO.dirname(m.digest)
                if not (target / "manifest.json").exists():
                    m.write(self.objects_dir)
                    created.append(target)
        except BaseException as exc:
            for d in created:
                shutil.rmtree(d, ignore_errors=True)
            if isinstance(exc, OSError) and m is not None:
                raise StoreError(
                    f"could not write object {m.digest} ({exc.strerror or exc})",
                    path=self.objects_dir,
                    hint="check free disk space and permissions",
                ) from None
            raise
        return created

    # -- reading --------------------------------------------------------------------------
    def get(self, pseudonym: str) -> MMIO:
        """The patient's current object, opened lazily (manifest only) from ``objects/``."""
        row = self.connection.execute(
            "SELECT path FROM mmio_index WHERE pseudonym = ?", [pseudonym]
        ).fetchone()
        if row is None:
            raise InputError(
                f"no patient {pseudonym!r} in this store",
                path=self.root,
                hint="list the store's pseudonyms with SiteStore.pseudonyms()",
            )
        location = self.root / str(row[0])
        if not (location / "manifest.json").is_file():
            raise StoreError(
                "the index names this object but it is missing on disk",
                path=location,
                hint="restore objects/ from a backup, or add the patient's object again",
            )
        return MMIO.open(location)

    def history(self, pseudonym: str) -> list[ObjectVersion]:
        """Every object the patient has had, oldest first, the current one last."""
        rows = self.connection.execute(
            "SELECT pseudonym, object_digest, kinds, path, added_at, replaced_at, replaced_by "
            "FROM mmio_history WHERE pseudonym = ? ORDER BY added_at, replaced_at, rowid",
            [pseudonym],
        ).fetchall()
        rows += self.connection.execute(
            "SELECT pseudonym, object_digest, kinds, path, added_at, NULL, NULL "
            "FROM mmio_index WHERE pseudonym = ?",
            [pseudonym],
        ).fetchall()
        return [ObjectVersion(r[0], r[1], tuple(r[2]), r[3], r[4], r[5], r[6]) for r in rows]

    def pseudonyms(self) -> list[str]:
        rows = self.connection.execute("SELECT pseudonym FROM mmio_index ORDER BY 1").fetchall()
        return [str(r[0]) for r in rows]

    def info(self) -> StoreInfo:
        con = self.connection

        def counts(sql: str) -> dict[str, int]:
            return {str(k): int(n) for k, n in con.execute(sql).fetchall()}

        tables = counts(
            " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {quote(t)}" for t in CONTENT_TABLES)
        )
        objects = (
            sum(1 for p in self.objects_dir.glob("*.mmio") if p.is_dir())
            if self.objects_dir.is_dir()
            else 0
        )
        size = sum(
            os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(self.root) for f in fs
        )
        one = "SELECT count(*) FROM "
        return StoreInfo(
            site=self.site,
            path=str(self.root),
            schema_version=self.schema_version,
            objects=objects,
            patients=int(con.execute(one + "mmio_index").fetchone()[0]),  # type: ignore[index]
            replaced=int(con.execute(one + "mmio_history").fetchone()[0]),  # type: ignore[index]
            modalities=counts(
                "SELECT k, count(*) FROM (SELECT unnest(kinds) AS k FROM mmio_index) "
                "GROUP BY k ORDER BY k"
            ),
            tables=tables,
            consent=counts("SELECT status, count(*) FROM consent GROUP BY 1 ORDER BY 1"),
            size_bytes=size,
        )

    def query(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run SQL against the store; one dict per row, keyed by column name."""
        con = self.connection
        try:
            con.execute(sql, params)
            cols = [d[0] for d in con.description or []]
            return [dict(zip(cols, r, strict=True)) for r in con.fetchall()] if cols else []
        except duckdb.Error as exc:
            raise InputError(
                f"the query failed: {exc}",
                hint="check the SQL against the tables in docs/data-model.md",
            ) from None
