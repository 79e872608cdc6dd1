"""``fhir-ndjson``: a FHIR Bulk Data export, one resource per line (HL7 FHIR Bulk Data Access
IG 2.0.0, "Bulk Data Output File Format": newline-delimited JSON, one file per resource type).

The source is the export's folder (every ``*.ndjson`` and ``*.ndjson.gz`` in it, e.g.
``Patient.ndjson``, ``Observation.ndjson.gz``, ``Observation_2.ndjson``) or a single such
file. Each line is one resource, validated on its own: a line that is not JSON or not a valid
resource is a rejection naming the file and line; a file that cannot be read to its end (a
truncated gzip stream) is an :class:`~cardiofabric.errors.InputError`, since what it would
have held is unknown. Resources may refer to patients in files read later.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, register
from cardiofabric.ingest.fhir.collect import PatientCollector

__all__ = ["FhirNdjsonAdapter", "export_files"]

_SUFFIXES = (".ndjson", ".ndjson.gz")


def export_files(path: Path) -> list[Path]:
    """The NDJSON files of an export folder (sorted), or the single file given."""
    if not path.exists():
        raise InputError("FHIR NDJSON source not found", path=path)
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(_SUFFIXES))
    if not files:
        raise InputError(
            "the folder holds no .ndjson or .ndjson.gz files",
            path=path,
            hint="point the source at the Bulk Data export's output folder",
        )
    return files


def _open(path: Path) -> gzip.GzipFile | io.BufferedReader:
    with path.open("rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")


@register("fhir-ndjson")
class FhirNdjsonAdapter:
    format = "fhir-ndjson"
    version = "1"

    def read(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        collector = PatientCollector(ctx, container="export")
        for file in export_files(path):
            self._read_file(file, collector, ctx)
        yield from collector.records(path)

    @staticmethod
    def _read_file(file: Path, collector: PatientCollector, ctx: SourceContext) -> None:
        n = 0
        try:
            with _open(file) as fh:
                for n, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    where = f"{file.name} line {n}"
                    try:
                        raw = json.loads(line)
                    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                        ctx.count_read()
                        ctx.reject(where, f"not a JSON resource ({exc.__class__.__name__}: {exc})")
                        continue
                    collector.add(raw, fallback=where)
        except (EOFError, OSError, zlib.error) as exc:
            raise InputError(
                f"cannot read past line {n} ({exc})",
                path=file,
                hint="the file is damaged or truncated (a gzip stream that ends early): "
                "export or copy it again",
            ) from None
