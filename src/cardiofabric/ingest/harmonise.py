"""Harmonised rows that keep the source's own value, unit, code, label and language beside them."""

from __future__ import annotations

from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.vocab.codes import SYSTEM_URIS, lookup
from cardiofabric.vocab.units import convert, normalise_unit

__all__ = ["coded", "measurement"]

_STANDARD = {"LOINC", "SNOMEDCT", "ICD10", "ICD10CM", "HPO", "ATC"}


def coded(system: str | None, code: str | None, label: str | None, language: str) -> dict[str, Any]:
    """The coded columns of a harmonised row (``code_system`` … ``mapped``)."""
    short = SYSTEM_URIS.get(system or "", system)
    entry = lookup(short, code) if short and code else None
    standard = short in _STANDARD
    return {
        "code_system": short if standard else None,
        "code": code if standard else None,
        "label": entry.label if entry else (label if standard and language == "eng" else None),
        "source_code_system": system,
        "source_code": code,
        "source_label": label,
        "source_language": language,
        "mapped": standard,
    }


def measurement(
    system: str | None,
    code: str | None,
    label: str | None,
    value: float | str | None,
    unit: str | None,
    language: str,
) -> dict[str, Any]:
    """A measurement row: value converted to the code's canonical UCUM unit when known."""
    row = coded(system, code, label, language)
    row["source_value"] = None if value is None else str(value)
    row["source_unit"] = unit
    entry = lookup(row["code_system"] or "", row["code"] or "") if row["mapped"] else None
    num: float | None
    try:
        num = None if value is None else float(value)
    except ValueError:
        num = None
    canonical = entry.unit if entry and entry.unit else (normalise_unit(unit) if unit else None)
    if num is not None and unit and canonical:
        try:
            num = convert(num, unit, canonical, analyte=entry.analyte if entry else None)
        except InputError:
            # Unconvertible: keep the value in its own unit rather than guess.
            canonical = normalise_unit(unit)
    row["value"] = num
    row["unit"] = canonical
    return row
