"""Code systems: their names, their FHIR URIs and OIDs, and what a well-formed code looks like.

Every harmonised row names its system by one short name: ``LOINC``, ``SNOMEDCT``, ``ICD10``,
``ICD10CM``, ``HPO``, ``ATC``, and ``PATHFINDER`` for the study-defined outcomes of the
Pathfinder network (the composite ``MACE``, for which no standard code exists; every site
records it under its own spelling of the study's system, see :data:`PATHFINDER_URI`).
Sources spell systems many ways (FHIR ``Coding.system`` URIs, HL7 v3 OIDs, OMOP
``vocabulary_id`` values, hand-typed names); :func:`normalise_system` maps them all to the
short name and leaves a local system's name as it is.

URIs from the HL7 Terminology (THO) code system registry (terminology.hl7.org, "External code
systems"); OIDs from the HL7 OID registry (2.16.840.1.113883.6.x).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "PATHFINDER_URI",
    "STANDARD_SYSTEMS",
    "SYSTEM_URIS",
    "Code",
    "is_standard",
    "normalise_code",
    "normalise_system",
    "system_uri",
    "valid_code",
]


@dataclass(frozen=True)
class Code:
    """One curated vocabulary entry.

    ``unit`` is the canonical UCUM unit of numeric results and ``analyte`` names the substance
    for mass↔substance conversions (:data:`cardiofabric.vocab.units.MOLAR_MASS`). ``parents``
    are is-a links within the same system (for ``descendants``). ``preferred`` names the code
    of the same system that rows are harmonised to when two codes mean one measurement (LOINC
    mass- and substance-concentration twins: both are stored in the canonical unit).
    ``components`` lists the members of a panel.
    """

    system: str  # LOINC | SNOMEDCT | ICD10 | HPO | ATC | PATHFINDER
    code: str
    label: str
    unit: str | None = None
    analyte: str | None = None
    parents: tuple[str, ...] = ()
    preferred: str | None = None
    components: tuple[str, ...] = ()


#: The systems a harmonised row may carry.
STANDARD_SYSTEMS = frozenset({"LOINC", "SNOMEDCT", "ICD10", "ICD10CM", "HPO", "ATC", "PATHFINDER"})

#: The FHIR CodeSystem of the Pathfinder network's study-defined outcomes (FHIR exports);
#: OMOP extracts write the same system as ``vocabulary_id`` ``Pathfinder``.
PATHFINDER_URI = "https://pathfinder.example/fhir/CodeSystem/outcome"

#: FHIR URIs of the code systems → short names (HL7 THO external code systems).
SYSTEM_URIS: dict[str, str] = {
    "http://loinc.org": "LOINC",
    "http://snomed.info/sct": "SNOMEDCT",
    "http://hl7.org/fhir/sid/icd-10": "ICD10",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD10CM",
    "http://purl.obolibrary.org/obo/hp.owl": "HPO",
    "http://human-phenotype-ontology.org": "HPO",
    "http://www.whocc.no/atc": "ATC",
    PATHFINDER_URI: "PATHFINDER",
}
_PREFERRED_URI = {
    "LOINC": "http://loinc.org",
    "SNOMEDCT": "http://snomed.info/sct",
    "ICD10": "http://hl7.org/fhir/sid/icd-10",
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "HPO": "http://purl.obolibrary.org/obo/hp.owl",
    "ATC": "http://www.whocc.no/atc",
    "PATHFINDER": PATHFINDER_URI,
}
# HL7 OIDs (2.16.840.1.113883.6.x) as sources write them in CDA and v2 messages.
_OIDS = {
    "2.16.840.1.113883.6.1": "LOINC",
    "2.16.840.1.113883.6.96": "SNOMEDCT",
    "2.16.840.1.113883.6.3": "ICD10",
    "2.16.840.1.113883.6.90": "ICD10CM",
    "2.16.840.1.113883.6.73": "ATC",
}
# Names as people and OMOP ``vocabulary_id`` spell them, compared without case, spaces,
# dashes or dots.
_NAMES = {
    "loinc": "LOINC",
    "ln": "LOINC",
    "lnc": "LOINC",
    "snomedct": "SNOMEDCT",
    "snomed": "SNOMEDCT",
    "sct": "SNOMEDCT",
    "snomedctint": "SNOMEDCT",
    "icd10": "ICD10",
    "icd10who": "ICD10",
    "icd10cm": "ICD10CM",
    "hpo": "HPO",
    "hp": "HPO",
    "humanphenotypeontology": "HPO",
    "atc": "ATC",
    "whoatc": "ATC",
    "atcddd": "ATC",
    "pathfinder": "PATHFINDER",
    "pathfinderoutcome": "PATHFINDER",
}


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def normalise_system(system: str | None) -> str | None:
    """The short name of a code system as a source spells it; a local system unchanged.

    ``"http://loinc.org"``, ``"urn:oid:2.16.840.1.113883.6.1"``, ``"LN"`` and ``"loinc"`` all
    give ``"LOINC"``; ``"HUS-LAB"`` stays ``"HUS-LAB"`` (stripped).
    """
    if system is None:
        return None
    s = system.strip()
    if not s:
        return None
    if s in SYSTEM_URIS:
        return SYSTEM_URIS[s]
    if s.rstrip("/") in SYSTEM_URIS:
        return SYSTEM_URIS[s.rstrip("/")]
    oid = s[len("urn:oid:") :] if s.lower().startswith("urn:oid:") else s
    if oid in _OIDS:
        return _OIDS[oid]
    if s in STANDARD_SYSTEMS:
        return s
    return _NAMES.get(_squash(s), s)


def is_standard(system: str | None) -> bool:
    """Whether ``system`` (in any spelling) is one a harmonised row may carry."""
    return normalise_system(system) in STANDARD_SYSTEMS


def system_uri(system: str) -> str | None:
    """The FHIR URI of a standard system (``"LOINC"`` → ``"http://loinc.org"``)."""
    return _PREFERRED_URI.get(normalise_system(system) or "")


# What a well-formed code looks like in each system (format only, not existence):
# LOINC: 1-7 digits, dash, check digit (LOINC Users' Guide, section 1.4 "The LOINC code");
# SNOMED CT: an SCTID of 6-18 digits (SNOMED CT Technical Implementation Guide 6.1);
# ICD-10: letter, two digits, optional dot and up to 4 characters (WHO ICD-10 Vol. 2, 2.4);
# HPO: HP: and seven digits; ATC: the five levels of the WHO ATC code (A, A10, A10B, A10BA,
# A10BA02), per the WHO Collaborating Centre's "Structure and principles"; PATHFINDER: the
# study's own upper-case mnemonics (``MACE``).
_FORMATS = {
    "LOINC": re.compile(r"^\d{1,7}-\d$"),
    "SNOMEDCT": re.compile(r"^[1-9]\d{5,17}$"),
    "ICD10": re.compile(r"^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?$"),
    "ICD10CM": re.compile(r"^[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$"),
    "HPO": re.compile(r"^HP:\d{7}$"),
    "ATC": re.compile(r"^[A-Z](\d{2}([A-Z]([A-Z](\d{2})?)?)?)?$"),
    "PATHFINDER": re.compile(r"^[A-Z][A-Z0-9_]{1,31}$"),
}


def normalise_code(system: str | None, code: str | None) -> str | None:
    """A code as the system writes it: trimmed; ICD-10 upper case with its dot
    (``i421`` → ``I42.1``); HPO with its colon (``HP_0001639`` → ``HP:0001639``); ATC and
    PATHFINDER upper case.
    """
    if code is None:
        return None
    c = code.strip()
    short = normalise_system(system)
    if short in ("ICD10", "ICD10CM"):
        c = c.upper().replace(" ", "")
        if len(c) > 3 and "." not in c:
            c = f"{c[:3]}.{c[3:]}"
    elif short == "HPO":
        c = c.upper().replace("_", ":")
        if c.isdigit():
            c = f"HP:{c.zfill(7)}"
    elif short in ("ATC", "PATHFINDER"):
        c = c.upper().replace(" ", "")
    return c or None


def valid_code(system: str | None, code: str | None) -> bool:
    """Whether ``code`` is well formed for the standard ``system`` (False for local systems)."""
    short = normalise_system(system)
    pattern = _FORMATS.get(short or "")
    return bool(pattern and code and pattern.match(code))
