"""Research extracts: the Finnish writer's tables read back through their mapping, and bad ones."""

from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, SourceReport
from cardiofabric.ingest.pipeline import build_objects, read_source
from cardiofabric.ingest.tabular import TabularAdapter, load_mapping
from cardiofabric.mmio.oca import check_bundle
from cardiofabric.pathfinder.cohort import SITES, SimPatient, simulate_network
from cardiofabric.pathfinder.writers.fhir import truth_consent
from cardiofabric.pathfinder.writers.omop import (
    CONDITIONS,
    MEASUREMENTS,
    SMOKING,
    event_date,
    withdrawal_date,
)
from cardiofabric.pathfinder.writers.tabular import LAB_CODES, write_tabular
from cardiofabric.vocab.maps import CodeMap, load_code_map
from cardiofabric.vocab.study import MACE

FI = next(s for s in SITES if s.name == "fi-helsinki")
N = 40
FINNISH = {"decimal": ",", "delimiter": ";", "date_format": "%d.%m.%Y", "language": "fin"}
CONSENTS = ("GRU", "HMB", "DS", "GRU-no-genomics", "withdrawn")  # SimPatient.consent


@pytest.fixture(scope="module")
def fi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("fi")
    patients = simulate_network(N, seed=5, sites=(FI,))[FI.name]
    files = {p.name: p for p in write_tabular(patients, d, FI, seed=9)}
    cmap = load_code_map(files["fi-helsinki.codemap.toml"])
    mapping = str(files["fi-helsinki.mapping.toml"])
    wide = read(files["potilaat.csv"], {"mapping": mapping})
    long = read(files["laboratorio.csv"], {"mapping": mapping}, cmap)
    return {
        "dir": d,
        "files": files,
        "patients": patients,
        "code_map": cmap,
        "wide": wide,
        "long": long,
    }


def read(
    path: Path, options: dict[str, Any], code_map: CodeMap | None = None
) -> tuple[dict[str, ModalityRecord], SourceReport]:
    report = SourceReport(source=str(path), format="tabular")
    ctx = SourceContext(
        site="fi", language="fin", options=options, code_map=code_map, report=report
    )
    return {r.local_id: r for r in TabularAdapter().read(path, ctx)}, report


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b))


def truth(fi: dict[str, Any]) -> dict[str, SimPatient]:
    return {p.local_id: p for p in fi["patients"]}


def test_wide_table_recovers_the_truth(fi: dict[str, Any]) -> None:
    recs, report = fi["wide"]
    assert sorted(recs) == sorted(truth(fi)) and not report.rejected
    compared = 0
    for pid, p in truth(fi).items():
        content = recs[pid].content
        person = content["person"][0]
        assert person == {
            "sex": p.sex,
            "source_sex": "mies" if p.sex == "male" else "nainen",
            "birth_year": p.birth_year,
            "index_date": p.index_date,
        }
        assert {r["code"] for r in content.get("condition", [])} == {
            CONDITIONS[c][0] for c in p.conditions
        }
        for r in content.get("condition", []):
            mi = r["code"] == CONDITIONS["mi"][0]
            assert r["onset_date"] == (event_date(p) if mi else p.index_date)
        assert {r["code"] for r in content.get("medication", [])} == set(p.medications)
        for r in content.get("measurement", []):
            name = next(m for m, v in MEASUREMENTS.items() if v[0] == r["code"])
            assert close(r["value"], getattr(p, name)) and r["unit"] == MEASUREMENTS[name][2]
            assert r["source_value"] == f"{getattr(p, name):.12g}".replace(".", ",")
            compared += 1
        smoking = next(r for r in content["observation"] if r["code"] == "72166-2")
        assert smoking["value_code"] == SMOKING[p.smoking][0]
        assert smoking["source_label"] == "Tupakointi" and smoking["source_language"] == "fin"
        # The study's outcome, "Pathfinder:MACE" in the data dictionary, harmonised.
        mace = next(r for r in content["observation"] if r["source_code"] == "mace")
        assert mace["mapped"] and (mace["code_system"], mace["code"]) == MACE
        assert mace["value_text"] == ("kyllä" if p.event else "ei")
        assert mace["date"] == event_date(p)
    assert compared == N * 3 - max(1, N // 25)  # the writer leaves a few vitals empty


def test_long_table_maps_local_codes_through_the_code_map(fi: dict[str, Any]) -> None:
    recs, report = fi["long"]
    by_code = {v[0]: m for m, v in MEASUREMENTS.items()}
    values, unmapped = 0, []
    for pid, rec in recs.items():
        for r in rec.content["measurement"]:
            assert r["source_code_system"] == "HUS-LAB" and r["source_language"] == "fin"
            if not r["mapped"]:
                unmapped.append((pid, r))
                continue
            name = by_code[r["code"]]
            assert LAB_CODES[r["source_code"]][0] == name
            assert close(r["value"], getattr(truth(fi)[pid], name))
            assert r["unit"] == MEASUREMENTS[name][2]
            values += 1
    hba1c = next(
        r for rec in recs.values() for r in rec.content["measurement"] if r["code"] == "4548-4"
    )
    assert hba1c["source_unit"] == "mmol/mol" and hba1c["unit"] == "%"
    # a few results are empty, two haemolysed, a few under an old local code
    assert values == N * len(LAB_CODES) - max(1, N // 25) - 2 - len(unmapped)
    assert len(unmapped) == max(1, N // 30)
    for pid, r in unmapped:
        assert (r["source_code"], r["source_label"], r["code"]) == ("9021", "P-Krea-vanha", None)
        assert close(r["value"], truth(fi)[pid].creatinine)
    assert len(report.rejected) == 2
    for rej in report.rejected:
        assert rej.record.startswith("laboratorio.csv line ") and rej.record.endswith("tulos")
        assert "hemol." in rej.reason


def test_long_table_without_a_code_map_keeps_every_local_code(fi: dict[str, Any]) -> None:
    recs, _ = read(
        fi["files"]["laboratorio.csv"], {"mapping": str(fi["files"]["fi-helsinki.mapping.toml"])}
    )
    codes = {r["source_code"] for rec in recs.values() for r in rec.content["measurement"]}
    assert set(LAB_CODES) <= codes
    ldl = [
        r for rec in recs.values() for r in rec.content["measurement"] if r["source_code"] == "4516"
    ]
    assert ldl and all(r["source_label"] == "fP-Kol-LDL" for r in ldl)


def test_semantics_embed_the_oca_bundle(fi: dict[str, Any]) -> None:
    recs, _ = fi["wide"]
    sem = next(iter(recs.values())).semantics
    assert sem is not None and sem.type == "Bundle" and isinstance(sem.value, dict)
    written = json.loads(fi["files"]["potilaat.oca.json"].read_text(encoding="utf-8"))
    assert sem.value == written and check_bundle(written) == []
    labels = {o["language"]: o["attribute_labels"] for o in written["overlays"]["label"]}
    assert labels["fin"]["syke"] == "Syke" and labels["eng"]["syke"] == "Heart rate"
    assert written["overlays"]["attribute_framing"]["attribute_framing"]["syke"] == "LOINC:8867-4"


def test_the_oca_bundle_reads_the_table_as_the_mapping_does(fi: dict[str, Any]) -> None:
    recs, report = read(
        fi["files"]["potilaat.csv"], {"mapping": str(fi["files"]["potilaat.oca.json"]), **FINNISH}
    )
    assert not report.rejected
    by_toml, _ = fi["wide"]
    for pid, rec in recs.items():
        for table in ("person", "condition", "medication", "measurement"):
            got = sorted(json.dumps(r, sort_keys=True) for r in rec.content.get(table, []))
            want = sorted(
                json.dumps(r, sort_keys=True) for r in by_toml[pid].content.get(table, [])
            )
            assert got == want, (pid, table)
        smoking = next(r for r in rec.content["observation"] if r["code"] == "72166-2")
        assert smoking["value_text"] in ("ei koskaan", "lopettanut", "tupakoi")
        assert rec.consent is not None and rec.consent == by_toml[pid].consent


def test_a_tampered_bundle_is_refused(fi: dict[str, Any], tmp_path: Path) -> None:
    bundle = json.loads(fi["files"]["potilaat.oca.json"].read_text(encoding="utf-8"))
    bundle["overlays"]["unit"]["attribute_units"]["syke"] = "/h"
    path = tmp_path / "potilaat.oca.json"
    path.write_text(json.dumps({"bundle": bundle}), encoding="utf-8")
    with pytest.raises(InputError, match="digest at /overlays/unit/digest"):
        read(fi["files"]["potilaat.csv"], {"mapping": str(path), **FINNISH})


def test_parquet_reads_as_the_csv_does(fi: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "potilaat.parquet"
    duckdb.sql(
        f"COPY (SELECT * FROM read_csv('{fi['files']['potilaat.csv']}', all_varchar = true, "
        f"delim = ';', header = true)) TO '{out}' (FORMAT parquet)"
    )
    recs, report = read(out, {"mapping": str(fi["files"]["fi-helsinki.mapping.toml"])})
    assert not report.rejected
    wide, _ = fi["wide"]
    for pid, rec in recs.items():
        assert rec.content == wide[pid].content
        assert rec.media_type == "application/vnd.apache.parquet"
    assert pid.encode() not in rec.payloads[0].data


MAPPING = """
[extract]
layout = "long"
code_system = "LAB"

[columns.pid]
patient_id = true
[columns.code]
role = "code"
[columns.value]
role = "value"
[columns.unit]
role = "unit"
[columns.day]
role = "date"

[codes.LDL]
table = "measurement"
code_system = "LOINC"
code = "2089-1"
unit = "mg/dL"
[codes.SMOKER]
table = "observation"
code_system = "LOINC"
code = "72166-2"
values = { current = "SNOMEDCT:77176002" }
"""


def test_a_long_mapping_with_standard_codes(tmp_path: Path) -> None:
    (tmp_path / "x.mapping.toml").write_text(MAPPING, encoding="utf-8")
    table = tmp_path / "x.csv"
    table.write_text(
        "pid,code,value,unit,day,extra\n"
        "A,LDL,150,,2020-01-02,1\n"
        "A,SMOKER,current,,2020-01-02,1\n"
        "B,LDL,n/a,mg/dL,2020-13-01,1\n"
        ",LDL,3,mmol/L,2020-01-01,1\n"
        "B,HBA,41,mmol/mol,2020-01-03,1\n",
        encoding="utf-8",
    )
    recs, report = read(table, {})  # the mapping beside the table is found by its name
    (ldl,) = recs["A"].content["measurement"]
    assert ldl["code"] == "2089-1" and close(ldl["value"], 150 * 10 / 386.65)
    assert (ldl["source_code_system"], ldl["source_code"], ldl["date"]) == (
        "LAB",
        "LDL",
        "2020-01-02",
    )
    (smoking,) = recs["A"].content["observation"]
    assert (smoking["value_code_system"], smoking["value_code"]) == ("SNOMEDCT", "77176002")
    hba = recs["B"].content["measurement"]
    assert [(r["source_code"], r["mapped"]) for r in hba] == [("HBA", False)]
    reasons = {r.record: r.reason for r in report.rejected}
    assert "expected a number" in reasons["x.csv line 4 column value"]
    assert "expected a date" in reasons["x.csv line 4 column day"]
    assert "no patient id" in reasons["x.csv line 5"]
    assert "not described" in reasons["x.csv column extra"]


def test_a_wide_cell_of_the_wrong_type_is_rejected_the_rest_kept(
    fi: dict[str, Any], tmp_path: Path
) -> None:
    d = tmp_path / "x"
    shutil.copytree(fi["dir"], d)
    lines = (d / "potilaat.csv").read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(";")
    cells[5] = "ehkä"  # diabetes: neither yes nor no
    lines[1] = ";".join(cells)
    (d / "potilaat.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    recs, report = read(d / "potilaat.csv", {"mapping": str(d / "fi-helsinki.mapping.toml")})
    (rej,) = report.rejected
    assert rej.record == "potilaat.csv line 2 column diabetes" and "ehkä" in rej.reason
    assert recs[cells[0]].content["person"][0]["birth_year"] == int(cells[2])


def test_the_pipeline_seals_and_stores_the_extract(fi: dict[str, Any], tmp_path: Path) -> None:
    from cardiofabric.store import SiteStore

    options = {"mapping": str(fi["files"]["fi-helsinki.mapping.toml"])}
    records = [
        rec
        for name in ("potilaat.csv", "laboratorio.csv")
        for rec in read_source(
            fi["files"][name],
            "tabular",
            site="fi-helsinki",
            language="fin",
            options=options,
            code_map=fi["code_map"],
        )
    ]
    objects = build_objects(records, site="fi-helsinki", secret="k" * 32)
    assert len(objects) == N and all(len(o.manifest.modalities) == 2 for o in objects)
    with SiteStore.create(tmp_path / "store", site="fi-helsinki") as store:
        store.add_many(objects)
        (row,) = store.query("SELECT count(*) AS n FROM measurement WHERE code = '2160-0'")
        stored = sum(
            r["code"] == "2160-0" for rec in records for r in rec[0].content.get("measurement", [])
        )
        assert row["n"] == stored >= N - max(1, N // 30) - 3  # less old codes, empty, haemolysed


def test_malformed_extracts_and_mappings(fi: dict[str, Any], tmp_path: Path) -> None:
    files = fi["files"]
    with pytest.raises(InputError, match="no mapping: expected"):
        read(files["potilaat.csv"], {"mapping": str(tmp_path / "none.toml")})
    text = files["fi-helsinki.mapping.toml"].read_text(encoding="utf-8")
    bad = tmp_path / "bad.mapping.toml"
    bad.write_text(
        text.replace('[tables.potilaat.columns."syke"]', '[tables.potilaat.columns."pulssi"]'),
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"lacks the column\(s\) pulssi"):
        read(files["potilaat.csv"], {"mapping": str(bad)})
    bad.write_text(text.replace('role = "value"', 'rolle = "value"'), encoding="utf-8")
    with pytest.raises(InputError, match=r"columns\.tulos\.rolle"):
        read(files["laboratorio.csv"], {"mapping": str(bad)})
    bad.write_text(text.replace('role = "value"', 'role = "label"'), encoding="utf-8")
    with pytest.raises(InputError, match="role 'value'"):
        read(files["laboratorio.csv"], {"mapping": str(bad)})
    with pytest.raises(InputError, match=r"no \[tables\.other\]"):
        load_mapping(files["fi-helsinki.mapping.toml"], "other")
    broken = tmp_path / "potilaat.csv.gz"
    whole = gzip.compress(files["potilaat.csv"].read_bytes())
    broken.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match="cannot read this as a CSV") as err:
        read(broken, {"mapping": str(files["fi-helsinki.mapping.toml"])})
    assert err.value.path == str(broken)


@pytest.fixture(scope="module")
def consents(fi: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An extract with one patient of every consent kind."""
    d = tmp_path_factory.mktemp("consent")
    patients = [replace(p, consent=k) for p, k in zip(fi["patients"], CONSENTS, strict=False)]
    files = {f.name: f for f in write_tabular(patients, d, FI, seed=9)}
    return {"dir": d, "files": files, "patients": patients}


@pytest.mark.parametrize("mapping", ["fi-helsinki.mapping.toml", "potilaat.oca.json"])
def test_consent_round_trip_recovers_every_kind(consents: dict[str, Any], mapping: str) -> None:
    files = consents["files"]
    recs, report = read(files["potilaat.csv"], {"mapping": str(files[mapping]), **FINNISH})
    assert not report.rejected
    for p in consents["patients"]:
        consent, truth = recs[p.local_id].consent, truth_consent(p)
        assert consent is not None, p.consent
        assert (consent.permissions, consent.prohibitions, consent.status) == (
            truth.permissions,
            truth.prohibitions,
            truth.status,
        ), p.consent
        withdrawn = p.consent == "withdrawn"
        assert consent.updated == (withdrawal_date(p) if withdrawn else p.index_date)
        assert consent.version == 1
    # the long table states no consent; the pipeline takes the wide table's
    labs, _ = read(files["laboratorio.csv"], {"mapping": str(files["fi-helsinki.mapping.toml"])})
    assert all(r.consent is None for r in labs.values())


def test_every_patient_of_the_extract_has_the_truths_consent(fi: dict[str, Any]) -> None:
    recs, _ = fi["wide"]
    for pid, p in truth(fi).items():
        consent, want = recs[pid].consent, truth_consent(p)
        assert consent is not None
        assert (consent.permissions, consent.prohibitions, consent.status) == (
            want.permissions,
            want.prohibitions,
            want.status,
        )


def _edit_consent(consents: dict[str, Any], d: Path, cells: dict[str, tuple[int, str]]) -> None:
    """Copy the consent extract to ``d``, setting ``column: (patient index, text)`` cells."""
    shutil.copytree(consents["dir"], d)
    lines = (d / "potilaat.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(";")
    for column, (i, text) in cells.items():
        row = lines[i + 1].split(";")
        row[header.index(column)] = text
        lines[i + 1] = ";".join(row)
    (d / "potilaat.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_an_unknown_duo_term_is_a_rejection_and_leaves_the_consent_empty(
    consents: dict[str, Any], tmp_path: Path
) -> None:
    d = tmp_path / "x"
    _edit_consent(
        consents,
        d,
        {
            "suostumus": (0, "GRU,XYZ"),  # GRU patient: an unknown term beside a known one
            "suostumus_tila": (1, "ehkä"),  # HMB patient: neither in force nor withdrawn
            "suostumus_kielto": (2, "DUO:0000046 npu"),  # DS patient: codes and abbreviations
        },
    )
    recs, report = read(d / "potilaat.csv", {"mapping": str(d / "fi-helsinki.mapping.toml")})
    reasons = {r.record: r.reason for r in report.rejected}
    assert set(reasons) == {
        "potilaat.csv line 2 column suostumus",
        "potilaat.csv line 3 column suostumus_tila",
    }
    assert "unknown DUO term 'XYZ'" in reasons["potilaat.csv line 2 column suostumus"]
    assert "voimassa" in reasons["potilaat.csv line 3 column suostumus_tila"]
    gru, hmb, ds = consents["patients"][:3]
    for p in (gru, hmb):
        consent = recs[p.local_id].consent
        assert consent is not None and consent.permissions == [] and consent.prohibitions == []
        assert consent.updated == p.index_date
        assert recs[p.local_id].content["person"][0]["birth_year"] == p.birth_year  # row kept
    consent = recs[ds.local_id].consent
    assert consent is not None and [t.code for t in consent.permissions] == ["DUO:0000007"]
    assert [t.code for t in consent.prohibitions] == ["DUO:0000045", "DUO:0000046"]


def test_a_patient_without_consent_cells_has_no_recorded_consent(
    consents: dict[str, Any], tmp_path: Path
) -> None:
    d = tmp_path / "x"
    empty = {c: (0, "") for c in ("suostumus", "suostumus_kielto", "suostumus_tila")}
    _edit_consent(consents, d, {**empty, "suostumus_pvm": (0, "")})
    recs, report = read(d / "potilaat.csv", {"mapping": str(d / "fi-helsinki.mapping.toml")})
    assert not report.rejected
    assert recs[consents["patients"][0].local_id].consent is None
    records = list(
        read_source(
            d / "potilaat.csv",
            "tabular",
            site="fi-helsinki",
            language="fin",
            options={"mapping": str(d / "fi-helsinki.mapping.toml")},
        )
    )
    objects = build_objects(records, site="fi-helsinki", secret="k" * 32)
    nothing = [o for o in objects if not o.manifest.consent.permissions]
    assert len(nothing) == 1  # deny by default
