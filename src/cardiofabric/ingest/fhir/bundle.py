"""``fhir-bundle``: one FHIR R4 Bundle JSON file (R4 ``bundle.html``), optionally gzipped.

The Bundle's own shell is checked first; a file that is not JSON or not a Bundle is an
:class:`~cardiofabric.errors.InputError`. Its entries are then read one by one, so that a
malformed resource is a rejection (``Observation/obs-7: …``) and the rest of the Bundle is
ingested. Any Bundle type is read (``collection``, ``searchset``, ``transaction``, ``batch``,
``document``); ``history`` entries without a resource (deletions) are skipped.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, register
from cardiofabric.ingest.fhir.collect import PatientCollector
from cardiofabric.ingest.fhir.parse import model_class

__all__ = ["FhirBundleAdapter", "load_json"]


def load_json(path: Path) -> Any:
    """The JSON document of ``path`` (gzip when it starts with the gzip magic bytes)."""
    try:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return json.loads(data)
    except FileNotFoundError:
        raise InputError("FHIR source not found", path=path) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(
            f"cannot read the file ({exc})",
            path=path,
            hint="a gzip file that ends early is truncated: copy or export it again",
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read a FHIR Bundle JSON ({exc})", path=path) from None


@register("fhir-bundle")
class FhirBundleAdapter:
    format = "fhir-bundle"
    version = "2"

    def read(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        raw = load_json(path)
        if not isinstance(raw, dict) or raw.get("resourceType") != "Bundle":
            found = raw.get("resourceType") if isinstance(raw, dict) else type(raw).__name__
            raise InputError(
                f"expected a FHIR R4 Bundle (resourceType 'Bundle'), found {found!r}",
                path=path,
                hint="for a Bulk Data export (one resource per line) use format 'fhir-ndjson'",
            )
        entries = raw.get("entry")
        entries = [] if entries is None else entries
        if not isinstance(entries, list):
            raise InputError("Bundle.entry is not a list (FHIR R4 Bundle.entry is 0..*)", path=path)
        self._check_shell(raw, path)
        collector = PatientCollector(ctx, container="bundle")
        for entry in entries:
            if isinstance(entry, dict):
                collector.register_full_url(entry.get("fullUrl"), entry.get("resource"))
        for i, entry in enumerate(entries):
            label = f"entry {i}"
            if not isinstance(entry, dict):
                ctx.count_read()
                ctx.reject(label, f"a Bundle entry is a JSON object, found {type(entry).__name__}")
                continue
            resource = entry.get("resource")
            if resource is None:
                continue  # a history deletion or a bare request: nothing to read
            full_url = entry.get("fullUrl")
            collector.add(
                resource,
                fallback=label,
                full_url=full_url if isinstance(full_url, str) else None,
            )
        yield from collector.records(path)

    @staticmethod
    def _check_shell(raw: dict[str, Any], path: Path) -> None:
        from pydantic import ValidationError

        try:
            model_class("Bundle").model_validate({k: v for k, v in raw.items() if k != "entry"})
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise InputError(
                f"not a valid FHIR R4 Bundle: {where}: {err['msg']}", path=path
            ) from None
