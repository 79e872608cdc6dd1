"""``/api/filtering_terms``: the terms this node's store actually holds, with their labels.

A term is listed when at least ``min_patients`` current patients carry it (the site policy's
minimum cell count): the list is public, and a code held by one patient would tell that such a
patient is here. Filters on unlisted but well-formed codes still work (their counts pass the
same disclosure control as any other). Labels come from the curated vocabulary
(:mod:`cardiofabric.vocab.codes`), falling back to the label the store row carries.

Types (``filteringTermsSchema.json``): ``ontologyTerm`` for coded facts (conditions,
procedures, medications, observation answers, sex), ``alphanumeric`` for codes with numeric
values (measurements, ECG features, imaging measurements: ``LOINC:2089-1 > 160 mg/dL``) and
``custom`` for the modality filters.
"""

from __future__ import annotations

from typing import Any

import duckdb

from cardiofabric.node.beacon.filters import CUSTOM_TERMS, SEX_TERMS, curie
from cardiofabric.vocab import codes

__all__ = ["RESOURCES", "filtering_terms"]

#: Ontology resources the terms come from (beaconFilteringTermsResults.json ``resources``).
RESOURCES: list[dict[str, str]] = [
    {
        "id": "HP",
        "name": "Human Phenotype Ontology",
        "url": "https://hpo.jax.org",
        "nameSpacePrefix": "HP",
        "iriPrefix": "http://purl.obolibrary.org/obo/HP_",
    },
    {
        "id": "SNOMED",
        "name": "SNOMED CT International Edition",
        "url": "https://www.snomed.org",
        "nameSpacePrefix": "SNOMED",
        "iriPrefix": "http://snomed.info/id/",
    },
    {
        "id": "ICD10",
        "name": "ICD-10 (WHO 2019)",
        "url": "https://icd.who.int/browse10/2019/en",
        "nameSpacePrefix": "ICD10",
    },
    {
        "id": "LOINC",
        "name": "LOINC",
        "url": "https://loinc.org",
        "nameSpacePrefix": "LOINC",
        "iriPrefix": "https://loinc.org/",
    },
    {
        "id": "ATC",
        "name": "WHO ATC classification",
        "url": "https://atcddd.fhi.no",
        "nameSpacePrefix": "ATC",
    },
    {
        "id": "NCIT",
        "name": "NCI Thesaurus",
        "url": "https://ncit.nci.nih.gov",
        "nameSpacePrefix": "NCIT",
        "iriPrefix": "http://purl.obolibrary.org/obo/NCIT_",
    },
    {"id": "PATHFINDER", "name": "Pathfinder study outcomes", "nameSpacePrefix": "PATHFINDER"},
]

_SCOPES = ["individuals", "biosamples", "g_variants", "datasets", "cohorts"]

_ONTOLOGY_SQL = """
SELECT code_system, code, any_value(label), count(DISTINCT pseudonym) FROM (
    SELECT pseudonym, code_system, code, label FROM condition
    UNION ALL SELECT pseudonym, code_system, code, label FROM procedure
    UNION ALL SELECT pseudonym, code_system, code, label FROM medication
    UNION ALL SELECT pseudonym, value_code_system, value_code, value_text FROM observation
) WHERE code IS NOT NULL AND pseudonym IN (SELECT pseudonym FROM mmio_index)
GROUP BY ALL HAVING count(DISTINCT pseudonym) >= ?
"""
_VALUE_SQL = """
SELECT code_system, code, any_value(label), any_value(unit), count(DISTINCT pseudonym) FROM (
    SELECT pseudonym, code_system, code, label, unit FROM measurement
    UNION ALL SELECT pseudonym, code_system, code, label, unit FROM ecg_feature
    UNION ALL SELECT pseudonym, code_system, code, label, unit FROM imaging_measurement
) WHERE code IS NOT NULL AND pseudonym IN (SELECT pseudonym FROM mmio_index)
GROUP BY ALL HAVING count(DISTINCT pseudonym) >= ?
"""


def _label(system: str, code: str, fallback: Any) -> str | None:
    entry = codes.lookup(system, code)
    if entry is not None:
        return entry.label
    return str(fallback) if fallback else None


def filtering_terms(con: duckdb.DuckDBPyConnection, *, min_patients: int) -> list[dict[str, Any]]:
    """Every filtering term the store holds for ``min_patients`` or more, sorted by id."""
    out: dict[str, dict[str, Any]] = {}
    for system, code, label, _n in con.execute(_ONTOLOGY_SQL, [min_patients]).fetchall():
        cid = curie(system, code)
        if cid is None:
            continue
        term = {"type": "ontologyTerm", "id": cid, "scopes": _SCOPES}
        name = _label(system, code, label)
        if name:
            term["label"] = name
        out[cid] = term
    for system, code, label, unit, _n in con.execute(_VALUE_SQL, [min_patients]).fetchall():
        cid = curie(system, code)
        if cid is None:
            continue
        term = {"type": "alphanumeric", "id": cid, "scopes": _SCOPES}
        name = _label(system, code, label)
        if name:
            term["label"] = f"{name} [{unit}]" if unit else name
        out[cid] = term
    sexes = {
        str(s)
        for (s,) in con.execute(
            "SELECT coalesce(sex, 'unknown') FROM person GROUP BY 1 HAVING count(*) >= ?",
            [min_patients],
        ).fetchall()
    }
    for tid, (label, sex) in SEX_TERMS.items():
        if (sex or "unknown") in sexes:
            out[tid] = {"type": "ontologyTerm", "id": tid, "label": label, "scopes": _SCOPES}
    for tid, (label, _sql, _params) in CUSTOM_TERMS.items():
        out[tid] = {"type": "custom", "id": tid, "label": label, "scopes": _SCOPES}
    return [out[k] for k in sorted(out)]
