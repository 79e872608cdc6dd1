"""From source files to sealed MMIOs: read, group by patient, pseudonymise, build.

The source file's bytes are digested once; that digest goes into every modality's provenance
so that any harmonised row can be traced to the exact file it came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import blake3

from cardiofabric.ingest.base import ModalityRecord, SourceContext, get_adapter
from cardiofabric.mmio.container import MMIO, MMIOBuilder
from cardiofabric.mmio.model import Consent, Provenance
from cardiofabric.mmio.pseudonym import pseudonymise
from cardiofabric.mmio.said import encode_digest
from cardiofabric.mmio.semantics import harmonised_semantics

__all__ = ["Source", "build_objects", "file_digest", "read_sources"]


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


def read_sources(
    sources: Iterable[Source], *, site: str, language: str = "eng"
) -> Iterator[tuple[ModalityRecord, Provenance]]:
    """Every modality record of every source, with its provenance."""
    for src in sources:
        adapter = get_adapter(src.format)
        digest = file_digest(src.path)
        ctx = SourceContext(site=site, language=language, source_system=src.source_system)
        for rec in adapter.read(src.path, ctx):
            yield (
                rec,
                Provenance(
                    source_digest=digest,
                    source_system=src.source_system,
                    adapter=adapter.format,
                    adapter_version=adapter.version,
                    time=rec.time,
                ),
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
        builder = MMIOBuilder(
            pseudonym=pseudonymise(local_id, secret),
            site=site,
            consent=(consents or {}).get(local_id),
            recipients=keys,
        )
        for rec, prov in items:
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
