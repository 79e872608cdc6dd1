"""Ingest as a steward runs it: every source of a site into its store, with a report.

Order of work, chosen so that a run killed at any point leaves the store consistent and the
next run completes it:

1. read every source (records are held per patient; nothing is written yet);
2. with ``strict``, stop here if any record was rejected — nothing has been written;
3. seal one MMIO per patient (content-addressed: unchanged patients give unchanged SAIDs);
4. add the objects to the store in batches, each batch one transaction. An object already
   indexed is "unchanged"; writing its directory again is a no-op.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import Rejection, SourceReport
from cardiofabric.ingest.config import SiteConfig
from cardiofabric.ingest.harmonise import coverage
from cardiofabric.ingest.pipeline import build_objects, read_source
from cardiofabric.mmio.model import Provenance

__all__ = ["IngestReport", "ProgressHook", "run_ingest", "unmapped_codes"]

#: ``hook(source_label, done, total)``: called as sources are read and objects stored.
ProgressHook = Callable[[str, int, int | None], None]


@dataclass
class SourceResult:
    """One ``[[sources]]`` entry: its files and what reading them gave."""

    label: str
    format: str
    files: int
    read: int = 0
    accepted: int = 0
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
) -> IngestReport:
    """Ingest every source of ``config`` into its store; see the module docstring."""
    from cardiofabric.store import SiteStore

    t0 = time.perf_counter()
    site = config.site
    report = IngestReport(site=site.name, store=str(config.store_path))
    secret = config.secret()  # fail early, before reading anything
    recipients = _recipients(config)
    code_map = _load_code_map(config)
    if not config.sources:
        raise InputError("the site configuration lists no [[sources]]", path=config.base)

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
        for i, path in enumerate(files):
            rep = SourceReport(source=str(path), format=source.format)
            for rec, prov in read_source(
                path,
                source.format,
                site=site.name,
                language=site.language,
                source_system=source.system,
                options=options,
                code_map=code_map,
                report=rep,
            ):
                records.append((rec, prov))
                result.accepted += 1
                for table_rows in rec.content.values():
                    rows.extend(table_rows)
            result.read += rep.read or 0
            result.rejected.extend(rep.rejected)
            if progress:
                progress(label, i + 1, len(files))
        result.read = max(result.read, result.accepted + len(result.rejected))
        result.coverage = coverage(rows)
        unmapped = unmapped_codes(rows)
        result.unmapped = [
            {"code_system": s, "code": c, "label": lbl, "count": n}
            for (s, c, lbl), n in unmapped.most_common(20)
        ]
        report.sources.append(result)

    if strict and report.rejected:
        report.seconds = time.perf_counter() - t0
        return report

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
    report.stored = True
    report.seconds = time.perf_counter() - t0
    return report


def report_path(config: SiteConfig) -> Path:
    """Where the last ingest report of a site is kept (beside its store)."""
    return config.store_path / "last-ingest.json"
