"""Curated cardiology conditions in SNOMED CT, ICD-10 and HPO, with cross-maps between them.

Sources and versions:

- SNOMED CT International Edition. Cardiomyopathy, HCM, HOCM, DCM, CAD, acute MI, congestive
  heart failure, AF and cardiac arrhythmia are checked against DICOM PS3.16 CID 3700 "Cath
  Diagnosis" (2022) and the Genomics England HPO→SNOMED CT concept map (SNOMED CT UK
  2024-06-05). The others are long-standing International Edition concepts not re-checked
  against a release here; the four least certain (ARVC, Brugada syndrome, familial HCM and the
  second HOCM concept) are marked where they stand.
- ICD-10: WHO ICD-10 2019 (titles in WHO's British spelling); ICD-10-CM FY2024 for the two
  US-only subdivisions (``I45.81``, ``E78.01``).
- HPO: Human Phenotype Ontology release 2025-11-24, checked term by term (name and parent) with
  ``hpo3`` (``pyhpo.Ontology``); ``tests/vocab/test_codes.py`` repeats the check where hpo3 is
  installed.

Hierarchy (``parents``): SNOMED CT and HPO is-a links where both ends are curated here. One is a
deliberate grouping, not SNOMED CT's: myocardial infarction sits under coronary artery disease
(SNOMED CT has both under 414545008 |Ischemic heart disease|) so that a query for CAD finds the
infarcts, as ICD-10's I20–I25 block does. ICD-10 parents are the three-character categories.

Cross-maps (:data:`CROSSMAP`) follow FHIR ConceptMap (R4) ``equivalence``: the relation of the
target to the source, ``equivalent``, ``wider`` (the target means more) or ``narrower``. They are
stated once, SNOMED CT → ICD-10 and SNOMED CT → HPO; reverse and ICD-10 ↔ HPO pairs are derived
in :mod:`cardiofabric.vocab.codes`. WHO ICD-10 has no code of its own for long QT syndrome
(indexed to I45.8), Brugada syndrome (I49.8), ARVC (I42.8) or familial hypercholesterolaemia
(an inclusion term of E78.0): those maps are ``wider``.
"""

from __future__ import annotations

from dataclasses import replace

from cardiofabric.vocab.systems import Code

__all__ = ["CONDITIONS", "CONDITION_CODES", "CROSSMAP", "SMOKING_STATUS"]


def _s(code: str, label: str, *parents: str) -> Code:
    return Code("SNOMEDCT", code, label, parents=parents)


def _i(code: str, label: str, system: str = "ICD10") -> Code:
    # The parent of an ICD-10 subcategory is its three-character category (WHO ICD-10 Vol. 2).
    return Code(system, code, label, parents=(code[:3],) if "." in code else ())


def _h(code: str, label: str, *parents: str) -> Code:
    return Code("HPO", code, label, parents=parents)


_CODES: tuple[Code, ...] = (
    # -- SNOMED CT -------------------------------------------------------------------------
    _s("85898001", "Cardiomyopathy"),
    _s("233873004", "Hypertrophic cardiomyopathy", "85898001"),
    _s("45227007", "Hypertrophic obstructive cardiomyopathy", "233873004"),
    # Not confirmed against a release here: 195020003 and 83978005 as listed among ClinVar's
    # HCM concepts; 281170005 (ARVC) and 418818005 (Brugada) from the International Edition.
    _s("195020003", "Hypertrophic cardiomyopathy with obstruction", "233873004"),
    _s("83978005", "Primary familial hypertrophic cardiomyopathy", "233873004"),
    _s("399020009", "Dilated cardiomyopathy", "85898001"),
    _s("281170005", "Arrhythmogenic right ventricular cardiomyopathy", "85898001"),
    _s("9651007", "Long QT syndrome"),
    _s("418818005", "Brugada syndrome"),
    _s("13644009", "Hypercholesterolemia"),
    _s("398036000", "Familial hypercholesterolemia", "13644009"),
    _s("414545008", "Ischemic heart disease"),
    _s("53741008", "Coronary arteriosclerosis", "414545008"),
    _s("22298006", "Myocardial infarction", "53741008"),
    _s("57054005", "Acute myocardial infarction", "22298006"),
    _s("698247007", "Cardiac arrhythmia"),
    _s("49436004", "Atrial fibrillation", "698247007"),
    _s("84114007", "Heart failure"),
    _s("42343007", "Congestive heart failure", "84114007"),
    _s("230690007", "Cerebrovascular accident"),
    _s("422504002", "Ischemic stroke", "230690007"),
    _s("38341003", "Hypertensive disorder, systemic arterial"),
    _s("59621000", "Essential hypertension", "38341003"),
    _s("73211009", "Diabetes mellitus"),
    _s("44054006", "Diabetes mellitus type 2", "73211009"),
    # smoking status (findings; the answers to LOINC 72166-2 "Tobacco smoking status")
    _s("77176002", "Smoker"),
    _s("449868002", "Smokes tobacco daily", "77176002"),
    _s("8517006", "Ex-smoker"),
    _s("266919005", "Never smoked tobacco"),
    # -- ICD-10 (WHO 2019) -----------------------------------------------------------------
    _i("I42", "Cardiomyopathy"),
    _i("I42.0", "Dilated cardiomyopathy"),
    _i("I42.1", "Obstructive hypertrophic cardiomyopathy"),
    _i("I42.2", "Other hypertrophic cardiomyopathy"),
    _i("I42.8", "Other cardiomyopathies"),
    _i("I42.9", "Cardiomyopathy, unspecified"),
    _i("I45", "Other conduction disorders"),
    _i("I45.8", "Other specified conduction disorders"),
    _i("I49", "Other cardiac arrhythmias"),
    _i("I49.8", "Other specified cardiac arrhythmias"),
    _i("E78", "Disorders of lipoprotein metabolism and other lipidaemias"),
    _i("E78.0", "Pure hypercholesterolaemia"),
    _i("I21", "Acute myocardial infarction"),
    _i("I25", "Chronic ischaemic heart disease"),
    _i("I25.1", "Atherosclerotic heart disease"),
    _i("I25.2", "Old myocardial infarction"),
    _i("I48", "Atrial fibrillation and flutter"),
    _i("I50", "Heart failure"),
    _i("I50.0", "Congestive heart failure"),
    _i("I63", "Cerebral infarction"),
    _i("I64", "Stroke, not specified as haemorrhage or infarction"),
    _i("I10", "Essential (primary) hypertension"),
    _i("E11", "Type 2 diabetes mellitus"),
    # ICD-10-CM subdivisions that WHO ICD-10 lacks
    _i("I45.81", "Long QT syndrome", "ICD10CM"),
    _i("E78.01", "Familial hypercholesterolemia", "ICD10CM"),
    # -- HPO (2025-11-24) ------------------------------------------------------------------
    _h("HP:0001638", "Cardiomyopathy"),
    _h("HP:0001639", "Hypertrophic cardiomyopathy", "HP:0001638"),
    _h("HP:0001644", "Dilated cardiomyopathy", "HP:0001638"),
    _h("HP:0011663", "Right ventricular cardiomyopathy", "HP:0001638"),
    _h("HP:0001712", "Left ventricular hypertrophy"),
    _h("HP:0012664", "Reduced left ventricular ejection fraction"),
    _h("HP:0031547", "Abnormal QT interval"),
    _h("HP:0001657", "Prolonged QT interval", "HP:0031547"),
    _h("HP:0005184", "Prolonged QTc interval", "HP:0001657"),
    _h("HP:0003107", "Abnormal circulating cholesterol concentration"),
    _h("HP:0003124", "Hypercholesterolemia", "HP:0003107"),
    _h("HP:0003141", "Increased LDL cholesterol concentration"),
    _h("HP:0001677", "Coronary artery atherosclerosis"),
    _h("HP:0033678", "Acute coronary syndrome"),
    _h("HP:0001658", "Myocardial infarction", "HP:0033678"),
    _h("HP:0001692", "Atrial arrhythmia"),
    _h("HP:0005110", "Atrial fibrillation", "HP:0001692"),
    _h("HP:0001635", "Congestive heart failure"),
    _h("HP:0001297", "Stroke"),
    _h("HP:0002140", "Ischemic stroke", "HP:0001297"),
    _h("HP:0032263", "Increased blood pressure"),
    _h("HP:0000822", "Hypertension", "HP:0032263"),
    _h("HP:0000819", "Diabetes mellitus"),
    _h("HP:0005978", "Type II diabetes mellitus", "HP:0000819"),
)

_CURATED = {(c.system, c.code) for c in _CODES}
# Keep only parents curated here (the ICD-10-CM subdivisions' categories are not).
CONDITION_CODES: tuple[Code, ...] = tuple(
    replace(c, parents=tuple(p for p in c.parents if (c.system, p) in _CURATED)) for c in _CODES
)

_EQ, _WIDER, _NARROWER = "equivalent", "wider", "narrower"

#: (SNOMED CT code, target system, target code, relation of the target to the SNOMED code).
CROSSMAP: tuple[tuple[str, str, str, str], ...] = (
    ("85898001", "ICD10", "I42", _EQ),
    ("85898001", "HPO", "HP:0001638", _EQ),
    ("233873004", "ICD10", "I42.1", _NARROWER),
    ("233873004", "ICD10", "I42.2", _NARROWER),
    ("233873004", "HPO", "HP:0001639", _EQ),
    ("45227007", "ICD10", "I42.1", _EQ),
    ("45227007", "HPO", "HP:0001639", _WIDER),
    ("195020003", "ICD10", "I42.1", _EQ),
    ("195020003", "HPO", "HP:0001639", _WIDER),
    ("399020009", "ICD10", "I42.0", _EQ),
    ("399020009", "HPO", "HP:0001644", _EQ),
    ("281170005", "ICD10", "I42.8", _WIDER),
    ("281170005", "HPO", "HP:0011663", _WIDER),
    ("9651007", "ICD10", "I45.8", _WIDER),
    ("9651007", "ICD10CM", "I45.81", _EQ),
    ("9651007", "HPO", "HP:0001657", _WIDER),
    ("418818005", "ICD10", "I49.8", _WIDER),
    ("13644009", "ICD10", "E78.0", _EQ),
    ("13644009", "HPO", "HP:0003124", _EQ),
    ("398036000", "ICD10", "E78.0", _WIDER),
    ("398036000", "ICD10CM", "E78.01", _EQ),
    ("398036000", "HPO", "HP:0003124", _WIDER),
    ("53741008", "ICD10", "I25.1", _EQ),
    ("53741008", "HPO", "HP:0001677", _EQ),
    ("22298006", "ICD10", "I21", _NARROWER),
    ("22298006", "ICD10", "I25.2", _NARROWER),
    ("22298006", "HPO", "HP:0001658", _EQ),
    ("57054005", "ICD10", "I21", _EQ),
    ("57054005", "HPO", "HP:0001658", _WIDER),
    ("49436004", "ICD10", "I48", _WIDER),
    ("49436004", "HPO", "HP:0005110", _EQ),
    ("84114007", "ICD10", "I50", _EQ),
    ("84114007", "HPO", "HP:0001635", _NARROWER),
    ("42343007", "ICD10", "I50.0", _EQ),
    ("42343007", "HPO", "HP:0001635", _EQ),
    ("230690007", "ICD10", "I64", _NARROWER),
    ("230690007", "ICD10", "I63", _NARROWER),
    ("230690007", "HPO", "HP:0001297", _EQ),
    ("422504002", "ICD10", "I63", _EQ),
    ("422504002", "HPO", "HP:0002140", _EQ),
    ("38341003", "ICD10", "I10", _NARROWER),
    ("38341003", "HPO", "HP:0000822", _EQ),
    ("59621000", "ICD10", "I10", _EQ),
    ("59621000", "HPO", "HP:0000822", _WIDER),
    ("73211009", "HPO", "HP:0000819", _EQ),
    ("44054006", "ICD10", "E11", _EQ),
    ("44054006", "HPO", "HP:0005978", _EQ),
)

#: The Pathfinder cohort's condition names (and a few more) → their SNOMED CT code.
CONDITIONS: dict[str, str] = {
    "hcm": "233873004",
    "dcm": "399020009",
    "arvc": "281170005",
    "lqts": "9651007",
    "brugada": "418818005",
    "fh": "398036000",
    "cad": "53741008",
    "mi": "22298006",
    "af": "49436004",
    "hf": "84114007",
    "stroke": "230690007",
    "hypertension": "38341003",
    "diabetes": "44054006",
}

#: Smoking status (never / former / current) → SNOMED CT finding.
SMOKING_STATUS: dict[str, str] = {
    "never": "266919005",
    "former": "8517006",
    "current": "77176002",
}
