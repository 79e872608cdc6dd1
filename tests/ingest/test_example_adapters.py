"""The first adapters on the example site's files, and on broken inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import SourceContext, get_adapter, registered
from cardiofabric.ingest.pipeline import Source, build_objects, read_sources
from cardiofabric.mmio.model import ModalityKind
from cardiofabric.pathfinder.example import PATIENTS, write_example_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("example")
    return {
        fmt + ("" if fmt != "ecg-npy" else str(i)): p
        for i, (p, fmt) in enumerate(write_example_site(d))
    }


def ctx() -> SourceContext:
    return SourceContext(site="test")


def test_registry_lists_builtin_formats() -> None:
    assert {"fhir-bundle", "vcf", "ecg-npy"} <= set(registered())
    with pytest.raises(InputError, match="no ingest adapter"):
        get_adapter("no-such-format")


def test_fhir_bundle_harmonises_and_keeps_source(site: dict[str, Path]) -> None:
    recs = list(get_adapter("fhir-bundle").read(site["fhir-bundle"], ctx()))
    assert [r.local_id for r in recs] == [p.local_id for p in PATIENTS]
    first = recs[0]
    assert first.kind is ModalityKind.CLINICAL
    ldl = next(r for r in first.content["measurement"] if r["code"] == "2089-1")
    # 212 mg/dL LDL cholesterol = 212 × 10 / 386.65 mmol/L
    assert ldl["value"] == pytest.approx(212 * 10 / 386.65)
    assert ldl["unit"] == "mmol/L"
    assert (ldl["source_value"], ldl["source_unit"]) == ("212.0", "mg/dL")
    sbp = next(r for r in first.content["measurement"] if r["code"] == "8480-6")
    assert sbp["category"] == "vital-signs" and sbp["unit"] == "mm[Hg]"
    assert first.content["person"] == [
        {"sex": "female", "source_sex": "female", "birth_year": 1968}
    ]
    # The kept resources carry no direct identifier.
    payload = first.payloads[0].data.decode()
    assert PATIENTS[0].local_id not in payload and "Example1" not in payload


def test_fhir_rejects_non_bundle_and_dangling_reference(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"resourceType": "Patient", "id": "a"}))
    with pytest.raises(InputError, match="expected a FHIR R4 Bundle"):
        list(get_adapter("fhir-bundle").read(p, ctx()))
    p.write_text(
        json.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [
                    {
                        "resource": {
                            "resourceType": "Observation",
                            "status": "final",
                            "code": {"text": "x"},
                            "subject": {"reference": "Patient/zz"},
                        }
                    }
                ],
            }
        )
    )
    with pytest.raises(InputError, match="Patient/zz"):
        list(get_adapter("fhir-bundle").read(p, ctx()))
    p.write_text("{not json")
    with pytest.raises(InputError, match="cannot read"):
        list(get_adapter("fhir-bundle").read(p, ctx()))


def test_vcf_one_modality_per_carrier(site: dict[str, Path]) -> None:
    recs = list(get_adapter("vcf").read(site["vcf"], ctx()))
    by_id = {r.local_id: r for r in recs}
    assert set(by_id) == {"MRN-000101", "MRN-000102"}  # the third patient carries nothing
    (row,) = by_id["MRN-000102"].content["variant"]
    assert (row["chrom"], row["pos"], row["ref"], row["alt"]) == ("11", 47342698, "G", "A")
    assert row["gene"] == "MYBPC3" and row["zygosity"] == "heterozygous"
    assert row["build"] == "GRCh38" and row["genotype"] == "0/1"
    text = by_id["MRN-000102"].payloads[0].data.decode()
    assert "MRN-000102" not in text and text.count("\n#CHROM") == 1


def test_vcf_broken_input_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "bad.vcf"
    p.write_text("this is not a vcf\n")
    with pytest.raises(InputError):
        list(get_adapter("vcf").read(p, ctx()))
    with pytest.raises(InputError, match="not found"):
        list(get_adapter("vcf").read(tmp_path / "missing.vcf", ctx()))


def test_ecg_array_reads_signal_and_device_measurements(site: dict[str, Path]) -> None:
    (rec,) = get_adapter("ecg-npy").read(site["ecg-npy2"], ctx())
    feats = {r["feature"]: r for r in rec.content["ecg_feature"]}
    assert feats["qtc_bazett"]["value"] == PATIENTS[0].qtc_ms
    assert feats["heart_rate"]["code"] == "8867-4" and feats["heart_rate"]["method"] == "device"
    arr = np.load(__import__("io").BytesIO(rec.payloads[0].data))
    assert arr.shape == (12, 5000) and arr.dtype == np.float32


def test_ecg_array_errors(tmp_path: Path) -> None:
    p = tmp_path / "e.npy"
    np.save(p, np.zeros((3, 10)))
    with pytest.raises(InputError, match="sidecar"):
        list(get_adapter("ecg-npy").read(p, ctx()))
    (tmp_path / "e.npy.json").write_text(
        json.dumps({"patient_id": "x", "sampling_rate_hz": 500, "leads": ["I", "II"]})
    )
    with pytest.raises(InputError, match="shape"):
        list(get_adapter("ecg-npy").read(p, ctx()))


def test_pipeline_builds_one_deterministic_object_per_patient(site: dict[str, Path]) -> None:
    sources = [Source(site["fhir-bundle"], "fhir-bundle"), Source(site["vcf"], "vcf")]
    a = build_objects(read_sources(sources, site="s"), site="s", secret="k" * 32)
    b = build_objects(read_sources(sources, site="s"), site="s", secret="k" * 32)
    assert [o.digest for o in a] == [o.digest for o in b]
    assert len(a) == 3
    c = build_objects(read_sources(sources, site="s"), site="s", secret="other-secret-0123456")
    assert {o.pseudonym for o in a}.isdisjoint({o.pseudonym for o in c})
    for o in a:
        text = json.dumps(o.manifest.to_json())
        assert all(p.local_id not in text for p in PATIENTS)
        for m in o.modalities:
            assert m.provenance.source_digest.startswith("E")
