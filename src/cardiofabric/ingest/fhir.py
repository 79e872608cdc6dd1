"""HL7 FHIR R4 Bundle JSON: Patient, Observation and Condition (read with ``fhir.resources``).

The full set of resources (medications, procedures, family history, consent, imaging studies,
bulk NDJSON) grows in the ingest adapters; this one reads what the example patient needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, register
from cardiofabric.ingest.harmonise import coded, measurement
from cardiofabric.mmio.container import PayloadSpec
from cardiofabric.mmio.model import ModalityKind
from cardiofabric.mmio.said import canonical_json

__all__ = ["FhirBundleAdapter"]

_GENDER = {"male": "male", "female": "female", "other": "other", "unknown": "unknown"}


def _first_coding(concept: Any) -> tuple[str | None, str | None, str | None]:
    if concept is None:
        return None, None, None
    coding = (concept.coding or [None])[0]
    if coding is None:
        return None, None, concept.text
    return coding.system, coding.code, coding.display or concept.text


# Direct identifiers removed from the kept resources (HIPAA Safe Harbor / GDPR minimisation):
# the local id must never enter an object, and names or contacts are not needed for research.
_DIRECT_IDENTIFIERS = ("identifier", "name", "telecom", "address", "contact", "photo", "text")


def _deidentify(resource: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in resource.items() if k not in _DIRECT_IDENTIFIERS}
    if out.get("resourceType") == "Patient":
        out["id"] = "subject"
        if out.get("birthDate"):
            out["birthDate"] = str(out["birthDate"])[:4]
    for key in ("subject", "patient"):
        if isinstance(out.get(key), dict) and "reference" in out[key]:
            out[key] = {"reference": "Patient/subject"}
    return out


def _ref_id(ref: Any) -> str | None:
    if ref is None or not ref.reference:
        return None
    return str(ref.reference).rsplit("/", 1)[-1]


@register("fhir-bundle")
class FhirBundleAdapter:
    format = "fhir-bundle"
    version = "1"

    def read(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        try:
            from fhir.resources.R4B.bundle import Bundle
        except ImportError:
            raise MissingDependencyError("fhir.resources", "all", "FHIR ingest") from None
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read a FHIR Bundle JSON ({exc})", path=path) from None
        if not isinstance(raw, dict) or raw.get("resourceType") != "Bundle":
            found = raw.get("resourceType") if isinstance(raw, dict) else type(raw).__name__
            raise InputError(
                f"expected a FHIR R4 Bundle (resourceType 'Bundle'), found {found!r}", path=path
            )
        try:
            bundle = Bundle.model_validate(raw)
        except Exception as exc:  # pydantic ValidationError with FHIR paths
            first = str(exc).splitlines()[:3]
            raise InputError(f"not a valid FHIR R4 Bundle: {' '.join(first)}", path=path) from None

        patients: dict[str, str] = {}  # FHIR resource id -> local patient id
        content: dict[str | None, dict[str, list[dict[str, Any]]]] = {}
        times: dict[str | None, str] = {}
        raws: dict[
            str | None, list[dict[str, Any]]
        ] = {}  # the patient's own resources, kept as payload
        lang = ctx.language
        for entry in bundle.entry or []:
            res: Any = entry.resource
            if res is None:
                continue
            rtype = res.get_resource_type()
            if rtype == "Patient":
                local = (res.identifier[0].value if res.identifier else None) or res.id
                patients[res.id] = local
                person = {
                    "sex": _GENDER.get(res.gender or "", "unknown"),
                    "source_sex": res.gender,
                    "birth_year": res.birthDate.year if res.birthDate else None,
                }
                content.setdefault(res.id, {})["person"] = [person]
                raws.setdefault(res.id, []).append(_deidentify(res.model_dump(mode="json")))
            elif rtype == "Observation":
                pid = _ref_id(res.subject)
                system, code, label = _first_coding(res.code)
                eff = res.effectiveDateTime
                when = eff.isoformat() if hasattr(eff, "isoformat") else (str(eff) if eff else None)
                category = _first_coding((res.category or [None])[0])[1]
                if res.valueQuantity is not None:
                    q = res.valueQuantity
                    row = measurement(system, code, label, q.value, q.unit or q.code, lang)
                    row.update(category=category or "laboratory", date=when)
                    table = "measurement"
                else:
                    vsys, vcode, vlabel = _first_coding(res.valueCodeableConcept)
                    row = coded(system, code, label, lang)
                    row.update(
                        value_text=vlabel or res.valueString,
                        value_code_system=vsys,
                        value_code=vcode,
                        date=when,
                    )
                    table = "observation"
                content.setdefault(pid, {}).setdefault(table, []).append(row)
                raws.setdefault(pid, []).append(_deidentify(res.model_dump(mode="json")))
                if when:
                    times[pid] = max(times.get(pid, ""), when)
            elif rtype == "Condition":
                pid = _ref_id(res.subject)
                system, code, label = _first_coding(res.code)
                row = coded(system, code, label, lang)
                row["onset_date"] = str(res.onsetDateTime)[:10] if res.onsetDateTime else None
                status = _first_coding(res.clinicalStatus)[1]
                row["status"] = status
                content.setdefault(pid, {}).setdefault("condition", []).append(row)
                raws.setdefault(pid, []).append(_deidentify(res.model_dump(mode="json")))
        for pid, tables in content.items():
            local = patients.get(pid or "")
            if local is None:
                raise InputError(
                    f"a resource refers to Patient/{pid}, which is not in the bundle",
                    path=path,
                    hint="export the bundle with its Patient resources included",
                )
            own = {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": r} for r in raws.get(pid, [])],
            }
            yield ModalityRecord(
                local_id=local,
                kind=ModalityKind.CLINICAL,
                media_type="application/fhir+json",
                content=tables,
                payloads=[PayloadSpec(canonical_json(own), "application/fhir+json")],
                time=times.get(pid),
            )
