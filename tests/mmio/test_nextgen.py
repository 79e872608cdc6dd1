"""NextGen MMIO JSON 0.1: the published example, tamper detection, export → verify → import."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardiofabric.errors import (
    DigestMismatchError,
    FormatVersionError,
    InputError,
    ObjectFormatError,
)
from cardiofabric.mmio.container import MMIO, MMIOBuilder, PayloadSpec
from cardiofabric.mmio.model import Consent, ConsentTerm, ModalityKind, Provenance, Semantics
from cardiofabric.mmio.nextgen import (
    MODALITY_TYPES,
    export_nextgen,
    import_nextgen,
    modality_kind,
    read_nextgen,
    verify_nextgen,
)
from cardiofabric.mmio.oca import AttributeSpec, BundleSpec, build_bundle, check_bundle
from cardiofabric.mmio.said import digest_bytes, said_of

EXAMPLE_FILE = Path(__file__).resolve().parents[1] / "data" / "nextgen" / "example-mmio-v0.1.json"
SITE, PSEUDONYM = "site-b", "pt-00c0ffee00c0ffee00c0ffee00c0ffee"


@pytest.fixture
def example() -> dict[str, Any]:
    return read_nextgen(EXAMPLE_FILE)


# -- the published example ----------------------------------------------------------------


def test_published_example_verifies(example: dict[str, Any]) -> None:
    verify_nextgen(example, EXAMPLE_FILE)
    assert example["id"] == said_of(example, "id")


def _leaves(node: Any, pointer: str = "") -> Iterator[tuple[str, list[Any], Any]]:
    """(JSON pointer, path of keys, value) of every string in the object."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from ((p, [k, *keys], val) for p, keys, val in _leaves(v, f"{pointer}/{k}"))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from ((p, [i, *keys], val) for p, keys, val in _leaves(v, f"{pointer}/{i}"))
    elif isinstance(node, str):
        yield pointer, [], node


def _keys(pointer: str) -> list[Any]:
    return [int(k) if k.isdigit() else k for k in pointer.strip("/").split("/")]


def _sealed_by(doc: dict[str, Any], pointer: str) -> str:
    """Where the first broken digest is when the string at ``pointer`` changes.

    A changed digest field is itself the first to fail; any other change breaks the digest of
    the innermost sealed object around it: an overlay, the capture base or the bundle (field
    ``digest``), a data item or the whole object (field ``id``).
    """
    keys = _keys(pointer)
    nodes: list[Any] = [doc]
    for k in keys[:-1]:
        nodes.append(nodes[-1][k])
    for depth in range(len(nodes) - 1, -1, -1):
        node = nodes[depth]
        field = "id" if depth == 0 or "modality_said" in node else "digest"
        if isinstance(node, dict) and field in node:
            if depth == len(nodes) - 1 and keys[-1] == field:
                return pointer
            return "".join(f"/{k}" for k in keys[:depth]) + f"/{field}"
    raise AssertionError(pointer)


def _mutate(s: str) -> str:
    i = min(len(s) - 1, 7)
    return s[:i] + ("B" if s[i] != "B" else "C") + s[i + 1 :]


def _cases() -> list[str]:
    return [p for p, _, _ in _leaves(json.loads(EXAMPLE_FILE.read_text(encoding="utf-8")))]


@pytest.mark.parametrize("pointer", _cases())
def test_one_character_changed_anywhere_is_caught_where_it_is(
    example: dict[str, Any], pointer: str
) -> None:
    expected = _sealed_by(example, pointer)
    *keys, last = _keys(pointer)
    holder: Any = example
    for k in keys:
        holder = holder[k]
    holder[last] = _mutate(holder[last])
    if pointer == "/version":
        with pytest.raises(FormatVersionError):
            verify_nextgen(example)
        return
    with pytest.raises(DigestMismatchError) as info:
        verify_nextgen(example, EXAMPLE_FILE)
    assert info.value.location == expected
    assert str(EXAMPLE_FILE) in str(info.value)


def test_renamed_attribute_breaks_the_capture_base(example: dict[str, Any]) -> None:
    attrs = example["data"][0]["oca_bundle"]["value"]["capture_base"]["attributes"]
    attrs["height"] = attrs.pop("hgt")
    with pytest.raises(DigestMismatchError) as info:
        verify_nextgen(example)
    assert info.value.location == "/data/0/oca_bundle/value/capture_base/digest"


def test_example_meta_overlay_location(example: dict[str, Any]) -> None:
    example["data"][0]["oca_bundle"]["value"]["overlays"]["meta"][0]["name"] = "Patient BMX"
    with pytest.raises(DigestMismatchError) as info:
        verify_nextgen(example)
    assert info.value.location == "/data/0/oca_bundle/value/overlays/meta/0/digest"


def _reseal(_: Any, doc: dict[str, Any]) -> None:
    doc["id"] = said_of(doc, "id")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda o: o.update(data={}), ObjectFormatError),
        (lambda o: o.pop("version"), FormatVersionError),
        (lambda o: o["data"][0].update(size=float("nan")), ObjectFormatError),
        (lambda o: o["data"].append("item"), DigestMismatchError),
        (lambda o: _reseal(o["data"].append("item"), o), ObjectFormatError),
    ],
)
def test_malformed_objects_are_refused(example: dict[str, Any], change: Any, error: type) -> None:
    change(example)
    with pytest.raises(error):
        verify_nextgen(example)


def test_sealed_but_malformed_item_is_a_format_error(example: dict[str, Any]) -> None:
    item = example["data"][0]
    item["oca_bundle"] = {"type": "Link", "value": "somewhere"}
    item["id"] = said_of(item, "id")
    example["id"] = said_of(example, "id")
    with pytest.raises(ObjectFormatError, match="'Bundle' or 'Reference'"):
        verify_nextgen(example)


def test_example_imports_and_exports_back_unchanged(example: dict[str, Any]) -> None:
    obj = import_nextgen(example, site=SITE, pseudonym=PSEUDONYM)
    (m,) = obj.modalities
    assert m.kind == ModalityKind.IMAGING and m.media_type == "image/png" and not m.payloads
    assert m.provenance.source_digest == example["data"][0]["modality_said"]
    assert m.semantics is not None and isinstance(m.semantics.value, dict)
    assert m.semantics.value["v"].startswith("OCAS20JSON")
    assert check_bundle(m.semantics.value) == []
    obj.verify()
    assert export_nextgen(obj) == example


def test_read_nextgen_refuses_broken_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "0.1", "id": ', encoding="utf-8")
    with pytest.raises(ObjectFormatError):
        read_nextgen(bad)
    with pytest.raises(InputError):
        read_nextgen(tmp_path / "missing.json")


# -- our objects ----------------------------------------------------------------------------

VCF = b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n11\t47332000\t.\tG\tA\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
ECG = bytes(range(256)) * 4
NOTE = b"Befund: Sinusrhythmus.\n"
LIPIDS = build_bundle(
    BundleSpec(
        name="Lipids",
        description="A lipid panel",
        attributes=[
            AttributeSpec(
                name="ldl",
                type="Numeric",
                labels={"eng": "LDL cholesterol"},
                unit="mmol/L",
                code="LOINC:2089-1",
                required=True,
            ),
        ],
    )
)


def _prov(data: bytes) -> Provenance:
    return Provenance(
        source_digest=digest_bytes(data), source_system="his", adapter="t", adapter_version="1"
    )


def build_object() -> MMIO:
    """Semantics embedded, referenced and absent; two payloads in one modality; one without."""
    b = MMIOBuilder(
        pseudonym=PSEUDONYM,
        site=SITE,
        consent=Consent(permissions=[ConsentTerm(code="DUO:0000042")]),
    )
    b.add(
        kind="clinical",
        media_type="application/fhir+json",
        provenance=_prov(NOTE),
        payloads=[PayloadSpec(NOTE, "text/plain", role="note")],
        semantics=Semantics(type="Bundle", value=LIPIDS),
        content={"measurement": [{"code": "2089-1", "value": 3.1, "unit": "mmol/L"}]},
    )
    b.add(
        kind="imaging",
        media_type="image/png",
        provenance=_prov(PNG),
        payloads=[PayloadSpec(PNG, "image/png", role="pixels")],
        semantics=Semantics(type="Reference", value=LIPIDS["digest"]),
    )
    b.add(
        kind="ecg",
        media_type="application/dicom",
        provenance=_prov(ECG),
        payloads=[
            PayloadSpec(ECG, "application/dicom"),
            PayloadSpec(ECG[:512], "application/octet-stream", role="signal"),
        ],
        content={
            "ecg_feature": [
                {
                    "feature": "qtc_bazett",
                    "value": 452.0,
                    "unit": "ms",
                    "method": "device",
                    "date": "2024-02-28",
                }
            ]
        },
    )
    b.add(
        kind="genomic",
        media_type="text/vcf",
        provenance=_prov(VCF),
        content={"variant": [{"chrom": "11", "pos": 47332000, "ref": "G", "alt": "A"}]},
    )
    return b.build()


@pytest.fixture
def obj() -> MMIO:
    return build_object()


def _bytes_of(obj: MMIO) -> dict[str, bytes]:
    out = {p.digest: obj.payload(p.digest) for p in obj.manifest.payloads()}
    out[digest_bytes(VCF)] = VCF  # the genomic modality holds no payload, only its source SAID
    return out


def test_export_shape(obj: MMIO) -> None:
    doc = export_nextgen(obj)
    verify_nextgen(doc)
    assert list(doc) == ["version", "id", "data"] and doc["version"] == "0.1"
    assert [i["id"] for i in doc["data"]] == sorted(i["id"] for i in doc["data"])
    for item in doc["data"]:
        assert list(item) == ["id", "modality_said", "modality_type", "media_type", "oca_bundle"]
        if item["oca_bundle"]["type"] == "Bundle":
            assert "v" not in item["oca_bundle"]["value"]
    types = sorted(i["modality_type"] for i in doc["data"])
    assert types == ["Clinical", "Genomic", "Image", "Signal", "Signal"]
    saids = {i["modality_said"] for i in doc["data"]}
    assert saids == {digest_bytes(d) for d in (NOTE, PNG, ECG, ECG[:512], VCF)}


def test_export_semantics(obj: MMIO) -> None:
    doc = export_nextgen(obj)
    by_type = {i["modality_type"]: i["oca_bundle"] for i in doc["data"]}
    assert by_type["Clinical"]["value"]["digest"] == LIPIDS["digest"]
    assert by_type["Image"] == {"type": "Reference", "value": LIPIDS["digest"]}
    # Without semantics, a bundle is built from the content columns.
    ecg = by_type["Signal"]["value"]
    assert ecg["capture_base"]["attributes"] == {
        "ecg_feature__date": "DateTime",
        "ecg_feature__feature": "Text",
        "ecg_feature__method": "Text",
        "ecg_feature__unit": "Text",
        "ecg_feature__value": "Numeric",
    }
    assert check_bundle(ecg) == []


def test_export_is_deterministic(obj: MMIO) -> None:
    assert export_nextgen(obj) == export_nextgen(build_object())


def test_round_trip_with_payloads(obj: MMIO, tmp_path: Path) -> None:
    doc = export_nextgen(obj)
    path = tmp_path / "patient.mmio.json"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    doc = read_nextgen(path)
    verify_nextgen(doc, path)
    back = import_nextgen(doc, site=SITE, pseudonym=PSEUDONYM, payloads=_bytes_of(obj))
    back.verify()
    assert {p.digest for p in back.manifest.payloads()} == {i["modality_said"] for i in doc["data"]}
    for p in back.manifest.payloads():
        assert digest_bytes(back.payload(p.digest)) == p.digest
    original = {m.semantics.model_dump_json() for m in obj.modalities if m.semantics}
    imported = {m.semantics.model_dump_json() for m in back.modalities if m.semantics}
    assert original <= imported  # the ECG and genomic modalities gained a described bundle
    assert export_nextgen(back) == doc
    written = MMIO.open(back.write(tmp_path / "objects"))
    written.verify()
    assert export_nextgen(written) == doc


def test_import_without_payloads_keeps_the_addresses(obj: MMIO) -> None:
    doc = export_nextgen(obj)
    back = import_nextgen(doc, site=SITE, pseudonym=PSEUDONYM)
    assert back.manifest.payloads() == []
    assert {m.provenance.source_digest for m in back.modalities} == {
        i["modality_said"] for i in doc["data"]
    }
    assert export_nextgen(back) == doc


def test_import_needs_every_payload_and_the_right_bytes(obj: MMIO) -> None:
    doc = export_nextgen(obj)
    payloads = _bytes_of(obj)
    missing = dict(payloads)
    said = doc["data"][2]["modality_said"]
    del missing[said]
    with pytest.raises(InputError, match=r"/data/2 \(modality_said " + said):
        import_nextgen(doc, site=SITE, pseudonym=PSEUDONYM, payloads=missing)
    wrong = dict(payloads)
    wrong[said] = b"something else"
    with pytest.raises(InputError, match="/data/2"):
        import_nextgen(doc, site=SITE, pseudonym=PSEUDONYM, payloads=wrong)


def test_import_refuses_a_tampered_object(obj: MMIO) -> None:
    doc = export_nextgen(obj)
    doc["data"][1]["media_type"] = "image/jpeg"
    with pytest.raises(DigestMismatchError) as info:
        import_nextgen(doc, site=SITE, pseudonym=PSEUDONYM)
    assert info.value.location == "/data/1/id"


def test_modality_types_map_both_ways() -> None:
    for kind, name in MODALITY_TYPES.items():
        assert modality_kind(name) == kind
        assert modality_kind(name.upper()) == kind
    assert modality_kind("Histopathology") == ModalityKind.DOCUMENT


def test_unknown_modality_type_is_kept(example: dict[str, Any]) -> None:
    item = copy.deepcopy(example["data"][0])
    item["modality_type"] = "Histopathology"
    item["id"] = said_of(item, "id")
    doc = {"version": "0.1", "id": "", "data": [item]}
    doc["id"] = said_of(doc, "id")
    back = import_nextgen(doc, site=SITE, pseudonym=PSEUDONYM)
    assert back.modalities[0].kind == ModalityKind.DOCUMENT
    assert back.modalities[0].provenance.source_system == "nextgen-mmio:Histopathology"
    assert export_nextgen(back) == doc
