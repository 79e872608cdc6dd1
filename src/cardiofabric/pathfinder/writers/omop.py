"""Write a site's truth as an OMOP CDM v5.4 extract (se-uppsala, de-berlin).

One file per CDM table (column lists of the OHDSI OMOP CDM v5.4 DDL): ``person``,
``observation_period``, ``death``, ``condition_occurrence``, ``measurement``, ``observation``,
``drug_exposure``, ``procedure_occurrence`` and a small ``concept`` table covering every concept
id used. Swedish sites write comma-separated ``.csv``; German sites tab-separated ``.tsv.gz``.

How the truth is expressed:

- conditions (``hcm``, ``lqts``, ``fh``, ``diabetes``, ``hypertension``, ``mi``): SNOMED CT
  standard concept, ICD-10 source concept, label in the site's language as source value; onset
  at the index date, except myocardial infarction, dated at the event (index + time to event);
- measurements at the index date: LOINC standard concepts, values in the site's units (lipids in
  ``SiteSpec.lipid_unit``, so mg/dL at de-berlin) with enough digits that the harmonised value
  equals the truth to 1e-9; source labels in the site's language;
- medications: ATC concepts (standard and source), the drug's name as source value;
- smoking: observation LOINC 72166-2 "Tobacco smoking status" with a SNOMED CT answer;
- outcome: one observation per person, the local concept ``Pathfinder/MACE`` (no standard code
  exists for the composite; ingest harmonises it to ``PATHFINDER``/``MACE``, see
  :mod:`cardiofabric.vocab.study`), answer SNOMED CT 373066001 Yes / 373067005 No, dated at the
  event or at the end of follow-up; ``observation_period`` runs from the index date to the same day;
- research consent: the DUO terms of :func:`~cardiofabric.pathfinder.writers.fhir.truth_consent`
  as consent observations (the convention of :mod:`cardiofabric.ingest.omop`): one row per term
  at the index date, ``permit`` or ``deny`` (GRU without genomic data: ``deny`` DUO:0000016), the
  code in ``value_as_string`` and the abbreviation in ``value_source_value``; a withdrawn consent
  gets a ``withdrawn`` row at :func:`withdrawal_date`, two years after the index date.

Concept ids: 8507/8532 are the OMOP Gender concepts; every other id is assigned here in the range
the CDM reserves for local concepts (above 2 000 000 000), and ``concept.csv`` is their authority.

The mess of a real extract, deterministic by seed: a few measurements without a value; a few
creatinine results under a local code with concept id 0 ("No matching concept"), which must show
as unmapped after ingest; and one or two values with a decimal comma, which the adapter rejects.
"""

from __future__ import annotations

import csv
import gzip
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from cardiofabric.pathfinder.cohort import SimPatient, SiteSpec, event_date
from cardiofabric.pathfinder.writers.fhir import truth_consent
from cardiofabric.vocab.duo import DUO_TERMS
from cardiofabric.vocab.units import convert

__all__ = [
    "CONDITIONS",
    "LIPIDS",
    "MEASUREMENTS",
    "MEDICATIONS",
    "SMOKING",
    "event_date",
    "source_value_text",
    "withdrawal_date",
    "write_omop",
]

#: SimPatient measurement → (LOINC code, English name, canonical UCUM unit, analyte).
MEASUREMENTS: dict[str, tuple[str, str, str, str | None]] = {
    "sbp": ("8480-6", "Systolic blood pressure", "mm[Hg]", None),
    "dbp": ("8462-4", "Diastolic blood pressure", "mm[Hg]", None),
    "heart_rate": ("8867-4", "Heart rate", "/min", None),
    "ldl": (
        "2089-1",
        "Cholesterol in LDL [Mass/volume] in Serum or Plasma",
        "mmol/L",
        "cholesterol",
    ),
    "hdl": (
        "2085-9",
        "Cholesterol in HDL [Mass/volume] in Serum or Plasma",
        "mmol/L",
        "cholesterol",
    ),
    "total_cholesterol": (
        "2093-3",
        "Cholesterol [Mass/volume] in Serum or Plasma",
        "mmol/L",
        "cholesterol",
    ),
    "triglycerides": (
        "2571-8",
        "Triglyceride [Mass/volume] in Serum or Plasma",
        "mmol/L",
        "triglycerides",
    ),
    "hba1c": ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", None),
    "creatinine": ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "umol/L", "creatinine"),
}
LIPIDS = frozenset({"ldl", "hdl", "total_cholesterol", "triglycerides"})
_SOURCE_UNIT = {
    "sbp": "mmHg",
    "dbp": "mmHg",
    "heart_rate": "/min",
    "hba1c": "%",
    "creatinine": "µmol/L",
}

#: SimPatient condition → (SNOMED CT code, ICD-10 code, English name).
CONDITIONS: dict[str, tuple[str, str, str]] = {
    "hcm": ("233873004", "I42.2", "Hypertrophic cardiomyopathy"),
    "lqts": ("9651007", "I45.8", "Long QT syndrome"),
    "fh": ("398036000", "E78.0", "Familial hypercholesterolemia"),
    "diabetes": ("44054006", "E11", "Diabetes mellitus type 2"),
    "hypertension": ("38341003", "I10", "Hypertensive disorder, systemic arterial"),
    "mi": ("22298006", "I21", "Myocardial infarction"),
}
#: ATC code → English name.
MEDICATIONS = {"C10AA05": "atorvastatin", "C09AA05": "ramipril", "A10BA02": "metformin"}
#: Smoking status → (SNOMED CT code, English name); the question is LOINC 72166-2.
SMOKING = {
    "never": ("266919005", "Never smoked tobacco"),
    "former": ("8517006", "Ex-smoker"),
    "current": ("77176002", "Smoker"),
}

# Source labels: name → (Swedish, German).
_LABELS: dict[str, tuple[str, str]] = {
    "hcm": ("Hypertrofisk kardiomyopati", "Hypertrophe Kardiomyopathie"),
    "lqts": ("Långt QT-syndrom", "Long-QT-Syndrom"),
    "fh": ("Familjär hyperkolesterolemi", "Familiäre Hypercholesterinämie"),
    "diabetes": ("Typ 2-diabetes", "Diabetes mellitus Typ 2"),
    "hypertension": ("Essentiell hypertoni", "Essentielle Hypertonie"),
    "mi": ("Akut hjärtinfarkt", "Akuter Myokardinfarkt"),
    "sbp": ("Systoliskt blodtryck", "Systolischer Blutdruck"),
    "dbp": ("Diastoliskt blodtryck", "Diastolischer Blutdruck"),
    "heart_rate": ("Hjärtfrekvens", "Herzfrequenz"),
    "ldl": ("P-LDL-kolesterol", "LDL-Cholesterin"),
    "hdl": ("P-HDL-kolesterol", "HDL-Cholesterin"),
    "total_cholesterol": ("P-Kolesterol", "Cholesterin gesamt"),
    "triglycerides": ("P-Triglycerid", "Triglyceride"),
    "hba1c": ("B-HbA1c", "HbA1c"),
    "creatinine": ("P-Kreatinin", "Kreatinin"),
    "local_creatinine": ("P-Kreatinin (lokal metod)", "Kreatinin (Hausmethode)"),
    "smoking": ("Tobaksrökning", "Raucherstatus"),
    "never": ("Aldrig rökt", "Nie geraucht"),
    "former": ("Före detta rökare", "Ehemaliger Raucher"),
    "current": ("Rökare", "Raucher"),
    "mace": (
        "Allvarlig kardiovaskulär händelse (MACE)",
        "Schweres kardiovaskuläres Ereignis (MACE)",
    ),
    "yes": ("ja", "ja"),
    "no": ("nej", "nein"),
    "consent": ("Samtycke till forskning", "Einwilligung in die Forschung"),
    "withdrawn": ("återkallat", "widerrufen"),
    "male": ("M", "m"),
    "female": ("K", "w"),
}

_GENDER = {"male": 8507, "female": 8532}  # OMOP Gender vocabulary
_EHR = 32817  # Type Concept "EHR": how every row here was recorded (CDM v5.4 *_type_concept_id)
_LOCAL_BASE = 2_000_000_000  # CDM convention: ids above this are site-local concepts


def _cols(names: str) -> list[str]:
    return names.split()


# Column lists of the OMOP CDM v5.4 DDL, in order.
_COLUMNS: dict[str, list[str]] = {
    "person": _cols("""person_id gender_concept_id year_of_birth month_of_birth day_of_birth
        birth_datetime race_concept_id ethnicity_concept_id location_id provider_id care_site_id
        person_source_value gender_source_value gender_source_concept_id race_source_value
        race_source_concept_id ethnicity_source_value ethnicity_source_concept_id"""),
    "observation_period": _cols("""observation_period_id person_id observation_period_start_date
        observation_period_end_date period_type_concept_id"""),
    "death": _cols("""person_id death_date death_datetime death_type_concept_id cause_concept_id
        cause_source_value cause_source_concept_id"""),
    "condition_occurrence": _cols("""condition_occurrence_id person_id condition_concept_id
        condition_start_date condition_start_datetime condition_end_date condition_end_datetime
        condition_type_concept_id condition_status_concept_id stop_reason provider_id
        visit_occurrence_id visit_detail_id condition_source_value condition_source_concept_id
        condition_status_source_value"""),
    "measurement": _cols("""measurement_id person_id measurement_concept_id measurement_date
        measurement_datetime measurement_time measurement_type_concept_id operator_concept_id
        value_as_number value_as_concept_id unit_concept_id range_low range_high provider_id
        visit_occurrence_id visit_detail_id measurement_source_value
        measurement_source_concept_id unit_source_value unit_source_concept_id
        value_source_value measurement_event_id meas_event_field_concept_id"""),
    "observation": _cols("""observation_id person_id observation_concept_id observation_date
        observation_datetime observation_type_concept_id value_as_number value_as_string
        value_as_concept_id qualifier_concept_id unit_concept_id provider_id visit_occurrence_id
        visit_detail_id observation_source_value observation_source_concept_id
        unit_source_value qualifier_source_value value_source_value observation_event_id
        obs_event_field_concept_id"""),
    "drug_exposure": _cols("""drug_exposure_id person_id drug_concept_id drug_exposure_start_date
        drug_exposure_start_datetime drug_exposure_end_date drug_exposure_end_datetime
        verbatim_end_date drug_type_concept_id stop_reason refills quantity days_supply sig
        route_concept_id lot_number provider_id visit_occurrence_id visit_detail_id
        drug_source_value drug_source_concept_id route_source_value
        dose_unit_source_value"""),
    "procedure_occurrence": _cols("""procedure_occurrence_id person_id procedure_concept_id
        procedure_date procedure_datetime procedure_end_date procedure_end_datetime
        procedure_type_concept_id modifier_concept_id quantity provider_id visit_occurrence_id
        visit_detail_id procedure_source_value procedure_source_concept_id
        modifier_source_value"""),
    "concept": _cols("""concept_id concept_name domain_id vocabulary_id concept_class_id
        standard_concept concept_code valid_start_date valid_end_date invalid_reason"""),
}


def withdrawal_date(p: SimPatient) -> str:
    """The day a withdrawn patient revoked the consent: two years after the index date."""
    start = date.fromisoformat(p.index_date)
    return (start + timedelta(days=round(2 * 365.25))).isoformat()


def source_value_text(value: float) -> str:
    """A value as the sources write it: 12 significant digits, so 1e-9 relative survives."""
    return f"{value:.12g}"


class _Concepts:
    """The concept table being written: (vocabulary, code) → id, assigned in a fixed order."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}

    def id(
        self, vocabulary: str, code: str, name: str, domain: str, cls: str, std: str = "S"
    ) -> int:
        if (vocabulary, code) not in self.rows:
            self.rows[(vocabulary, code)] = {
                "concept_id": _LOCAL_BASE + 1 + len(self.rows),
                "concept_name": name,
                "domain_id": domain,
                "vocabulary_id": vocabulary,
                "concept_class_id": cls,
                "standard_concept": std,
                "concept_code": code,
                "valid_start_date": "1970-01-01",
                "valid_end_date": "2099-12-31",
            }
        return int(self.rows[(vocabulary, code)]["concept_id"])


def _write(path: Path, table: str, rows: list[dict[str, Any]], tab: bool) -> Path:
    buf = io.StringIO()
    w = csv.DictWriter(buf, _COLUMNS[table], delimiter="\t" if tab else ",", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    data = buf.getvalue().encode("utf-8")
    if tab:
        out = io.BytesIO()
        # mtime 0 and no file name: the same truth gives the same bytes (RFC 1952 header).
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
            gz.write(data)
        data = out.getvalue()
    path.write_bytes(data)
    return path


def _mess(
    n: int, rng: np.random.Generator
) -> tuple[set[tuple[int, str]], set[tuple[int, str]], set[int]]:
    """(missing values, decimal-comma values, patients with a local creatinine code)."""
    pairs = [(i, m) for i in range(n) for m in MEASUREMENTS]
    k_missing, k_comma = max(1, n // 25), min(2, n)
    picks = [pairs[int(k)] for k in rng.choice(len(pairs), k_missing + k_comma, replace=False)]
    local = {int(i) for i in rng.choice(n, size=max(1, n // 30), replace=False)}
    return set(picks[:k_missing]), set(picks[k_missing:]), local


def write_omop(
    patients: list[SimPatient], directory: Path, spec: SiteSpec, *, seed: int
) -> list[Path]:
    """Write ``patients`` as an OMOP CDM v5.4 extract of ``spec``'s site; return the files."""
    rng = np.random.default_rng(seed)
    lang = 1 if spec.language == "deu" else 0
    lab = {k: v[lang] for k, v in _LABELS.items()}
    tab = spec.language == "deu"
    directory.mkdir(parents=True, exist_ok=True)
    cx = _Concepts()
    t: dict[str, list[dict[str, Any]]] = {name: [] for name in _COLUMNS if name != "concept"}
    missing, comma, local = _mess(len(patients), rng) if patients else (set(), set(), set())
    yes = cx.id("SNOMED", "373066001", "Yes", "Meas Value", "Qualifier Value")
    no = cx.id("SNOMED", "373067005", "No", "Meas Value", "Qualifier Value")
    mace = cx.id("Pathfinder", "MACE", "Major adverse cardiac event", "Observation", "Event", "")
    smoking = cx.id(
        "LOINC", "72166-2", "Tobacco smoking status", "Observation", "Clinical Observation"
    )
    # The consent concept of the ingest.omop convention (FHIR R4 Consent.category's LOINC code).
    consent = cx.id("LOINC", "59284-0", "Patient Consent", "Observation", "Clinical Observation")

    def add(table: str, **row: Any) -> None:
        row.setdefault(f"{table}_id", len(t[table]) + 1)
        t[table].append({k: v for k, v in row.items() if k in _COLUMNS[table]})

    for i, p in enumerate(patients):
        pid = i + 1
        add(
            "person",
            person_id=pid,
            gender_concept_id=_GENDER[p.sex],
            year_of_birth=p.birth_year,
            race_concept_id=0,
            ethnicity_concept_id=0,
            person_source_value=p.local_id,
            gender_source_value=lab[p.sex],
            gender_source_concept_id=0,
        )
        end = event_date(p)
        add(
            "observation_period",
            person_id=pid,
            observation_period_start_date=p.index_date,
            observation_period_end_date=end,
            period_type_concept_id=_EHR,
        )
        for cond in p.conditions:
            snomed, icd, name = CONDITIONS[cond]
            add(
                "condition_occurrence",
                person_id=pid,
                condition_concept_id=cx.id("SNOMED", snomed, name, "Condition", "Clinical Finding"),
                condition_start_date=end if cond == "mi" else p.index_date,
                condition_type_concept_id=_EHR,
                condition_source_value=lab[cond],
                condition_source_concept_id=cx.id(
                    "ICD10", icd, name, "Condition", "ICD10 code", ""
                ),
            )
        for m, (code, name, unit, analyte) in MEASUREMENTS.items():
            src_unit = spec.lipid_unit if m in LIPIDS else _SOURCE_UNIT[m]
            value = float(getattr(p, m))
            if m in LIPIDS and src_unit != unit:
                value = convert(value, unit, src_unit, analyte=analyte)
            text = "" if (i, m) in missing else source_value_text(value)
            if (i, m) in comma:
                text = f"{value:.1f}".replace(".", ",")
            is_local = m == "creatinine" and i in local
            vital = m in ("sbp", "dbp", "heart_rate")
            add(
                "measurement",
                person_id=pid,
                measurement_concept_id=0
                if is_local
                else cx.id(
                    "LOINC",
                    code,
                    name,
                    "Measurement",
                    "Clinical Observation" if vital else "Lab Test",
                ),
                measurement_date=p.index_date,
                measurement_datetime=f"{p.index_date} 08:30:00",
                measurement_type_concept_id=_EHR,
                value_as_number=text,
                unit_concept_id=cx.id("UCUM", src_unit, src_unit, "Unit", "Unit"),
                measurement_source_value=lab["local_creatinine" if is_local else m],
                measurement_source_concept_id=0,
                unit_source_value=src_unit,
                value_source_value=text,
            )
        for atc in p.medications:
            drug = cx.id("ATC", atc, MEDICATIONS[atc], "Drug", "ATC 5th")
            add(
                "drug_exposure",
                person_id=pid,
                drug_concept_id=drug,
                drug_exposure_start_date=p.index_date,
                drug_type_concept_id=_EHR,
                drug_source_value=MEDICATIONS[atc].title(),
                drug_source_concept_id=drug,
            )
        snomed, name = SMOKING[p.smoking]
        answer = cx.id("SNOMED", snomed, name, "Meas Value", "Clinical Finding")
        for concept, when, value, text, label in (
            (smoking, p.index_date, answer, lab[p.smoking], lab["smoking"]),
            (mace, end, yes if p.event else no, lab["yes" if p.event else "no"], lab["mace"]),
        ):
            add(
                "observation",
                person_id=pid,
                observation_concept_id=concept,
                observation_date=when,
                observation_type_concept_id=_EHR,
                value_as_concept_id=value,
                observation_source_value=label,
                observation_source_concept_id=0,
                value_source_value=text,
            )
        truth = truth_consent(p)
        rows = [("permit", t.code) for t in truth.permissions]
        rows += [("deny", t.code) for t in truth.prohibitions]
        for qualifier, code in rows:
            add(
                "observation",
                person_id=pid,
                observation_concept_id=consent,
                observation_date=p.index_date,
                observation_type_concept_id=_EHR,
                value_as_string=code,
                qualifier_source_value=qualifier,
                observation_source_value=lab["consent"],
                observation_source_concept_id=0,
                value_source_value=DUO_TERMS[code].abbreviation,
            )
        if truth.status == "withdrawn":
            add(
                "observation",
                person_id=pid,
                observation_concept_id=consent,
                observation_date=withdrawal_date(p),
                observation_type_concept_id=_EHR,
                qualifier_source_value="withdrawn",
                observation_source_value=lab["consent"],
                observation_source_concept_id=0,
                value_source_value=lab["withdrawn"],
            )
    suffix = ".tsv.gz" if tab else ".csv"
    written = [_write(directory / f"{name}{suffix}", name, rows, tab) for name, rows in t.items()]
    concepts = sorted(cx.rows.values(), key=lambda r: int(r["concept_id"]))
    written.append(_write(directory / f"concept{suffix}", "concept", concepts, tab))
    return written
