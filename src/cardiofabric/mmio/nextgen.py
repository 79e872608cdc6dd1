"""The NextGen MMIO JSON interchange format, version 0.1: export, verification, import.

Shape (as the NextGen reference implementation, mmio-rs, writes it)::

    {"version": "0.1", "id": SAID,
     "data": [{"id": SAID, "modality_said": SAID, "modality_type": "Image",
               "media_type": "image/png",
               "oca_bundle": {"type": "Bundle", "value": {<OCA bundle without "v">}}
                          or {"type": "Reference", "value": SAID}}]}

Each data item's ``id`` is the SAID of the item computed over its ``id`` field in place, the
top-level ``id`` the SAID of the whole object the same way; ``modality_said`` is the SAID of the
item's bytes (which travel beside the JSON, never inside it). An embedded bundle omits its
``v`` version string; verification rebuilds it (see ``oca.bundle_said``).

Rules of the mapping to our model:

* **Export**: one data item per payload of each modality, with the payload's digest and media
  type. A modality without payloads gives one item addressed by its provenance
  ``source_digest`` (the SAID of the source bytes it was made from); one without either is
  skipped, having nothing to address. The item's ``oca_bundle`` is the modality's semantics;
  a modality without semantics is described by a bundle built from its content columns
  (``<table>__<column>``). Items are ordered by ``id`` and duplicates dropped, so that the
  export depends on content only.
* **Import**: one modality per data item, with the item's semantics and media type, its
  ``modality_type`` mapped to our kind (unknown types become ``document``) and kept as is in
  ``provenance.source_system`` (``nextgen-mmio:<type>``), which export reads back.
  With ``payloads=None`` only the semantics are imported, each modality keeping
  ``modality_said`` as its ``provenance.source_digest``; with a mapping, every item's bytes
  must be given (keyed by ``modality_said``) and match it, else :class:`InputError` names the
  item.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cardiofabric import __version__
from cardiofabric.errors import (
    DigestMismatchError,
    FormatVersionError,
    InputError,
    ObjectFormatError,
)
from cardiofabric.mmio.container import MMIO, MMIOBuilder, PayloadSpec
from cardiofabric.mmio.model import Consent, Modality, ModalityKind, Provenance, Semantics
from cardiofabric.mmio.oca import (
    AttributeSpec,
    BundleSpec,
    DigestProblem,
    build_bundle,
    bundle_said,
    check_bundle,
    strip_version,
)
from cardiofabric.mmio.said import PLACEHOLDER, canonical_json, digest_bytes, is_said, said_of

__all__ = [
    "MODALITY_TYPES",
    "NEXTGEN_VERSION",
    "content_bundle",
    "export_nextgen",
    "import_nextgen",
    "modality_kind",
    "modality_type",
    "read_nextgen",
    "verify_nextgen",
]

NEXTGEN_VERSION = "0.1"
SOURCE_SYSTEM_PREFIX = "nextgen-mmio:"
ADAPTER = "cardiofabric.mmio.nextgen"

#: Our modality kinds and the NextGen ``modality_type`` each is written as.
MODALITY_TYPES: dict[ModalityKind, str] = {
    ModalityKind.IMAGING: "Image",
    ModalityKind.GENOMIC: "Genomic",
    ModalityKind.CLINICAL: "Clinical",
    ModalityKind.ECG: "Signal",
    ModalityKind.WEARABLE: "Sensor",
    ModalityKind.DOCUMENT: "Document",
}
_KINDS = {t.lower(): k for k, t in MODALITY_TYPES.items()}


def modality_kind(modality_type: str) -> ModalityKind:
    """Our kind for a NextGen ``modality_type`` (case-insensitive; unknown → document)."""
    return _KINDS.get(modality_type.strip().lower(), ModalityKind.DOCUMENT)


def modality_type(modality: Modality) -> str:
    """The NextGen ``modality_type`` of a modality, the imported spelling where there is one."""
    system = modality.provenance.source_system
    if system.startswith(SOURCE_SYSTEM_PREFIX):
        original = system[len(SOURCE_SYSTEM_PREFIX) :]
        if original and modality_kind(original) == modality.kind:
            return original
    return MODALITY_TYPES[modality.kind]


# -- export -------------------------------------------------------------------------------


def _attribute_type(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "Boolean"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "Numeric"
    if present and all(isinstance(v, str) and _is_iso_datetime(v) for v in present):
        return "DateTime"
    return "Text"


def _is_iso_datetime(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return len(value) >= 10


def content_bundle(modality: Modality) -> dict[str, Any]:
    """An OCA bundle describing a modality's content columns, for modalities without semantics.

    One attribute ``<table>__<column>`` per column found in the rows, its type inferred from the
    values (Boolean, Numeric, DateTime, else Text).
    """
    columns: dict[str, list[Any]] = {}
    for table, rows in sorted(modality.content.items()):
        for row in rows:
            for column, value in row.items():
                columns.setdefault(f"{table}__{column}", []).append(value)
    kind = modality.kind.value
    spec = BundleSpec(
        name=f"CardioFabric {kind} content",
        description=f"Harmonised content columns (table__column) of a CardioFabric {kind} modality",
        attributes=[AttributeSpec(name=n, type=_attribute_type(v)) for n, v in columns.items()],
    )
    return build_bundle(spec)


def _oca_bundle(modality: Modality) -> dict[str, Any]:
    sem = modality.semantics
    if sem is not None and sem.type == "Reference":
        return {"type": "Reference", "value": sem.value}
    if sem is not None and isinstance(sem.value, dict):
        return {"type": "Bundle", "value": strip_version(sem.value)}
    return {"type": "Bundle", "value": strip_version(content_bundle(modality))}


def _sealed_item(said: str, mtype: str, media_type: str, bundle: dict[str, Any]) -> dict[str, Any]:
    item = {
        "id": PLACEHOLDER,
        "modality_said": said,
        "modality_type": mtype,
        "media_type": media_type,
        "oca_bundle": copy.deepcopy(bundle),
    }
    item["id"] = said_of(item, "id")
    return item


def export_nextgen(mmio: MMIO) -> dict[str, Any]:
    """The object as NextGen MMIO JSON 0.1 (see the module docstring for the rules)."""
    items: dict[str, dict[str, Any]] = {}
    for m in mmio.modalities:
        bundle, mtype = _oca_bundle(m), modality_type(m)
        addressed = [(p.digest, p.media_type) for p in m.payloads]
        if not addressed and is_said(m.provenance.source_digest):
            addressed = [(m.provenance.source_digest, m.media_type)]
        for said, media_type in addressed:
            item = _sealed_item(said, mtype, media_type, bundle)
            items.setdefault(item["id"], item)
    obj: dict[str, Any] = {
        "version": NEXTGEN_VERSION,
        "id": PLACEHOLDER,
        "data": [items[k] for k in sorted(items)],
    }
    obj["id"] = said_of(obj, "id")
    return obj


# -- verification -------------------------------------------------------------------------


def read_nextgen(path: Path | str) -> dict[str, Any]:
    """Read a NextGen MMIO JSON file (shape only; call :func:`verify_nextgen` for digests)."""
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such file", path=p) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ObjectFormatError(
            f"not NextGen MMIO JSON: {exc}",
            path=p,
            hint="the file is truncated or was edited by hand; restore it from the source",
        ) from None
    if not isinstance(raw, dict):
        raise ObjectFormatError("NextGen MMIO JSON should be an object", path=p)
    return raw


def _item_shape(loc: str, item: Mapping[str, Any]) -> list[str]:
    problems = []
    for key in ("id", "modality_said"):
        if not is_said(item.get(key)):
            problems.append(f"{loc}/{key} should be a SAID, found {item.get(key)!r}")
    for key in ("modality_type", "media_type"):
        if not isinstance(item.get(key), str) or not item[key]:
            problems.append(f"{loc}/{key} should be a non-empty string, found {item.get(key)!r}")
    return problems


def verify_nextgen(obj: Any, path: Path | str | None = None) -> None:
    """Check every SAID of a NextGen MMIO object: item ids, embedded bundles, the object id.

    Raises :class:`DigestMismatchError` whose ``location`` is the JSON pointer of the first
    digest that does not hold (innermost first, in file order, e.g.
    ``/data/0/oca_bundle/value/overlays/meta/0/digest``); :class:`FormatVersionError` for a
    version other than 0.1; :class:`ObjectFormatError` when the digests hold but the shape
    does not.
    """
    if not isinstance(obj, Mapping):
        raise ObjectFormatError("NextGen MMIO JSON should be an object", path=path)
    if obj.get("version") != NEXTGEN_VERSION:
        raise FormatVersionError(
            f"expected NextGen MMIO version {NEXTGEN_VERSION!r}, found {obj.get('version')!r}",
            path=path,
            hint="this release reads NextGen MMIO JSON 0.1 only",
        )
    try:
        canonical_json(obj)
    except (TypeError, ValueError) as exc:  # NaN, bytes, sets ...: no SAID to check
        raise ObjectFormatError(
            f"NextGen MMIO JSON holds a value that is not plain JSON ({exc})", path=path
        ) from None
    data = obj.get("data")
    if not isinstance(data, list):
        raise ObjectFormatError(
            f"'data' should be a list of items, found {type(data).__name__}", path=path
        )
    digests: list[DigestProblem] = []
    shape: list[str] = []
    for i, item in enumerate(data):
        loc = f"/data/{i}"
        if not isinstance(item, Mapping):
            shape.append(f"{loc} should be an object, found {type(item).__name__}")
            continue
        ob = item.get("oca_bundle")
        ob = ob if isinstance(ob, Mapping) else {}
        if ob.get("type") == "Bundle":
            try:
                digests += check_bundle(ob.get("value"), prefix=f"{loc}/oca_bundle/value")
            except ObjectFormatError as exc:
                shape.append(f"{loc}/oca_bundle/value: {exc.message}")
        elif ob.get("type") == "Reference":
            if not is_said(ob.get("value")):
                shape.append(f"{loc}/oca_bundle/value should be a bundle SAID")
        else:
            shape.append(f"{loc}/oca_bundle should have type 'Bundle' or 'Reference'")
        computed = said_of(item, "id")
        if item.get("id") != computed:
            digests.append(DigestProblem(f"{loc}/id", item.get("id"), computed))
        shape += _item_shape(loc, item)
    computed = said_of(obj, "id")
    if obj.get("id") != computed:
        digests.append(DigestProblem("/id", obj.get("id"), computed))
    if digests:
        p = digests[0]
        raise DigestMismatchError(
            f"digest at {p.location} is {p.stated!r} but the content gives {p.computed!r}"
            + (f" ({len(digests)} problems in all)" if len(digests) > 1 else ""),
            location=p.location,
            path=path,
            hint="the object was changed after it was sealed; restore the original",
        )
    if shape:
        raise ObjectFormatError(
            f"not a NextGen MMIO 0.1 object: {shape[0]}"
            + (f" ({len(shape)} problems in all)" if len(shape) > 1 else ""),
            path=path,
        )


# -- import -------------------------------------------------------------------------------


def _semantics(oca_bundle: Mapping[str, Any]) -> Semantics:
    if oca_bundle["type"] == "Reference":
        return Semantics(type="Reference", value=oca_bundle["value"])
    value = copy.deepcopy(dict(oca_bundle["value"]))
    value.pop("v", None)
    v, _ = bundle_said(value)
    # Our bundles carry ``v`` first, as OCA 2.0 lays them out; the digest does not change.
    return Semantics(type="Bundle", value={"v": v, **value})


def import_nextgen(
    obj: Any,
    *,
    site: str,
    pseudonym: str,
    payloads: Mapping[str, bytes] | None = None,
    consent: Consent | None = None,
    recipients: Iterable[bytes] = (),
) -> MMIO:
    """Build an MMIO from a verified NextGen MMIO object (see the module docstring).

    ``payloads`` maps ``modality_said`` to the item's bytes; ``consent`` defaults to none
    given (nothing permitted); ``recipients`` encrypt the payloads as :class:`MMIOBuilder` does.
    """
    verify_nextgen(obj)
    builder = MMIOBuilder(pseudonym=pseudonym, site=site, consent=consent, recipients=recipients)
    for i, item in enumerate(obj["data"]):
        said, mtype, media_type = item["modality_said"], item["modality_type"], item["media_type"]
        specs = []
        if payloads is not None:
            data = payloads.get(said)
            if data is None:
                raise InputError(
                    f"no payload bytes given for /data/{i} (modality_said {said})",
                    hint="pass every item's bytes keyed by its modality_said, or payloads=None "
                    "to import the semantics only",
                )
            found = digest_bytes(data)
            if found != said:
                raise InputError(
                    f"the bytes given for /data/{i} have digest {found}, not its modality_said "
                    f"{said}",
                    hint="give the file the item was sealed with",
                )
            specs.append(PayloadSpec(data=bytes(data), media_type=media_type))
        builder.add(
            kind=modality_kind(mtype),
            media_type=media_type,
            provenance=Provenance(
                source_digest=said,
                source_system=SOURCE_SYSTEM_PREFIX + mtype,
                adapter=ADAPTER,
                adapter_version=__version__,
            ),
            payloads=specs,
            semantics=_semantics(item["oca_bundle"]),
        )
    return builder.build()
