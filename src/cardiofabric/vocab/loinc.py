"""Curated LOINC codes for cardiology: labs, vital signs, anthropometry, ECG, echo/MR, wearables.

Codes and long common names from LOINC 2.77 (Regenstrief Institute). The ECG measurements were
checked against the HL7 US Core "Clinical Test Codes" value set (US Core 5.0.1, LOINC 2.71
expansion); the QTc method codes, high-sensitivity troponin T, steps, resting heart rate and
the echo volumes against published LOINC term pages (LOINC 2.77-2.82).

Canonical units are UCUM (ucum.org, UCUM 2.1) and follow each term's example units, choosing SI
substance units for the chemistry (the European sites' reporting habit): lipids, glucose and
creatinine are stored in mmol/L or µmol/L under the mass-concentration code, and the
substance-concentration twin points to it with ``preferred`` so that one measurement has one
code across sites (the source code stays in ``source_code``).

QT correction: LOINC distinguishes the method-less ``8636-3`` "Q-T interval corrected" from
``76635-2`` (Bazett) and ``76634-5`` (Fridericia); both are children of ``8636-3`` here. In
``ecg_feature`` rows the ``feature`` column (``qtc_bazett``, ``qtc_fridericia``) says the method
as well, which matters when a device reports a QTc under the method-less code.

Three codes below (18154-5, 18152-9, 93832-4) were not found in the references above and are
marked where they stand. LV mass is 18087-7 as DICOM PS3.16 (CID 12203) uses it. The RR interval
and LV maximal wall thickness have no entry: no LOINC term could be confirmed, so ECG and imaging
rows carry them by ``feature`` and source code until one is.
"""

from __future__ import annotations

from cardiofabric.vocab.systems import Code

__all__ = ["LOINC_CODES"]

_CHOL = "cholesterol"
_TG = "triglycerides"
_SP = "in Serum or Plasma"


def _l(
    code: str,
    label: str,
    unit: str | None = None,
    analyte: str | None = None,
    *,
    parents: tuple[str, ...] = (),
    preferred: str | None = None,
    components: tuple[str, ...] = (),
) -> Code:
    return Code("LOINC", code, label, unit, analyte, parents, preferred, components)


LOINC_CODES: tuple[Code, ...] = (
    # -- lipids ------------------------------------------------------------------------------
    _l("2093-3", f"Cholesterol [Mass/volume] {_SP}", "mmol/L", _CHOL),
    _l("14647-2", f"Cholesterol [Moles/volume] {_SP}", "mmol/L", _CHOL, preferred="2093-3"),
    _l("2089-1", f"Cholesterol in LDL [Mass/volume] {_SP}", "mmol/L", _CHOL),
    _l(
        "18262-6",
        f"Cholesterol in LDL [Mass/volume] {_SP} by Direct assay",
        "mmol/L",
        _CHOL,
        parents=("2089-1",),
    ),
    _l(
        "13457-7",
        f"Cholesterol in LDL [Mass/volume] {_SP} by calculation",
        "mmol/L",
        _CHOL,
        parents=("2089-1",),
    ),
    _l("22748-8", f"Cholesterol in LDL [Moles/volume] {_SP}", "mmol/L", _CHOL, preferred="2089-1"),
    _l("2085-9", f"Cholesterol in HDL [Mass/volume] {_SP}", "mmol/L", _CHOL),
    _l("14646-4", f"Cholesterol in HDL [Moles/volume] {_SP}", "mmol/L", _CHOL, preferred="2085-9"),
    _l("2571-8", f"Triglyceride [Mass/volume] {_SP}", "mmol/L", _TG),
    _l("14927-8", f"Triglyceride [Moles/volume] {_SP}", "mmol/L", _TG, preferred="2571-8"),
    # -- cardiac markers (pg/mL and ng/L are the same quantity) -------------------------------
    _l("89579-7", f"Troponin I.cardiac [Mass/volume] {_SP} by High sensitivity method", "ng/L"),
    _l("67151-1", f"Troponin T.cardiac [Mass/volume] {_SP} by High sensitivity method", "ng/L"),
    _l("33762-6", f"Natriuretic peptide.B prohormone N-Terminal [Mass/volume] {_SP}", "ng/L"),
    _l("30934-4", f"Natriuretic peptide B [Mass/volume] {_SP}", "ng/L"),
    # -- glycaemia: HbA1c in NGSP % (IFCC mmol/mol converted, see vocab.units) ------------------
    _l("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", "hba1c"),
    _l(
        "59261-8",
        "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol",
        "%",
        "hba1c",
        preferred="4548-4",
    ),
    _l("2345-7", f"Glucose [Mass/volume] {_SP}", "mmol/L", "glucose"),
    _l("14749-6", f"Glucose [Moles/volume] {_SP}", "mmol/L", "glucose", preferred="2345-7"),
    _l("1558-6", f"Fasting glucose [Mass/volume] {_SP}", "mmol/L", "glucose"),
    # -- renal and electrolytes -------------------------------------------------------------
    _l("2160-0", f"Creatinine [Mass/volume] {_SP}", "umol/L", "creatinine"),
    _l("14682-9", f"Creatinine [Moles/volume] {_SP}", "umol/L", "creatinine", preferred="2160-0"),
    _l(
        "62238-1",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or "
        "Blood by Creatinine-based formula (CKD-EPI)",
        "mL/min/{1.73_m2}",
    ),
    _l(
        "98979-8",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or "
        "Blood by Creatinine-based formula (CKD-EPI 2021)",
        "mL/min/{1.73_m2}",
    ),
    _l(
        "33914-3",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma by "
        "Creatinine-based formula (MDRD)",
        "mL/min/{1.73_m2}",
    ),
    _l("2823-3", f"Potassium [Moles/volume] {_SP}", "mmol/L", "potassium"),
    # -- vital signs and anthropometry (the FHIR vital-signs profile codes) ---------------------
    _l(
        "85354-9",
        "Blood pressure panel with all children optional",
        components=("8480-6", "8462-4"),
    ),
    _l("55284-4", "Blood pressure systolic and diastolic", components=("8480-6", "8462-4")),
    _l("8480-6", "Systolic blood pressure", "mm[Hg]"),
    _l("8462-4", "Diastolic blood pressure", "mm[Hg]"),
    _l("8478-0", "Mean blood pressure", "mm[Hg]"),
    _l("8867-4", "Heart rate", "/min"),
    _l("40443-4", "Heart rate --resting", "/min", parents=("8867-4",)),
    _l("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2"),
    _l("29463-7", "Body weight", "kg"),
    _l("8302-2", "Body height", "cm"),
    # -- 12-lead ECG measurements (US Core Clinical Test Codes) --------------------------------
    _l(
        "34534-8",
        "12 lead EKG panel",
        components=("8867-4", "8625-6", "8633-0", "8634-8", "8636-3", "8626-4", "8632-2", "8638-9"),
    ),
    _l("8637-1", "R-R interval by EKG", "ms"),
    _l("8625-6", "P-R interval", "ms"),
    _l("8633-0", "QRS duration", "ms"),
    _l("8634-8", "Q-T interval", "ms"),
    _l("8636-3", "Q-T interval corrected", "ms"),
    _l("76635-2", "Q-T interval corrected based on Bazett formula", "ms", parents=("8636-3",)),
    _l("76634-5", "Q-T interval corrected based on Fridericia formula", "ms", parents=("8636-3",)),
    _l("8626-4", "P wave axis", "deg"),
    _l("8632-2", "QRS axis", "deg"),
    _l("8638-9", "T wave axis", "deg"),
    # -- echocardiography / cardiac MR ------------------------------------------------------
    _l("10230-1", "Left ventricular Ejection fraction", "%"),
    _l("18043-0", "Left ventricular Ejection fraction by US", "%", parents=("10230-1",)),
    _l("75988-6", "Left ventricular End diastolic volume", "mL"),
    _l("75989-4", "Left ventricular End systolic volume", "mL"),
    _l("29436-3", "Left ventricular Internal diameter minor axis diastole by US", "mm"),
    # Not confirmed against a LOINC release here (names follow the verified systolic twin
    # 18156-0 "Left ventricular posterior wall Thickness during systole by US").
    _l("18154-5", "Interventricular septum Thickness during diastole by US", "mm"),
    # LV mass: LN 18087-7 "Left Ventricle Mass" as DICOM PS3.16 CID 12203 uses it in echo SRs.
    _l("18087-7", "Left ventricular Mass", "g"),
    _l("18152-9", "Left ventricular posterior wall Thickness during diastole by US", "mm"),
    _l(
        "77904-1",
        "Left atrial End-systolic volume by US.2D+Calculated by modified Simpson method",
        "mL",
    ),
    # -- wearables (daily summaries) -------------------------------------------------------
    _l("41950-7", "Number of steps in 24 hour Measured", "/d"),
    # Not confirmed here; 93831-6 "Deep sleep duration" (LOINC 2.82, example unit min) is.
    _l("93832-4", "Sleep duration", "min"),
    # -- observations without a numeric value ----------------------------------------------
    _l("72166-2", "Tobacco smoking status"),
)
