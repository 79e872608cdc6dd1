"""OMOP CDM v5.4 extracts: the Pathfinder writer's files read back to the truth, and bad files."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, SourceReport
from cardiofabric.ingest.omop import OmopAdapter
from cardiofabric.ingest.pipeline import build_objects, read_source
from cardiofabric.pathfinder.cohort import SITES, SimPatient, simulate_network
from cardiofabric.pathfinder.writers.fhir import truth_consent
from cardiofabric.pathfinder.writers.omop import (
    CONDITIONS,
    MEASUREMENTS,
    SMOKING,
    event_date,
    withdrawal_date,
    write_omop,
)
from cardiofabric.vocab.maps import CodeMap, Target
from cardiofabric.vocab.study import MACE
from cardiofabric.vocab.units import convert

SE, DE = (s for s in SITES if s.name in ("se-uppsala", "de-berlin"))
N = 40
CONSENTS = ("GRU", "HMB", "DS", "GRU-no-genomics", "withdrawn")  # SimPatient.consent


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    network = simulate_network(N, seed=11, sites=(SE, DE))
    out: dict[str, Any] = {}
    for spec in (SE, DE):
        d = tmp_path_factory.mktemp(spec.name)
        files = write_omop(network[spec.name], d, spec, seed=3)
        recs, report = read(d, spec.language)
        out[spec.name] = {
            "dir": d,
            "files": files,
            "patients": network[spec.name],
            "records": recs,
            "report": report,
        }
    return out


def read(
    path: Path, language: str = "swe", code_map: CodeMap | None = None
) -> tuple[list[ModalityRecord], SourceReport]:
    report = SourceReport(source=str(path), format="omop")
    ctx = SourceContext(site="t", language=language, code_map=code_map, report=report)
    return list(OmopAdapter().read(path, ctx)), report


def by_id(records: list[ModalityRecord]) -> dict[str, ModalityRecord]:
    return {r.local_id: r for r in records}


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b))


@pytest.mark.parametrize("site", ["se-uppsala", "de-berlin"])
def test_round_trip_recovers_the_truth(extracts: dict[str, Any], site: str) -> None:
    ex = extracts[site]
    recs = by_id(ex["records"])
    patients: list[SimPatient] = ex["patients"]
    assert sorted(recs) == sorted(p.local_id for p in patients)
    compared = 0
    for p in patients:
        content = recs[p.local_id].content
        person = content["person"][0]
        assert (person["sex"], person["birth_year"], person["index_date"]) == (
            p.sex,
            p.birth_year,
            p.index_date,
        )
        conditions = {(r["code_system"], r["code"]) for r in content.get("condition", [])}
        assert conditions == {("SNOMEDCT", CONDITIONS[c][0]) for c in p.conditions}
        for r in content.get("condition", []):
            expected = event_date(p) if r["code"] == CONDITIONS["mi"][0] else p.index_date
            assert r["onset_date"] == expected and r["source_code_system"] == "ICD10"
        assert {r["code"] for r in content.get("medication", [])} == set(p.medications)
        for r in content["measurement"]:
            if not r["mapped"] or r["value"] is None:
                continue
            name = next(m for m, v in MEASUREMENTS.items() if v[0] == r["code"])
            assert r["unit"] == MEASUREMENTS[name][2]
            assert close(r["value"], float(getattr(p, name))), (name, r)
            compared += 1
        smoking, mace = sorted(content["observation"], key=lambda r: r["date"])
        assert (smoking["code"], smoking["value_code"]) == ("72166-2", SMOKING[p.smoking][0])
        assert mace["mapped"] is True and mace["source_code"] == "MACE"
        assert (mace["code_system"], mace["code"]) == MACE  # the local Pathfinder concept
        assert mace["value_code"] == ("373066001" if p.event else "373067005")
        assert mace["date"] == event_date(p)
    # every value but the few missing, rejected or unmapped ones is compared
    assert compared >= len(patients) * len(MEASUREMENTS) - 6
    assert ex["report"].read > 0


def test_source_values_are_kept(extracts: dict[str, Any]) -> None:
    de = by_id(extracts["de-berlin"]["records"])
    p = extracts["de-berlin"]["patients"][0]
    ldl = next(r for r in de[p.local_id].content["measurement"] if r["code"] == "2089-1")
    assert ldl["source_unit"] == "mg/dL" and ldl["source_label"] == "LDL-Cholesterin"
    assert ldl["source_language"] == "deu"
    assert close(
        float(ldl["source_value"]), convert(p.ldl, "mmol/L", "mg/dL", analyte="cholesterol")
    )
    se = by_id(extracts["se-uppsala"]["records"])
    q = extracts["se-uppsala"]["patients"][0]
    sbp = next(r for r in se[q.local_id].content["measurement"] if r["code"] == "8480-6")
    assert (sbp["source_label"], sbp["source_unit"], sbp["unit"]) == (
        "Systoliskt blodtryck",
        "mmHg",
        "mm[Hg]",
    )
    assert sbp["category"] == "vital-signs"
    assert se[q.local_id].content["person"][0]["source_sex"] in ("K", "M")


@pytest.mark.parametrize("site", ["se-uppsala", "de-berlin"])
def test_local_codes_are_kept_unmapped(extracts: dict[str, Any], site: str) -> None:
    ex = extracts[site]
    truth = {p.local_id: p for p in ex["patients"]}
    local = [
        (rec.local_id, r)
        for rec in ex["records"]
        for r in rec.content["measurement"]
        if not r["mapped"]
    ]
    assert len(local) == max(1, N // 30)
    for pid, r in local:
        assert (r["code"], r["code_system"], r["source_code_system"]) == (None, None, "local")
        assert "Kreatin" in r["source_label"] and r["source_code"] == r["source_label"]
        assert close(r["value"], truth[pid].creatinine) and r["unit"] == "umol/L"


@pytest.mark.parametrize("site", ["se-uppsala", "de-berlin"])
def test_decimal_commas_are_rejected_with_file_and_line(
    extracts: dict[str, Any], site: str
) -> None:
    ex = extracts[site]
    rejected = ex["report"].rejected
    assert len(rejected) == 2
    measurement = next(f for f in ex["files"] if f.name.startswith("measurement"))
    opener: Any = gzip.open if measurement.suffix == ".gz" else open
    with opener(measurement, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    for r in rejected:
        assert r.record.startswith(f"{measurement.name} line ")
        line = int(r.record.rsplit(" ", 1)[1])
        assert "," in lines[line - 1].split("\t" if site == "de-berlin" else ",")[8] or (
            '"' in lines[line - 1]
        )
        assert "value_as_number" in r.reason
    missing = [r for rec in ex["records"] for r in rec.content["measurement"] if r["value"] is None]
    assert len(missing) == max(1, N // 25)


def test_unknown_person_and_death(extracts: dict[str, Any], tmp_path: Path) -> None:
    d = tmp_path / "omop"
    shutil.copytree(extracts["se-uppsala"]["dir"], d)
    with (d / "condition_occurrence.csv").open("a", encoding="utf-8") as fh:
        fh.write("999,999,2000000005,2016-01-01,,,,32817,,,,,,Hypertoni,0,\n")
    with (d / "death.csv").open("a", encoding="utf-8") as fh:
        fh.write("1,2020-05-04,,32817,0,,0\n")
    recs, report = read(d)
    lines = sum(1 for _ in (d / "condition_occurrence.csv").open(encoding="utf-8"))
    assert any(
        r.record == f"condition_occurrence.csv line {lines}" and "person_id 999" in r.reason
        for r in report.rejected
    )
    first = extracts["se-uppsala"]["patients"][0].local_id
    assert by_id(recs)[first].content["person"][0]["death_date"] == "2020-05-04"


def test_without_concept_table_ids_are_kept_and_a_code_map_maps_them(
    extracts: dict[str, Any], tmp_path: Path
) -> None:
    d = tmp_path / "omop"
    shutil.copytree(extracts["se-uppsala"]["dir"], d)
    with (d / "concept.csv").open(encoding="utf-8") as fh:
        concepts = {r["concept_code"]: r["concept_id"] for r in csv.DictReader(fh)}
    (d / "concept.csv").unlink()
    recs, _ = read(d)
    # B-HbA1c: a label the built-in Swedish labels do not hold, so only the id could map it
    hba1c = [
        r
        for rec in recs
        for r in rec.content["measurement"]
        if r["source_code"] == concepts["4548-4"]
    ]
    assert hba1c and all(r["source_code_system"] == "OMOP" and not r["mapped"] for r in hba1c)
    cmap = CodeMap()
    cmap.add_code("OMOP", concepts["4548-4"], Target("LOINC", "4548-4"))
    recs, _ = read(d, code_map=cmap)
    hba1c = [
        r
        for rec in recs
        for r in rec.content["measurement"]
        if r["source_code"] == concepts["4548-4"]
    ]
    assert all(r["mapped"] and r["code"] == "4548-4" for r in hba1c)


def test_payload_keeps_rows_without_identifiers(extracts: dict[str, Any]) -> None:
    rec = extracts["de-berlin"]["records"][0]
    payload = json.loads(rec.payloads[0].data)
    assert payload["cdm"] == "OMOP CDM v5.4" and "measurement" in payload["tables"]
    text = rec.payloads[0].data.decode()
    assert rec.local_id not in text and '"person_id"' not in text


def test_objects_seal_and_load_into_the_store(extracts: dict[str, Any], tmp_path: Path) -> None:
    from cardiofabric.store import SiteStore

    ex = extracts["de-berlin"]
    records = list(read_source(ex["dir"], "omop", site="de-berlin", language="deu"))
    objects = build_objects(records, site="de-berlin", secret="k" * 32)
    assert len(objects) == N
    with SiteStore.create(tmp_path / "store", site="de-berlin") as store:
        store.add_many(objects)
        rows = store.query(
            "SELECT count(*) AS n FROM measurement WHERE code = '2089-1' AND unit = 'mmol/L'"
        )
        assert rows[0]["n"] >= N - 3
        unmapped = store.query("SELECT count(*) AS n FROM measurement WHERE NOT mapped")
        assert unmapped[0]["n"] == max(1, N // 30)


def test_malformed_extracts_are_clear_errors(extracts: dict[str, Any], tmp_path: Path) -> None:
    se, de = extracts["se-uppsala"]["dir"], extracts["de-berlin"]["dir"]
    d = tmp_path / "no-person"
    shutil.copytree(se, d)
    (d / "person.csv").unlink()
    with pytest.raises(InputError, match=r"no person table; expected person\.csv"):
        read(d)
    d = tmp_path / "truncated"
    shutil.copytree(de, d)
    data = (d / "measurement.tsv.gz").read_bytes()
    (d / "measurement.tsv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="measurement") as err:
        read(d, "deu")
    assert err.value.path is not None and err.value.path.endswith("measurement.tsv.gz")
    d = tmp_path / "columns"
    shutil.copytree(se, d)
    text = (d / "person.csv").read_text(encoding="utf-8")
    (d / "person.csv").write_text(text.replace("year_of_birth", "birth_year", 1), "utf-8")
    with pytest.raises(InputError, match=r"lacks year_of_birth; expected the OMOP CDM v5\.4"):
        read(d)
    (d / "person.csv").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        read(d)
    with pytest.raises(InputError, match="expected a directory"):
        read(se / "person.csv")
    d = tmp_path / "twice"
    shutil.copytree(se, d)
    shutil.copy(d / "death.csv", d / "DEATH.TSV")
    with pytest.raises(InputError, match="given twice"):
        read(d)


def _consent_extract(extracts: dict[str, Any], site: str, d: Path) -> list[SimPatient]:
    """An extract of ``site`` with one patient of every consent kind, written to ``d``."""
    spec = SE if site == "se-uppsala" else DE
    patients = [
        replace(p, consent=kind)
        for p, kind in zip(extracts[site]["patients"], CONSENTS, strict=False)
    ]
    write_omop(patients, d, spec, seed=3)
    return patients


@pytest.mark.parametrize("site", ["se-uppsala", "de-berlin"])
def test_consent_round_trip_recovers_every_kind(
    extracts: dict[str, Any], site: str, tmp_path: Path
) -> None:
    patients = _consent_extract(extracts, site, tmp_path)
    recs, report = read(tmp_path, "deu" if site == "de-berlin" else "swe")
    assert not [r for r in report.rejected if r.record.startswith("observation")]
    for p in patients:
        consent, truth = by_id(recs)[p.local_id].consent, truth_consent(p)
        assert consent is not None, p.consent
        assert (consent.permissions, consent.prohibitions, consent.status) == (
            truth.permissions,
            truth.prohibitions,
            truth.status,
        ), p.consent
        withdrawn = p.consent == "withdrawn"
        assert consent.updated == (withdrawal_date(p) if withdrawn else p.index_date)
        assert consent.version == (2 if withdrawn else 1)  # the consent, then its withdrawal
    no_genomics = by_id(recs)[patients[3].local_id].consent
    assert no_genomics is not None
    assert [t.code for t in no_genomics.prohibitions] == ["DUO:0000016"]


@pytest.mark.parametrize("site", ["se-uppsala", "de-berlin"])
def test_every_person_of_an_extract_has_the_truths_consent(
    extracts: dict[str, Any], site: str
) -> None:
    ex = extracts[site]
    recs = by_id(ex["records"])
    for p in ex["patients"]:
        consent, truth = recs[p.local_id].consent, truth_consent(p)
        assert consent is not None
        assert [t.code for t in consent.permissions] == [t.code for t in truth.permissions]
        assert [t.code for t in consent.prohibitions] == [t.code for t in truth.prohibitions]
        assert consent.status == truth.status
        # consent rows are the object's consent, not observations; the payload keeps them
        assert all(r["code"] != "59284-0" for r in recs[p.local_id].content["observation"])
    payload = json.loads(ex["records"][0].payloads[0].data)
    assert any(
        r.get("qualifier_source_value") == "permit" for r in payload["tables"]["observation"]
    )


def _observation_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    return header, rows


def _write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *rows])


def test_an_unknown_duo_term_is_rejected_and_leaves_the_consent_empty(
    extracts: dict[str, Any], tmp_path: Path
) -> None:
    patients = _consent_extract(extracts, "se-uppsala", tmp_path)
    obs = tmp_path / "observation.csv"
    header, rows = _observation_rows(obs)
    col = {c: i for i, c in enumerate(header)}
    hmb = next(i for i, r in enumerate(rows) if r[col["value_as_string"]] == "DUO:0000006")
    rows[hmb][col["value_as_string"]] = "DUO:9999999"
    rows[hmb][col["value_source_value"]] = "HMB-X"
    gru = next(i for i, r in enumerate(rows) if r[col["value_as_string"]] == "DUO:0000042")
    rows[gru][col["qualifier_source_value"]] = "maybe"
    _write_rows(obs, header, rows)
    recs, report = read(tmp_path)
    reasons = {r.record: r.reason for r in report.rejected}
    assert "unknown DUO term 'DUO:9999999'" in reasons[f"observation.csv line {hmb + 2}"]
    assert "qualifier_source_value 'maybe'" in reasons[f"observation.csv line {gru + 2}"]
    by_local = by_id(recs)
    for p in patients[:2]:  # GRU, HMB: recorded, but nothing permitted
        consent = by_local[p.local_id].consent
        assert consent is not None and consent.permissions == [] and consent.prohibitions == []
        assert by_local[p.local_id].content["person"][0]["birth_year"] == p.birth_year
    ds = by_local[patients[2].local_id].consent
    assert ds is not None and [t.code for t in ds.permissions] == ["DUO:0000007"]


def test_consents_by_date_withdrawal_keeps_terms_and_a_later_consent_wins(
    extracts: dict[str, Any], tmp_path: Path
) -> None:
    patients = _consent_extract(extracts, "se-uppsala", tmp_path)
    obs = tmp_path / "observation.csv"
    header, rows = _observation_rows(obs)
    col = {c: i for i, c in enumerate(header)}
    template = next(r for r in rows if r[col["value_as_string"]] == "DUO:0000006")  # HMB

    def row(day: str, qualifier: str, term: str) -> list[str]:
        new = list(template)
        new[col["observation_id"]] = str(len(rows) + 1)
        new[col["observation_date"]] = day
        new[col["qualifier_source_value"]] = qualifier
        new[col["value_as_string"]], new[col["value_source_value"]] = term, ""
        return new

    rows.append(row("2030-01-01", "withdrawn", ""))
    _write_rows(obs, header, rows)
    consent = by_id(read(tmp_path)[0])[patients[1].local_id].consent
    assert consent is not None and consent.status == "withdrawn"
    assert [t.code for t in consent.permissions] == ["DUO:0000006"]  # the terms stay
    assert (consent.version, consent.updated) == (2, "2030-01-01")
    for qualifier, term in (("", "GRU"), ("permit", "NCU"), ("deny", "DUO:0000016")):
        rows.append(row("2031-02-03", qualifier, term))  # a new consent, re-given
    _write_rows(obs, header, rows)
    consent = by_id(read(tmp_path)[0])[patients[1].local_id].consent
    assert consent is not None and consent.status == "active" and consent.version == 3
    assert [(t.code, t.modifier_of) for t in consent.permissions] == [
        ("DUO:0000042", None),
        ("DUO:0000046", "DUO:0000042"),  # NCU restricts the general research use
    ]
    assert [t.code for t in consent.prohibitions] == ["DUO:0000016"]


def test_without_a_concept_table_the_option_names_the_consent_concept(
    extracts: dict[str, Any], tmp_path: Path
) -> None:
    patients = _consent_extract(extracts, "se-uppsala", tmp_path)
    with (tmp_path / "concept.csv").open(encoding="utf-8") as fh:
        concept = next(r for r in csv.DictReader(fh) if r["concept_code"] == "59284-0")
    (tmp_path / "concept.csv").unlink()
    recs, _ = read(tmp_path)
    assert all(r.consent is None for r in recs)  # unrecognised: ordinary observations
    report = SourceReport(source=str(tmp_path), format="omop")
    ctx = SourceContext(
        site="t", options={"consent_concept_id": concept["concept_id"]}, report=report
    )
    by_local = by_id(list(OmopAdapter().read(tmp_path, ctx)))
    for p in patients:
        consent = by_local[p.local_id].consent
        assert consent is not None and consent.status == truth_consent(p).status
    ctx = SourceContext(site="t", options={"consent_concept_id": "LOINC:59284-0"})
    with pytest.raises(InputError, match="consent_concept_id: expected an OMOP concept id"):
        list(OmopAdapter().read(tmp_path, ctx))
