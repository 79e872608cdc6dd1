"""Harmonised rows that keep the source's own value, unit, code, label and language beside them.

Adapters call :func:`coded` for coded rows (conditions, observations, medications, procedures)
and :func:`measurement` for numeric ones. A row's harmonised code is found in this order:

1. the site's code map (:class:`~cardiofabric.vocab.maps.CodeMap`), by local ``(system, code)``;
2. the code itself, when its system is a standard one (FHIR URI, OID or short name) and the
   code is well formed for it; the LOINC substance-concentration twin of a measurement becomes
   its ``preferred`` code (:func:`cardiofabric.vocab.codes.preferred`);
3. the site's code map, by local-language label (case and accents ignored);
4. the built-in labels (:mod:`cardiofabric.vocab.labels`), and for English labels the
   vocabulary's own.

A row nothing matches is kept: ``mapped`` is false, ``code_system``/``code``/``label`` are
None and every ``source_*`` column holds what the source gave, so the steward can count it
(:func:`coverage`) and map it later. Nothing is dropped or overwritten.

A row keeps its harmonised code in the system the site used: an ICD-10 diagnosis stays ICD-10
and is not rewritten to SNOMED CT. Maps between systems are rarely one-to-one (I42.2 "Other
hypertrophic cardiomyopathy" is narrower than SNOMED CT's hypertrophic cardiomyopathy), so
rewriting would invent precision; queries instead expand a code across systems with
:func:`cardiofabric.vocab.codes.expand`, and :func:`crossmapped` gives a row's codes in another
system.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.vocab.codes import CODES, crossmap, lookup, preferred
from cardiofabric.vocab.labels import fold, lookup_label, normalise_language
from cardiofabric.vocab.maps import CodeMap
from cardiofabric.vocab.systems import (
    STANDARD_SYSTEMS,
    normalise_code,
    normalise_system,
    valid_code,
)
from cardiofabric.vocab.units import convert, normalise_unit

__all__ = ["coded", "coverage", "crossmapped", "measurement"]

_ENGLISH = {"eng", "en"}
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


@cache
def _english_labels() -> dict[str, tuple[str, str]]:
    # The vocabulary's own English labels; the first entry wins where two codes share a label.
    out: dict[str, tuple[str, str]] = {}
    for key, entry in CODES.items():
        out.setdefault(fold(entry.label), key)
    return out


def _resolve(
    system: str | None,
    code: str | None,
    label: str | None,
    language: str,
    code_map: CodeMap | None,
) -> tuple[tuple[str, str] | None, str | None, bool]:
    """``((system, code) or None, default unit from the map, found by code)``."""
    if code_map is not None and code:
        t = code_map.lookup(system, code)
        if t is not None:
            return preferred(t.system, t.code), t.unit, True
    short = normalise_system(system)
    norm = normalise_code(short, code)
    if short in STANDARD_SYSTEMS and valid_code(short, norm):
        assert norm is not None
        return preferred(short, norm), None, True
    if label:
        if code_map is not None:
            t = code_map.lookup_label(language, label)
            if t is not None:
                return preferred(t.system, t.code), t.unit, False
        found = lookup_label(language, label)
        if found is None and normalise_language(language) in _ENGLISH:
            found = _english_labels().get(fold(label))
        if found is not None:
            return preferred(*found), None, False
    return None, None, False


def coded(
    system: str | None,
    code: str | None,
    label: str | None,
    language: str,
    *,
    code_map: CodeMap | None = None,
) -> dict[str, Any]:
    """The coded columns of a harmonised row (``code_system`` … ``mapped``)."""
    return _coded(system, code, label, language, code_map)[0]


def _coded(
    system: str | None,
    code: str | None,
    label: str | None,
    language: str,
    code_map: CodeMap | None,
) -> tuple[dict[str, Any], str | None]:
    target, default_unit, by_code = _resolve(system, code, label, language, code_map)
    entry = lookup(*target) if target else None
    english = normalise_language(language) in _ENGLISH
    row = {
        "code_system": target[0] if target else None,
        "code": target[1] if target else None,
        # The vocabulary's English label; else the source's, when it is English and names the
        # very code it came with (a label found by label is the vocabulary's by construction).
        "label": entry.label if entry else (label if target and by_code and english else None),
        "source_code_system": system,
        "source_code": code,
        "source_label": label,
        "source_language": language,
        "mapped": target is not None,
    }
    return row, default_unit


def _number(value: float | str | None) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    s = str(value).strip()
    if _DECIMAL_COMMA.match(s):  # "4,2": the decimal comma of the European sites' exports
        s = s.replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return None  # "<0.01", "positive": kept in source_value only


def measurement(
    system: str | None,
    code: str | None,
    label: str | None,
    value: float | str | None,
    unit: str | None,
    language: str,
    *,
    code_map: CodeMap | None = None,
) -> dict[str, Any]:
    """A measurement row: value converted to the code's canonical UCUM unit when known.

    The unit is read as the site spells it (its code map's ``[units]``, then the common
    spellings); a value without a unit takes the code map's default unit for that code, or
    stays without one. A value that cannot be converted keeps its number and its own unit
    rather than be guessed at.
    """
    row, default_unit = _coded(system, code, label, language, code_map)
    row["source_value"] = None if value is None else str(value)
    row["source_unit"] = unit
    entry = lookup(row["code_system"], row["code"]) if row["mapped"] else None
    num = _number(value)
    spelled = unit if unit and unit.strip() else default_unit
    src_unit = (
        (code_map.unit(spelled) if code_map else normalise_unit(spelled)) if spelled else None
    )
    target_unit = entry.unit if entry and entry.unit else src_unit
    if num is not None and src_unit and target_unit and src_unit != target_unit:
        try:
            num = convert(num, src_unit, target_unit, analyte=entry.analyte if entry else None)
        except InputError:
            target_unit = src_unit
    row["value"] = num
    row["unit"] = target_unit if src_unit else None
    return row


def crossmapped(row: Mapping[str, Any], target_system: str) -> list[str]:
    """The codes of ``target_system`` for a harmonised row (empty when unmapped or unknown)."""
    if not row.get("mapped") or not row.get("code_system") or not row.get("code"):
        return []
    return crossmap(str(row["code_system"]), str(row["code"]), target_system)


def coverage(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Mapping coverage per source code system: ``{system: {"mapped": m, "total": n}}``.

    The system is the source's own (``source_code_system``), falling back to the harmonised
    one and then ``"none"``; rows without any code or label (person rows, variants) are
    not counted.
    """
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        if "mapped" not in row:
            continue
        system = str(row.get("source_code_system") or row.get("code_system") or "none")
        entry = out.setdefault(system, {"mapped": 0, "total": 0})
        entry["total"] += 1
        if row.get("mapped"):
            entry["mapped"] += 1
    return out
