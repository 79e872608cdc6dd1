"""OCA 2.0 bundles: checking the published GWAS bundle, tamper detection, compiling our own."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cardiofabric.errors import DigestMismatchError, InputError, ObjectFormatError
from cardiofabric.mmio.oca import (
    ATTRIBUTE_TYPES,
    AttributeSpec,
    BundleSpec,
    DigestProblem,
    build_bundle,
    bundle_said,
    check_bundle,
    iter_overlays,
    strip_version,
    verify_bundle,
)
from cardiofabric.mmio.said import is_said, said_of

OCA_DATA = Path(__file__).resolve().parents[1] / "data" / "oca"
_GWAS = json.loads((OCA_DATA / "cardiovascular-gwas-variables.oca.json").read_bytes())["bundle"]
OVERLAY_LOCATIONS = [loc for loc, _ in iter_overlays(_GWAS)]
SEALED = ["/capture_base", *OVERLAY_LOCATIONS]


def _at(bundle: dict[str, Any], pointer: str) -> Any:
    target: Any = bundle
    for part in pointer.strip("/").split("/"):
        target = target[int(part)] if isinstance(target, list) else target[part]
    return target


def _flip(text: str, index: int = -1) -> str:
    """The same string with one character changed."""
    i = index % len(text)
    new = "B" if text[i] != "B" else "C"
    return text[:i] + new + text[i + 1 :]


def _first_value_path(obj: Any, top: bool = True) -> tuple[Any, Any]:
    """The container and key of the first string value that is content, not a digest."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj)
    for key, value in items:
        if top and key in ("digest", "capture_base", "type"):
            continue
        if isinstance(value, str):
            return obj, key
        if isinstance(value, dict | list) and value:
            return _first_value_path(value, top=False)
    raise AssertionError(f"no content string in {obj!r}")


def test_check_bundle_on_the_published_bundle_is_empty(gwas: dict[str, Any]) -> None:
    assert check_bundle(gwas) == []
    verify_bundle(gwas)  # does not raise
    assert len(OVERLAY_LOCATIONS) == 9


def test_every_overlay_names_the_capture_base(gwas: dict[str, Any]) -> None:
    cb = gwas["capture_base"]["digest"]
    assert {ov["capture_base"] for _, ov in iter_overlays(gwas)} == {cb}


@pytest.mark.parametrize("pointer", SEALED)
def test_one_character_in_a_value_is_caught_at_its_digest(
    gwas: dict[str, Any], pointer: str
) -> None:
    holder, key = _first_value_path(_at(gwas, pointer))
    before = holder[key]
    holder[key] = _flip(before)
    assert holder[key] != before and len(holder[key]) == len(before)
    with pytest.raises(DigestMismatchError) as info:
        verify_bundle(gwas, path="bundle.json")
    assert info.value.location == f"{pointer}/digest"
    assert info.value.path == "bundle.json"
    assert "bundle.json" in str(info.value)
    problems = check_bundle(gwas)
    assert problems[0].location == f"{pointer}/digest"
    assert problems[0].stated == _at(gwas, pointer)["digest"]
    assert problems[0].computed == said_of(_at(gwas, pointer))
    # The bundle's own digest covers everything, so it is the last problem.
    assert problems[-1].location == "/digest"


@pytest.mark.parametrize("pointer", SEALED)
@pytest.mark.parametrize("index", [1, 20, -1])
def test_one_character_in_a_digest_is_caught_there(
    gwas: dict[str, Any], pointer: str, index: int
) -> None:
    obj = _at(gwas, pointer)
    obj["digest"] = _flip(obj["digest"], index)
    with pytest.raises(DigestMismatchError) as info:
        verify_bundle(gwas)
    assert info.value.location == f"{pointer}/digest"
    assert obj["digest"] in str(info.value)


def test_a_changed_capture_base_digest_also_orphans_every_overlay(gwas: dict[str, Any]) -> None:
    gwas["capture_base"]["digest"] = _flip(gwas["capture_base"]["digest"])
    locations = [p.location for p in check_bundle(gwas)]
    assert locations[0] == "/capture_base/digest"
    assert [f"{loc}/capture_base" for loc in OVERLAY_LOCATIONS] == locations[1:-1]


def test_an_overlay_pointing_at_another_capture_base(gwas: dict[str, Any]) -> None:
    from cardiofabric.mmio.said import saidify

    label = gwas["overlays"]["label"][0]
    label["capture_base"] = "E" + "A" * 43
    gwas["overlays"]["label"][0] = saidify(label)  # resealed, yet still not ours
    problems = check_bundle(gwas)
    assert problems[0] == DigestProblem(
        "/overlays/label/0/capture_base", "E" + "A" * 43, gwas["capture_base"]["digest"]
    )


@pytest.mark.parametrize(
    ("mutate", "location"),
    [
        (lambda b: b.update(v=_flip(b["v"], 12)), "/v"),
        (lambda b: b.update(digest=_flip(b["digest"])), "/digest"),
    ],
    ids=["v", "digest"],
)
def test_bundle_level_fields(gwas: dict[str, Any], mutate: Any, location: str) -> None:
    mutate(gwas)
    with pytest.raises(DigestMismatchError) as info:
        verify_bundle(gwas)
    assert info.value.location == location


def test_the_prefix_is_put_before_every_location(gwas: dict[str, Any]) -> None:
    gwas["overlays"]["meta"][1]["name"] += "!"
    with pytest.raises(DigestMismatchError) as info:
        verify_bundle(gwas, prefix="/modalities/3/semantics/value")
    assert info.value.location == "/modalities/3/semantics/value/overlays/meta/1/digest"


def test_more_problems_are_counted_in_the_message(gwas: dict[str, Any]) -> None:
    meta = gwas["overlays"]["meta"][0]
    meta["name"] = _flip(meta["name"])  # same length: v still holds
    with pytest.raises(DigestMismatchError, match=r"\(2 problems in all\)"):
        verify_bundle(gwas)
    meta["name"] += "!"  # one byte longer: v no longer holds either
    assert [p.location for p in check_bundle(gwas)] == ["/overlays/meta/0/digest", "/v", "/digest"]


# -- bundles without v (MMIO 0.1) --------------------------------------------------------------


def test_a_bundle_without_v_still_verifies(gwas: dict[str, Any]) -> None:
    bare = strip_version(gwas)
    assert "v" not in bare and "v" in gwas  # a copy, the original untouched
    assert check_bundle(bare) == []
    assert bundle_said(bare) == (gwas["v"], gwas["digest"])


def test_the_published_mmio_01_bundle_verifies() -> None:
    obj = json.loads((OCA_DATA / "example-mmio-v0.1.json").read_bytes())
    bundle = obj["data"][0]["oca_bundle"]["value"]
    assert "v" not in bundle
    assert check_bundle(bundle) == []
    bundle["overlays"]["meta"][0]["description"] += "."
    with pytest.raises(DigestMismatchError) as info:
        verify_bundle(bundle)
    assert info.value.location == "/overlays/meta/0/digest"


def test_a_bundle_without_v_with_tampering_still_fails(gwas: dict[str, Any]) -> None:
    bare = strip_version(gwas)
    bare["capture_base"]["attributes"]["age"] = "Text"
    with pytest.raises(DigestMismatchError) as info:
        verify_bundle(bare)
    assert info.value.location == "/capture_base/digest"


# -- build_bundle -------------------------------------------------------------------------------


def _spec(**kw: Any) -> BundleSpec:
    attrs = [
        AttributeSpec(
            name="sbp",
            type="Numeric",
            labels={"eng": "Systolic blood pressure", "deu": "Systolischer Blutdruck"},
            unit="mm[Hg]",
            code="LOINC:8480-6",
            required=True,
        ),
        AttributeSpec(
            name="smoking",
            type="Text",
            labels={"eng": "Smoking status", "deu": "Rauchstatus"},
            entries={
                "eng": {"never": "Never smoked", "current": "Current smoker"},
                "deu": {"never": "Nie geraucht", "current": "Raucht"},
            },
        ),
        AttributeSpec(name="af", type="Boolean", labels={"eng": "Atrial fibrillation"}),
    ]
    return BundleSpec(
        name=kw.pop("name", "Vitals"),
        description=kw.pop("description", "Blood pressure and history"),
        attributes=kw.pop("attributes", attrs),
        **kw,
    )


def test_build_bundle_output_verifies_and_reproduces_its_digests() -> None:
    bundle = build_bundle(_spec())
    assert check_bundle(bundle) == []
    assert list(bundle) == ["v", "digest", "capture_base", "overlays"]
    assert is_said(bundle["digest"])
    assert (bundle["v"], bundle["digest"]) == bundle_said(bundle)
    # Serialised and read back (as a manifest stores it) it still verifies.
    assert check_bundle(json.loads(json.dumps(bundle))) == []


def test_build_bundle_is_deterministic_and_order_free() -> None:
    spec = _spec()
    reordered = _spec(attributes=list(reversed(spec.attributes)))
    assert build_bundle(spec) == build_bundle(reordered)
    assert build_bundle(spec)["digest"] != build_bundle(_spec(name="Other"))["digest"]


def test_build_bundle_capture_base() -> None:
    cb = build_bundle(_spec(classification="GICS:1234"))["capture_base"]
    assert list(cb) == ["digest", "type", "classification", "attributes"]
    assert cb["type"] == "capture_base/2.0.0"
    assert cb["attributes"] == {"af": "Boolean", "sbp": "Numeric", "smoking": "Text"}
    assert list(cb["attributes"]) == ["af", "sbp", "smoking"]  # sorted
    assert cb["digest"] == said_of(cb)


def test_build_bundle_labels_per_language() -> None:
    overlays = build_bundle(_spec())["overlays"]
    labels = {ov["language"]: ov["attribute_labels"] for ov in overlays["label"]}
    assert labels == {
        "deu": {"sbp": "Systolischer Blutdruck", "smoking": "Rauchstatus"},
        "eng": {
            "af": "Atrial fibrillation",
            "sbp": "Systolic blood pressure",
            "smoking": "Smoking status",
        },
    }
    assert [ov["language"] for ov in overlays["label"]] == ["deu", "eng"]
    for ov in overlays["label"]:
        assert ov["type"] == "overlay/label/2.0.0"
        assert list(ov)[:4] == ["digest", "capture_base", "type", "language"]


def test_build_bundle_units_in_format_and_unit_overlays() -> None:
    overlays = build_bundle(_spec())["overlays"]
    assert overlays["format"]["attribute_formats"] == {"sbp": "mm[Hg]"}
    assert overlays["unit"]["attribute_units"] == {"sbp": "mm[Hg]"}
    assert overlays["unit"]["metric_system"] == "UCUM"
    assert overlays["unit"]["type"] == "overlay/unit/2.0.0"


def test_build_bundle_without_units_has_no_unit_overlays() -> None:
    spec = _spec(attributes=[AttributeSpec(name="note", labels={"eng": "Note"})])
    overlays = build_bundle(spec)["overlays"]
    assert "format" not in overlays and "unit" not in overlays and "entry" not in overlays


def test_build_bundle_entry_codes_and_entries() -> None:
    overlays = build_bundle(_spec())["overlays"]
    assert overlays["entry_code"]["attribute_entry_codes"] == {"smoking": ["current", "never"]}
    entries = {ov["language"]: ov["attribute_entries"] for ov in overlays["entry"]}
    assert entries["deu"] == {"smoking": {"never": "Nie geraucht", "current": "Raucht"}}
    assert entries["eng"]["smoking"]["current"] == "Current smoker"


def test_build_bundle_conformance_and_framing() -> None:
    overlays = build_bundle(_spec())["overlays"]
    assert overlays["conformance"]["attribute_conformance"] == {
        "af": "O",
        "sbp": "M",
        "smoking": "O",
    }
    assert overlays["attribute_framing"]["attribute_framing"] == {"sbp": "LOINC:8480-6"}


def test_build_bundle_meta_defaults_to_english_name() -> None:
    overlays = build_bundle(_spec())["overlays"]
    assert [(m["language"], m["name"], m["description"]) for m in overlays["meta"]] == [
        ("eng", "Vitals", "Blood pressure and history")
    ]
    named = build_bundle(
        _spec(names={"eng": ("Vitals", "BP"), "fra": ("Signes vitaux", "Tension")})
    )["overlays"]["meta"]
    assert [(m["language"], m["name"]) for m in named] == [
        ("eng", "Vitals"),
        ("fra", "Signes vitaux"),
    ]


def test_build_bundle_every_overlay_is_sealed_and_tied_to_the_capture_base() -> None:
    bundle = build_bundle(_spec())
    cb = bundle["capture_base"]["digest"]
    seen = 0
    for _, ov in iter_overlays(bundle):
        assert ov["capture_base"] == cb
        assert ov["digest"] == said_of(ov)
        seen += 1
    assert seen == 10  # conformance, 2 entry, entry_code, format, unit, framing, 2 label, meta


def test_build_bundle_refuses_a_bad_attribute_type() -> None:
    spec = _spec(attributes=[AttributeSpec(name="x", type="Float")])
    with pytest.raises(InputError) as info:
        build_bundle(spec)
    message = str(info.value)
    assert "'x'" in message and "'Float'" in message
    for t in ATTRIBUTE_TYPES:
        assert t in message


def test_build_bundle_refuses_a_duplicate_attribute() -> None:
    spec = _spec(attributes=[AttributeSpec(name="x"), AttributeSpec(name="x", type="Numeric")])
    with pytest.raises(InputError, match="'x' is given twice"):
        build_bundle(spec)


def test_build_bundle_refuses_an_empty_name() -> None:
    with pytest.raises(InputError, match="empty name"):
        build_bundle(_spec(attributes=[AttributeSpec(name="")]))


# -- malformed input ----------------------------------------------------------------------------


def _malformed() -> list[tuple[str, Any]]:
    good = copy.deepcopy(_GWAS)

    def edit(fn: Any) -> dict[str, Any]:
        b = copy.deepcopy(good)
        fn(b)
        return b

    return [
        ("not-an-object", ["capture_base"]),
        ("a-string", "bundle"),
        ("none", None),
        ("no-capture-base", edit(lambda b: b.pop("capture_base"))),
        ("capture-base-a-list", edit(lambda b: b.update(capture_base=[1]))),
        ("overlays-a-list", edit(lambda b: b.update(overlays=[1, 2]))),
        ("overlay-a-string", edit(lambda b: b["overlays"].update(format="x"))),
        ("overlay-list-item-a-number", edit(lambda b: b["overlays"]["label"].append(3))),
        ("nan-value", edit(lambda b: b["capture_base"].update(x=float("nan")))),
        ("set-value", edit(lambda b: b["overlays"]["format"].update(x={1, 2}))),
        ("bytes-value", edit(lambda b: b.update(extra=b"\x00"))),
        ("mixed-keys", {1: "a", "b": 2}),
    ]


@pytest.mark.parametrize(("case", "bundle"), _malformed(), ids=[c for c, _ in _malformed()])
def test_malformed_bundles_raise_object_format_error(case: str, bundle: Any) -> None:
    with pytest.raises(ObjectFormatError) as info:
        check_bundle(bundle)
    assert (
        "expected" in str(info.value) or "should be" in str(info.value) or "JSON" in str(info.value)
    )
    with pytest.raises(ObjectFormatError):
        verify_bundle(bundle)


def test_a_bundle_without_overlays_is_checked_on_its_own(gwas: dict[str, Any]) -> None:
    del gwas["overlays"]
    locations = [p.location for p in check_bundle(gwas)]
    assert locations == ["/v", "/digest"]  # the size and content changed; the capture base did not
