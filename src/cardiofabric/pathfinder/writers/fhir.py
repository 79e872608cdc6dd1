"""The FHIR R4 exports of the Pathfinder sites, built with ``fhir.resources`` (R4B models).

- ``nl-amsterdam`` (:func:`write_fhir_bundle`): one ``collection`` Bundle, every entry with a
  ``urn:uuid`` fullUrl and referred to by it; Dutch labels; LOINC in SI units (the
  substance-concentration LOINC codes a Dutch lab reports, HbA1c in IFCC mmol/mol);
  conditions in SNOMED CT; medications in ATC, one contained, one a shared ``Medication`` entry,
  one inline.
- ``it-milano`` (:func:`write_fhir_ndjson`): a Bulk Data export folder, one
  ``<ResourceType>.ndjson`` per type (``Observation.ndjson.gz`` gzipped); Italian labels;
  conditions in ICD-10 (WHO); lipids and creatinine in mg/dL; ``MedicationRequest`` referring to
  ``Medication`` resources.

Per patient: Patient, the cohort entry and the outcome (see below), laboratory results, the
blood pressure panel (85354-9 with systolic and diastolic components), heart rate, smoking
status (72166-2), ECG measurements and an ECG Procedure when the patient has an ECG, an
ImagingStudy and the LVEF when imaged, conditions, medications, a FamilyMemberHistory for
carriers, and the research Consent with DUO codes (see :func:`truth_consent`; the nl site
records a withdrawal as a newer ``inactive`` Consent, the it site as a ``rejected`` one). Each
export has two realistic defects: one Observation that is not valid FHIR (a comparator typed
into ``valueQuantity.value`` in nl, a day-first date in it), which ingest rejects, and one
Observation under an unmapped local lab code. Deterministic by seed.

The time-to-event data, as a hospital taking part in a study keeps them in its FHIR server:

- cohort entry: a ``ResearchSubject`` (R4 ``researchsubject.html``) whose ``individual`` is the
  patient, ``study`` a logical reference to the Pathfinder ``ResearchStudy`` (identifier
  :data:`STUDY_SYSTEM` ``|PATHFINDER``), ``period.start`` the index date and ``period.end`` the
  end of follow-up (the event or censoring), status ``off-study``; ingest reads
  ``period.start`` as ``person.index_date``;
- outcome: an ``Observation`` coded :data:`~cardiofabric.vocab.systems.PATHFINDER_URI`
  ``|MACE`` (the study's CodeSystem: no standard code exists for the composite), label in the
  site's language, ``valueCodeableConcept`` SNOMED CT 373066001 Yes / 373067005 No and
  ``effectiveDateTime`` the date of the event or of the end of follow-up
  (:func:`~cardiofabric.pathfinder.cohort.event_date`), as the OMOP and tabular sites date it.
"""

from __future__ import annotations

import gzip
import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from cardiofabric.errors import MissingDependencyError
from cardiofabric.mmio.consent import consent_from_terms
from cardiofabric.mmio.model import Consent
from cardiofabric.pathfinder.cohort import SimPatient, SiteSpec, event_date
from cardiofabric.vocab.study import NO, YES
from cardiofabric.vocab.systems import PATHFINDER_URI

__all__ = [
    "CONDITION_CODES",
    "STUDY_SYSTEM",
    "truth_consent",
    "write_fhir_bundle",
    "write_fhir_ndjson",
]

LOINC, SCT, ICD10 = "http://loinc.org", "http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10"
ATC, UCUM = "http://www.whocc.no/atc", "http://unitsofmeasure.org"
DUO = "http://purl.obolibrary.org/obo/duo.owl"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
_THO = "http://terminology.hl7.org/CodeSystem/"
_CAT = _THO + "observation-category"
_ROLE, _ACTCODE = _THO + "v3-RoleCode", _THO + "v3-ActCode"
_CLINICAL, _SCOPE = _THO + "condition-clinical", _THO + "consentscope"
_RESOURCE_TYPES = "http://hl7.org/fhir/resource-types"
#: The identifier system of the network's ResearchStudy, to which each ResearchSubject refers.
STUDY_SYSTEM = "https://pathfinder.example/fhir/NamingSystem/study"

_CONDITIONS = ("hcm", "lqts", "fh", "diabetes", "hypertension", "mi")
#: Condition codes per code system: SNOMED CT for nl, WHO ICD-10 for it.
CONDITION_CODES: dict[str, dict[str, str]] = {
    SCT: dict(zip(_CONDITIONS, ("233873004", "9651007", "398036000", "44054006", "38341003",
                                "22298006"), strict=True)),
    ICD10: dict(zip(_CONDITIONS, ("I42.2", "I45.8", "E78.0", "E11", "I10", "I21"), strict=True)),
}  # fmt: skip
_SMOKING = {"never": "266919005", "former": "8517006", "current": "77176002"}
_PROCEDURES = {"ecg": "29303009", "MR": "241620005", "US": "40701008"}  # SNOMED CT
_DUO = {"GRU": "DUO:0000042", "HMB": "DUO:0000006", "DS": "DUO:0000007"}
# Laboratory results: (key, truth attribute, LOINC mass conc., LOINC substance conc., SI unit,
# mg/dL per SI unit by the molar masses of vocab.units, decimals in SI, decimals in mg/dL).
_LABS = (
    ("ldl", "ldl", "2089-1", "22748-8", "mmol/L", 38.665, 2, 1),
    ("hdl", "hdl", "2085-9", "14646-4", "mmol/L", 38.665, 2, 1),
    ("tc", "total_cholesterol", "2093-3", "14647-2", "mmol/L", 38.665, 2, 1),
    ("tg", "triglycerides", "2571-8", "14927-8", "mmol/L", 88.54, 2, 1),
    ("creat", "creatinine", "2160-0", "14682-9", "umol/L", 113.12 / 10000, 0, 2),
)
_TEXT: dict[str, dict[str, str]] = {
    "nld": {
        "ldl": "LDL-cholesterol", "hdl": "HDL-cholesterol", "tc": "Totaal cholesterol",
        "tg": "Triglyceriden", "creat": "Kreatinine", "hba1c": "HbA1c (IFCC)",
        "bp": "Bloeddruk", "sbp": "Systolische bloeddruk", "dbp": "Diastolische bloeddruk",
        "hr": "Hartfrequentie", "pr": "PR-interval", "qrs": "QRS-duur", "qtc": "QTc-interval",
        "lvef": "Linkerventrikel-ejectiefractie", "smoking": "Rookgedrag",
        "never": "Nooit gerookt", "former": "Voormalig roker", "current": "Rookt",
        "ecg": "Elektrocardiografie", "MR": "MRI van het hart", "US": "Echocardiografie",
        "hcm": "Hypertrofische cardiomyopathie", "lqts": "Lang-QT-syndroom",
        "fh": "Familiaire hypercholesterolemie", "diabetes": "Diabetes mellitus type 2",
        "hypertension": "Hypertensie", "mi": "Myocardinfarct",
        "C10AA05": "atorvastatine 40 mg tablet", "C09AA05": "ramipril 5 mg capsule",
        "A10BA02": "metformine 500 mg tablet", "FTH": "vader", "MTH": "moeder",
        "BRO": "broer", "SIS": "zus", "local": "Galectine-3", "ntprobnp": "NT-proBNP",
        "mace": "Ernstige cardiovasculaire gebeurtenis (MACE)", "yes": "ja", "no": "nee",
    },
    "ita": {
        "ldl": "Colesterolo LDL", "hdl": "Colesterolo HDL", "tc": "Colesterolo totale",
        "tg": "Trigliceridi", "creat": "Creatinina", "hba1c": "Emoglobina glicata (HbA1c)",
        "bp": "Pressione arteriosa", "sbp": "Pressione sistolica", "dbp": "Pressione diastolica",
        "hr": "Frequenza cardiaca", "pr": "Intervallo PR", "qrs": "Durata QRS", "qtc": "QTc",
        "lvef": "Frazione di eiezione ventricolare sinistra", "smoking": "Abitudine al fumo",
        "never": "Mai fumatore", "former": "Ex fumatore", "current": "Fumatore",
        "ecg": "Elettrocardiogramma", "MR": "Risonanza magnetica cardiaca",
        "US": "Ecocardiogramma", "hcm": "Cardiomiopatia ipertrofica",
        "lqts": "Sindrome del QT lungo", "fh": "Ipercolesterolemia familiare",
        "diabetes": "Diabete mellito di tipo 2", "hypertension": "Ipertensione essenziale",
        "mi": "Infarto miocardico acuto", "C10AA05": "atorvastatina 20 mg compresse",
        "C09AA05": "ramipril 5 mg compresse", "A10BA02": "metformina 850 mg compresse",
        "FTH": "padre", "MTH": "madre", "BRO": "fratello", "SIS": "sorella",
        "local": "Galectina-3", "ntprobnp": "NT-proBNP",
        "mace": "Evento cardiovascolare maggiore (MACE)", "yes": "sì", "no": "no",
    },
}  # fmt: skip
_NAMES = {
    "nld": (("de Vries", "Jansen", "Bakker", "Visser", "Smit"), ("Anna", "Daan", "Sanne", "Bram")),
    "ita": (("Rossi", "Russo", "Ferrari", "Bianchi", "Romano"), ("Giulia", "Marco", "Chiara")),
}
# The research consent as DUO terms (permissions, prohibitions); see ingest.fhir.consent.
CONSENT_TERMS = {
    "GRU": (["GRU"], []),
    "HMB": (["HMB"], []),
    "DS": (["DS"], []),
    "GRU-no-genomics": (["GRU"], ["GSO"]),
    "withdrawn": (["GRU"], []),
}


def truth_consent(p: SimPatient) -> Consent:
    """The consent ingest should find for ``p`` (GSO prohibited = no use of genomic data)."""
    permits, denies = CONSENT_TERMS[p.consent]
    status = "withdrawn" if p.consent == "withdrawn" else "active"
    return consent_from_terms(permits, denies, status=status)


def _model_json(resource: dict[str, Any]) -> str:
    """``resource`` validated by its R4B model and serialised by the model's JSON method."""
    try:
        from fhir.resources.R4B import get_fhir_model_class
    except ImportError:
        raise MissingDependencyError("fhir.resources", "ingest", "writing FHIR") from None
    text: str = (
        get_fhir_model_class(resource["resourceType"]).model_validate(resource).model_dump_json()
    )
    return text


def _model(resource: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(_model_json(resource))
    return out


def _cc(system: str, code: str, text: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": text}], "text": text}


def _qty(value: float, unit: str, code: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code or unit}


class _Site:
    """Builds one site's resources; ``ref`` is how resources point at their patient."""

    def __init__(self, spec: SiteSpec, seed: int) -> None:
        self.spec = spec
        self.lang = spec.language
        self.t = _TEXT[self.lang]
        self.si = spec.lipid_unit == "mmol/L"
        self.cond_system = ICD10 if spec.code_system == "ICD-10" else SCT
        self.rng = np.random.default_rng([seed, 0xF11])
        self.ns = uuid.uuid5(uuid.NAMESPACE_URL, f"https://{spec.name}.example/fhir/{seed}")

    def uid(self, name: str) -> str:
        return str(uuid.uuid5(self.ns, name))

    def pick(self, options: tuple[str, ...]) -> str:
        return options[int(self.rng.integers(0, len(options)))]

    def obs(
        self, pid: str, ref: str, day: str, key: str, code: Any, category: str, **value: Any
    ) -> dict[str, Any]:
        if isinstance(code, str):
            code = _cc(LOINC, code, self.t[key])
        return {
            "resourceType": "Observation",
            "id": f"{pid}-{key}",
            "status": "final",
            "category": [{"coding": [{"system": _CAT, "code": category}]}],
            "code": code,
            "subject": {"reference": ref},
            "effectiveDateTime": f"{day}T08:30:00+01:00",
            **value,
        }

    def observations(self, p: SimPatient, pid: str, ref: str) -> list[dict[str, Any]]:
        def o(key: str, code: Any, category: str, **value: Any) -> None:
            out.append(self.obs(pid, ref, p.index_date, key, code, category, **value))

        out: list[dict[str, Any]] = []
        for key, attr, mass, subst, unit, factor, dec_si, dec_mg in _LABS:
            truth = float(getattr(p, attr))
            if self.si:
                shown = "µmol/l" if unit == "umol/L" else "mmol/l"
                o(key, subst, "laboratory", valueQuantity=_qty(round(truth, dec_si), shown, unit))
            else:
                o(
                    key,
                    mass,
                    "laboratory",
                    valueQuantity=_qty(round(truth * factor, dec_mg), "mg/dL"),
                )
        if self.si:  # Dutch laboratories report HbA1c in IFCC mmol/mol, as an integer
            a1c = _qty(round(10.929 * (p.hba1c - 2.15)), "mmol/mol")
            o("hba1c", "59261-8", "laboratory", valueQuantity=a1c)
        else:
            o("hba1c", "4548-4", "laboratory", valueQuantity=_qty(round(p.hba1c, 1), "%"))
        mmhg = ("mmHg", "mm[Hg]")
        components = [
            {"code": _cc(LOINC, c, self.t[k]), "valueQuantity": _qty(round(v), *mmhg)}
            for k, c, v in (("sbp", "8480-6", p.sbp), ("dbp", "8462-4", p.dbp))
        ]
        o("bp", "85354-9", "vital-signs", component=components)
        o("hr", "8867-4", "vital-signs", valueQuantity=_qty(round(p.heart_rate), "/min"))
        smoking = _cc(SCT, _SMOKING[p.smoking], self.t[p.smoking])
        o("smoking", "72166-2", "social-history", valueCodeableConcept=smoking)
        if p.has_ecg:
            for key, code, ms in (
                ("pr", "8625-6", p.pr),
                ("qrs", "8633-0", p.qrs),
                ("qtc", "8636-3", p.qtc),
            ):
                o(key, code, "procedure", valueQuantity=_qty(round(ms), "ms"))
        if p.has_imaging:
            o("lvef", "10230-1", "imaging", valueQuantity=_qty(round(p.lvef, 1), "%"))
        return out

    def follow_up(self, p: SimPatient, pid: str, ref: str) -> list[dict[str, Any]]:
        """The cohort entry (ResearchSubject) and the outcome (Observation) of ``p``."""
        end = event_date(p)
        subject = {
            "resourceType": "ResearchSubject",
            "id": f"{pid}-pathfinder",
            "status": "off-study",
            "period": {"start": p.index_date, "end": end},
            "study": {
                "identifier": {"system": STUDY_SYSTEM, "value": "PATHFINDER"},
                "display": "Pathfinder",
            },
            "individual": {"reference": ref},
        }
        answer = YES if p.event else NO
        outcome = {
            "resourceType": "Observation",
            "id": f"{pid}-mace",
            "status": "final",
            "code": _cc(PATHFINDER_URI, "MACE", self.t["mace"]),
            "subject": {"reference": ref},
            "effectiveDateTime": end,
            "valueCodeableConcept": _cc(SCT, answer, self.t["yes" if p.event else "no"]),
        }
        return [subject, outcome]

    def procedures(self, p: SimPatient, pid: str, ref: str) -> list[dict[str, Any]]:
        t, day = self.t, p.index_date
        out: list[dict[str, Any]] = []
        subject = {"reference": ref}
        if p.has_ecg:
            ecg = _cc(SCT, _PROCEDURES["ecg"], t["ecg"])
            out.append(
                {
                    "resourceType": "Procedure",
                    "id": f"{pid}-ecg",
                    "status": "completed",
                    "code": ecg,
                    "subject": subject,
                    "performedDateTime": day,
                }
            )
        if p.has_imaging:
            mod: dict[str, Any] = {"system": DCM, "code": self.spec.imaging_modality}
            uid = f"2.25.{uuid.UUID(self.uid(pid + '-study')).int}"
            series: dict[str, Any] = {
                "uid": f"{uid}.1",
                "number": 1,
                "numberOfInstances": 30,
                "modality": mod,
            }
            out.append(
                {
                    "resourceType": "ImagingStudy",
                    "id": f"{pid}-img",
                    "status": "available",
                    "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{uid}"}],
                    "subject": subject,
                    "started": f"{day}T10:00:00+01:00",
                    "modality": [mod],
                    "procedureCode": [_cc(SCT, _PROCEDURES[mod["code"]], t[mod["code"]])],
                    "numberOfSeries": 1,
                    "series": [series],
                }
            )
        return out

    def clinical(self, p: SimPatient, pid: str, ref: str) -> list[dict[str, Any]]:
        t, day = self.t, p.index_date
        out: list[dict[str, Any]] = []
        codes = CONDITION_CODES[self.cond_system]
        active = {"coding": [{"system": _CLINICAL, "code": "active"}]}
        for c in p.conditions:
            out.append(
                {
                    "resourceType": "Condition",
                    "id": f"{pid}-{c}",
                    "onsetDateTime": day,
                    "subject": {"reference": ref},
                    "clinicalStatus": active,
                    "code": _cc(self.cond_system, codes[c], t[c]),
                }
            )
        for c in sorted({c.condition for c in p.carriers}):  # a relative with the same disease
            rel = self.pick(("FTH", "MTH", "BRO", "SIS"))
            out.append(
                {
                    "resourceType": "FamilyMemberHistory",
                    "id": f"{pid}-fmh-{c}",
                    "status": "completed",
                    "patient": {"reference": ref},
                    "date": day,
                    "relationship": _cc(_ROLE, rel, t[rel]),
                    "condition": [{"code": _cc(self.cond_system, codes[c], t[c])}],
                }
            )
        return out

    def consents(self, p: SimPatient, pid: str, ref: str, in_purpose: bool) -> list[dict[str, Any]]:
        permits, denies = CONSENT_TERMS[p.consent]
        coding = [{"system": DUO, "code": _DUO[c]} for c in permits]
        provision: dict[str, Any] = {"type": "permit"}
        provision.update({"purpose": coding} if in_purpose else {"code": [{"coding": coding}]})
        if denies:  # no use of genomic data: by security label (it) or by data class (nl)
            genomic = (
                {"securityLabel": [{"system": _ACTCODE, "code": "GDIS"}]}
                if in_purpose
                else {"class": [{"system": _RESOURCE_TYPES, "code": "MolecularSequence"}]}
            )
            provision["provision"] = [{"type": "deny", **genomic}]

        def consent(suffix: str, status: str, when: str) -> dict[str, Any]:
            return {
                "resourceType": "Consent",
                "id": f"{pid}-consent{suffix}",
                "status": status,
                "scope": {"coding": [{"system": _SCOPE, "code": "research"}]},
                "category": [_cc(LOINC, "59284-0", "Patient Consent")],
                "patient": {"reference": ref},
                "dateTime": when,
                "policy": [{"uri": DUO}],
                "provision": provision,
            }

        if p.consent != "withdrawn":
            return [consent("", "active", p.index_date)]
        if in_purpose:  # it: one consent the patient refused
            return [consent("", "rejected", p.index_date)]
        later = f"{int(p.index_date[:4]) + 2}{p.index_date[4:]}"  # nl: revoked two years later
        return [consent("", "active", p.index_date), consent("-2", "inactive", later)]

    def patient(self, p: SimPatient, pid: str) -> dict[str, Any]:
        families, given = _NAMES[self.lang]
        month, day = int(self.rng.integers(1, 13)), int(self.rng.integers(1, 29))
        return {
            "resourceType": "Patient",
            "id": pid,
            "identifier": [
                {"system": f"https://{self.spec.name}.example/mrn", "value": p.local_id}
            ],
            "name": [{"family": self.pick(families), "given": [self.pick(given)]}],
            "gender": p.sex,
            "birthDate": f"{p.birth_year}-{month:02d}-{day:02d}",
        }

    def defects(self, p: SimPatient, pid: str, ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(an Observation that is not valid FHIR, one under an unmapped local lab code)."""
        day = p.index_date
        bad = self.obs(
            pid, ref, day, "ntprobnp", "33762-6", "laboratory", valueQuantity=_qty(35.0, "ng/L")
        )
        if self.si:
            bad["valueQuantity"]["value"] = "<35"  # a comparator typed into the value
        else:
            bad["effectiveDateTime"] = f"31/12/{day[:4]}"  # a day-first date
        local = {
            "system": f"https://{self.spec.name}.example/fhir/CodeSystem/lab",
            "code": "GAL3",
            "display": self.t["local"],
        }
        unmapped = self.obs(
            pid,
            ref,
            day,
            "gal3",
            {"coding": [local], "text": self.t["local"]},
            "laboratory",
            valueQuantity=_qty(14.2, "ng/mL"),
        )
        return bad, unmapped


def _medications(
    site: _Site, p: SimPatient, pid: str, ref: str, bulk: bool
) -> list[dict[str, Any]]:
    out = []
    for atc in p.medications:
        res: dict[str, Any] = {
            "id": f"{pid}-{atc}",
            "subject": {"reference": ref},
            "status": "active",
        }
        concept = _cc(ATC, atc, site.t[atc])
        if bulk:  # it: prescriptions referring to the export's Medication resources
            res.update(
                resourceType="MedicationRequest",
                intent="order",
                authoredOn=p.index_date,
                medicationReference={"reference": f"Medication/atc-{atc}"},
            )
        else:  # nl: statements, the medication contained, a shared entry, or inline
            res.update(resourceType="MedicationStatement", effectivePeriod={"start": p.index_date})
            if atc == "C10AA05":
                res["contained"] = [{"resourceType": "Medication", "id": "med", "code": concept}]
                res["medicationReference"] = {"reference": "#med"}
            elif atc == "C09AA05":
                res["medicationReference"] = {"reference": f"urn:uuid:{site.uid('med-' + atc)}"}
            else:
                res["medicationCodeableConcept"] = concept
        out.append(res)
    return out


def _resources(site: _Site, p: SimPatient, pid: str, ref: str, bulk: bool) -> list[dict[str, Any]]:
    """Everything the site records about ``p`` but the Patient resource itself."""
    return (
        site.follow_up(p, pid, ref)
        + site.observations(p, pid, ref)
        + site.procedures(p, pid, ref)
        + site.clinical(p, pid, ref)
        + _medications(site, p, pid, ref, bulk)
        + site.consents(p, pid, ref, in_purpose=bulk)
    )


def _medication(site: _Site, atc: str) -> dict[str, Any]:
    return {"resourceType": "Medication", "id": f"atc-{atc}", "code": _cc(ATC, atc, site.t[atc])}


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_fhir_bundle(
    patients: list[SimPatient], path: Path, spec: SiteSpec, *, seed: int
) -> list[Path]:
    """The site's EPR export as one FHIR R4 ``collection`` Bundle at ``path``."""
    site = _Site(spec, seed)
    defect_at = int(site.rng.integers(0, len(patients))) if patients else -1
    entries: list[dict[str, Any]] = []

    def add(resource: dict[str, Any], valid: bool = True) -> str:
        url = f"urn:uuid:{site.uid(resource['resourceType'] + '/' + resource['id'])}"
        entries.append({"fullUrl": url, "resource": _model(resource) if valid else resource})
        return url

    med = _model(_medication(site, "C09AA05"))  # the Medication statements refer to
    entries.append({"fullUrl": f"urn:uuid:{site.uid('med-C09AA05')}", "resource": med})
    for i, p in enumerate(patients):
        pid = site.uid(p.local_id)
        ref = add(site.patient(p, pid))
        for res in _resources(site, p, pid, ref, bulk=False):
            add(res)
        if i == defect_at:
            invalid, unmapped = site.defects(p, pid, ref)
            add(unmapped)
            add(invalid, valid=False)
    bundle = _model(
        {
            "resourceType": "Bundle",
            "id": site.uid("bundle"),
            "type": "collection",
            "timestamp": "2024-06-01T12:00:00+02:00",
        }
    )
    bundle["entry"] = entries  # entries one by one: one of them is deliberately invalid
    _atomic_write(path, json.dumps(bundle, ensure_ascii=False, indent=1).encode("utf-8"))
    return [path]


def write_fhir_ndjson(
    patients: list[SimPatient], directory: Path, spec: SiteSpec, *, seed: int
) -> list[Path]:
    """The site's FHIR Bulk Data export: one NDJSON file per resource type in ``directory``."""
    site = _Site(spec, seed)
    defect_at = int(site.rng.integers(0, len(patients))) if patients else -1
    files: dict[str, list[str]] = {}

    def add(resource: dict[str, Any], valid: bool = True) -> None:
        line = _model_json(resource) if valid else json.dumps(resource, ensure_ascii=False)
        files.setdefault(resource["resourceType"], []).append(line)

    for atc in sorted({a for p in patients for a in p.medications}):
        add(_medication(site, atc))
    for i, p in enumerate(patients):
        pid = p.local_id.lower()
        ref = f"Patient/{pid}"
        add(site.patient(p, pid))
        for res in _resources(site, p, pid, ref, bulk=True):
            add(res)
        if i == defect_at:
            invalid, unmapped = site.defects(p, pid, ref)
            add(unmapped)
            add(invalid, valid=False)
    written = []
    for rtype, lines in sorted(files.items()):
        data = ("\n".join(lines) + "\n").encode("utf-8")
        if rtype == "Observation":  # the largest file, compressed as servers may deliver it
            path = directory / f"{rtype}.ndjson.gz"
            data = gzip.compress(data, mtime=0)
        else:
            path = directory / f"{rtype}.ndjson"
        _atomic_write(path, data)
        written.append(path)
    return written
