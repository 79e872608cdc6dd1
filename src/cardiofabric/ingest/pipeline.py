"""From source files to sealed MMIOs: read, group by patient, pseudonymise, build.

The source file's bytes are digested once; that digest goes into every modality's provenance
so that any harmonised row can be traced to the exact file it came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blake3

from cardiofabric.ingest.base import ModalityRecord, SourceContext, SourceReport, get_adapter
from cardiofabric.mmio.container import MMIO, MMIOBuilder
from cardiofabric.mmio.model import Consent, Provenance
from cardiofabric.mmio.pseudonym import pseudonymise
from cardiofabric.mmio.said import encode_digest
from cardiofabric.mmio.semantics import harmonised_semantics

__all__ = [
    "Source",
    "build_objects",
    "file_digest",
    "read_source",
    "read_sources",
    "source_digest",
]


@dataclass(frozen=True)
class Source:
    path: Path
    format: str
    source_system: str = "unknown"


def file_digest(path: Path) -> str:
    """SAID-encoded BLAKE3 digest of a file, streamed (bounded memory)."""
    h = blake3.blake3(max_threads=blake3.blake3.AUTO)
    h.update_mmap(path)
    return encode_digest(h.digest())


def source_digest(path: Path) -> str:
    """The digest of a source: of its bytes, or for a folder of its files' names and digests."""
    if path.is_dir():
        listing = "\n".join(
            f"{p.relative_to(path).as_posix()}\t{file_digest(p)}"
            for p in sorted(path.rglob("*"))
            if p.is_file()
        )
        return encode_digest(blake3.blake3(listing.encode()).digest())
    return file_digest(path)


def read_source(
    path: Path,
    fmt: str,
    *,
    site: str,
    language: str = "eng",
    source_system: str = "unknown",
    options: dict[str, Any] | None = None,
    code_map: Any = None,
    report: SourceReport | None = None,
) -> Iterator[tuple[ModalityRecord, Provenance]]:
    """Every modality record of one source file (or folder), with its provenance."""
    adapter = get_adapter(fmt)
    digest = source_digest(path)
    ctx = SourceContext(
        site=site,
        language=language,
        source_system=source_system,
        options=dict(options or {}),
        code_map=code_map,
        report=report,
    )
    for rec in adapter.read(path, ctx):
        yield (
            rec,
            Provenance(
                source_digest=digest,
                source_system=source_system,
                adapter=adapter.format,
                adapter_version=adapter.version,
                time=rec.time,
            ),
        )


def read_sources(
    sources: Iterable[Source], *, site: str, language: str = "eng"
) -> Iterator[tuple[ModalityRecord, Provenance]]:
    """Every modality record of every source, with its provenance."""
    for src in sources:
        yield from read_source(
            src.path, src.format, site=site, language=language, source_system=src.source_system
        )


def build_objects(
    records: Iterable[tuple[ModalityRecord, Provenance]],
    *,
    site: str,
    secret: bytes | str,
    consents: dict[str, Consent] | None = None,
    recipients: Iterable[bytes] = (),
) -> list[MMIO]:
    """Group records by patient and seal one MMIO each (local ids never leave this function)."""
    by_patient: dict[str, list[tuple[ModalityRecord, Provenance]]] = defaultdict(list)
    for rec, prov in records:
        by_patient[rec.local_id].append((rec, prov))
    keys = list(recipients)
    objects = []
    for local_id, items in sorted(by_patient.items()):
        # A consent recorded in the sources (e.g. a FHIR Consent) wins over one given here;
        # a patient with none gets an empty consent: nothing is permitted (deny by default).
        recorded = [c for rec, _ in items if (c := getattr(rec, "consent", None)) is not None]
        consent = max(recorded, key=lambda c: c.version) if recorded else None
        builder = MMIOBuilder(
            pseudonym=pseudonymise(local_id, secret),
            site=site,
            consent=consent or (consents or {}).get(local_id),
            recipients=keys,
        )
        # Stable modality order whatever the order sources were read in.
        for rec, prov in sorted(items, key=lambda it: (it[1].source_digest, it[0].kind.value)):
            builder.add(
                kind=rec.kind,
                media_type=rec.media_type,
                provenance=prov,
                payloads=rec.payloads,
                # Without semantics of its own, a modality refers to the standard bundle.
                semantics=rec.semantics or harmonised_semantics(),
                content=rec.content,
            )
        objects.append(builder.build())
    return objects
