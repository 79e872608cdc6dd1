"""Write a site's truth as a Finnish research extract (fi-helsinki): two CSVs and their mapping.

Files, as a hospital's research data service hands them out:

- ``potilaat.csv``: one row per patient (wide), Finnish column names, ``;``-separated, decimal
  comma, dates ``d.m.yyyy``: sex, year of birth, index date, smoking, diagnoses (0/1, or the
  date of a myocardial infarction), medications (0/1), blood pressure, heart rate, and the
  outcome: ``mace`` (kyllä/ei) with ``seuranta_päättyi``, the date of the event or of the end of
  follow-up (index date + ``time_years``); and the research consent of
  :func:`~cardiofabric.pathfinder.writers.fhir.truth_consent` as DUO abbreviations:
  ``suostumus`` (permitted uses, e.g. ``GRU``), ``suostumus_kielto`` (prohibited uses: ``GSO``
  for GRU without genomic data), ``suostumus_tila`` (``voimassa`` in force, ``peruttu``
  withdrawn) and ``suostumus_pvm`` (the index date, or the withdrawal's date);
- ``laboratorio.csv``: one row per lab result (long), with the laboratory's own codes
  (``HUS-LAB``; synthetic codes, not the national laboratory code list), Finnish test names and
  Finnish units: lipids in mmol/l, HbA1c in mmol/mol (IFCC, as Finnish laboratories report it),
  creatinine in µmol/l;
- ``fi-helsinki.mapping.toml``: what the columns of both tables mean (the format of
  :mod:`cardiofabric.ingest.tabular`), labels in Finnish and English;
- ``fi-helsinki.codemap.toml``: the site's code map, local lab codes → LOINC
  (:mod:`cardiofabric.vocab.maps`);
- ``potilaat.oca.json``: the OCA bundle of the wide table, built from the mapping.

Mess, deterministic by seed: a few empty cells; a few creatinine results under an old local code
(``9021 P-Krea-vanha``) that the code map does not know, which must show as unmapped; and one or
two results reported as ``hemol.`` (a haemolysed sample), which the adapter rejects.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from cardiofabric.ingest.tabular import load_mapping
from cardiofabric.pathfinder.cohort import SimPatient, SiteSpec
from cardiofabric.pathfinder.writers.fhir import truth_consent
from cardiofabric.pathfinder.writers.omop import (
    CONDITIONS,
    MEASUREMENTS,
    SMOKING,
    event_date,
    source_value_text,
    withdrawal_date,
)
from cardiofabric.vocab.duo import DUO_TERMS
from cardiofabric.vocab.units import convert

__all__ = ["LAB_CODES", "write_tabular"]

#: Local laboratory code → (SimPatient measurement, Finnish name, unit as written, English name).
LAB_CODES: dict[str, tuple[str, str, str, str]] = {
    "4516": ("ldl", "fP-Kol-LDL", "mmol/l", "LDL cholesterol"),
    "4515": ("hdl", "fP-Kol-HDL", "mmol/l", "HDL cholesterol"),
    "4568": ("total_cholesterol", "fP-Kol", "mmol/l", "Total cholesterol"),
    "4600": ("triglycerides", "fP-Trigly", "mmol/l", "Triglycerides"),
    "1552": ("hba1c", "B-HbA1c", "mmol/mol", "HbA1c (IFCC)"),
    "2143": ("creatinine", "P-Krea", "µmol/l", "Creatinine"),
}
_OLD_CREATININE = ("9021", "P-Krea-vanha")  # not in the code map on purpose
_LAB_SYSTEM = "HUS-LAB"

# Wide columns: name → mapping entry (the [columns.<name>] table of the mapping file).
_CONDITION_COLUMNS = {
    "diabetes": ("diabetes", "Diabetes (tyyppi 2)", "Type 2 diabetes"),
    "verenpainetauti": ("hypertension", "Verenpainetauti", "Hypertension"),
    "hypertrofinen_kardiomyopatia": ("hcm", "Hypertrofinen kardiomyopatia", "HCM"),
    "pitkä_qt_oireyhtymä": ("lqts", "Pitkä QT -oireyhtymä", "Long QT syndrome"),
    "familiaalinen_hyperkolesterolemia": ("fh", "Familiaalinen hyperkolesterolemia", "FH"),
}
_MEDICATION_COLUMNS = {
    "statiini": ("C10AA05", "Atorvastatiini", "Atorvastatin"),
    "ramipriili": ("C09AA05", "Ramipriili", "Ramipril"),
    "metformiini": ("A10BA02", "Metformiini", "Metformin"),
}
_VITAL_COLUMNS = {
    "systolinen_verenpaine": ("sbp", "mmHg", "Systolinen verenpaine", "Systolic blood pressure"),
    "diastolinen_verenpaine": ("dbp", "mmHg", "Diastolinen verenpaine", "Diastolic pressure"),
    "syke": ("heart_rate", "/min", "Syke", "Heart rate"),
}
_SMOKING_FI = {"never": "ei koskaan", "former": "lopettanut", "current": "tupakoi"}
_CONSENT_STATUS_FI = {"active": "voimassa", "withdrawn": "peruttu"}
_CONSENT_COLUMNS = ("suostumus", "suostumus_kielto", "suostumus_tila", "suostumus_pvm")


def _fi_date(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.day}.{d.month}.{d.year}"


def _fi_number(value: float) -> str:
    return source_value_text(value).replace(".", ",")


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string


def _tables(name: str, entries: dict[str, dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for key, entry in entries.items():
        lines += ["", f"[{name}.{_toml(key)}]", *(f"{k} = {_toml(v)}" for k, v in entry.items())]
    return lines


def _fin_eng(fi: str, en: str) -> dict[str, str]:
    return {"fin": fi, "eng": en}


def _mapping_text(site: str) -> str:
    wide: dict[str, dict[str, Any]] = {
        "potilastunnus": {"patient_id": True, "labels": _fin_eng("Potilastunnus", "Patient id")},
        "sukupuoli": {
            "table": "person",
            "field": "sex",
            "values": {"mies": "male", "nainen": "female"},
            "labels": _fin_eng("Sukupuoli", "Sex"),
        },
        "syntymävuosi": {
            "table": "person",
            "field": "birth_year",
            "labels": _fin_eng("Syntymävuosi", "Year of birth"),
        },
        "indeksipäivä": {
            "table": "person",
            "field": "index_date",
            "labels": _fin_eng("Indeksipäivä", "Index date (cohort entry)"),
        },
        "tupakointi": {
            "table": "observation",
            "code_system": "LOINC",
            "code": "72166-2",
            "values": {_SMOKING_FI[k]: f"SNOMEDCT:{v[0]}" for k, v in SMOKING.items()},
            "labels": _fin_eng("Tupakointi", "Tobacco smoking status"),
        },
    }
    for col, (cond, fi, en) in _CONDITION_COLUMNS.items():
        wide[col] = {
            "table": "condition",
            "code_system": "SNOMEDCT",
            "code": CONDITIONS[cond][0],
            "labels": _fin_eng(fi, en),
        }
    wide["sydäninfarkti_pvm"] = {
        "table": "condition",
        "type": "DateTime",
        "code_system": "SNOMEDCT",
        "code": CONDITIONS["mi"][0],
        "labels": _fin_eng("Sydäninfarkti (pvm)", "Myocardial infarction (date)"),
    }
    for col, (atc, fi, en) in _MEDICATION_COLUMNS.items():
        wide[col] = {
            "table": "medication",
            "code_system": "ATC",
            "code": atc,
            "labels": _fin_eng(fi, en),
        }
    for col, (m, unit, fi, en) in _VITAL_COLUMNS.items():
        wide[col] = {
            "table": "measurement",
            "code_system": "LOINC",
            "code": MEASUREMENTS[m][0],
            "unit": unit,
            "labels": _fin_eng(fi, en),
        }
    wide["mace"] = {
        "table": "observation",
        "code_system": "Pathfinder",
        "code": "MACE",
        "values": {"kyllä": "SNOMEDCT:373066001", "ei": "SNOMEDCT:373067005"},
        "date_column": "seuranta_päättyi",
        "labels": _fin_eng("Vakava sydäntapahtuma (MACE)", "Major adverse cardiac event"),
    }
    wide["seuranta_päättyi"] = {
        "role": "date",
        "labels": _fin_eng("Seuranta päättyi", "End of follow-up: the event, or censoring"),
    }
    wide["suostumus"] = {
        "role": "consent_permissions",
        "labels": _fin_eng("Tutkimussuostumus (DUO)", "Research consent: permitted uses (DUO)"),
    }
    wide["suostumus_kielto"] = {
        "role": "consent_prohibitions",
        "labels": _fin_eng("Suostumuksen rajoitukset (DUO)", "Research consent: prohibited uses"),
    }
    wide["suostumus_tila"] = {
        "role": "consent_status",
        "values": {fi: status for status, fi in _CONSENT_STATUS_FI.items()},
        "labels": _fin_eng("Suostumuksen tila", "Consent status"),
    }
    wide["suostumus_pvm"] = {
        "role": "consent_date",
        "labels": _fin_eng("Suostumuksen päivämäärä", "Date of the consent or its withdrawal"),
    }
    long: dict[str, dict[str, Any]] = {
        "potilastunnus": {"patient_id": True, "labels": _fin_eng("Potilastunnus", "Patient id")},
        "tutkimus": {"role": "code", "labels": _fin_eng("Tutkimuskoodi", "Local test code")},
        "tutkimuksen_nimi": {"role": "label", "labels": _fin_eng("Tutkimus", "Test name")},
        "tulos": {"role": "value", "labels": _fin_eng("Tulos", "Result")},
        "yksikkö": {"role": "unit", "labels": _fin_eng("Yksikkö", "Unit")},
        "näytteenottopäivä": {
            "role": "date",
            "labels": _fin_eng("Näytteenottopäivä", "Sampling date"),
        },
    }
    codes = {
        code: {"table": "measurement", "unit": unit, "labels": _fin_eng(fi, en)}
        for code, (_, fi, unit, en) in LAB_CODES.items()
    }
    head = [
        f"# What the columns of {site}'s research extract mean (cardiofabric.ingest.tabular).",
        "",
        "[extract]",
        'language = "fin"',
        'delimiter = ";"',
        'decimal = ","',
        'date_format = "%d.%m.%Y"',
        "",
        "[tables.potilaat.extract]",
        f'name = "{site} research extract: patients"',
        'description = "One row per patient at cohort entry, with the outcome"',
        'date_column = "indeksipäivä"',
    ]
    lab = [
        "",
        "[tables.laboratorio.extract]",
        f'name = "{site} research extract: laboratory results"',
        'description = "One row per laboratory result, under the laboratory\'s own codes"',
        'layout = "long"',
        f'code_system = "{_LAB_SYSTEM}"',
    ]
    return (
        "\n".join(
            head
            + _tables("tables.potilaat.columns", wide)
            + lab
            + _tables("tables.laboratorio.columns", long)
            + _tables("tables.laboratorio.codes", codes)
        )
        + "\n"
    )


def _codemap_text(site: str) -> str:
    lines = [
        f"# {site}: local laboratory codes → LOINC (cardiofabric.vocab.maps).",
        "",
        "[map]",
        f'site = "{site}"',
        'version = "pathfinder-1"',
        'language = "fin"',
    ]
    for code, (m, fi, unit, _) in LAB_CODES.items():
        lines += [
            "",
            "[[code]]",
            f'system = "{_LAB_SYSTEM}"',
            f'code = "{code}"',
            f'to = "LOINC|{MEASUREMENTS[m][0]}"',
            f"unit = {_toml(unit)}",
            f"label = {_toml(fi)}",
        ]
    return "\n".join(lines) + "\n"


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";", lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def write_tabular(
    patients: list[SimPatient], directory: Path, spec: SiteSpec, *, seed: int
) -> list[Path]:
    """Write ``patients`` as ``spec``'s research extract with its mapping; return the files."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    n = len(patients)
    vitals = [(i, c) for i in range(n) for c in _VITAL_COLUMNS]
    k = max(1, n // 25)
    missing = (
        {vitals[int(j)] for j in rng.choice(len(vitals), size=min(k, len(vitals)), replace=False)}
        if n
        else set()
    )
    labs = [(i, c) for i in range(n) for c in LAB_CODES]
    picks = (
        [labs[int(j)] for j in rng.choice(len(labs), size=min(len(labs), k + 2), replace=False)]
        if n
        else []
    )
    empty_lab, haemolysed = set(picks[:k]), set(picks[k:])
    old = {int(i) for i in rng.choice(n, size=max(1, n // 30), replace=False)} if n else set()
    header = [
        "potilastunnus",
        "sukupuoli",
        "syntymävuosi",
        "indeksipäivä",
        "tupakointi",
        *_CONDITION_COLUMNS,
        "sydäninfarkti_pvm",
        *_MEDICATION_COLUMNS,
        *_VITAL_COLUMNS,
        "mace",
        "seuranta_päättyi",
        *_CONSENT_COLUMNS,
    ]
    wide, long = [], []
    for i, p in enumerate(patients):
        row = [
            p.local_id,
            "mies" if p.sex == "male" else "nainen",
            str(p.birth_year),
            _fi_date(p.index_date),
            _SMOKING_FI[p.smoking],
        ]
        row += ["1" if c in p.conditions else "0" for c, *_ in _CONDITION_COLUMNS.values()]
        row.append(_fi_date(event_date(p)) if "mi" in p.conditions else "")
        row += ["1" if atc in p.medications else "0" for atc, *_ in _MEDICATION_COLUMNS.values()]
        row += [
            "" if (i, col) in missing else _fi_number(float(getattr(p, m)))
            for col, (m, *_) in _VITAL_COLUMNS.items()
        ]
        row += ["kyllä" if p.event else "ei", _fi_date(event_date(p))]
        consent = truth_consent(p)
        withdrawn = consent.status == "withdrawn"
        row += [
            ",".join(DUO_TERMS[t.code].abbreviation for t in consent.permissions),
            ",".join(DUO_TERMS[t.code].abbreviation for t in consent.prohibitions),
            _CONSENT_STATUS_FI[consent.status],
            _fi_date(withdrawal_date(p) if withdrawn else p.index_date),
        ]
        wide.append(row)
        for code, (m, fi, unit, _) in LAB_CODES.items():
            value = float(getattr(p, m))
            if m == "hba1c":
                value = convert(value, "%", unit, analyte="hba1c")
            text = "hemol." if (i, code) in haemolysed else _fi_number(value)
            if (i, code) in empty_lab:
                text = ""
            if m == "creatinine" and i in old:
                code, fi = _OLD_CREATININE
            long.append([p.local_id, code, fi, text, unit, _fi_date(p.index_date)])
    out = [
        _write_csv(directory / "potilaat.csv", header, wide),
        _write_csv(
            directory / "laboratorio.csv",
            [
                "potilastunnus",
                "tutkimus",
                "tutkimuksen_nimi",
                "tulos",
                "yksikkö",
                "näytteenottopäivä",
            ],
            long,
        ),
    ]
    mapping = directory / f"{spec.name}.mapping.toml"
    mapping.write_text(_mapping_text(spec.name), encoding="utf-8")
    codemap = directory / f"{spec.name}.codemap.toml"
    codemap.write_text(_codemap_text(spec.name), encoding="utf-8")
    _, bundle = load_mapping(mapping, "potilaat")
    oca = directory / "potilaat.oca.json"
    oca.write_text(json.dumps(bundle, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return [*out, mapping, codemap, oca]
