"""Harmonised rows: standard codes, site maps, local-language labels, units, and nothing lost."""

from __future__ import annotations

from typing import Any

import pytest

from cardiofabric.ingest.harmonise import coded, coverage, crossmapped, measurement
from cardiofabric.mmio.tables import CONTENT_TABLES
from cardiofabric.vocab.maps import CodeMap

SITE_MAP = CodeMap.from_toml(
    """
[map]
site = "fi-helsinki"
language = "fin"

[[code]]
system = "HUS-LAB"
code = "4567"
to = "LOINC|2089-1"

[[code]]
system = "HUS-LAB"
code = "4568"
to = "LOINC|2089-1"
unit = "mg/dl"                   # this export leaves the unit out

[[code]]
system = "HUS-DIAG"
code = "KMP-H"
to = "SNOMEDCT|233873004"

[[label]]
text = "Sydämen vajaatoiminta"
to = "SNOMEDCT|84114007"

[[label]]
language = "nld"
text = "Boezemfibrilleren"
to = "SNOMEDCT|49436004"

[[label]]
language = "swe"
text = "Hjärtinfarkt, akut"
to = "SNOMEDCT|57054005"

[[label]]
language = "ita"
text = "Cardiomiopatia ipertrofica ostruttiva"
to = "SNOMEDCT|45227007"

[[label]]
language = "deu"
text = "Kardiale Troponin T (hochsensitiv)"
to = "LOINC|67151-1"

[units]
"mmol/ltr" = "mmol/L"
""",
    source="codes.toml",
)


def _content_columns(table: str) -> set[str]:
    return set(CONTENT_TABLES[table].names)


def test_a_standard_code_is_harmonised_and_the_source_kept() -> None:
    row = measurement("http://loinc.org", "2089-1", "LDL-Cholesterin", 212, "mg/dL", "deu")
    # 212 mg/dL LDL cholesterol = 212 × 10 / 386.65 mmol/L
    assert row["value"] == pytest.approx(212 * 10 / 386.65)
    assert (row["code_system"], row["code"], row["unit"]) == ("LOINC", "2089-1", "mmol/L")
    assert row["label"] == "Cholesterol in LDL [Mass/volume] in Serum or Plasma"
    assert row["source_code_system"] == "http://loinc.org"
    assert (row["source_value"], row["source_unit"]) == ("212", "mg/dL")
    assert (row["source_label"], row["source_language"]) == ("LDL-Cholesterin", "deu")
    assert row["mapped"] is True
    assert set(row) <= _content_columns("measurement")


@pytest.mark.parametrize(
    ("system", "code"),
    [
        ("LOINC", "2089-1"),
        ("LN", "2089-1"),
        ("urn:oid:2.16.840.1.113883.6.1", "2089-1"),
        ("http://loinc.org", " 2089-1 "),
    ],
)
def test_fhir_uris_oids_and_short_names_are_all_accepted(system: str, code: str) -> None:
    row = coded(system, code, None, "eng")
    assert (row["code_system"], row["code"], row["mapped"]) == ("LOINC", "2089-1", True)
    assert row["source_code_system"] == system and row["source_code"] == code


def test_local_codes_go_through_the_site_map() -> None:
    row = measurement("HUS-LAB", "4567", "fP-Kol-LDL", "3,4", "mmol/ltr", "fin", code_map=SITE_MAP)
    assert (row["code_system"], row["code"]) == ("LOINC", "2089-1")
    assert row["value"] == pytest.approx(3.4)  # decimal comma read
    assert row["unit"] == "mmol/L"  # the site's own spelling of the unit
    assert (row["source_code_system"], row["source_code"], row["source_label"]) == (
        "HUS-LAB",
        "4567",
        "fP-Kol-LDL",
    )
    assert row["label"] == "Cholesterol in LDL [Mass/volume] in Serum or Plasma"
    # Without the map the same row is kept, unmapped.
    bare = measurement("HUS-LAB", "4567", "fP-Kol-LDL", "3,4", "mmol/l", "fin")
    assert bare["mapped"] is False and bare["code"] is None


def test_the_maps_default_unit_fills_a_missing_unit() -> None:
    row = measurement("HUS-LAB", "4568", None, "193.3", None, "fin", code_map=SITE_MAP)
    assert row["unit"] == "mmol/L"
    assert row["value"] == pytest.approx(5.0, rel=1e-3)
    assert row["source_unit"] is None  # the source gave none, and that is kept


@pytest.mark.parametrize(
    ("language", "label", "system", "code"),
    [
        ("fin", "SYDÄMEN VAJAATOIMINTA", "SNOMEDCT", "84114007"),
        ("nld", "boezemfibrilleren", "SNOMEDCT", "49436004"),
        ("swe", "hjartinfarkt akut", "SNOMEDCT", "57054005"),
        ("ita", "Cardiomiopatia ipertrofica ostruttiva", "SNOMEDCT", "45227007"),
        ("deu", "kardiale troponin t hochsensitiv", "LOINC", "67151-1"),
    ],
)
def test_local_language_labels_go_through_the_site_map(
    language: str, label: str, system: str, code: str
) -> None:
    row = coded("HUS-DIAG", "X-UNKNOWN", label, language, code_map=SITE_MAP)
    assert (row["code_system"], row["code"], row["mapped"]) == (system, code, True)
    assert row["label"] and row["label"] != label  # the English label of the standard code
    assert (row["source_code"], row["source_label"]) == ("X-UNKNOWN", label)


@pytest.mark.parametrize(
    ("language", "label", "code"),
    [
        ("fin", "LDL-kolesteroli", "2089-1"),
        ("swe", "ldl kolesterol", "2089-1"),
        ("nld", "LDL-Cholesterol", "2089-1"),
        ("ita", "Colesterolo LDL", "2089-1"),
        ("deu", "LDL Cholesterin", "2089-1"),
        ("deu", "Herzfrequenz", "8867-4"),
        ("eng", "Systolic blood pressure", "8480-6"),  # the vocabulary's own label
    ],
)
def test_built_in_labels_without_a_site_map(language: str, label: str, code: str) -> None:
    row = measurement(None, None, label, 100, None, language)
    assert (row["code_system"], row["code"], row["mapped"]) == ("LOINC", code, True)


def test_unmapped_rows_are_kept_whole() -> None:
    row = measurement("HUS-LAB", "9999", "fS-Kummallinen", "<0,5", "yks", "fin", code_map=SITE_MAP)
    assert row == {
        "code_system": None,
        "code": None,
        "label": None,
        "source_code_system": "HUS-LAB",
        "source_code": "9999",
        "source_label": "fS-Kummallinen",
        "source_language": "fin",
        "mapped": False,
        "source_value": "<0,5",
        "source_unit": "yks",
        "value": None,  # "<0,5" is not a number; it stays in source_value
        "unit": "yks",
    }
    cond = coded(None, None, "Tuntematon oireyhtymä", "fin", code_map=SITE_MAP)
    assert cond["mapped"] is False and cond["source_label"] == "Tuntematon oireyhtymä"


def test_a_malformed_standard_code_is_kept_unmapped() -> None:
    row = coded("http://loinc.org", "2089", "LDL", "eng")
    assert (row["mapped"], row["code"], row["source_code"]) == (False, None, "2089")


def test_an_unknown_but_well_formed_standard_code_is_mapped_with_the_source_label() -> None:
    row = coded("http://snomed.info/sct", "363346000", "Malignant neoplastic disease", "eng")
    assert (row["code_system"], row["code"], row["mapped"]) == ("SNOMEDCT", "363346000", True)
    assert row["label"] == "Malignant neoplastic disease"
    # A non-English source label is never passed off as the English one.
    assert coded("SNOMED CT", "363346000", "Kwaadaardig", "nld")["label"] is None


def test_icd10_diagnoses_stay_icd10_and_cross_map_on_demand() -> None:
    row = coded("http://hl7.org/fhir/sid/icd-10", "I422", "Cardiomiopatia ipertrofica", "ita")
    assert (row["code_system"], row["code"]) == ("ICD10", "I42.2")
    assert row["label"] == "Other hypertrophic cardiomyopathy"
    assert crossmapped(row, "SNOMEDCT") == ["233873004"]
    assert crossmapped(row, "HPO") == ["HP:0001639"]
    assert crossmapped({"mapped": False}, "SNOMEDCT") == []


def test_substance_concentration_twins_take_the_preferred_code() -> None:
    row = measurement("LOINC", "22748-8", "LDL-kolesterol", 3.1, "mmol/L", "swe")
    assert (row["code"], row["source_code"], row["value"]) == ("2089-1", "22748-8", 3.1)
    hba1c = measurement("LOINC", "59261-8", "HbA1c (IFCC)", 48, "mmol/mol", "swe")
    assert (hba1c["code"], hba1c["unit"]) == ("4548-4", "%")
    assert hba1c["value"] == pytest.approx(6.54, abs=0.01)  # 48 mmol/mol = 6.5 %


@pytest.mark.parametrize(
    ("code", "value", "unit", "expected", "canonical"),
    [
        ("2093-3", 200, "mg/dL", 5.17, "mmol/L"),  # total cholesterol
        ("2571-8", 150, "mg/dl", 1.694, "mmol/L"),  # triglycerides
        ("2345-7", 126, "mg/dL", 6.99, "mmol/L"),  # glucose
        ("2160-0", 1.0, "mg/dL", 88.4, "umol/L"),  # creatinine
        ("8480-6", 16, "kPa", 120.0, "mm[Hg]"),
        ("89579-7", 0.04, "ng/mL", 40.0, "ng/L"),  # troponin I hs
        ("33762-6", 125, "pg/mL", 125.0, "ng/L"),  # NT-proBNP
        ("8636-3", 0.44, "s", 440.0, "ms"),
        ("29463-7", 154, "lb", 69.85, "kg"),
        ("8302-2", 70, "in", 177.8, "cm"),
    ],
)
def test_values_arrive_in_the_canonical_unit(
    code: str, value: float, unit: str, expected: float, canonical: str
) -> None:
    row = measurement("LOINC", code, None, value, unit, "eng")
    assert row["unit"] == canonical
    assert row["value"] == pytest.approx(expected, rel=2e-3)


def test_unconvertible_or_unitless_values_are_not_guessed() -> None:
    odd = measurement("LOINC", "2089-1", None, 42, "U/L", "eng")
    assert (odd["value"], odd["unit"], odd["mapped"]) == (42.0, "U/L", True)
    unitless = measurement("LOINC", "2089-1", None, 131, None, "eng")
    assert (unitless["value"], unitless["unit"]) == (131.0, None)
    assert measurement("LOINC", "8867-4", None, True, "/min", "eng")["value"] is None


def test_coverage_per_source_code_system() -> None:
    rows: list[dict[str, Any]] = [
        coded("http://loinc.org", "2089-1", None, "eng"),
        coded("http://loinc.org", "2089", None, "eng"),
        coded("HUS-LAB", "4567", None, "fin", code_map=SITE_MAP),
        coded("HUS-LAB", "0000", None, "fin", code_map=SITE_MAP),
        coded("HUS-LAB", "0001", None, "fin", code_map=SITE_MAP),
        coded(None, None, "Sydämen vajaatoiminta", "fin", code_map=SITE_MAP),
        {"sex": "female"},  # a person row: no code to count
    ]
    assert coverage(rows) == {
        "http://loinc.org": {"mapped": 1, "total": 2},
        "HUS-LAB": {"mapped": 1, "total": 3},
        "SNOMEDCT": {"mapped": 1, "total": 1},  # found by label: counted under its system
    }
    assert coverage([]) == {}
