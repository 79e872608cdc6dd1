"""Standard semantics: the harmonised-content bundle and references to it."""

from __future__ import annotations

from pathlib import Path

from cardiofabric.mmio import MMIOBuilder, Provenance, Semantics
from cardiofabric.mmio.oca import check_bundle
from cardiofabric.mmio.semantics import (
    harmonised_bundle,
    harmonised_semantics,
    register_bundle,
    resolve,
)
from cardiofabric.mmio.tables import CONTENT_TABLES, LINK_COLUMNS

PROV = Provenance(source_digest="E" + "A" * 43, source_system="t", adapter="t", adapter_version="1")


def test_bundle_covers_every_content_column_and_verifies() -> None:
    b = harmonised_bundle()
    assert check_bundle(b) == []
    attrs = b["capture_base"]["attributes"]
    expected = {
        f"{t.name}__{c.name}"
        for t in CONTENT_TABLES.values()
        for c in t.columns
        if c.name not in LINK_COLUMNS
    }
    assert set(attrs) == expected
    assert attrs["measurement__value"] == "Numeric"
    assert attrs["variant__pos"] == "Numeric"
    assert attrs["condition__mapped"] == "Boolean"
    assert attrs["measurement__date"] == "DateTime"
    labels = b["overlays"]["label"][0]["attribute_labels"]
    assert labels["measurement__source_unit"].startswith("measurement: unit exactly")


def test_reference_resolves_and_is_checked(tmp_path: Path) -> None:
    sem = harmonised_semantics()
    assert sem.type == "Reference" and resolve(str(sem.value)) is harmonised_bundle()
    b = MMIOBuilder(pseudonym="pt-1", site="s")
    b.add(
        kind="clinical",
        media_type="application/json",
        provenance=PROV,
        semantics=sem,
        content={"measurement": [{"code": "2089-1", "value": 3.1}]},
    )
    obj = b.build()
    report = obj.write(tmp_path) and obj.verify()
    assert report.bundles == 1 and report.unresolved == []


def test_unknown_reference_is_reported_not_failed(tmp_path: Path) -> None:
    other = "E" + "Q" * 43
    b = MMIOBuilder(pseudonym="pt-1", site="s")
    b.add(
        kind="ecg",
        media_type="application/json",
        provenance=PROV,
        semantics=Semantics(type="Reference", value=other),
    )
    report = b.build().verify()
    assert report.unresolved == [other] and report.bundles == 0


def test_registered_bundle_resolves() -> None:
    from cardiofabric.mmio.oca import AttributeSpec, BundleSpec, build_bundle

    bundle = build_bundle(BundleSpec("x", "y", [AttributeSpec("a", "Numeric")]))
    assert resolve(bundle["digest"]) is None
    assert register_bundle(bundle) == bundle["digest"]
    assert resolve(bundle["digest"]) == bundle
