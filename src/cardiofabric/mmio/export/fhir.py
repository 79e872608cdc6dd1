"""One MMIO as a FHIR R4 ``Bundle`` of type ``collection``.

References: FHIR R4 (4.0.1) resources Patient, Condition, Observation, MedicationStatement,
Procedure and Consent; variants follow the HL7 Genomics Reporting IG (STU3) ``Variant``
profile: ``code`` LOINC 69548-6 with one component per fact (gene studied 48018-6, reference
and alternate allele 69547-8 / 69551-0, chromosome 48000-4, exact start 81254-5 with the
1-based coordinate system 92822-6, assembly 62374-4, allelic state 53034-5).

Every resource gets a ``urn:uuid:`` ``fullUrl`` derived from its content (UUID version 5), so
exporting the same object twice gives the same bundle, and resources refer to the patient by
that URN. The patient is known by its pseudonym only (identifier system
``urn:cardiofabric:pseudonym``); birth date is the year alone (R4 ``date`` allows ``YYYY``).
Dates are written at day precision (see ``iso_date``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from cardiofabric.errors import MissingDependencyError, ObjectFormatError
from cardiofabric.mmio.container import MMIO
from cardiofabric.mmio.export import (
    CODE_SYSTEMS,
    coded,
    content_rows,
    iso_date,
    label_of,
    number,
    source_coded,
    text,
)
from cardiofabric.mmio.said import canonical_json

__all__ = ["PSEUDONYM_SYSTEM", "to_fhir_bundle", "validate_fhir_bundle"]

PSEUDONYM_SYSTEM = "urn:cardiofabric:pseudonym"
#: Namespace of the content-derived resource UUIDs.
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:cardiofabric:fhir")

_LOINC = CODE_SYSTEMS["LOINC"].fhir
_UCUM = CODE_SYSTEMS["UCUM"].fhir
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_CATEGORIES = {
    "social-history", "vital-signs", "imaging", "laboratory", "procedure",
    "survey", "exam", "therapy", "activity",
}  # fmt: skip
_CATEGORY_ALIASES = {"wearable": "activity", "vitals": "vital-signs", "lab": "laboratory"}
_REFUTED = {"absent", "excluded", "refuted", "ruled-out"}  # as the Phenopacket "excluded"
_CLINICAL_STATUS = {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
_GENDER = {"male", "female", "other", "unknown"}
_V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"  # HL7 v2 diagnostic service section
_VARIANT_PROFILE = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/variant"

# LOINC answer lists used by the Genomics Reporting IG.
_ALLELIC_STATE = {  # LL381-5
    "heterozygous": ("LA6706-1", "Heterozygous"),
    "homozygous": ("LA6705-3", "Homozygous"),
    "hemizygous": ("LA6707-9", "Hemizygous"),
}
_ASSEMBLY = {"GRCh37": ("LA14029-5", "GRCh37"), "GRCh38": ("LA26806-2", "GRCh38")}  # LL1040-6
_CHROMOSOME = {  # LL2938-0
    "1": "LA21254-0", "2": "LA21255-7", "3": "LA21256-5", "4": "LA21257-3",
    "5": "LA21258-1", "6": "LA21259-9", "7": "LA21260-7", "8": "LA21261-5",
    "9": "LA21262-3", "10": "LA21263-1", "11": "LA21264-9", "12": "LA21265-6",
    "13": "LA21266-4", "14": "LA21267-2", "15": "LA21268-0", "16": "LA21269-8",
    "17": "LA21270-6", "18": "LA21271-4", "19": "LA21272-2", "20": "LA21273-0",
    "21": "LA21274-8", "22": "LA21275-5", "X": "LA21276-3", "Y": "LA21277-1",
}  # fmt: skip


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    c = {"system": system, "code": code}
    if display:
        c["display"] = display
    return c


def _loinc(code: str, display: str) -> dict[str, Any]:
    return {"coding": [_coding(_LOINC, code, display)]}


def _component(
    code: str, display: str, value: Any, kind: str = "CodeableConcept"
) -> dict[str, Any]:
    """One Observation.component: a LOINC code and its ``value[x]`` of the given type."""
    return {"code": _loinc(code, display), f"value{kind}": value}


def _concept(row: Mapping[str, Any], fallback: str) -> dict[str, Any]:
    """A CodeableConcept: the harmonised coding, then the source coding beside it."""
    codings = []
    pairs = (
        (coded(row), text(row.get("label"))),
        (source_coded(row), text(row.get("source_label"))),
    )
    for pair, display in pairs:
        if pair:
            cs, code = pair
            c = _coding(cs.fhir, cs.fhir_code(code), display)
            if c not in codings:
                codings.append(c)
    concept: dict[str, Any] = {}
    if codings:
        concept["coding"] = codings
    concept["text"] = label_of(row, fallback)
    return concept


class _Builder:
    def __init__(self, mmio: MMIO) -> None:
        self.mmio = mmio
        self.entries: list[dict[str, Any]] = []
        self._seen: set[str] = set()
        self.patient_url = self.add(self._patient())

    def add(self, resource: dict[str, Any]) -> str:
        # The UUID covers the content (subject included), so identical rows collapse into one.
        rid = str(uuid.uuid5(UUID_NAMESPACE, canonical_json(resource).decode("utf-8")))
        url = f"urn:uuid:{rid}"
        if url not in self._seen:
            self._seen.add(url)
            body = {"resourceType": resource["resourceType"], "id": rid}
            body.update({k: v for k, v in resource.items() if k != "resourceType"})
            self.entries.append({"fullUrl": url, "resource": body})
        return url

    @property
    def subject(self) -> dict[str, str]:
        return {"reference": self.patient_url}

    def _patient(self) -> dict[str, Any]:
        person = next((row for _, row in content_rows(self.mmio, "person")), {})
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "identifier": [{"system": PSEUDONYM_SYSTEM, "value": self.mmio.pseudonym}],
        }
        sex = str(person.get("sex") or "").lower()
        if sex in _GENDER:
            patient["gender"] = sex
        year = person.get("birth_year")
        if isinstance(year, int) and not isinstance(year, bool) and 1000 <= year <= 9999:
            patient["birthDate"] = f"{year:04d}"
        death = iso_date(person.get("death_date"))
        if death:
            patient["deceasedDateTime"] = death
        return patient

    # -- clinical ---------------------------------------------------------------------------
    def conditions(self) -> None:
        for _, row in content_rows(self.mmio, "condition"):
            res: dict[str, Any] = {"resourceType": "Condition"}
            status = str(row.get("status") or "").lower()
            if status in _CLINICAL_STATUS:
                res["clinicalStatus"] = {
                    "coding": [
                        _coding("http://terminology.hl7.org/CodeSystem/condition-clinical", status)
                    ]
                }
            if status in _REFUTED:
                res["verificationStatus"] = {
                    "coding": [
                        _coding(
                            "http://terminology.hl7.org/CodeSystem/condition-ver-status", "refuted"
                        )
                    ]
                }
            res["code"] = _concept(row, "condition")
            res["subject"] = self.subject
            onset = iso_date(row.get("onset_date"))
            if onset:
                res["onsetDateTime"] = onset
            self.add(res)

    def observations(self) -> None:
        for table, default in (
            ("measurement", None),
            ("ecg_feature", "procedure"),
            ("imaging_measurement", "imaging"),
        ):
            for _, row in content_rows(self.mmio, table):
                raw = str(row.get("category") or default or "").lower()
                category = _CATEGORY_ALIASES.get(raw, raw)
                res: dict[str, Any] = {"resourceType": "Observation", "status": "final"}
                if category in _CATEGORIES:
                    res["category"] = [{"coding": [_coding(_OBS_CATEGORY, category)]}]
                res["code"] = _concept(row, str(row.get("feature") or table))
                res["subject"] = self.subject
                when = iso_date(row.get("date"))
                if when:
                    res["effectiveDateTime"] = when
                value, unit = number(row.get("value")), text(row.get("unit"))
                if value is not None:
                    quantity: dict[str, Any] = {"value": value}
                    if unit:
                        quantity.update(unit=unit, system=_UCUM, code=unit)
                    res["valueQuantity"] = quantity
                else:
                    res["dataAbsentReason"] = {
                        "coding": [
                            _coding(
                                "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                                "unknown",
                            )
                        ]
                    }
                notes = _source_notes(table, row)
                if notes:
                    res["note"] = [{"text": n} for n in notes]
                self.add(res)

    def medications(self) -> None:
        for _, row in content_rows(self.mmio, "medication"):
            start, end = iso_date(row.get("start_date")), iso_date(row.get("end_date"))
            res: dict[str, Any] = {
                "resourceType": "MedicationStatement",
                "status": "completed" if end else "active",
                "medicationCodeableConcept": _concept(row, "medication"),
                "subject": self.subject,
            }
            period = {k: v for k, v in (("start", start), ("end", end)) if v}
            if period:
                res["effectivePeriod"] = period
            self.add(res)

    def procedures(self) -> None:
        for _, row in content_rows(self.mmio, "procedure"):
            res: dict[str, Any] = {
                "resourceType": "Procedure",
                "status": "completed",
                "code": _concept(row, "procedure"),
                "subject": self.subject,
            }
            when = iso_date(row.get("date"))
            if when:
                res["performedDateTime"] = when
            self.add(res)

    # -- genomics (HL7 Genomics Reporting IG, Variant profile) --------------------------------
    def variants(self) -> None:
        for _, row in content_rows(self.mmio, "variant"):
            chrom, pos = text(row.get("chrom")), row.get("pos")
            ref, alt = text(row.get("ref")), text(row.get("alt"))
            if not (chrom and _is_int(pos) and ref and alt):
                continue
            components: list[dict[str, Any]] = []
            gene = text(row.get("gene"))
            if gene:
                # The IG wants the HGNC id as code; the row has the symbol only, so text.
                components.append(_component("48018-6", "Gene studied [ID]", {"text": gene}))
            build = _ASSEMBLY.get(str(row.get("build") or ""))
            if build:
                components.append(
                    _component(
                        "62374-4", "Human reference sequence assembly version", _loinc(*build)
                    )
                )
            name = chrom.removeprefix("chr").upper()
            chrom_code = _CHROMOSOME.get(name)
            chromosome = _loinc(chrom_code, f"Chromosome {name}") if chrom_code else {"text": name}
            components += [
                _component("48000-4", "Chromosome [Identifier]", chromosome),
                _component(
                    "92822-6",
                    "Genomic coordinate system [Type]",
                    _loinc("LA30102-0", "1-based character counting"),
                ),
                _component("81254-5", "Genomic allele start-end", {"low": {"value": pos}}, "Range"),
                _component("69547-8", "Genomic ref allele [ID]", ref, "String"),
                _component("69551-0", "Genomic alt allele [ID]", alt, "String"),
            ]
            state = _ALLELIC_STATE.get(str(row.get("zygosity") or "").lower())
            if state:
                components.append(_component("53034-5", "Allelic state", _loinc(*state)))
            self.add(
                {
                    "resourceType": "Observation",
                    "meta": {"profile": [_VARIANT_PROFILE]},
                    "status": "final",
                    "category": [
                        {"coding": [_coding(_OBS_CATEGORY, "laboratory")]},
                        {"coding": [_coding(_V2_0074, "GE", "Genetics")]},
                    ],
                    "code": _loinc("69548-6", "Genetic variant assessment"),
                    "subject": self.subject,
                    "valueCodeableConcept": _loinc("LA9633-4", "Present"),
                    "component": components,
                }
            )

    # -- consent (GA4GH DUO terms as provision codes) -----------------------------------------
    def consent(self) -> None:
        consent = self.mmio.manifest.consent
        duo = CODE_SYSTEMS["DUO"]

        def codes(terms: list[Any]) -> list[dict[str, Any]]:
            return [{"coding": [_coding(duo.fhir, t.code, t.label)]} for t in terms]

        provision: dict[str, Any] = {"type": "permit"}
        if consent.permissions:
            provision["code"] = codes(consent.permissions)
        if consent.prohibitions:
            provision["provision"] = [{"type": "deny", "code": codes(consent.prohibitions)}]
        res: dict[str, Any] = {
            "resourceType": "Consent",
            # R4 Consent.status has no "withdrawn": a withdrawn consent is no longer in force.
            "status": "active" if consent.status == "active" else "inactive",
            "scope": {
                "coding": [
                    _coding("http://terminology.hl7.org/CodeSystem/consentscope", "research")
                ]
            },
            "category": [_loinc("59284-0", "Patient Consent")],
            "patient": self.subject,
        }
        updated = text(consent.updated)
        if updated and iso_date(updated):
            res["dateTime"] = iso_date(updated)
        res["policy"] = [{"uri": duo.url}]
        res["provision"] = provision
        self.add(res)


def _source_notes(table: str, row: Mapping[str, Any]) -> list[str]:
    notes = []
    if table == "ecg_feature" and row.get("method"):
        notes.append(f"ECG feature {row.get('feature') or ''} measured by {row['method']}".strip())
    if table == "imaging_measurement" and row.get("imaging_modality"):
        notes.append(f"imaging modality {row['imaging_modality']}")
    sv, su = text(row.get("source_value")), text(row.get("source_unit"))
    if sv:
        notes.append(f"source value: {sv}{' ' + su if su else ''}")
    return notes


def to_fhir_bundle(mmio: MMIO) -> dict[str, Any]:
    """The patient of ``mmio`` as a FHIR R4 ``collection`` Bundle (JSON)."""
    b = _Builder(mmio)
    b.conditions()
    b.observations()
    b.medications()
    b.procedures()
    b.variants()
    b.consent()
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(UUID_NAMESPACE, mmio.digest)),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:said:{mmio.digest}"},
        "type": "collection",
        "entry": b.entries,
    }


def validate_fhir_bundle(bundle: Mapping[str, Any]) -> Any:
    """Validate ``bundle`` with the ``fhir.resources`` R4B models; return the parsed Bundle.

    Also checks what the models do not: every ``fullUrl`` is a unique ``urn:uuid:`` and every
    ``urn:uuid:`` reference points at an entry of the bundle.
    """
    try:
        from fhir.resources.R4B.bundle import Bundle
        from pydantic import ValidationError
    except ImportError as exc:
        raise MissingDependencyError(
            exc.name or "fhir.resources", extra="export", feature="FHIR validation"
        ) from None
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise ObjectFormatError("expected a FHIR Bundle (resourceType 'Bundle')")
    try:
        parsed = Bundle.model_validate(dict(bundle))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ObjectFormatError(
            f"not a valid FHIR R4 Bundle: {where}: {err['msg']} "
            f"({exc.error_count()} problems in all)",
            hint="compare the element with the FHIR R4 resource definition",
        ) from None
    except (KeyError, TypeError, ValueError) as exc:  # e.g. an unknown resourceType
        raise ObjectFormatError(f"not a valid FHIR R4 Bundle: {exc!r}") from None
    urls = [e.get("fullUrl") for e in bundle.get("entry", [])]
    bad = [u for u in urls if not (isinstance(u, str) and u.startswith("urn:uuid:"))]
    if bad or len(set(urls)) != len(urls):
        raise ObjectFormatError(
            "every Bundle.entry.fullUrl should be a unique urn:uuid: "
            + (f"(found {bad[0]!r})" if bad else "(found duplicates)")
        )
    dangling = sorted(_references(bundle) - set(urls))
    if dangling:
        raise ObjectFormatError(f"reference {dangling[0]} resolves to no entry of the Bundle")
    return parsed


def _references(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, Mapping):
        ref = node.get("reference")
        if isinstance(ref, str) and ref.startswith("urn:uuid:"):
            found.add(ref)
        for value in node.values():
            found |= _references(value)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item)
    return found
