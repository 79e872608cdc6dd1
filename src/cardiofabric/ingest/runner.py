"""Ingest as a steward runs it: every source of a site into its store, with a report.

Order of work, chosen so that a run killed at any point leaves the store consistent and the
next run completes it:

1. read every source (records are held per patient; nothing is written yet);
2. with ``strict``, stop here if any record was rejected — nothing has been written;
3. seal one MMIO per patient (content-addressed: unchanged patients give unchanged SAIDs);
4. add the objects to the store in batches, each batch one transaction. An object already
   indexed is "unchanged"; writing its directory again is a no-op;
5. rebuild the store's allele counts (``store.alleles``) when they no longer match its objects
   and consents: once per run, in its own transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import Rejection, SourceReport
from cardiofabric.ingest.config import SiteConfig
from cardiofabric.ingest.harmonise import coverage
from cardiofabric.ingest.pipeline import build_objects, read_source
from cardiofabric.mmio.model import Provenance

__all__ = ["FilePool", "IngestReport", "ProgressHook", "run_ingest", "unmapped_codes"]

#: ``hook(source_label, done, total)``: called as sources are read and objects stored.
ProgressHook = Callable[[str, int, int | None], None]


@dataclass
class SourceResult:
    """One ``[[sources]]`` entry: its files and what reading them gave."""

    label: str
    format: str
    files: int
    read: int = 0  # records the adapter read (rows, resources, files, calls)
    accepted: int = 0  # read minus rejected
    modalities: int = 0  # patient modalities the accepted records made
    seconds: float = 0.0
    rejected: list[Rejection] = field(default_factory=list)
    coverage: dict[str, dict[str, int]] = field(default_factory=dict)
    unmapped: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.label,
            "format": self.format,
            "files": self.files,
            "read": self.read,
            "accepted": self.accepted,
            "rejected": len(self.rejected),
            "modalities": self.modalities,
            "seconds": round(self.seconds, 3),
            "rejections": [{"record": r.record, "reason": r.reason} for r in self.rejected],
            "coverage": self.coverage,
            "unmapped": self.unmapped,
        }


@dataclass
class IngestReport:
    site: str
    store: str
    sources: list[SourceResult] = field(default_factory=list)
    patients: int = 0
    added: int = 0
    unchanged: int = 0
    replaced: int = 0
    seconds: float = 0.0
    stored: bool = False

    @property
    def rejected(self) -> int:
        return sum(len(s.rejected) for s in self.sources)

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "store": self.store,
            "stored": self.stored,
            "patients": self.patients,
            "objects": {
                "added": self.added,
                "unchanged": self.unchanged,
                "replaced": self.replaced,
            },
            "records": {
                "read": sum(s.read for s in self.sources),
                "accepted": sum(s.accepted for s in self.sources),
                "rejected": self.rejected,
            },
            "seconds": round(self.seconds, 3),
            "sources": [s.to_json() for s in self.sources],
        }


def unmapped_codes(rows: Iterable[dict[str, Any]]) -> Counter[tuple[str, str, str]]:
    """The source codes (system, code, label) that were kept unmapped, with their counts."""
    out: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        if "mapped" in row and not row["mapped"]:
            system = str(row.get("source_code_system") or "none")
            out[(system, str(row.get("source_code")), str(row.get("source_label") or ""))] += 1
    return out


Job = tuple[Path, str, dict[str, Any]]
Read = tuple[list[tuple[Any, Provenance]], SourceReport]


def _read_file(job: Job) -> Read:
    """Read one file of a source (run in a worker process for many-file sources)."""
    path, fmt, kwargs = job
    report = SourceReport(source=str(path), format=fmt)
    return list(read_source(path, fmt, report=report, **kwargs)), report


class FilePool:
    """Reads the files of many-file sources (per-patient ECGs, say) in worker processes.

    Started on first use and shared by every source of a run (and by every site of a network
    ingest), since starting workers costs seconds. Workers are spawned, not forked: the parent
    may already run native thread pools (BLAKE3, DuckDB) that a fork would copy in an unknown
    state.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
        self._pool: ProcessPoolExecutor | None = None

    def map(self, jobs: list[Job]) -> Iterator[Read]:
        """Results in the order of ``jobs`` (so that objects do not depend on timing)."""
        if self.workers <= 1 or len(jobs) < 4:
            yield from map(_read_file, jobs)
            return
        if self._pool is None:
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        chunk = max(1, len(jobs) // (self.workers * 8))
        yield from self._pool.map(_read_file, jobs, chunksize=chunk)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> FilePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _derived_key(secret: str, purpose: str) -> str:
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def _load_code_map(config: SiteConfig) -> Any:
    if not config.site.code_map:
        return None
    from cardiofabric.vocab.maps import load_code_map

    return load_code_map(config.resolve(config.site.code_map))


def _recipients(config: SiteConfig) -> list[bytes]:
    from cardiofabric.mmio.crypto import load_public_key

    return [load_public_key(config.resolve(p)) for p in config.site.recipients]


def run_ingest(
    config: SiteConfig,
    *,
    strict: bool = False,
    progress: ProgressHook | None = None,
    batch_size: int = 500,
    workers: int | None = None,
    pool: FilePool | None = None,
) -> IngestReport:
    """Ingest every source of ``config`` into its store; see the module docstring."""

    t0 = time.perf_counter()
    site = config.site
    report = IngestReport(site=site.name, store=str(config.store_path))
    secret = config.secret()  # fail early, before reading anything
    recipients = _recipients(config)
    code_map = _load_code_map(config)
    if not config.sources:
        raise InputError("the site configuration lists no [[sources]]", path=config.base)

    own_pool = pool is None
    files_pool = pool if pool is not None else FilePool(workers)
    try:
        records = _read_all(config, files_pool, secret, code_map, report, progress)
    finally:
        if own_pool:
            files_pool.close()
    if strict and report.rejected:
        report.seconds = time.perf_counter() - t0
        return report
    _store(config, records, secret, recipients, report, progress, batch_size)
    report.seconds = time.perf_counter() - t0
    # The steward's record of the last run, beside the store (written atomically).
    text = json.dumps(report.to_json(), indent=1, ensure_ascii=False) + "\n"
    tmp = report_path(config).with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, report_path(config))
    return report


def _read_all(
    config: SiteConfig,
    files_pool: FilePool,
    secret: str,
    code_map: Any,
    report: IngestReport,
    progress: ProgressHook | None,
) -> list[tuple[Any, Provenance]]:
    site = config.site
    records: list[tuple[Any, Provenance]] = []
    for source in config.sources:
        files = config.source_paths(source)
        label = source.name or source.path
        result = SourceResult(label=label, format=source.format, files=len(files))
        options = config.source_options(source)
        # DICOM UIDs are replaced by keyed digests: key them with the site's secret, so that
        # nobody who knows an original UID can confirm it (PS3.15 E.1.1 UID replacement).
        options.setdefault("uid_key", _derived_key(secret, "dicom-uid"))
        rows: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "site": site.name,
            "language": site.language,
            "source_system": source.system,
            "options": options,
            "code_map": code_map,
        }
        jobs = [(path, source.format, kwargs) for path in files]
        started = time.perf_counter()
        for i, (got, rep) in enumerate(files_pool.map(jobs)):
            for rec, prov in got:
                records.append((rec, prov))
                result.modalities += 1
                for table_rows in rec.content.values():
                    rows.extend(table_rows)
            result.read += rep.read or 0
            result.rejected.extend(rep.rejected)
            if progress:
                progress(label, i + 1, len(files))
        result.seconds = time.perf_counter() - started
        # Adapters that do not count their reads: every modality and rejection was one record.
        result.read = max(result.read, result.modalities + len(result.rejected))
        result.accepted = result.read - len(result.rejected)
        result.coverage = coverage(rows)
        unmapped = unmapped_codes(rows)
        result.unmapped = [
            {"code_system": s, "code": c, "label": lbl, "count": n}
            for (s, c, lbl), n in unmapped.most_common(20)
        ]
        report.sources.append(result)
    return records


def _store(
    config: SiteConfig,
    records: list[tuple[Any, Provenance]],
    secret: str,
    recipients: list[bytes],
    report: IngestReport,
    progress: ProgressHook | None,
    batch_size: int,
) -> None:
    from cardiofabric.store import SiteStore

    site = config.site
    objects = build_objects(records, site=site.name, secret=secret, recipients=recipients)
    report.patients = len(objects)
    store_path = config.store_path
    store = (
        SiteStore.open(store_path)
        if (store_path / "store.duckdb").exists()
        else SiteStore.create(store_path, site=site.name)
    )
    with store:
        done = 0
        for start in range(0, len(objects), batch_size):
            batch = objects[start : start + batch_size]
            for res in store.add_many(batch, batch_size=None):
                if res.status == "added":
                    report.added += 1
                elif res.status == "replaced":
                    report.replaced += 1
                else:
                    report.unchanged += 1
            done += len(batch)
            if progress:
                progress("store", done, len(objects))
        # The cohort view of variants (Beacon allele counts) is rebuilt once per run, not per
        # batch; also when this run changed nothing but the store was changed since the last
        # rebuild (objects added outside a run, a run killed before this step).
        store.refresh_allele_counts(only_if_stale=True)
    report.stored = True


def report_path(config: SiteConfig) -> Path:
    """Where the last ingest report of a site is kept (beside its store)."""
    return config.store_path / "last-ingest.json"
