"""A small curated cardiology vocabulary: codes, canonical units and analytes.

LOINC codes and names from LOINC 2.77 (Regenstrief Institute); SNOMED CT codes from the
International Edition; ICD-10 from WHO ICD-10 2019; HPO from the Human Phenotype Ontology.
Each entry is a code a harmonised row may carry, with the canonical UCUM unit of its values.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CODES", "Code", "lookup"]


@dataclass(frozen=True)
class Code:
    system: str  # LOINC | SNOMEDCT | ICD10 | HPO | ATC
    code: str
    label: str
    unit: str | None = None  # canonical UCUM unit for numeric results
    analyte: str | None = None  # for molar-mass conversions (vocab.units.MOLAR_MASS)


_ENTRIES = (
    # Lipids, cardiac markers, metabolic (LOINC)
    Code(
        "LOINC", "2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mmol/L", "cholesterol"
    ),
    Code(
        "LOINC",
        "2089-1",
        "Cholesterol in LDL [Mass/volume] in Serum or Plasma",
        "mmol/L",
        "cholesterol",
    ),
    Code(
        "LOINC",
        "18262-6",
        "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay",
        "mmol/L",
        "cholesterol",
    ),
    Code(
        "LOINC",
        "2085-9",
        "Cholesterol in HDL [Mass/volume] in Serum or Plasma",
        "mmol/L",
        "cholesterol",
    ),
    Code(
        "LOINC",
        "2571-8",
        "Triglyceride [Mass/volume] in Serum or Plasma",
        "mmol/L",
        "triglycerides",
    ),
    Code("LOINC", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%"),
    Code("LOINC", "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "umol/L", "creatinine"),
    Code(
        "LOINC",
        "33762-6",
        "Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma",
        "ng/L",
    ),
    Code(
        "LOINC",
        "89579-7",
        "Troponin I.cardiac [Mass/volume] in Serum or Plasma by High sensitivity method",
        "ng/L",
    ),
    # Vital signs
    Code("LOINC", "8480-6", "Systolic blood pressure", "mm[Hg]"),
    Code("LOINC", "8462-4", "Diastolic blood pressure", "mm[Hg]"),
    Code("LOINC", "8867-4", "Heart rate", "/min"),
    Code("LOINC", "39156-5", "Body mass index (BMI) [Ratio]", "kg/m2"),
    # ECG (LOINC ECG measurements)
    Code("LOINC", "8625-6", "P-R Interval", "ms"),
    Code("LOINC", "8633-0", "QRS duration", "ms"),
    Code("LOINC", "8634-8", "Q-T interval", "ms"),
    Code("LOINC", "8636-3", "Q-T interval corrected", "ms"),
    Code("LOINC", "8632-2", "QRS axis", "deg"),
    # Echo / MR
    Code("LOINC", "10230-1", "Left ventricular Ejection fraction", "%"),
    # Conditions (SNOMED CT)
    Code("SNOMEDCT", "45227007", "Familial hypertrophic cardiomyopathy"),
    Code("SNOMEDCT", "195020003", "Hypertrophic cardiomyopathy"),
    Code("SNOMEDCT", "399020009", "Dilated cardiomyopathy"),
    Code("SNOMEDCT", "9651007", "Long QT syndrome"),
    Code("SNOMEDCT", "398036000", "Familial hypercholesterolemia"),
    Code("SNOMEDCT", "49436004", "Atrial fibrillation"),
    Code("SNOMEDCT", "22298006", "Myocardial infarction"),
    Code("SNOMEDCT", "38341003", "Hypertensive disorder"),
    Code("SNOMEDCT", "84114007", "Heart failure"),
    # ICD-10
    Code("ICD10", "I42.1", "Obstructive hypertrophic cardiomyopathy"),
    Code("ICD10", "I42.2", "Other hypertrophic cardiomyopathy"),
    Code("ICD10", "I48", "Atrial fibrillation and flutter"),
    Code("ICD10", "I21", "Acute myocardial infarction"),
    Code("ICD10", "E78.0", "Pure hypercholesterolaemia"),
    # HPO
    Code("HPO", "HP:0001639", "Hypertrophic cardiomyopathy"),
    Code("HPO", "HP:0001657", "Prolonged QT interval"),
    Code("HPO", "HP:0003124", "Hypercholesterolemia"),
    Code("HPO", "HP:0005110", "Atrial fibrillation"),
)

CODES: dict[tuple[str, str], Code] = {(c.system, c.code): c for c in _ENTRIES}

#: FHIR / URI forms of the code systems → our short names.
SYSTEM_URIS = {
    "http://loinc.org": "LOINC",
    "http://snomed.info/sct": "SNOMEDCT",
    "http://hl7.org/fhir/sid/icd-10": "ICD10",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD10CM",
    "http://purl.obolibrary.org/obo/hp.owl": "HPO",
    "http://www.whocc.no/atc": "ATC",
}


def lookup(system: str, code: str) -> Code | None:
    """The vocabulary entry for ``(system, code)``; ``system`` may be a short name or a URI."""
    return CODES.get((SYSTEM_URIS.get(system, system), code))
