"""OMOP, research-extract and wearable writers: deterministic, well formed, documented mess."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from cardiofabric.ingest.tabular import load_mapping
from cardiofabric.mmio.oca import check_bundle
from cardiofabric.pathfinder.cohort import SITES, SimPatient, SiteSpec, simulate_network
from cardiofabric.pathfinder.writers.fhir import truth_consent
from cardiofabric.pathfinder.writers.omop import withdrawal_date, write_omop
from cardiofabric.pathfinder.writers.tabular import write_tabular
from cardiofabric.pathfinder.writers.wearable import af_rate, write_wearables
from cardiofabric.vocab.duo import DUO_TERMS
from cardiofabric.vocab.maps import load_code_map

SPECS = {s.name: s for s in SITES}
N = 30


@pytest.fixture(scope="module")
def network() -> dict[str, list[SimPatient]]:
    names = ("se-uppsala", "fi-helsinki", "de-berlin")
    return simulate_network(N, seed=21, sites=tuple(SPECS[n] for n in names))


def digests(files: list[Path]) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


@pytest.mark.parametrize(
    ("writer", "site"),
    [
        (write_omop, "se-uppsala"),
        (write_omop, "de-berlin"),
        (write_tabular, "fi-helsinki"),
        (write_wearables, "de-berlin"),
    ],
)
def test_writers_are_deterministic_by_seed(
    network: dict[str, list[SimPatient]],
    tmp_path: Path,
    writer: Callable[..., list[Path]],
    site: str,
) -> None:
    spec: SiteSpec = SPECS[site]
    a = writer(network[site], tmp_path / "a", spec, seed=1)
    b = writer(network[site], tmp_path / "b", spec, seed=1)
    c = writer(network[site], tmp_path / "c", spec, seed=2)
    assert a and digests(a) == digests(b)
    assert digests(a) != digests(c)


def test_omop_extract_is_well_formed(network: dict[str, list[SimPatient]], tmp_path: Path) -> None:
    files = write_omop(network["de-berlin"], tmp_path, SPECS["de-berlin"], seed=1)
    tables = {f.name.split(".")[0]: f for f in files}
    assert set(tables) == {
        "person",
        "observation_period",
        "death",
        "condition_occurrence",
        "measurement",
        "observation",
        "drug_exposure",
        "procedure_occurrence",
        "concept",
    }

    def rows(name: str) -> list[dict[str, str]]:
        text = gzip.decompress(tables[name].read_bytes()).decode("utf-8")
        return list(csv.DictReader(io.StringIO(text), delimiter="\t"))

    concepts = {r["concept_id"] for r in rows("concept")}
    used = {
        r[k]
        for name in ("condition_occurrence", "measurement", "observation", "drug_exposure")
        for r in rows(name)
        for k in r
        if k.endswith("concept_id") and r[k] not in ("", "0", "32817")
    }
    assert used <= concepts and len(concepts) == len(rows("concept"))
    assert all(int(c) > 2_000_000_000 for c in concepts)
    persons = rows("person")
    assert [r["person_source_value"] for r in persons] == [p.local_id for p in network["de-berlin"]]
    assert {r["gender_concept_id"] for r in persons} <= {"8507", "8532"}
    lipids = [r for r in rows("measurement") if r["measurement_source_value"] == "LDL-Cholesterin"]
    assert {r["unit_source_value"] for r in lipids} == {"mg/dL"}
    assert sum(r["measurement_concept_id"] == "0" for r in rows("measurement")) == max(1, N // 30)


def test_research_extract_and_its_mapping(
    network: dict[str, list[SimPatient]], tmp_path: Path
) -> None:
    files = {
        f.name: f
        for f in write_tabular(network["fi-helsinki"], tmp_path, SPECS["fi-helsinki"], seed=1)
    }
    assert set(files) == {
        "potilaat.csv",
        "laboratorio.csv",
        "fi-helsinki.mapping.toml",
        "fi-helsinki.codemap.toml",
        "potilaat.oca.json",
    }
    doc = tomllib.loads(files["fi-helsinki.mapping.toml"].read_text(encoding="utf-8"))
    assert set(doc["tables"]) == {"potilaat", "laboratorio"}
    wide, bundle = load_mapping(files["fi-helsinki.mapping.toml"], "potilaat")
    long, _ = load_mapping(files["fi-helsinki.mapping.toml"], "laboratorio")
    assert wide.extract.layout == "wide" and long.extract.layout == "long"
    assert all(set(it.labels) == {"fin", "eng"} for it in wide.columns.values())
    assert check_bundle(bundle) == []
    cmap = load_code_map(files["fi-helsinki.codemap.toml"])
    assert cmap.lookup("HUS-LAB", "4516") is not None and cmap.lookup("HUS-LAB", "9021") is None
    header = files["potilaat.csv"].read_text(encoding="utf-8").splitlines()[0].split(";")
    assert header[0] == "potilastunnus" and "syntymävuosi" in header
    labs = list(
        csv.reader(io.StringIO(files["laboratorio.csv"].read_text(encoding="utf-8")), delimiter=";")
    )
    assert sum(r[3] == "hemol." for r in labs) == 2
    assert sum(r[1] == "9021" for r in labs) == max(1, N // 30)


def test_wearables_only_for_wearers_and_alerts_follow_risk(
    network: dict[str, list[SimPatient]], tmp_path: Path
) -> None:
    patients = network["de-berlin"]
    files = write_wearables(patients, tmp_path, SPECS["de-berlin"], seed=1)
    assert sorted(f.name.split(".")[0] for f in files) == sorted(
        p.local_id for p in patients if p.has_wearable
    )
    base = patients[0]
    risky = SimPatient(
        **{**base.__dict__, "hypertension": True, "age": 70.0, "conditions": ["hcm", "mi"]}
    )
    calm = SimPatient(**{**base.__dict__, "hypertension": False, "age": 40.0, "conditions": []})
    assert af_rate(risky) == pytest.approx(0.24) and af_rate(calm) == pytest.approx(0.01)


def test_omop_and_extract_state_the_truths_consent(
    network: dict[str, list[SimPatient]], tmp_path: Path
) -> None:
    kinds = ("GRU", "HMB", "DS", "GRU-no-genomics", "withdrawn")
    patients = [
        SimPatient(**{**p.__dict__, "consent": k})
        for p, k in zip(network["se-uppsala"], kinds, strict=False)
    ]
    files = write_omop(patients, tmp_path / "omop", SPECS["se-uppsala"], seed=1)
    tables = {f.name.split(".")[0]: f for f in files}
    with tables["concept"].open(encoding="utf-8") as fh:
        concept = next(r for r in csv.DictReader(fh) if r["concept_code"] == "59284-0")
    assert (concept["vocabulary_id"], concept["concept_name"]) == ("LOINC", "Patient Consent")
    with tables["observation"].open(encoding="utf-8") as fh:
        rows = [
            r for r in csv.DictReader(fh) if r["observation_concept_id"] == concept["concept_id"]
        ]
    for pid, p in enumerate(patients, start=1):
        mine = [r for r in rows if r["person_id"] == str(pid)]
        truth = truth_consent(p)
        stated = {(r["qualifier_source_value"], r["value_as_string"]) for r in mine}
        assert stated - {("withdrawn", "")} == {
            *(("permit", t.code) for t in truth.permissions),
            *(("deny", t.code) for t in truth.prohibitions),
        }
        assert all(
            r["value_source_value"] == DUO_TERMS[r["value_as_string"]].abbreviation
            for r in mine
            if r["value_as_string"]
        )
        withdrawn = [
            r["observation_date"] for r in mine if r["qualifier_source_value"] == "withdrawn"
        ]
        assert withdrawn == ([withdrawal_date(p)] if p.consent == "withdrawn" else [])
    extract = write_tabular(patients, tmp_path / "fi", SPECS["fi-helsinki"], seed=1)
    with extract[0].open(encoding="utf-8") as fh:
        wide = list(csv.DictReader(fh, delimiter=";"))
    cells = [(r["suostumus"], r["suostumus_kielto"], r["suostumus_tila"]) for r in wide]
    assert cells == [
        ("GRU", "", "voimassa"),
        ("HMB", "", "voimassa"),
        ("DS", "", "voimassa"),
        ("GRU", "GSO", "voimassa"),
        ("GRU", "", "peruttu"),
    ]
    mapping, _ = load_mapping(tmp_path / "fi" / "fi-helsinki.mapping.toml", "potilaat")
    assert {c: mapping.columns[c].role for c in ("suostumus", "suostumus_tila")} == {
        "suostumus": "consent_permissions",
        "suostumus_tila": "consent_status",
    }
