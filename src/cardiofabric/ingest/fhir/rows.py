"""Harmonised rows from single FHIR R4 resources.

Each function takes one validated resource and returns ``(table, row)`` pairs; the source's own
code, label, language, value and unit stay beside the harmonised ones (``ingest.harmonise``).

- ``Observation`` (R4 ``observation.html``): a ``valueQuantity`` (or integer) is a
  ``measurement``; a coded, text, boolean or date-time value is an ``observation``. Each
  ``component`` with a value is a row of its own, so the blood pressure panel (LOINC 85354-9)
  gives two measurements, systolic 8480-6 and diastolic 8462-4 (R4 ``observation-vitalsigns.html``).
- ``Condition`` → ``condition``; refuted or entered-in-error conditions are not diagnoses.
- ``MedicationStatement``/``Request``/``Administration`` → ``medication`` (ATC preferred) once
  the medication (inline, contained or referenced ``Medication``) is known.
- ``Procedure`` → ``procedure``; ``ImagingStudy`` → ``procedure`` with the DICOM modality and a
  digest of the Study Instance UID (never the UID itself).
- ``FamilyMemberHistory`` → one ``observation`` per condition of the relative: the row's code is
  the relative's condition and its value the relationship (HL7 v3 RoleCode, e.g. ``FTH``), so
  a family history row is told from the patient's own facts by
  ``value_code_system = 'v3-RoleCode'``.
"""

from __future__ import annotations

from typing import Any

from cardiofabric.ingest.fhir.parse import (
    ResourceError,
    coding_code,
    date,
    first_code,
    short_system,
    timestamp,
    when,
)
from cardiofabric.ingest.harmonise import coded, measurement
from cardiofabric.mmio.said import digest_bytes
from cardiofabric.mmio.tables import CONTENT_TABLES

__all__ = [
    "Rows",
    "condition_rows",
    "family_history_rows",
    "imaging_study_rows",
    "medication_row",
    "medication_times",
    "observation_rows",
    "procedure_rows",
    "study_digest",
]

Rows = list[tuple[str, dict[str, Any]]]

_DCM = "http://dicom.nema.org/resources/ontology/DCM"  # DICOM PS3.16 controlled terminology
_ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
_SHORT = {_ROLE: "v3-RoleCode", _DCM: "DCM"}


class Harmoniser:
    """``coded`` and ``measurement`` bound to the site's code map."""

    def __init__(self, code_map: Any = None) -> None:
        self.code_map = code_map

    def coded(
        self, system: str | None, code: str | None, label: str | None, language: str
    ) -> dict[str, Any]:
        return coded(system, code, label, language, code_map=self.code_map)

    def measurement(
        self,
        system: str | None,
        code: str | None,
        label: str | None,
        value: Any,
        unit: str | None,
        language: str,
    ) -> dict[str, Any]:
        value = value if value is None or isinstance(value, int | float) else str(value)
        return measurement(system, code, label, value, unit, language, code_map=self.code_map)


def _value_system(system: str | None) -> str | None:
    return _SHORT.get(system or "", short_system(system))


def _category(obs: Any) -> str | None:
    for concept in obs.category or []:
        _, code, _ = first_code(concept)
        if code:
            return code
    return None


def _value(
    h: Harmoniser, holder: Any, code: tuple[str | None, str | None, str | None], lang: str
) -> tuple[str, dict[str, Any]] | None:
    """The row of one value[x] (an Observation or one of its components), if it has one."""
    system, c, label = code
    q = holder.valueQuantity
    if q is not None and q.value is not None:
        return "measurement", h.measurement(system, c, label, q.value, q.unit or q.code, lang)
    if holder.valueInteger is not None:
        return "measurement", h.measurement(system, c, label, holder.valueInteger, None, lang)
    row = h.coded(system, c, label, lang)
    if holder.valueCodeableConcept is not None:
        vsys, vcode, vlabel = first_code(holder.valueCodeableConcept)
        row.update(value_text=vlabel, value_code_system=_value_system(vsys), value_code=vcode)
    elif holder.valueString is not None:
        row["value_text"] = holder.valueString
    elif holder.valueBoolean is not None:
        row["value_text"] = "true" if holder.valueBoolean else "false"
    elif getattr(holder, "valueDateTime", None) is not None:
        row["value_text"] = str(holder.valueDateTime)
    else:
        return None  # no value: a panel, or dataAbsentReason
    return "observation", row


def observation_rows(h: Harmoniser, obs: Any, lang: str) -> Rows:
    if obs.status in ("entered-in-error", "cancelled"):
        raise ResourceError(f"status {obs.status!r}: not a result")
    moment = when(obs.effectiveDateTime, obs.effectiveInstant, obs.issued)
    if moment is None and obs.effectivePeriod is not None:
        moment = timestamp(obs.effectivePeriod.start)
    category = _category(obs)
    out: Rows = []
    own = _value(h, obs, first_code(obs.code), lang)
    if own is not None:
        out.append(own)
    for comp in obs.component or []:
        got = _value(h, comp, first_code(comp.code), lang)
        if got is not None:
            out.append(got)
    for table, row in out:
        row["date"] = moment
        if table == "measurement":
            # Without a category, a numeric result is taken as a laboratory result.
            row["category"] = category or "laboratory"
    return out


def condition_rows(h: Harmoniser, cond: Any, lang: str) -> Rows:
    verification = first_code(cond.verificationStatus)[1]
    if verification in ("refuted", "entered-in-error"):
        raise ResourceError(f"verificationStatus {verification!r}: not a diagnosis")
    row = h.coded(*first_code(cond.code), lang)
    onset = date(cond.onsetDateTime)
    if onset is None and cond.onsetPeriod is not None:
        onset = date(cond.onsetPeriod.start)
    row["onset_date"] = onset or date(cond.recordedDate)
    row["status"] = first_code(cond.clinicalStatus)[1]
    return [("condition", row)]


def medication_times(res: Any) -> tuple[str | None, str | None]:
    """Start and end dates of a medication statement, request or administration."""
    rtype = res.get_resource_type()
    start = end = None
    if rtype in ("MedicationStatement", "MedicationAdministration"):
        start = date(res.effectiveDateTime)
        if res.effectivePeriod is not None:
            start, end = date(res.effectivePeriod.start), date(res.effectivePeriod.end)
    elif rtype == "MedicationRequest":
        start = date(res.authoredOn)
        for dosage in res.dosageInstruction or []:
            bounds = (
                dosage.timing.repeat.boundsPeriod
                if dosage.timing and dosage.timing.repeat
                else None
            )
            if bounds is not None:
                start, end = date(bounds.start) or start, date(bounds.end)
                break
    return start, end


def medication_row(
    h: Harmoniser, concept: Any, lang: str, start: str | None, end: str | None
) -> dict[str, Any]:
    row = h.coded(*first_code(concept), lang)
    row.update(start_date=start, end_date=end)
    return row


def procedure_rows(h: Harmoniser, proc: Any, lang: str) -> Rows:
    if proc.status in ("entered-in-error", "not-done"):
        raise ResourceError(f"status {proc.status!r}: no procedure was done")
    row = h.coded(*first_code(proc.code), lang)
    day = date(proc.performedDateTime)
    if day is None and proc.performedPeriod is not None:
        day = date(proc.performedPeriod.start)
    row["date"] = day
    return [("procedure", row)]


def study_digest(uid: str) -> str:
    """A SAID of a DICOM Study Instance UID: joins a study across sources, never shows it."""
    return digest_bytes(uid.removeprefix("urn:oid:").encode("ascii", "replace"))


def _study_uid(study: Any) -> str | None:
    # R4 ImagingStudy.identifier: the Study Instance UID has system urn:dicom:uid.
    for ident in study.identifier or []:
        if ident.system == "urn:dicom:uid" and ident.value:
            return str(ident.value)
    return None


def imaging_study_rows(h: Harmoniser, study: Any, lang: str) -> Rows:
    if study.status in ("entered-in-error", "cancelled"):
        raise ResourceError(f"status {study.status!r}: no study was made")
    modalities = [m.code for m in study.modality or [] if m.code]
    modalities += [s.modality.code for s in study.series or [] if s.modality and s.modality.code]
    modality = modalities[0] if modalities else None
    if study.procedureCode:
        row = h.coded(*first_code(study.procedureCode[0]), lang)
    elif modality:
        first = next((m for m in study.modality or [] if m.code), None)
        system, code, display = coding_code(first) if first else (_DCM, modality, None)
        row = h.coded(system or _DCM, code, display, lang)
    else:
        raise ResourceError("neither a procedureCode nor a modality: nothing to record")
    uid = _study_uid(study)
    row.update(date=date(study.started), imaging_modality=modality, study=uid and study_digest(uid))
    # Modality and study are kept where the procedure table has columns for them.
    columns = set(CONTENT_TABLES["procedure"].names)
    return [("procedure", {k: v for k, v in row.items() if k in columns})]


def family_history_rows(h: Harmoniser, fmh: Any, lang: str) -> Rows:
    if fmh.status == "entered-in-error":
        raise ResourceError("status 'entered-in-error'")
    rel_system, rel_code, rel_label = first_code(fmh.relationship)
    out: Rows = []
    for cond in fmh.condition or []:
        row = h.coded(*first_code(cond.code), lang)
        row.update(
            value_text=rel_label,
            value_code_system=_value_system(rel_system),
            value_code=rel_code,
            date=timestamp(fmh.date),
        )
        out.append(("observation", row))
    return out
