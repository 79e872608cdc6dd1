"""Reading single FHIR R4 resources with ``fhir.resources`` (R4B models), one at a time.

Each resource is validated on its own (``model_validate``) so that one malformed resource is a
rejection naming ``<ResourceType>/<id>``, never the failure of a whole Bundle or export file.
Helpers here turn FHIR datatypes (R4 ``datatypes.html``) into the plain values harmonised rows
hold.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from cardiofabric.errors import MissingDependencyError
from cardiofabric.vocab.systems import normalise_system

__all__ = [
    "ResourceError",
    "first_code",
    "language_of",
    "model_class",
    "reference_key",
    "short_system",
    "timestamp",
    "validate",
    "when",
    "where",
]

# The resource types the adapters read; anything else in a Bundle or export is skipped.
SUPPORTED = frozenset(
    {
        "Patient",
        "Condition",
        "Observation",
        "MedicationStatement",
        "MedicationRequest",
        "MedicationAdministration",
        "Medication",
        "Procedure",
        "FamilyMemberHistory",
        "Consent",
        "ImagingStudy",
        "ResearchSubject",
    }
)

# Preferred coding per CodeableConcept: standard systems first (R4 CodeableConcept: a concept may
# carry several codings of the same meaning; the row keeps the standard one).
_PREFERENCE = ("LOINC", "SNOMEDCT", "ICD10", "ICD10CM", "ATC", "HPO", "PATHFINDER")

# A literal reference (R4 ``references.html#literal``): [base/]Type/id[/_history/version].
_REFERENCE = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")

# BCP 47 primary language subtags (R4 ``Resource.language``) → ISO 639-3.
_LANGUAGES = {
    "en": "eng",
    "nl": "nld",
    "it": "ita",
    "de": "deu",
    "fr": "fra",
    "es": "spa",
    "sv": "swe",
    "fi": "fin",
    "da": "dan",
    "no": "nor",
    "pt": "por",
}


class ResourceError(Exception):
    """One resource cannot be accepted; the adapter turns it into a rejection."""


def model_class(resource_type: str) -> Any:
    """The R4B model class of a resource type (lazy import: a missing extra is a clear error)."""
    try:
        from fhir.resources.R4B import get_fhir_model_class
    except ImportError:
        raise MissingDependencyError("fhir.resources", "ingest", "FHIR ingest") from None
    return get_fhir_model_class(resource_type)


def where(raw: Any, fallback: str) -> str:
    """How a rejection names a resource: ``Observation/obs-7``, else where it was found."""
    if isinstance(raw, dict) and isinstance(raw.get("resourceType"), str):
        rid = raw.get("id")
        return f"{raw['resourceType']}/{rid}" if isinstance(rid, str) and rid else fallback
    return fallback


def validate(raw: Any) -> Any:
    """The validated model of one resource, or :class:`ResourceError` saying what is wrong."""
    if not isinstance(raw, dict):
        raise ResourceError(f"expected a JSON object (a FHIR resource), found {type(raw).__name__}")
    rtype = raw.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise ResourceError("the object has no 'resourceType' (every FHIR resource has one)")
    if rtype not in SUPPORTED:
        raise ResourceError(f"resource type {rtype!r} is not read by this adapter")
    from pydantic import ValidationError

    try:
        return model_class(rtype).model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or rtype}: {err['msg']}"
            for err in exc.errors()[:3]
        ]
        more = f" (and {exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
        raise ResourceError(f"not a valid FHIR R4 {rtype}: {'; '.join(problems)}{more}") from None


def short_system(system: str | None) -> str | None:
    """Our short name of a code system URI (``http://loinc.org`` → ``LOINC``), else as given."""
    return normalise_system(system)


def first_code(concept: Any) -> tuple[str | None, str | None, str | None]:
    """``(system, code, label)`` of a CodeableConcept, preferring a standard coding.

    The label is the concept's ``text`` when present ("the concept as entered or chosen by the
    user", R4 ``CodeableConcept.text``), which is the site's own wording in its own language;
    otherwise the chosen coding's ``display``.
    """
    if concept is None:
        return None, None, None
    codings = [c for c in (concept.coding or []) if c is not None and c.code]
    if not codings:
        return None, None, concept.text

    def rank(c: Any) -> int:
        s = short_system(c.system)
        return _PREFERENCE.index(s) if s in _PREFERENCE else len(_PREFERENCE)

    best = min(codings, key=rank)
    return best.system, best.code, concept.text or best.display


def coding_code(coding: Any) -> tuple[str | None, str | None, str | None]:
    """``(system, code, display)`` of a single Coding."""
    if coding is None:
        return None, None, None
    return coding.system, coding.code, coding.display


def timestamp(value: Any) -> str | None:
    """A FHIR dateTime/instant/date as ISO 8601 text for a TIMESTAMP column.

    Partial dates (``2019`` or ``2019-05``, allowed by the R4 ``dateTime`` type) are not a
    point in time: the row gets no value and the kept resource holds the original.
    """
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return None


def date(value: Any) -> str | None:
    """A FHIR date/dateTime as ``YYYY-MM-DD`` for a DATE column (partial dates give None)."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return None


def when(*values: Any) -> str | None:
    """The first of several candidate times that is a full date or date-time."""
    for v in values:
        t = timestamp(v)
        if t:
            return t
    return None


def language_of(resource: Any, default: str) -> str:
    """ISO 639-3 language of a resource's text: its own ``language`` or the site's."""
    lang = getattr(resource, "language", None)
    if isinstance(lang, str) and lang:
        return _LANGUAGES.get(lang.split("-")[0].lower(), default)
    return default


def reference_key(reference: str | None) -> str | None:
    """``Type/id`` of a literal reference, ignoring any base URL and version."""
    if not reference:
        return None
    m = _REFERENCE.search(reference)
    return f"{m.group(1)}/{m.group(2)}" if m else None
