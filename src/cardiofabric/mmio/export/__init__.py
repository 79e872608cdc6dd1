"""Exports of one MMIO to the field's interchange formats: GA4GH Phenopacket v2 and FHIR R4.

Both exports read the harmonised ``content`` rows of the object's modalities (see
``store/schema.py`` for their columns) and the consent; neither reads payload bytes, and neither
can carry a local patient identifier because the object holds none (only the pseudonym).

This module holds what both exports share: the code systems they know, with their CURIE prefix
(Phenopacket ``OntologyClass.id``), their FHIR ``Coding.system`` URI and their Phenopacket
``MetaData.resources`` entry, plus small helpers over content rows. The optional dependencies
(``phenopackets``, ``protobuf``, ``fhir.resources``) are imported inside the functions that use
them, so that ``import cardiofabric.mmio.export`` works without the ``export`` extra.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cardiofabric.mmio.container import MMIO
    from cardiofabric.mmio.model import Modality

__all__ = [
    "CODE_SYSTEMS",
    "CodeSystem",
    "code_system",
    "to_fhir_bundle",
    "to_phenopacket",
    "validate_fhir_bundle",
    "validate_phenopacket",
]


@dataclass(frozen=True)
class CodeSystem:
    """One terminology as both exports name it.

    ``prefix`` is the CURIE prefix used in Phenopacket term ids (``LOINC:13457-7``); ``fhir``
    the canonical URI for FHIR ``Coding.system``; the rest fills a Phenopacket v2
    ``MetaData.Resource`` (id, name, url, version, namespacePrefix, iriPrefix). ``obo`` marks
    OBO ontologies, whose codes keep their prefix in FHIR too (``HP:0001639``).
    """

    prefix: str
    fhir: str
    resource_id: str
    name: str
    url: str
    iri_prefix: str
    version: str
    obo: bool = False

    def curie(self, code: str) -> str:
        """The term id in CURIE form, whether or not ``code`` already carries the prefix."""
        return f"{self.prefix}:{self.bare(code)}"

    def bare(self, code: str) -> str:
        """The code without any CURIE prefix (``13457-7``, ``0001639``)."""
        code = code.strip()
        head, sep, tail = code.partition(":")
        if sep and _norm(head) in _ALIASES and _ALIASES[_norm(head)] == self.prefix:
            return tail
        return code

    def fhir_code(self, code: str) -> str:
        """The code as FHIR ``Coding.code``: OBO ontologies keep their prefix, others do not."""
        return self.curie(code) if self.obo else self.bare(code)

    def resource(self) -> dict[str, str]:
        """This system as a Phenopacket v2 ``Resource`` (MetaData section)."""
        return {
            "id": self.resource_id,
            "name": self.name,
            "url": self.url,
            "version": self.version,
            "namespacePrefix": self.prefix,
            "iriPrefix": self.iri_prefix,
        }


_OBO = "http://purl.obolibrary.org/obo/"

#: The terminologies the exports emit, keyed by CURIE prefix. Versions are the releases the
#: site's code maps are built against; pass ``resource_versions`` to ``to_phenopacket`` to state
#: another. Prefixes follow the Phenopacket v2 recommendations (HP, LOINC, SNOMEDCT, ICD10,
#: GENO, UCUM, NCBITaxon); FHIR URIs are those of the FHIR R4 terminology pages.
CODE_SYSTEMS: dict[str, CodeSystem] = {
    cs.prefix: cs
    for cs in (
        CodeSystem("HP", _OBO + "hp.owl", "hp", "human phenotype ontology",
                   _OBO + "hp.owl", _OBO + "HP_", "2024-04-26", obo=True),
        CodeSystem("LOINC", "http://loinc.org", "loinc",
                   "Logical Observation Identifiers Names and Codes",
                   "https://loinc.org", "https://loinc.org/", "2.77"),
        CodeSystem("SNOMEDCT", "http://snomed.info/sct", "snomedct",
                   "SNOMED CT International Edition",
                   "http://snomed.info/sct", "http://snomed.info/id/", "2024-01-01"),
        CodeSystem("ICD10", "http://hl7.org/fhir/sid/icd-10", "icd10",
                   "International Classification of Diseases, 10th revision (WHO)",
                   "https://icd.who.int/browse10/2019/en",
                   "https://icd.who.int/browse10/2019/en#/", "2019"),
        CodeSystem("ICD10CM", "http://hl7.org/fhir/sid/icd-10-cm", "icd10cm",
                   "ICD-10 Clinical Modification",
                   "https://www.cdc.gov/nchs/icd/icd-10-cm/",
                   "https://icd10cmtool.cdc.gov/?fy=FY2024&query=", "2024"),
        CodeSystem("ATC", "http://www.whocc.no/atc", "atc",
                   "Anatomical Therapeutic Chemical Classification System",
                   "https://www.whocc.no/atc_ddd_index/",
                   "https://www.whocc.no/atc_ddd_index/?code=", "2024"),
        CodeSystem("GENO", _OBO + "geno.owl", "geno", "Genotype Ontology",
                   _OBO + "geno.owl", _OBO + "GENO_", "2023-10-08", obo=True),
        CodeSystem("UCUM", "http://unitsofmeasure.org", "ucum",
                   "Unified Code for Units of Measure",
                   "https://ucum.org", "https://units-of-measurement.org/", "2.1"),
        CodeSystem("NCBITaxon", _OBO + "ncbitaxon.owl", "ncbitaxon",
                   "NCBI organismal classification", _OBO + "ncbitaxon.owl",
                   _OBO + "NCBITaxon_", "2021-06-10", obo=True),
        CodeSystem("DUO", _OBO + "duo.owl", "duo", "Data Use Ontology",
                   _OBO + "duo.owl", _OBO + "DUO_", "2021-02-23", obo=True),
    )
}  # fmt: skip


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


# How sources and our harmonised rows spell these systems (case, spaces and dashes ignored).
_ALIASES: dict[str, str] = {
    **{_norm(p): p for p in CODE_SYSTEMS},
    "hpo": "HP",
    "humanphenotypeontology": "HP",
    "ln": "LOINC",
    "lnc": "LOINC",
    "snomed": "SNOMEDCT",
    "sct": "SNOMEDCT",
    "icd10who": "ICD10",
    "atcddd": "ATC",
    "whoatc": "ATC",
}
_BY_URI = {cs.fhir: cs.prefix for cs in CODE_SYSTEMS.values()}


def code_system(name: str | None) -> CodeSystem | None:
    """The known system a row's ``code_system`` names ("SNOMED CT", "ICD-10", a FHIR URI ...)."""
    if not name:
        return None
    if name.strip() in _BY_URI:
        return CODE_SYSTEMS[_BY_URI[name.strip()]]
    prefix = _ALIASES.get(_norm(name))
    return CODE_SYSTEMS[prefix] if prefix else None


# -- content rows -------------------------------------------------------------------------


def content_rows(mmio: MMIO, table: str) -> Iterator[tuple[Modality, dict[str, Any]]]:
    """Every row of one harmonised table, across modalities, in manifest order."""
    for modality in mmio.modalities:
        for row in modality.content.get(table, []):
            yield modality, row


def text(value: Any) -> str | None:
    """A non-empty string, or None."""
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def number(value: Any) -> float | None:
    """A finite number from a harmonised value (bools and non-numbers give None)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def iso_date(value: Any) -> str | None:
    """The calendar date (``YYYY-MM-DD``) of a date or timestamp value, or None.

    Both exports keep day precision only: harmonised timestamps carry no time zone, and
    FHIR R4 ``dateTime`` requires one as soon as a time is given.
    """
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    s = text(value)
    if s is None or len(s) < 10:
        return None
    try:
        return dt.date.fromisoformat(s[:10]).isoformat()
    except ValueError:
        return None


def coded(row: Mapping[str, Any]) -> tuple[CodeSystem, str] | None:
    """The harmonised ``(system, code)`` of a row, when its system is one the exports know."""
    cs, code = code_system(text(row.get("code_system"))), text(row.get("code"))
    return (cs, code) if cs and code else None


def source_coded(row: Mapping[str, Any]) -> tuple[CodeSystem, str] | None:
    """The source ``(system, code)`` of a row, when its system is one the exports know."""
    cs = code_system(text(row.get("source_code_system")))
    code = text(row.get("source_code"))
    return (cs, code) if cs and code else None


def label_of(row: Mapping[str, Any], fallback: str) -> str:
    return text(row.get("label")) or text(row.get("source_label")) or fallback


# Re-exported last: the submodules import the helpers above from this package.
from cardiofabric.mmio.export.fhir import to_fhir_bundle, validate_fhir_bundle  # noqa: E402
from cardiofabric.mmio.export.phenopacket import (  # noqa: E402
    to_phenopacket,
    validate_phenopacket,
)
