"""Gathering one source's FHIR resources per patient, then one clinical record each.

Both FHIR adapters feed raw resources (JSON objects) one at a time into a
:class:`PatientCollector`; it validates each on its own, resolves references, turns it into
harmonised rows and keeps the resource, de-identified, as the patient's payload.

References (R4 ``references.html``) are resolved in this order: a contained resource
(``#id`` within the referring resource, R4 ``references.html#contained``), a Bundle entry's
``fullUrl`` (``urn:uuid:…`` or an absolute URL, R4 ``bundle.html#references``), then the
literal ``[base/]Type/id``.
Resources may refer forward (an NDJSON ``Observation`` file read before ``Patient``), so
patients are matched and medications resolved only at the end.

Cohort entry: a ``ResearchSubject`` (R4 ``researchsubject.html``) of the patient whose status
says the patient entered the study (``on-study``, ``on-study-intervention``,
``on-study-observation``, ``follow-up``, ``off-study`` or ``withdrawn``) gives
``person.index_date``: its ``period.start``, the earliest when there are several. With the
source option ``research_study`` only subjects of that study count (matched against
``study.identifier.value`` or the literal ``study.reference``). The study's outcome is an
ordinary ``Observation`` (see :mod:`.rows`), harmonised like any other.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext
from cardiofabric.ingest.consent import ConsentReading, consent_of
from cardiofabric.ingest.fhir.consent import read_consent
from cardiofabric.ingest.fhir.parse import (
    SUPPORTED,
    ResourceError,
    date,
    language_of,
    reference_key,
    validate,
    where,
)
from cardiofabric.ingest.fhir.rows import (
    Harmoniser,
    Rows,
    condition_rows,
    family_history_rows,
    imaging_study_rows,
    medication_row,
    medication_times,
    observation_rows,
    procedure_rows,
    study_digest,
)
from cardiofabric.mmio.container import PayloadSpec
from cardiofabric.mmio.model import ModalityKind
from cardiofabric.mmio.said import canonical_json

__all__ = ["PatientCollector", "deidentify"]

_GENDER = {"male": "male", "female": "female", "other": "other", "unknown": "unknown"}
_ROW_BUILDERS = {
    "Observation": observation_rows,
    "Condition": condition_rows,
    "Procedure": procedure_rows,
    "FamilyMemberHistory": family_history_rows,
    "ImagingStudy": imaging_study_rows,
}
_MEDICATION_USES = ("MedicationStatement", "MedicationRequest", "MedicationAdministration")
# ResearchSubject statuses (R4 research-subject-status) of a patient who entered the study.
_ENTERED = frozenset(
    {"on-study", "on-study-intervention", "on-study-observation", "follow-up", "off-study"}
    | {"withdrawn"}
)

# Direct identifiers removed from kept resources (HIPAA Safe Harbor / GDPR minimisation): the
# local id must never enter an object, and names, contacts, narrative and scanned forms are
# not needed for research.
_DIRECT_IDENTIFIERS = (
    "identifier",
    "name",
    "telecom",
    "address",
    "contact",
    "photo",
    "text",
    "link",
    "sourceAttachment",
)
_SUBJECT = {"reference": "Patient/subject"}


def _scrub(value: Any, is_patient: Any) -> Any:
    """``value`` with every reference to the patient replaced (its display may name them)."""
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str) and is_patient(ref):
            return dict(_SUBJECT)
        return {k: _scrub(v, is_patient) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, is_patient) for v in value]
    return value


def deidentify(resource: dict[str, Any], is_patient: Any = None) -> dict[str, Any]:
    """A kept copy of a resource without direct identifiers or links back to the patient."""
    out = {k: v for k, v in resource.items() if k not in _DIRECT_IDENTIFIERS}
    rtype = out.get("resourceType")
    if rtype == "Patient":
        out["id"] = "subject"
        if out.get("birthDate"):
            out["birthDate"] = str(out["birthDate"])[:4]
    if rtype == "ImagingStudy":
        # DICOM UIDs identify the study in the PACS: keep their digests only.
        for series in out.get("series") or []:
            if isinstance(series, dict):
                if isinstance(series.get("uid"), str):
                    series["uid"] = study_digest(series["uid"])
                for inst in series.get("instance") or []:
                    if isinstance(inst, dict) and isinstance(inst.get("uid"), str):
                        inst["uid"] = study_digest(inst["uid"])
    if isinstance(out.get("contained"), list):
        out["contained"] = [deidentify(c) for c in out["contained"] if isinstance(c, dict)]
    for key in ("subject", "patient"):
        if isinstance(out.get(key), dict) and "reference" in out[key]:
            out[key] = dict(_SUBJECT)
    return _scrub(out, is_patient) if is_patient is not None else out


@dataclass
class _Patient:
    content: dict[str, list[dict[str, Any]]]
    kept: list[dict[str, Any]]
    consents: list[ConsentReading]
    labels: list[str]  # where each kept resource came from, for orphan rejections
    time: str = ""
    index_date: str = ""  # the earliest cohort entry (ResearchSubject.period.start)


@dataclass(frozen=True)
class _PendingMedication:
    patient: str
    reference: str  # the key of the Medication
    lang: str
    start: str | None
    end: str | None
    label: str


class PatientCollector:
    """Validates, resolves and harmonises resources; :meth:`records` yields one per patient."""

    def __init__(self, ctx: SourceContext, *, container: str) -> None:
        self.ctx = ctx
        self.container = container  # "bundle" or "export", for messages
        self.h = Harmoniser(ctx.code_map)
        self.full_urls: dict[str, str] = {}
        self.local_ids: dict[str, str] = {}  # patient key -> local id
        self.patients: dict[str, _Patient] = {}
        self.medications: dict[str, tuple[Any, dict[str, Any]]] = {}
        self.pending: list[_PendingMedication] = []
        self._order = 0
        self._id_system = ctx.options.get("patient_identifier_system")
        self._study = ctx.options.get("research_study")

    # -- references -----------------------------------------------------------------------
    def register_full_url(self, full_url: Any, raw: Any) -> None:
        """Remember a Bundle entry's ``fullUrl`` before any entry is read (forward refs)."""
        if not isinstance(full_url, str) or not isinstance(raw, dict):
            return
        rtype, rid = raw.get("resourceType"), raw.get("id")
        if isinstance(rtype, str):
            self.full_urls[full_url] = (
                f"{rtype}/{rid if isinstance(rid, str) and rid else full_url}"
            )

    def resolve(self, reference: str | None) -> str | None:
        if not reference:
            return None
        return self.full_urls.get(reference) or reference_key(reference)

    def _own_key(self, raw: dict[str, Any], full_url: str | None) -> str:
        rid = raw.get("id")
        if isinstance(rid, str) and rid:
            return f"{raw['resourceType']}/{rid}"
        return f"{raw['resourceType']}/{full_url or f'#{self._order}'}"

    def _patient(self, key: str) -> _Patient:
        p = self.patients.get(key)
        if p is None:
            p = self.patients[key] = _Patient({}, [], [], [])
        return p

    # -- reading --------------------------------------------------------------------------
    def add(self, raw: Any, *, fallback: str, full_url: str | None = None) -> None:
        """Read one resource; a problem with it is a rejection, never an exception."""
        self._order += 1
        self.ctx.count_read()
        label = where(raw, fallback)
        rtype = raw.get("resourceType") if isinstance(raw, dict) else None
        if isinstance(rtype, str) and rtype not in SUPPORTED:
            return  # Encounter, Practitioner, Organization ...: context, not patient data
        try:
            res = validate(raw)
            self._dispatch(res, raw, label, full_url)
        except ResourceError as exc:
            self.ctx.reject(label, str(exc))

    def _dispatch(self, res: Any, raw: dict[str, Any], label: str, full_url: str | None) -> None:
        rtype = res.get_resource_type()
        lang = language_of(res, self.ctx.language)
        if rtype == "Patient":
            self._read_patient(res, raw, full_url, label)
            return
        if rtype == "Medication":
            self.medications[self._own_key(raw, full_url)] = (res, raw)
            return
        if rtype in ("Consent", "FamilyMemberHistory"):
            subject = res.patient
        else:
            subject = res.individual if rtype == "ResearchSubject" else res.subject
        ref = subject.reference if subject is not None else None
        pkey = self.resolve(ref)
        if pkey is None:
            raise ResourceError(
                f"no resolvable patient reference ({ref!r})" if ref else "no subject/patient"
            )
        if not pkey.startswith("Patient/"):
            raise ResourceError(f"the subject {ref!r} is not a Patient")
        patient = self._patient(pkey)
        if rtype == "Consent":
            reading = read_consent(res, self._order)
            if reading is not None:
                patient.consents.append(reading)
                for problem in reading.problems:  # kept, but the patient's consent is empty
                    self.ctx.reject(label, problem)
        elif rtype in _MEDICATION_USES:
            self._read_medication_use(res, pkey, lang, label)
        elif rtype == "ResearchSubject":
            self._read_research_subject(res, patient)
        else:
            self._add_rows(patient, _ROW_BUILDERS[rtype](self.h, res, lang))
        patient.kept.append(raw)
        patient.labels.append(label)

    def _read_patient(
        self, res: Any, raw: dict[str, Any], full_url: str | None, label: str
    ) -> None:
        key = self._own_key(raw, full_url)
        idents = [i for i in res.identifier or [] if i.value]
        ident = next((i for i in idents if i.system == self._id_system), None)
        ident = ident or (idents[0] if idents else None)
        local = ident.value if ident is not None else res.id
        if not local:
            raise ResourceError("the Patient has neither an identifier nor an id")
        if key in self.local_ids and self.local_ids[key] != local:
            raise ResourceError(f"{key} appears twice with different identifiers")
        self.local_ids[key] = str(local)
        death = res.deceasedDateTime
        person = {
            "sex": _GENDER.get(res.gender or "", "unknown"),
            "source_sex": res.gender,
            "birth_year": int(str(res.birthDate)[:4]) if res.birthDate else None,
        }
        if death is not None and len(str(death)) >= 10:  # a full date, not a partial one
            person["death_date"] = str(death)[:10]
        patient = self._patient(key)
        patient.content["person"] = [person]
        patient.kept.insert(0, raw)
        patient.labels.insert(0, label)

    def _read_research_subject(self, res: Any, patient: _Patient) -> None:
        if self._study:
            study = res.study
            ident = study.identifier.value if study.identifier is not None else None
            if self._study not in (ident, study.reference):
                return  # another study's subject: kept, but not this cohort's entry
        if res.status not in _ENTERED:
            return  # a candidate, never entered: no index date
        start = date(res.period.start) if res.period is not None else None
        if start is None:
            raise ResourceError("no period.start: the date of cohort entry is unknown")
        if not patient.index_date or start < patient.index_date:
            patient.index_date = start

    def _read_medication_use(self, res: Any, pkey: str, lang: str, label: str) -> None:
        if res.status in ("entered-in-error", "cancelled", "not-taken", "not-done"):
            raise ResourceError(f"status {res.status!r}: no exposure to the medication")
        start, end = medication_times(res)
        if res.medicationCodeableConcept is not None:
            row = medication_row(self.h, res.medicationCodeableConcept, lang, start, end)
            self._add_rows(self._patient(pkey), [("medication", row)])
            return
        ref = res.medicationReference.reference if res.medicationReference else None
        if ref and ref.startswith("#"):
            inner = next((c for c in res.contained or [] if c.id == ref[1:]), None)
            if inner is None or inner.get_resource_type() != "Medication":
                raise ResourceError(f"the contained medication {ref!r} is not in the resource")
            row = medication_row(self.h, inner.code, lang, start, end)
            self._add_rows(self._patient(pkey), [("medication", row)])
            return
        key = self.resolve(ref)
        if key is None:
            raise ResourceError("no medication: neither a code nor a resolvable reference")
        self.pending.append(_PendingMedication(pkey, key, lang, start, end, label))

    def _add_rows(self, patient: _Patient, rows: Rows) -> None:
        for table, row in rows:
            patient.content.setdefault(table, []).append(row)
            for k in ("date", "onset_date", "start_date"):
                if row.get(k):
                    patient.time = max(patient.time, str(row[k]))

    # -- output ---------------------------------------------------------------------------
    def _resolve_medications(self) -> None:
        for p in self.pending:
            found = self.medications.get(p.reference)
            if found is None:
                self.ctx.reject(p.label, f"refers to {p.reference}, which is not in the source")
                continue
            med, raw = found
            patient = self._patient(p.patient)
            self._add_rows(
                patient, [("medication", medication_row(self.h, med.code, p.lang, p.start, p.end))]
            )
            if all(raw is not k for k in patient.kept):
                patient.kept.append(raw)
                patient.labels.append(p.label)

    def records(self, path: Path) -> Iterator[ModalityRecord]:
        """One clinical record per patient, in the order patients were first seen."""
        self._resolve_medications()
        orphans = [k for k in self.patients if k not in self.local_ids]
        if orphans and not self.local_ids:
            listed = ", ".join(sorted(orphans)[:3])
            raise InputError(
                f"resources refer to {listed}, which is not in the {self.container}",
                path=path,
                hint=f"export the {self.container} with its Patient resources included",
            )
        for key in orphans:
            for label in self.patients[key].labels:
                self.ctx.reject(label, f"refers to {key}, which is not in the {self.container}")
        for key, local in self.local_ids.items():
            p = self.patients[key]
            if p.index_date:  # set here: the ResearchSubject may come before the Patient
                p.content["person"][0]["index_date"] = p.index_date

            def is_patient(ref: str, key: str = key) -> bool:
                return self.resolve(ref) == key

            kept = [deidentify(r, is_patient) for r in p.kept]
            own = {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": r} for r in kept],
            }
            yield ModalityRecord(
                local_id=local,
                kind=ModalityKind.CLINICAL,
                media_type="application/fhir+json",
                content=p.content,
                payloads=[PayloadSpec(canonical_json(own), "application/fhir+json")],
                time=p.time or None,
                consent=consent_of(p.consents),
            )
