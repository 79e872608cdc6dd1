"""Numeric measurements of a DICOM Structured Report, as harmonised ``imaging_measurement`` rows.

The SR content tree (PS3.3 C.17.3, SR Document Content Module) is walked from the root content
item through every Content Sequence (0040,A730). Each NUM content item (PS3.3 C.18.1, Numeric
Measurement Macro) gives one row: its concept name (Concept Name Code Sequence (0040,A043)),
its value (Numeric Value (0040,A30A), or Floating Point Value (0040,A161) where present) and
its unit (Measurement Units Code Sequence (0040,08EA), UCUM in conformant SRs, CID 82).

Concepts are mapped to one harmonised LOINC code per quantity: the method-specific codes of
PS3.16 (LVEF "by MR", "by US", "biplane (MOD)", ...) all become ``10230-1`` while the source
code, meaning and unit stay in the ``source_*`` columns. A concept we do not map is still
kept: LOINC (``LN``) and SNOMED CT (``SCT``) codes as what they are, other schemes (``DCM``,
private ones) unmapped with their source code. Codes are those of PS3.16 as shipped in pydicom's
concept dictionary (CIDs 3833, 12200-12203, 12300).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset

from cardiofabric.errors import InputError
from cardiofabric.ingest.harmonise import measurement
from cardiofabric.vocab.units import convert

__all__ = [
    "CONCEPT_MAP",
    "Concept",
    "NumericItem",
    "Target",
    "concept",
    "measurement_row",
    "numeric_items",
]


@dataclass(frozen=True)
class Concept:
    """A coded concept (PS3.3 Table 8.8-1, Code Sequence Macro)."""

    scheme: str  # Coding Scheme Designator (0008,0102): LN, SCT, DCM, UCUM, ...
    code: str  # Code Value (0008,0100), Long Code Value (0008,0119) or URN Code Value
    meaning: str  # Code Meaning (0008,0104)


@dataclass(frozen=True)
class NumericItem:
    """One NUM content item with what it was measured on."""

    path: str  # position in the content tree, e.g. "1.2.3", numbered as (0040,DB73) does
    concept: Concept
    value: str  # the value as the SR gives it (DS text, or the FD value as text)
    unit: Concept | None
    sites: tuple[Concept, ...]  # Finding Site (SCT 363698007) of the item or of its containers


@dataclass(frozen=True)
class Target:
    """A harmonised quantity: LOINC code, English label and canonical UCUM unit."""

    code: str
    label: str
    unit: str


_LVEF = Target("10230-1", "Left ventricular Ejection fraction", "%")
_LV_MASS = Target("18087-7", "Left Ventricle Mass", "g")
_IVS_DIASTOLE = Target("18154-5", "Interventricular Septum Diastolic Thickness", "mm")

#: Source concept (scheme, code) → harmonised quantity.
CONCEPT_MAP: dict[tuple[str, str], Target] = {
    # LVEF: CID 3833 (by MR, CT, angiography), CID 12202 (by US), CID 12300 (core echo)
    **{
        ("LN", c): _LVEF
        for c in (
            "10230-1",
            "8811-2",  # by MR
            "8810-4",  # by CT
            "8808-8",  # by angiography
            "18043-0",  # by US
            "79990-8",  # 3D
            "79991-6",  # biplane (MOD)
            "79992-4",  # single plane 2C (MOD)
            "79993-2",  # single plane 4C (MOD)
            "77891-0",  # Teichholz 2D
            "18049-7",  # Teichholz M-mode
        )
    },
    # LV mass: CID 12203 and CID 12300 (indexed masses, "/ BSA", are other quantities)
    **{("LN", c): _LV_MASS for c in ("18087-7", "80025-0", "80016-9", "80019-3", "80022-7")},
    # Interventricular septum thickness in diastole: CID 12201 and CID 12300
    **{("LN", c): _IVS_DIASTOLE for c in ("18154-5", "79969-2", "79968-4")},
}

#: Concepts that name a quantity only together with a finding site, e.g. SCT 70822001
#: "Cardiac ejection fraction" in an echo section whose Finding Site is the left ventricle.
_SITE_BOUND: dict[tuple[str, str], tuple[Target, frozenset[str]]] = {
    ("SCT", "70822001"): (_LVEF, frozenset({"87878005"})),  # left ventricle
}

_FINDING_SITE = {("SCT", "363698007"), ("SRT", "G-C0E3")}  # SNOMED CT and its legacy SRT id
#: Scheme designators (PS3.16 Section 8) of the standard code systems we harmonise to.
_SYSTEMS = {"LN": "LOINC", "SCT": "SNOMEDCT"}
#: Schemes whose code meanings PS3.16 gives in English.
_ENGLISH = {"LN", "SCT", "DCM", "UCUM", "SRT"}


def concept(item: Dataset) -> Concept | None:
    """The concept of a Code Sequence item, or None when it has no code."""
    code = item.get("CodeValue") or item.get("LongCodeValue") or item.get("URNCodeValue")
    if not code:
        return None
    return Concept(
        str(item.get("CodingSchemeDesignator") or ""),
        str(code),
        str(item.get("CodeMeaning") or ""),
    )


def _first_concept(item: Dataset, keyword: str) -> Concept | None:
    seq = item.get(keyword)
    return concept(seq[0]) if seq else None


def _finding_sites(item: Dataset) -> tuple[Concept, ...]:
    sites = []
    for child in item.get("ContentSequence") or ():
        if child.get("RelationshipType") != "HAS CONCEPT MOD" or child.get("ValueType") != "CODE":
            continue
        name = _first_concept(child, "ConceptNameCodeSequence")
        site = _first_concept(child, "ConceptCodeSequence")
        if name is not None and site is not None and (name.scheme, name.code) in _FINDING_SITE:
            sites.append(site)
    return tuple(sites)


def _numeric(item: Dataset, path: str, sites: tuple[Concept, ...]) -> NumericItem | str | None:
    """The NUM item, a problem (text) when it is malformed, or None when it has no value."""
    name = _first_concept(item, "ConceptNameCodeSequence")
    if name is None:
        return "NUM content item without Concept Name Code Sequence (0040,A043)"
    measured = item.get("MeasuredValueSequence")
    if not measured:
        # An empty Measured Value Sequence (0040,A300) is allowed: Numeric Value Qualifier
        # Code Sequence (0040,A301) then says why there is no value (PS3.3 C.18.1).
        return None
    mv = measured[0]
    fd = mv.get("FloatingPointValue")
    ds_value = mv.get("NumericValue")
    if fd is not None:
        value = repr(float(fd))
    elif ds_value is not None and str(ds_value).strip():
        value = str(ds_value).strip()
    else:
        return "NUM content item without Numeric Value (0040,A30A)"
    try:
        float(value)
    except ValueError:
        return f"NUM content item with a non-numeric Numeric Value (0040,A30A) {value!r}"
    unit = _first_concept(mv, "MeasurementUnitsCodeSequence")
    return NumericItem(path, name, value, unit, sites)


def numeric_items(ds: Dataset) -> tuple[list[NumericItem], list[tuple[str, str]]]:
    """Every NUM content item of the SR and the problems met: (content item path, reason)."""
    items: list[NumericItem] = []
    problems: list[tuple[str, str]] = []

    def walk(parent: Dataset, prefix: str, sites: tuple[Concept, ...]) -> None:
        for i, item in enumerate(parent.get("ContentSequence") or (), 1):
            path = f"{prefix}.{i}"
            own = sites + _finding_sites(item)
            if item.get("ValueType") == "NUM":
                found = _numeric(item, path, own)
                if isinstance(found, NumericItem):
                    items.append(found)
                elif found is not None:
                    problems.append((path, found))
            walk(item, path, own)

    walk(ds, "1", _finding_sites(ds))
    return items, problems


def _target(item: NumericItem) -> Target | None:
    key = (item.concept.scheme, item.concept.code)
    if key in CONCEPT_MAP:
        return CONCEPT_MAP[key]
    bound = _SITE_BOUND.get(key)
    if bound is not None and any(s.code in bound[1] for s in item.sites):
        return bound[0]
    return None


def measurement_row(item: NumericItem, language: str) -> dict[str, Any]:
    """The harmonised row of a NUM item, with the source code, meaning, value and unit beside.

    ``language`` is the language of code meanings from non-standard (private) schemes; those of
    PS3.16 schemes are English.
    """
    c = item.concept
    unit = item.unit.code if item.unit is not None else None
    lang = "eng" if c.scheme in _ENGLISH else language
    target = _target(item)
    if target is None:
        system = _SYSTEMS.get(c.scheme, c.scheme)
        row = measurement(system, c.code, c.meaning, item.value, unit, lang)
    else:
        row = measurement("LOINC", target.code, target.label, item.value, unit, "eng")
        if row["value"] is not None and unit and row["unit"] != target.unit:
            # Codes not (yet) in the vocabulary: bring the value to the target's unit ourselves
            # (echo reports thickness in cm; we keep mm).
            try:
                row["value"] = convert(float(row["value"]), row["unit"], target.unit)
                row["unit"] = target.unit
            except InputError:
                pass  # unconvertible: keep the value in its own unit rather than guess
    if isinstance(row["value"], float) and row["value"] != float(item.value):
        # A converted value: drop the binary rounding residue of the factor (1.06 cm is
        # 10.6 mm, not 10.600000000000001), keeping 12 significant digits.
        row["value"] = float(f"{row['value']:.12g}")
    row["source_code_system"] = c.scheme
    row["source_code"] = c.code
    row["source_label"] = c.meaning
    row["source_language"] = lang
    return row
