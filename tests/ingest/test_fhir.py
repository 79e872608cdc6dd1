"""FHIR R4 adapters: Pathfinder exports read back to the truth, consent, and broken inputs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, SourceReport, get_adapter
from cardiofabric.ingest.fhir import GENOMICS_PROHIBITION, consent_of, read_consent
from cardiofabric.ingest.fhir.parse import ResourceError, model_class
from cardiofabric.ingest.pipeline import build_objects, read_source
from cardiofabric.pathfinder.cohort import (
    CARRIER_VARIANTS,
    SITES,
    SimPatient,
    event_date,
    simulate_network,
)
from cardiofabric.pathfinder.writers.fhir import (
    CONDITION_CODES,
    ICD10,
    SCT,
    truth_consent,
    write_fhir_bundle,
    write_fhir_ndjson,
)
from cardiofabric.vocab.study import MACE, NO, YES
from cardiofabric.vocab.systems import PATHFINDER_URI

NL, IT = SITES[0], SITES[3]
Content = dict[str, list[dict[str, Any]]]


def _cohort(name: str) -> list[SimPatient]:
    patients = simulate_network(30, seed=7, sites=(NL, IT))[name]
    # Every consent kind and a carrier, whatever the draw gave.
    for p, consent in zip(patients, ("withdrawn", "GRU-no-genomics", "HMB", "DS"), strict=False):
        p.consent = consent
    patients[4].carriers = [CARRIER_VARIANTS[0]]
    patients[4].has_ecg = patients[4].has_imaging = True
    return patients


def _read(fmt: str, path: Path, language: str) -> tuple[list[ModalityRecord], SourceReport]:
    report = SourceReport(source=str(path), format=fmt)
    ctx = SourceContext(site="s", language=language, report=report)
    return list(get_adapter(fmt).read(path, ctx)), report


@pytest.fixture(scope="module")
def nl(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    patients = _cohort(NL.name)
    path = tmp_path_factory.mktemp("nl") / "fhir" / "patients.json"
    (written,) = write_fhir_bundle(patients, path, NL, seed=3)
    recs, report = _read("fhir-bundle", written, "nld")
    return {"patients": patients, "path": written, "records": recs, "report": report}


@pytest.fixture(scope="module")
def it(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    patients = _cohort(IT.name)
    folder = tmp_path_factory.mktemp("it") / "fhir-ndjson"
    written = write_fhir_ndjson(patients, folder, IT, seed=3)
    recs, report = _read("fhir-ndjson", folder, "ita")
    return {
        "patients": patients,
        "path": folder,
        "files": written,
        "records": recs,
        "report": report,
    }


def _by_code(content: Content, table: str, code: str) -> list[dict[str, Any]]:
    return [r for r in content.get(table, []) if r["code"] == code]


def _value(content: Content, code: str) -> float:
    (row,) = _by_code(content, "measurement", code)
    return float(row["value"])


def _check_truth(recs: list[ModalityRecord], patients: list[SimPatient], system: str) -> None:
    by_id = {r.local_id: r for r in recs}
    assert set(by_id) == {p.local_id for p in patients}
    for p in patients:
        c = by_id[p.local_id].content
        assert c["person"] == [
            {
                "sex": p.sex,
                "source_sex": p.sex,
                "birth_year": p.birth_year,
                "index_date": p.index_date,  # ResearchSubject.period.start
            }
        ]
        (mace,) = [r for r in c["observation"] if (r["code_system"], r["code"]) == MACE]
        assert mace["source_code_system"] == PATHFINDER_URI and mace["mapped"]
        assert mace["value_code"] == (YES if p.event else NO)
        assert mace["date"] == event_date(p)
        # Lipids in mmol/L whatever the site reported (mmol/L or mg/dL, mass or substance LOINC).
        assert _value(c, "2089-1") == pytest.approx(p.ldl, abs=0.006)
        assert _value(c, "2085-9") == pytest.approx(p.hdl, abs=0.006)
        assert _value(c, "2093-3") == pytest.approx(p.total_cholesterol, abs=0.006)
        assert _value(c, "2571-8") == pytest.approx(p.triglycerides, abs=0.006)
        assert _value(c, "2160-0") == pytest.approx(p.creatinine, abs=0.5)
        assert _value(c, "4548-4") == pytest.approx(p.hba1c, abs=0.05)
        # The blood pressure panel gives two measurements.
        assert _value(c, "8480-6") == round(p.sbp) and _value(c, "8462-4") == round(p.dbp)
        assert _value(c, "8867-4") == round(p.heart_rate)
        if p.has_ecg:
            assert _value(c, "8636-3") == round(p.qtc) and _value(c, "8625-6") == round(p.pr)
        if p.has_imaging:
            assert _value(c, "10230-1") == pytest.approx(p.lvef, abs=0.05)
        (smoking,) = _by_code(c, "observation", "72166-2")
        assert smoking["value_code_system"] == "SNOMEDCT"
        expected = {"never": "266919005", "former": "8517006", "current": "77176002"}[p.smoking]
        assert smoking["value_code"] == expected
        codes = CONDITION_CODES[system]
        assert sorted(r["source_code"] for r in c.get("condition", [])) == sorted(
            codes[x] for x in p.conditions
        )
        assert sorted(r["code"] for r in c.get("medication", [])) == sorted(p.medications)
        assert all(r["code_system"] == "ATC" for r in c.get("medication", []))
        family = [r for r in c.get("observation", []) if r["value_code_system"] == "v3-RoleCode"]
        assert sorted(r["source_code"] for r in family) == sorted(
            codes[k.condition] for k in p.carriers
        )
        procedures = {r["source_code"] for r in c.get("procedure", [])}
        assert ("29303009" in procedures) == p.has_ecg
        consent = by_id[p.local_id].consent
        truth = truth_consent(p)
        assert consent is not None
        assert [t.code for t in consent.permissions] == [t.code for t in truth.permissions]
        assert [t.code for t in consent.prohibitions] == [t.code for t in truth.prohibitions]
        assert consent.status == truth.status


def test_bundle_round_trip_recovers_the_truth(nl: dict[str, Any]) -> None:
    _check_truth(nl["records"], nl["patients"], SCT)
    first = nl["records"][0].content
    ldl = _by_code(first, "measurement", "2089-1")[0]
    # SI units under the substance-concentration LOINC code, Dutch label kept as given.
    assert (ldl["source_code"], ldl["source_unit"], ldl["source_language"]) == (
        "22748-8",
        "mmol/l",
        "nld",
    )
    assert ldl["source_label"] == "LDL-cholesterol"


def test_ndjson_round_trip_recovers_the_truth(it: dict[str, Any]) -> None:
    assert any(f.name == "Observation.ndjson.gz" for f in it["files"])
    _check_truth(it["records"], it["patients"], ICD10)
    first = it["records"][0].content
    ldl = _by_code(first, "measurement", "2089-1")[0]
    assert ldl["source_unit"] == "mg/dL" and ldl["source_label"] == "Colesterolo LDL"
    assert all(r["code_system"] == "ICD10" for r in first.get("condition", []))


def test_consent_kinds_and_withdrawal_versions(nl: dict[str, Any], it: dict[str, Any]) -> None:
    nl_by = {r.local_id: r.consent for r in nl["records"]}
    it_by = {r.local_id: r.consent for r in it["records"]}
    withdrawn_nl, no_genomics = nl_by[nl["patients"][0].local_id], nl_by[nl["patients"][1].local_id]
    assert withdrawn_nl is not None and withdrawn_nl.status == "withdrawn"
    assert withdrawn_nl.version == 2  # an active consent, then its revocation
    assert no_genomics is not None and [t.code for t in no_genomics.prohibitions] == [
        GENOMICS_PROHIBITION
    ]
    withdrawn_it = it_by[it["patients"][0].local_id]
    assert withdrawn_it is not None and (withdrawn_it.status, withdrawn_it.version) == (
        "withdrawn",
        1,
    )
    no_genomics_it = it_by[it["patients"][1].local_id]  # by security label GDIS
    assert no_genomics_it is not None
    assert [t.code for t in no_genomics_it.prohibitions] == [GENOMICS_PROHIBITION]


@pytest.mark.parametrize("site", ["nl", "it"])
def test_defects_are_rejected_or_kept_unmapped(site: str, request: pytest.FixtureRequest) -> None:
    data = request.getfixturevalue(site)
    rejected = data["report"].rejected
    assert len(rejected) == 1
    assert rejected[0].record.startswith("Observation/") and rejected[0].record.endswith(
        "-ntprobnp"
    )
    assert "not a valid FHIR R4 Observation" in rejected[0].reason
    local = [
        r
        for rec in data["records"]
        for r in rec.content.get("measurement", [])
        if r["source_code"] == "GAL3"
    ]
    assert len(local) == 1 and local[0]["mapped"] is False and local[0]["code"] is None
    assert local[0]["source_value"] == "14.2"


def test_kept_resources_are_deidentified(nl: dict[str, Any]) -> None:
    for rec, p in zip(nl["records"], nl["patients"], strict=True):
        text = rec.payloads[0].data.decode()
        assert p.local_id not in text and "/mrn" not in text and "urn:dicom:uid" not in text
        bundle = json.loads(text)
        patient = bundle["entry"][0]["resource"]
        assert patient["id"] == "subject" and patient["birthDate"] == str(p.birth_year)
        assert "name" not in patient and "identifier" not in patient
        refs = {
            e["resource"].get("subject", e["resource"].get("patient", {})).get("reference")
            for e in bundle["entry"][1:]
        }
        assert refs <= {"Patient/subject", None}


def test_pipeline_seals_the_recorded_consent(nl: dict[str, Any], tmp_path: Path) -> None:
    from cardiofabric.store import SiteStore

    records = list(read_source(nl["path"], "fhir-bundle", site="nl", language="nld"))
    objects = build_objects(records, site="nl", secret="k" * 32)
    truth = {p.consent for p in nl["patients"]}
    statuses = sorted(o.manifest.consent.status for o in objects)
    assert statuses.count("withdrawn") == sum(p.consent == "withdrawn" for p in nl["patients"])
    assert "withdrawn" in truth
    with SiteStore.create(tmp_path / "store", site="nl") as store:
        store.add_many(objects)
        rows = store.query("SELECT count(*) AS n FROM measurement WHERE code = '8480-6'")
        assert rows[0]["n"] == len(nl["patients"])
        gen = store.query(
            "SELECT count(*) AS n FROM consent WHERE list_contains(prohibitions, ?)",
            [GENOMICS_PROHIBITION],
        )
        assert gen[0]["n"] == sum(p.consent == "GRU-no-genomics" for p in nl["patients"])


def test_export_of_an_object_reads_back(nl: dict[str, Any]) -> None:
    from cardiofabric.mmio.export import to_fhir_bundle

    records = list(read_source(nl["path"], "fhir-bundle", site="nl", language="nld"))
    obj = build_objects(records, site="nl", secret="k" * 32)[0]
    exported = to_fhir_bundle(obj)
    path = nl["path"].parent / "exported.json"
    path.write_text(json.dumps(exported), encoding="utf-8")
    (rec,), report = _read("fhir-bundle", path, "eng")
    assert not report.rejected
    assert rec.consent is not None
    assert rec.consent.permissions == obj.manifest.consent.permissions
    assert rec.consent.prohibitions == obj.manifest.consent.prohibitions


# -- consent mapping on hand-made resources --------------------------------------------------

DUO = "http://purl.obolibrary.org/obo/duo.owl"


def _consent(**fields: Any) -> Any:
    base = {
        "resourceType": "Consent",
        "status": "active",
        "scope": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "research"}
            ]
        },
        "category": [{"text": "research"}],
        "patient": {"reference": "Patient/p"},
    }
    return model_class("Consent").model_validate(base | fields)


def test_consent_mapping_rules() -> None:
    gru_npu = _consent(
        provision={
            "type": "permit",
            "code": [{"coding": [{"system": DUO, "code": "GRU"}, {"code": "DUO_0000046"}]}],
            "provision": [{"type": "deny", "purpose": [{"system": DUO, "code": "DUO:0000044"}]}],
        }
    )
    c = consent_of([read_consent(gru_npu, 1)])  # type: ignore[list-item]
    assert c is not None
    assert [(t.code, t.modifier_of) for t in c.permissions] == [
        ("DUO:0000042", None),
        ("DUO:0000046", "DUO:0000042"),  # a modifier names the permission it restricts
    ]
    assert [t.code for t in c.prohibitions] == ["DUO:0000044"]
    opt_out = _consent(
        policyRule={"coding": [{"code": "OPTOUT"}]},
        provision={"code": [{"coding": [{"system": DUO, "code": "DUO:0000042"}]}]},
    )
    c = consent_of([read_consent(opt_out, 1)])  # type: ignore[list-item]
    assert c is not None and not c.permissions and c.prohibitions[0].code == "DUO:0000042"
    scope = "http://terminology.hl7.org/CodeSystem/consentscope"
    treatment = _consent(scope={"coding": [{"system": scope, "code": "treatment"}]})
    assert read_consent(treatment, 1) is None
    with pytest.raises(ResourceError, match="not in force"):
        read_consent(_consent(status="draft"), 1)
    # Several consents: the latest is the patient's; meta.versionId is its version.
    old = read_consent(_consent(dateTime="2020-01-01"), 1)
    new = read_consent(
        _consent(dateTime="2023-05-01", status="inactive", meta={"versionId": "4"}), 2
    )
    c = consent_of([new, old])  # type: ignore[list-item]
    assert c is not None and (c.status, c.version, c.updated) == ("withdrawn", 4, "2023-05-01")


def test_unknown_duo_term_rejects_the_consent_and_permits_nothing(tmp_path: Path) -> None:
    # As in the OMOP and tabular adapters: a consent read in part could permit what the patient
    # did not agree to, so the patient's consent is recorded empty, however old the others.
    def consent(cid: str, day: str, *codes: str) -> dict[str, Any]:
        coding = [{"system": DUO, "code": c} for c in codes]
        return {
            "resourceType": "Consent",
            "id": cid,
            "status": "active",
            "scope": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                        "code": "research",
                    }
                ]
            },
            "category": [{"text": "research"}],
            "patient": {"reference": "Patient/p1"},
            "dateTime": day,
            "provision": {"type": "permit", "code": [{"coding": coding}]},
        }

    path = tmp_path / "b.json"
    older, latest = consent("c0", "2020-01-01", "HMB"), consent("c1", "2023-01-01", "GRU", "XYZ")
    path.write_text(json.dumps(_bundle(older, latest)))
    (rec,), report = _read("fhir-bundle", path, "eng")
    assert [(r.record, "'XYZ'" in r.reason) for r in report.rejected] == [("Consent/c1", True)]
    assert rec.consent is not None
    assert not rec.consent.permissions and not rec.consent.prohibitions
    assert (rec.consent.version, rec.consent.updated) == (2, "2023-01-01")
    # The same on its own: a well-formed DUO code that is no DUO term is unknown too.
    reading = read_consent(_consent(provision={"purpose": [{"code": "DUO:9999999"}]}), 1)
    assert reading is not None and "'DUO:9999999'" in reading.problems[0]
    c = consent_of([reading])
    assert c is not None and not c.permissions and not c.prohibitions


# -- broken inputs: rejections per resource, or one clear InputError --------------------------


def _bundle(*resources: Any, **extra: Any) -> dict[str, Any]:
    patient = {"resourceType": "Patient", "id": "p1", "identifier": [{"value": "MRN-1"}]}
    entries = [{"resource": patient}, *({"resource": r} for r in resources)]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries, **extra}


def _obs(**fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/p1"},
    } | fields


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        (_obs(valueQuantity=5), "valueQuantity"),
        (_obs(code="LDL"), "code"),
        (_obs(effectiveDateTime="31/12/2019"), "effectiveDateTime"),
        (_obs(unknownField=1), "unknownField"),
        (_obs(subject=None), "no subject"),
        (_obs(subject={"reference": "Group/g1"}), "not a Patient"),
        (_obs(subject={"reference": "Patient/nobody"}), "Patient/nobody"),
        (_obs(status="entered-in-error", valueString="x"), "entered-in-error"),
        ({"resourceType": "Condition", "id": "c1"}, "Condition"),
        ({"id": "x"}, "resourceType"),
        ("not an object", "JSON object"),
        (
            {
                "resourceType": "MedicationStatement",
                "id": "m1",
                "status": "active",
                "subject": {"reference": "Patient/p1"},
                "medicationReference": {"reference": "Medication/missing"},
            },
            "Medication/missing",
        ),
    ],
)
def test_bad_resources_are_rejected_one_by_one(resource: Any, reason: str, tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    good = _obs(
        id="o2",
        valueQuantity={"value": 3.1, "unit": "mmol/L"},
        code={"coding": [{"system": "http://loinc.org", "code": "2089-1"}]},
    )
    encounter = {"resourceType": "Encounter", "id": "e1", "status": "finished"}
    path.write_text(json.dumps(_bundle(resource, good, encounter)))
    (rec,), report = _read("fhir-bundle", path, "eng")
    assert len(report.rejected) == 1 and reason in (
        report.rejected[0].record + " " + report.rejected[0].reason
    )
    assert rec.local_id == "MRN-1" and rec.content["measurement"][0]["value"] == 3.1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "cannot read"),
        ("[1, 2]", "expected a FHIR R4 Bundle"),
        (json.dumps({"resourceType": "Bundle", "type": "collection", "entry": {}}), "not a list"),
        (json.dumps({"resourceType": "Bundle", "type": 5, "entry": []}), "not a valid FHIR R4"),
    ],
)
def test_unreadable_bundles_are_one_clear_error(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        _read("fhir-bundle", path, "eng")


def test_gzipped_bundle_and_truncated_gzip(tmp_path: Path) -> None:
    path = tmp_path / "b.json.gz"
    data = gzip.compress(json.dumps(_bundle(_obs(valueString="ok"))).encode())
    path.write_bytes(data)
    (rec,), _ = _read("fhir-bundle", path, "eng")
    assert rec.content["observation"][0]["value_text"] == "ok"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        _read("fhir-bundle", path, "eng")


def test_ndjson_broken_lines_and_damaged_files(it: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    for f in it["files"]:
        (folder / f.name).write_bytes(f.read_bytes())
    with (folder / "Condition.ndjson").open("a") as fh:
        fh.write('{"resourceType": "Condition", "id": \n\n')  # a cut line, then a blank one
    recs, report = _read("fhir-ndjson", folder, "ita")
    assert len(recs) == len(it["records"])
    lines = len((folder / "Condition.ndjson").read_text().splitlines())
    assert f"Condition.ndjson line {lines - 1}" in [r.record for r in report.rejected]
    gz = folder / "Observation.ndjson.gz"
    gz.write_bytes(gz.read_bytes()[:-40])  # truncated in transfer
    with pytest.raises(InputError, match=r"Observation\.ndjson\.gz"):
        _read("fhir-ndjson", folder, "ita")
    # One file of the export on its own: resources of patients it does not hold.
    with pytest.raises(InputError, match="Patient resources"):
        _read("fhir-ndjson", folder / "Condition.ndjson", "ita")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=r"no \.ndjson"):
        _read("fhir-ndjson", empty, "ita")


def _subject(pid: str, status: str, start: str, study: str) -> dict[str, Any]:
    return {
        "resourceType": "ResearchSubject",
        "id": f"{pid}-{study}-{start}",
        "status": status,
        "period": {"start": start},
        "study": {"identifier": {"system": "https://example.org/study", "value": study}},
        "individual": {"reference": f"Patient/{pid}"},
    }


def test_research_subject_gives_the_index_date(tmp_path: Path) -> None:
    """The earliest entry into a study; candidates never entered; ``research_study`` filters."""
    folder = tmp_path / "export"
    folder.mkdir()
    patients = [{"resourceType": "Patient", "id": pid} for pid in ("a", "b", "c")]
    subjects = [  # read before the Patient file: the reference is resolved at the end
        _subject("a", "off-study", "2019-04-02", "PATHFINDER"),
        _subject("a", "on-study", "2017-01-15", "OTHER"),
        _subject("b", "candidate", "2018-06-01", "PATHFINDER"),
        _subject("c", "on-study", "2020-02-29", "PATHFINDER"),
    ]
    for name, rows in (("Patient", patients), ("AResearchSubject", subjects)):
        text = "\n".join(json.dumps(r) for r in rows) + "\n"
        (folder / f"{name}.ndjson").write_text(text, encoding="utf-8")

    def index_dates(**options: Any) -> dict[str, str | None]:
        report = SourceReport(source=str(folder), format="fhir-ndjson")
        ctx = SourceContext(site="s", language="eng", options=options, report=report)
        recs = get_adapter("fhir-ndjson").read(folder, ctx)
        assert not report.rejected
        return {r.local_id: r.content["person"][0].get("index_date") for r in recs}

    assert index_dates() == {"a": "2017-01-15", "b": None, "c": "2020-02-29"}
    filtered = index_dates(research_study="PATHFINDER")
    assert filtered == {"a": "2019-04-02", "b": None, "c": "2020-02-29"}
