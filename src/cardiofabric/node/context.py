"""What every request of a node shares: settings, the open store, the gate, and the site's
public descriptions (its dataset and cohort) computed from the store.

DuckDB lets one process write a database: the node opens the store writable (the audit log,
budgets and consent changes are written through the gate) and each request works on its own
``cursor()`` of that connection, which DuckDB makes safe across threads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from cardiofabric.governance.gate import Gate
from cardiofabric.node.beacon.records import MODALITY_TERMS
from cardiofabric.node.config import NodeSettings
from cardiofabric.store.site import SiteStore
from cardiofabric.vocab.duo import DUO_TERMS

__all__ = ["NodeContext", "StoreSummary", "rounded_size"]

#: DUO release the consent codes follow (cardiofabric.vocab.duo).
DUO_VERSION = "2021-02-23"


def rounded_size(n: int, k: int) -> int | None:
    """A population size for public descriptions: to the nearest 10, None below ``k``.

    Rounding to tens is the coarsening statistical offices apply to published small-area
    tables (e.g. ONS "rounded to the nearest 10"); under k nothing is published at all.
    """
    if n < k:
        return None
    return max(10, round(n / 10.0) * 10)


@dataclass
class StoreSummary:
    """Public, aggregate facts of the store (recomputed at most every ``ttl`` seconds)."""

    patients: int = 0
    cohort: int = 0
    modalities: dict[str, int] = field(default_factory=dict)
    systems: list[str] = field(default_factory=list)
    first: str | None = None
    last: str | None = None
    duo: list[str] = field(default_factory=list)
    computed: float = 0.0


class NodeContext:
    """Shared state of one running node."""

    def __init__(self, settings: NodeSettings, store: SiteStore, gate: Gate) -> None:
        self.settings, self.store, self.gate = settings, store, gate
        self.dataset = settings.dataset_id
        self.cohort = f"{settings.site}-cohort"
        self.created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        self._summary = StoreSummary()
        self._lock = threading.Lock()
        self.ttl = 60.0

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self.store.connection.cursor()

    def updated(self) -> str:
        return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

    def summary(self) -> StoreSummary:
        with self._lock:
            if time.monotonic() - self._summary.computed < self.ttl and self._summary.computed:
                return self._summary
            con = self.cursor()
            try:
                self._summary = _summarise(con)
            finally:
                con.close()
            return self._summary

    # -- public descriptions ----------------------------------------------------------------
    def dataset_record(self) -> dict[str, Any]:
        """Beacon ``dataset`` (datasets/defaultSchema.json)."""
        s = self.summary()
        k = self.gate.policy.min_cell_count
        rec: dict[str, Any] = {
            "id": self.dataset,
            "name": self.settings.catalog.title or f"{self.settings.site} cardiology cohort",
            "description": self.settings.catalog.description
            or "Clinical, ECG, imaging and genomic data of the site's consenting patients",
            "createDateTime": self.created,
            "updateDateTime": self.updated(),
            "version": "1",
            "info": {
                "populationSize": rounded_size(s.patients, k),
                "modalities": {m: rounded_size(n, k) for m, n in s.modalities.items()},
                "codeSystems": s.systems,
            },
        }
        if s.duo:
            rec["dataUseConditions"] = {
                "duoDataUse": [
                    {"id": code, "label": DUO_TERMS[code].label, "version": DUO_VERSION}
                    for code in s.duo
                    if code in DUO_TERMS
                ]
            }
        return rec

    def cohort_record(self) -> dict[str, Any]:
        """Beacon ``cohort`` (cohorts/defaultSchema.json): the study cohort of the site."""
        s = self.summary()
        k = self.gate.policy.min_cell_count
        rec: dict[str, Any] = {
            "id": self.cohort,
            "name": f"{self.settings.site} study cohort",
            "cohortType": "study-defined",
            "cohortDataTypes": [
                MODALITY_TERMS[m] for m in sorted(s.modalities) if m in MODALITY_TERMS
            ],
        }
        size = rounded_size(s.cohort, k)
        if size is not None:
            rec["cohortSize"] = size
        if s.first and s.last:
            rec["collectionEvents"] = [{"eventTimeline": {"start": s.first, "end": s.last}}]
        return rec


def _summarise(con: duckdb.DuckDBPyConnection) -> StoreSummary:
    def one(sql: str) -> Any:
        row = con.execute(sql).fetchone()
        return row[0] if row else None

    s = StoreSummary(computed=time.monotonic())
    s.patients = int(one("SELECT count(*) FROM mmio_index") or 0)
    s.cohort = int(
        one(
            "SELECT count(*) FROM person WHERE index_date IS NOT NULL "
            "AND pseudonym IN (SELECT pseudonym FROM mmio_index)"
        )
        or 0
    )
    s.modalities = {
        str(k): int(n)
        for k, n in con.execute(
            "SELECT k, count(*) FROM (SELECT unnest(kinds) AS k FROM mmio_index) GROUP BY 1"
        ).fetchall()
    }
    s.systems = sorted(
        str(r[0])
        for r in con.execute(
            "SELECT DISTINCT code_system FROM (SELECT code_system FROM condition UNION "
            "SELECT code_system FROM measurement UNION SELECT code_system FROM medication UNION "
            "SELECT code_system FROM procedure UNION SELECT code_system FROM observation UNION "
            "SELECT code_system FROM ecg_feature UNION SELECT code_system FROM "
            "imaging_measurement) WHERE code_system IS NOT NULL"
        ).fetchall()
    )
    first, last = con.execute("SELECT min(index_date), max(index_date) FROM person").fetchone() or (
        None,
        None,
    )
    s.first = first.isoformat() if first else None
    s.last = last.isoformat() if last else None
    s.duo = sorted(
        str(r[0])
        for r in con.execute(
            "SELECT DISTINCT unnest(permissions) FROM consent WHERE status = 'active'"
        ).fetchall()
    )
    return s
