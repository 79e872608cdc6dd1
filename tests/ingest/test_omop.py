"""OMOP CDM v5.4 extracts: the Pathfinder writer's files read back to the truth, and bad files."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, SourceReport
from cardiofabric.ingest.omop import OmopAdapter
from cardiofabric.ingest.pipeline import build_objects, read_source
from cardiofabric.pathfinder.cohort import SITES, SimPatient, simulate_network
from cardiofabric.pathfinder.writers.omop import (
    CONDITIONS,
    MEASUREMENTS,
    SMOKING,
    event_date,
    write_omop,
)
from cardiofabric.vocab.maps import CodeMap, Target
from cardiofabric.vocab.units import convert

SE, DE = (s for s in SITES if s.name in ("se-uppsala", "de-berlin"))
N = 40


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
        assert mace["mapped"] is False and mace["source_code"] == "MACE"
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
