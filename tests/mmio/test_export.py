"""Phenopacket v2 and FHIR R4 exports of a realistic cardiology object."""

from __future__ import annotations

import copy
import datetime as dt
import json
import sys
from collections import Counter
from typing import Any

import pytest

from cardiofabric.errors import MissingDependencyError, ObjectFormatError
from cardiofabric.mmio.container import MMIO, MMIOBuilder, PayloadSpec
from cardiofabric.mmio.export import (
    to_fhir_bundle,
    to_phenopacket,
    validate_fhir_bundle,
    validate_phenopacket,
)
from cardiofabric.mmio.model import Consent, ConsentTerm, Provenance
from cardiofabric.mmio.said import digest_bytes

pytest.importorskip("phenopackets")
pytest.importorskip("fhir.resources")

PSEUDONYM = "pt-7f3a9c2e41b8d6051e9f0a7c3b2d4e6f"
CREATED = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
VCF = (
    b"##fileformat=VCFv4.2\n##reference=GRCh38\n"
    b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
    b"11\t47332000\t.\tG\tA\t812\tPASS\t.\tGT\t0/1\n"
    b"X\t101398000\t.\tC\tT\t640\tPASS\t.\tGT\t1\n"
)
ECG = bytes(range(256)) * 16
SR = b"DICM-structured-report-placeholder"
SOURCE = b'{"resourceType": "Bundle", "type": "collection"}'


def _prov(data: bytes, adapter: str) -> Provenance:
    return Provenance(
        source_digest=digest_bytes(data),
        source_system="site-his",
        adapter=adapter,
        adapter_version="1.0",
        time="2024-03-01T09:30:00+01:00",
    )


def _coded(system: str, code: str, label: str, **more: Any) -> dict[str, Any]:
    return {"code_system": system, "code": code, "label": label, "mapped": True, **more}


def build_example(*, consent_status: str = "active") -> MMIO:
    """One patient with HCM: demographics, diagnoses, lipids, ECG, CMR and two variants."""
    consent = Consent(
        permissions=[
            ConsentTerm(code="DUO:0000042", label="general research use"),
            ConsentTerm(
                code="DUO:0000018",
                label="not for profit, non commercial use only",
                modifier_of="DUO:0000042",
            ),
        ],
        prohibitions=[ConsentTerm(code="DUO:0000043", label="clinical care use")],
        status=consent_status,  # type: ignore[arg-type]
    )
    b = MMIOBuilder(pseudonym=PSEUDONYM, site="site-a", consent=consent)
    b.add(
        kind="clinical",
        media_type="application/fhir+json",
        provenance=_prov(SOURCE, "fhir"),
        payloads=[PayloadSpec(SOURCE, "application/fhir+json")],
        content={
            "person": [{"sex": "male", "source_sex": "M", "birth_year": 1961}],
            "condition": [
                _coded(
                    "SNOMED CT",
                    "195020003",
                    "Hypertrophic cardiomyopathy",
                    onset_date="2019-04-02",
                    status="active",
                    source_code_system="ICD-10",
                    source_code="I42.2",
                ),
                _coded("HPO", "HP:0001657", "Prolonged QT interval", onset_date="2023-11-20"),
                _coded("ICD-10", "I42.1", "Obstructive hypertrophic cardiomyopathy"),
            ],
            "measurement": [
                _coded(
                    "LOINC",
                    "2089-1",
                    "Cholesterol in LDL [Moles/volume] in Serum or Plasma",
                    value=3.36,
                    unit="mmol/L",
                    source_value="130",
                    source_unit="mg/dL",
                    source_label="LDL-Cholesterin",
                    source_language="deu",
                    category="laboratory",
                    date="2024-02-28T08:15:00",
                ),
            ],
            "medication": [
                _coded("ATC", "C10AA05", "atorvastatin", start_date="2020-01-15"),
            ],
            "procedure": [
                _coded(
                    "SNOMEDCT", "252416005", "Cardiac magnetic resonance imaging", date="2024-01-10"
                ),
            ],
        },
    )
    b.add(
        kind="ecg",
        media_type="application/dicom",
        provenance=_prov(ECG, "dicom-ecg"),
        payloads=[PayloadSpec(ECG, "application/octet-stream", role="signal")],
        content={
            "ecg_feature": [
                _coded(
                    "LOINC",
                    "8636-3",
                    "Q-T interval corrected",
                    feature="qtc_bazett",
                    value=478.0,
                    unit="ms",
                    method="cardiofabric",
                    date="2024-02-28",
                ),
                _coded(
                    "LOINC",
                    "8636-3",
                    "Q-T interval corrected",
                    feature="qtc_bazett",
                    value=481.0,
                    unit="ms",
                    method="device",
                    date="2024-02-28",
                ),
            ]
        },
    )
    b.add(
        kind="imaging",
        media_type="application/dicom",
        provenance=_prov(SR, "dicom-sr"),
        payloads=[PayloadSpec(SR, "application/dicom", role="derived")],
        content={
            "imaging_measurement": [
                _coded(
                    "LOINC",
                    "10230-1",
                    "Left ventricular Ejection fraction",
                    value=67.0,
                    unit="%",
                    imaging_modality="MR",
                    study="Estudy-digest",
                    date="2024-01-10",
                ),
            ]
        },
    )
    b.add(
        kind="genomic",
        media_type="text/vcf",
        provenance=_prov(VCF, "vcf"),
        payloads=[PayloadSpec(VCF, "text/vcf")],
        content={
            "variant": [
                {
                    "sample": "S1",
                    "build": "GRCh38",
                    "chrom": "11",
                    "pos": 47332000,
                    "ref": "G",
                    "alt": "A",
                    "genotype": "0/1",
                    "zygosity": "heterozygous",
                    "gene": "MYBPC3",
                    "filter": "PASS",
                    "qual": 812.0,
                },
                {
                    "sample": "S1",
                    "build": "GRCh38",
                    "chrom": "X",
                    "pos": 101398000,
                    "ref": "C",
                    "alt": "T",
                    "genotype": "1",
                    "zygosity": "hemizygous",
                    "gene": "GLA",
                    "filter": "PASS",
                    "qual": 640.0,
                },
            ]
        },
    )
    return b.build()


@pytest.fixture(scope="module")
def example() -> MMIO:
    return build_example()


# -- Phenopacket v2 -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def packet(example: MMIO) -> dict[str, Any]:
    return to_phenopacket(example, created=CREATED)


def test_phenopacket_parses_and_round_trips_through_protobuf(packet: dict[str, Any]) -> None:
    from google.protobuf import json_format
    from phenopackets import Phenopacket

    message = validate_phenopacket(packet)
    assert isinstance(message, Phenopacket)
    again = json_format.Parse(json_format.MessageToJson(message), Phenopacket())
    assert again == message
    assert message.id == PSEUDONYM and message.subject.id == PSEUDONYM


def test_phenopacket_subject_has_no_birth_date(packet: dict[str, Any]) -> None:
    subject = packet["subject"]
    assert subject["sex"] == "MALE"
    assert "dateOfBirth" not in subject
    # Last dated row is 2024; born 1961.
    assert subject["timeAtLastEncounter"] == {"age": {"iso8601duration": "P63Y"}}
    assert subject["taxonomy"]["id"] == "NCBITaxon:9606"


def test_phenopacket_features_and_diseases(packet: dict[str, Any]) -> None:
    assert [f["type"]["id"] for f in packet["phenotypicFeatures"]] == ["HP:0001657"]
    assert packet["phenotypicFeatures"][0]["onset"] == {"timestamp": "2023-11-20T00:00:00Z"}
    assert [d["term"]["id"] for d in packet["diseases"]] == ["SNOMEDCT:195020003", "ICD10:I42.1"]


def test_phenopacket_measurements(packet: dict[str, Any]) -> None:
    by_assay = Counter(m["assay"]["id"] for m in packet["measurements"])
    assert by_assay == {"LOINC:2089-1": 1, "LOINC:8636-3": 2, "LOINC:10230-1": 1}
    ldl = next(m for m in packet["measurements"] if m["assay"]["id"] == "LOINC:2089-1")
    assert ldl["value"]["quantity"] == {
        "unit": {"id": "UCUM:mmol/L", "label": "mmol/L"},
        "value": 3.36,
    }
    assert "130 mg/dL" in ldl["description"]  # the source value is kept beside
    assert ldl["timeObserved"] == {"timestamp": "2024-02-28T00:00:00Z"}


def test_phenopacket_variants_and_files(packet: dict[str, Any], example: MMIO) -> None:
    (interp,) = packet["interpretations"]
    found = [
        g["variantInterpretation"]["variationDescriptor"]
        for g in interp["diagnosis"]["genomicInterpretations"]
    ]
    mybpc3 = next(v for v in found if v["geneContext"]["symbol"] == "MYBPC3")
    assert mybpc3["vcfRecord"] == {
        "genomeAssembly": "GRCh38",
        "chrom": "11",
        "pos": 47332000,
        "ref": "G",
        "alt": "A",
        "qual": "812",
        "filter": "PASS",
    }
    assert mybpc3["allelicState"]["id"] == "GENO:0000135"
    gla = next(v for v in found if v["geneContext"]["symbol"] == "GLA")
    assert gla["allelicState"]["id"] == "GENO:0000134"
    (file,) = packet["files"]
    assert file["uri"] == f"said:{digest_bytes(VCF)}"
    assert file["fileAttributes"]["genomeAssembly"] == "GRCh38"
    assert file["individualToFileIdentifiers"] == {PSEUDONYM: "S1"}


def test_phenopacket_metadata_lists_exactly_the_prefixes_used(packet: dict[str, Any]) -> None:
    meta = packet["metaData"]
    assert meta["created"] == "2024-06-01T12:00:00Z"
    assert meta["createdBy"] == "cardiofabric"
    assert meta["phenopacketSchemaVersion"] == "2.0"
    prefixes = {r["namespacePrefix"] for r in meta["resources"]}
    assert prefixes == {"HP", "SNOMEDCT", "ICD10", "LOINC", "UCUM", "GENO", "NCBITaxon", "ATC"}
    assert all(r["version"] and r["url"] and r["iriPrefix"] for r in meta["resources"])


def test_phenopacket_resource_versions_can_be_stated(example: MMIO) -> None:
    packet = to_phenopacket(example, created=CREATED, resource_versions={"HP": "2025-01-16"})
    hp = next(r for r in packet["metaData"]["resources"] if r["namespacePrefix"] == "HP")
    assert hp["version"] == "2025-01-16"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["subject"].update(sex="MAN"), "MAN"),
        (lambda p: p["subject"].update(dateOfBirth="1961"), "dateOfBirth"),
        (lambda p: p.update(phenotypes=[]), "phenotypes"),
        (lambda p: p["metaData"]["resources"].pop(0), "no metaData.resources entry"),
        (lambda p: p["metaData"].pop("createdBy"), "createdBy"),
        (lambda p: p["measurements"][0]["value"]["quantity"].update(value="high"), "value"),
    ],
)
def test_invalid_phenopackets_are_refused(
    packet: dict[str, Any], change: Any, message: str
) -> None:
    broken = copy.deepcopy(packet)
    change(broken)
    with pytest.raises(ObjectFormatError, match=message):
        validate_phenopacket(broken)


# -- FHIR R4 ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(example: MMIO) -> dict[str, Any]:
    return to_fhir_bundle(example)


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _first(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    return _resources(bundle, kind)[0]


def test_fhir_bundle_validates_with_r4b_models(bundle: dict[str, Any]) -> None:
    from fhir.resources.R4B.bundle import Bundle

    parsed = validate_fhir_bundle(bundle)
    assert isinstance(parsed, Bundle)
    assert bundle["type"] == "collection"
    kinds = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    assert kinds == {
        "Patient": 1,
        "Condition": 3,
        "Observation": 6,
        "MedicationStatement": 1,
        "Procedure": 1,
        "Consent": 1,
    }


def test_fhir_full_urls_are_deterministic_and_unique(example: MMIO, bundle: dict[str, Any]) -> None:
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert all(u.startswith("urn:uuid:") for u in urls) and len(set(urls)) == len(urls)
    assert to_fhir_bundle(example) == bundle
    (patient,) = _resources(bundle, "Patient")
    refs = {r["subject"]["reference"] for r in _resources(bundle, "Observation")}
    assert refs == {bundle["entry"][0]["fullUrl"]} and patient["id"] in urls[0]


def test_fhir_patient_is_pseudonymous(bundle: dict[str, Any]) -> None:
    (patient,) = _resources(bundle, "Patient")
    assert patient["identifier"] == [{"system": "urn:cardiofabric:pseudonym", "value": PSEUDONYM}]
    assert patient["gender"] == "male" and patient["birthDate"] == "1961"


def test_fhir_conditions_medication_procedure(bundle: dict[str, Any]) -> None:
    systems = {
        c["coding"][0]["system"]: c["coding"][0]["code"]
        for c in (r["code"] for r in _resources(bundle, "Condition"))
    }
    assert systems == {
        "http://snomed.info/sct": "195020003",
        "http://purl.obolibrary.org/obo/hp.owl": "HP:0001657",
        "http://hl7.org/fhir/sid/icd-10": "I42.1",
    }
    hcm = next(r for r in _resources(bundle, "Condition") if r.get("clinicalStatus"))
    # The source coding stays beside the harmonised one.
    assert hcm["code"]["coding"][1] == {"system": "http://hl7.org/fhir/sid/icd-10", "code": "I42.2"}
    (med,) = _resources(bundle, "MedicationStatement")
    assert med["medicationCodeableConcept"]["coding"][0] == {
        "system": "http://www.whocc.no/atc",
        "code": "C10AA05",
        "display": "atorvastatin",
    }
    (proc,) = _resources(bundle, "Procedure")
    assert proc["performedDateTime"] == "2024-01-10"


def test_fhir_observations(bundle: dict[str, Any]) -> None:
    obs = _resources(bundle, "Observation")
    ldl = next(o for o in obs if o["code"]["coding"][0]["code"] == "2089-1")
    assert ldl["valueQuantity"] == {
        "value": 3.36,
        "unit": "mmol/L",
        "system": "http://unitsofmeasure.org",
        "code": "mmol/L",
    }
    assert ldl["category"][0]["coding"][0]["code"] == "laboratory"
    assert ldl["effectiveDateTime"] == "2024-02-28"
    assert {"text": "source value: 130 mg/dL"} in ldl["note"]
    qtc = [o for o in obs if o["code"]["coding"][0]["code"] == "8636-3"]
    assert sorted(o["valueQuantity"]["value"] for o in qtc) == [478.0, 481.0]
    lvef = next(o for o in obs if o["code"]["coding"][0]["code"] == "10230-1")
    assert lvef["category"][0]["coding"][0]["code"] == "imaging"


def test_fhir_variants_follow_the_genomics_reporting_ig(bundle: dict[str, Any]) -> None:
    variants = [
        o for o in _resources(bundle, "Observation") if o["code"]["coding"][0]["code"] == "69548-6"
    ]
    assert len(variants) == 2
    mybpc3 = next(
        v
        for v in variants
        if {"text": "MYBPC3"} in [c.get("valueCodeableConcept") for c in v["component"]]
    )
    comp = {c["code"]["coding"][0]["code"]: c for c in mybpc3["component"]}
    assert {"48018-6", "69547-8", "69551-0", "48000-4", "81254-5", "53034-5"} <= set(comp)
    assert comp["69547-8"]["valueString"] == "G" and comp["69551-0"]["valueString"] == "A"
    assert comp["81254-5"]["valueRange"] == {"low": {"value": 47332000}}
    assert comp["48000-4"]["valueCodeableConcept"]["coding"][0]["code"] == "LA21264-9"
    assert comp["53034-5"]["valueCodeableConcept"]["coding"][0]["code"] == "LA6706-1"
    assert comp["62374-4"]["valueCodeableConcept"]["coding"][0]["display"] == "GRCh38"


def test_fhir_consent_carries_the_duo_terms(bundle: dict[str, Any]) -> None:
    (consent,) = _resources(bundle, "Consent")
    assert consent["status"] == "active"
    codings = [c["coding"][0] for c in consent["provision"]["code"]]
    assert {c["system"] for c in codings} == {"http://purl.obolibrary.org/obo/duo.owl"}
    assert [c["code"] for c in codings] == ["DUO:0000042", "DUO:0000018"]
    deny = consent["provision"]["provision"][0]
    assert deny["type"] == "deny" and deny["code"][0]["coding"][0]["code"] == "DUO:0000043"


def test_fhir_withdrawn_consent_is_inactive() -> None:
    bundle = to_fhir_bundle(build_example(consent_status="withdrawn"))
    validate_fhir_bundle(bundle)
    (consent,) = _resources(bundle, "Consent")
    assert consent["status"] == "inactive"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b["entry"][0]["resource"].update(favouriteColour="blue"), "favouriteColour"),
        (lambda b: _first(b, "Observation").pop("code"), "code"),
        (lambda b: b["entry"][0]["resource"].update(birthDate="19-61"), "birthDate"),
        (lambda b: b["entry"][1]["resource"].update(resourceType="Nonsense"), "Nonsense"),
        (lambda b: b.pop("type"), "type"),
        (lambda b: b["entry"].pop(0), "resolves to no entry"),
        (lambda b: b["entry"][1].update(fullUrl="Condition/1"), "urn:uuid"),
    ],
)
def test_corrupted_fhir_bundles_are_refused(
    bundle: dict[str, Any], change: Any, message: str
) -> None:
    broken = copy.deepcopy(bundle)
    change(broken)
    with pytest.raises(ObjectFormatError, match=message):
        validate_fhir_bundle(broken)


# -- what never leaves --------------------------------------------------------------------


def test_exports_carry_no_payload_bytes(packet: dict[str, Any], bundle: dict[str, Any]) -> None:
    for doc in (packet, bundle):
        body = json.dumps(doc, ensure_ascii=False)
        for data in (VCF, SR, SOURCE):
            text = data.decode("utf-8")
            assert text not in body and json.dumps(text)[1:-1] not in body
        assert "site-a" not in body  # not even the site name; the pseudonym is the identity


def test_missing_optional_dependency_names_the_extra(
    packet: dict[str, Any], bundle: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "phenopackets", None)
    with pytest.raises(MissingDependencyError, match=r"cardiofabric\[export\]"):
        validate_phenopacket(packet)
    monkeypatch.setitem(sys.modules, "fhir.resources.R4B.bundle", None)
    with pytest.raises(MissingDependencyError, match="fhir"):
        validate_fhir_bundle(bundle)


def test_an_excluded_finding_is_exported_as_excluded() -> None:
    b = MMIOBuilder(pseudonym=PSEUDONYM, site="site-a")
    b.add(
        kind="clinical",
        media_type="text/csv",
        provenance=_prov(SOURCE, "csv"),
        content={
            "condition": [
                _coded("HPO", "HP:0001639", "Hypertrophic cardiomyopathy", status="refuted")
            ]
        },
    )
    obj = b.build()
    packet = to_phenopacket(obj, created=CREATED)
    validate_phenopacket(packet)
    assert packet["phenotypicFeatures"][0]["excluded"] is True
    bundle = to_fhir_bundle(obj)
    validate_fhir_bundle(bundle)
    (condition,) = _resources(bundle, "Condition")
    assert condition["verificationStatus"]["coding"][0]["code"] == "refuted"
    assert "clinicalStatus" not in condition
