"""Frozen objects of every past format version must keep opening and verifying.

``tests/data/mmio-v1/`` was written once by ``tests/data/make_frozen_v1.py`` and is never
regenerated (see that script). Its digest is written out below on purpose: if a change to the
code alters a SAID, the object no longer verifies, and this test says so.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cardiofabric.mmio.container import MMIO, READABLE_VERSIONS
from cardiofabric.mmio.model import ENCODING_VERSION
from cardiofabric.mmio.oca import check_bundle
from cardiofabric.mmio.said import canonical_json, digest_bytes, said_of

DATA = Path(__file__).resolve().parents[1] / "data"
V1_DIGEST = "ENFR_xI6WLzqBz55dDmXGaJLaK_sJcGiMwWOi72wwTNC"
V1_PATH = DATA / "mmio-v1" / f"{V1_DIGEST}.mmio"
V1_CLINICAL = "ENengFHDashOdrdJxvVihxqizmv05YqO-x1Gcxs1uf5A"
V1_BUNDLE = "EFXbWcPM9srtADMZMg63ONMJJdYihHVixpIzz_8TZH4y"
V1_ECG_SIGNAL = "EDLJuammsqWqRu3Ib-06u4pJJ42ngIjrX2ZpZaNBR8Sa"


def test_v1_is_still_readable() -> None:
    assert "1" in READABLE_VERSIONS


def test_v1_is_the_only_object_in_its_folder() -> None:
    assert sorted(p.name for p in (DATA / "mmio-v1").glob("*.mmio")) == [V1_PATH.name]


def test_v1_opens_and_verifies() -> None:
    obj = MMIO.open(V1_PATH)
    assert obj.digest == V1_DIGEST
    report = obj.verify()
    assert report.digest == V1_DIGEST
    assert (report.modalities, report.bundles, report.payloads_checked) == (2, 1, 1)
    assert report.skipped == []


def test_v1_digests_recomputed_from_the_raw_file() -> None:
    raw = json.loads((V1_PATH / "manifest.json").read_text(encoding="utf-8"))
    assert raw["encoding-type"] == "cardiofabric.mmio"
    assert raw["encoding-version"] == "1"
    assert said_of(raw) == raw["digest"] == V1_DIGEST
    clinical, ecg = raw["modalities"]
    assert said_of(clinical) == clinical["digest"] == V1_CLINICAL
    assert said_of(ecg) == ecg["digest"]
    bundle = clinical["semantics"]["value"]
    assert check_bundle(bundle) == []
    assert bundle["digest"] == V1_BUNDLE


def test_v1_content() -> None:
    obj = MMIO.open(V1_PATH)
    m = obj.manifest
    assert m.kinds == ["clinical", "ecg"]
    assert m.pseudonym == "pt-754b6cb74cc77da4333c4d11f9558e55"
    assert [t.code for t in m.consent.permissions] == ["DUO:0000042"]
    (clinical,) = m.modality("clinical")
    assert sorted(clinical.content) == ["condition", "measurement", "person"]
    (ldl,) = clinical.content["measurement"]
    assert (ldl["code"], ldl["value"], ldl["unit"]) == ("2089-1", 3.36, "mmol/L")
    (ecg,) = m.modality("ecg")
    assert [r["feature"] for r in ecg.content["ecg_feature"]] == ["heart_rate", "qrs"]


def test_v1_payload() -> None:
    obj = MMIO.open(V1_PATH)
    (signal,) = obj.payloads_of("ecg", role="signal")
    assert signal.digest == V1_ECG_SIGNAL
    data = obj.payload(V1_ECG_SIGNAL)
    assert digest_bytes(data) == V1_ECG_SIGNAL and len(data) == signal.size == 188
    assert data.startswith(b"time_ms,I,II,V1\n")


@pytest.mark.skipif(ENCODING_VERSION != "1", reason="this release writes another format version")
def test_this_release_still_writes_v1_byte_for_byte(tmp_path: Path) -> None:
    # While format 1 is the one written, building the same object must give the same SAID:
    # a new field or a changed default would otherwise slip into "version 1" unnoticed.
    sys.path.insert(0, str(DATA))
    try:
        import make_frozen_v1
    finally:
        sys.path.remove(str(DATA))
    rebuilt = make_frozen_v1.build()
    assert rebuilt.digest == V1_DIGEST
    out = rebuilt.write(tmp_path)
    # Whitespace in manifest.json is not part of the format; keys, their order and values are.
    new, old = (json.loads((p / "manifest.json").read_text()) for p in (out, V1_PATH))
    assert canonical_json(new) == canonical_json(old)
