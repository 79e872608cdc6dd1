"""Unit conversion to one canonical UCUM unit per measurement.

Mass↔substance conversions need the analyte's molar mass, so they are keyed by analyte; pure
scale conversions (mmHg↔kPa, mg/dL↔g/L) are generic. Molar masses (g/mol): cholesterol 386.65,
triglycerides as triolein 885.4 (the clinical-chemistry convention), glucose 180.16, creatinine
113.12 — the factors used by SI-unit conversion tables (e.g. AMA Manual of Style, SI units).
"""

from __future__ import annotations

from cardiofabric.errors import InputError

__all__ = ["MOLAR_MASS", "convert", "normalise_unit"]

MOLAR_MASS: dict[str, float] = {
    "cholesterol": 386.65,
    "triglycerides": 885.4,
    "glucose": 180.16,
    "creatinine": 113.12,
}

# Spellings found in exports → UCUM (case-sensitive UCUM codes on the right).
_ALIASES = {
    "mmol/l": "mmol/L",
    "mg/dl": "mg/dL",
    "umol/l": "umol/L",
    "µmol/l": "umol/L",
    "μmol/l": "umol/L",
    "g/l": "g/L",
    "mg/l": "mg/L",
    "ng/l": "ng/L",
    "pg/ml": "pg/mL",
    "ng/ml": "ng/mL",
    "mmhg": "mm[Hg]",
    "mm hg": "mm[Hg]",
    "mm[hg]": "mm[Hg]",
    "kpa": "kPa",
    "bpm": "/min",
    "/min": "/min",
    "beats/min": "/min",
    "{beats}/min": "/min",
    "ms": "ms",
    "msec": "ms",
    "%": "%",
    "mmol/mol": "mmol/mol",
    "kg": "kg",
    "cm": "cm",
    "mm": "mm",
    "g": "g",
    "kg/m2": "kg/m2",
    "g/m2": "g/m2",
    "ml": "mL",
    "ml/m2": "mL/m2",
    "deg": "deg",
}

# (from, to) → multiplicative factor, independent of the analyte.
_SCALE = {
    ("kPa", "mm[Hg]"): 7.500616827,
    ("mg/dL", "g/L"): 0.01,
    ("mg/L", "g/L"): 0.001,
    ("ng/mL", "ng/L"): 1000.0,
    ("pg/mL", "ng/L"): 1.0,
    ("s", "ms"): 1000.0,
    ("mm", "cm"): 0.1,
    ("g", "kg"): 0.001,
}


def normalise_unit(unit: str) -> str:
    """The UCUM code for a unit as exports spell it (``mmHg`` → ``mm[Hg]``)."""
    u = unit.strip()
    return _ALIASES.get(u.lower(), u)


def _factor(src: str, dst: str, analyte: str | None) -> float | None:
    if src == dst:
        return 1.0
    if (src, dst) in _SCALE:
        return _SCALE[(src, dst)]
    if (dst, src) in _SCALE:
        return 1.0 / _SCALE[(dst, src)]
    mm = MOLAR_MASS.get(analyte or "")
    if mm is None:
        return None
    # mass concentration → substance concentration: (mg/dL × 10 → mg/L) ÷ (g/mol) → mmol/L
    mass_to_mmol = {"mg/dL": 10.0 / mm, "g/L": 1000.0 / mm, "mg/L": 1.0 / mm}
    subst = {"mmol/L": 1.0, "umol/L": 1000.0}
    if src in mass_to_mmol and dst in subst:
        return mass_to_mmol[src] * subst[dst]
    if dst in mass_to_mmol and src in subst:
        return 1.0 / (mass_to_mmol[dst] * subst[src])
    return None


def convert(value: float, unit: str, to: str, *, analyte: str | None = None) -> float:
    """Convert ``value`` from ``unit`` to ``to``; raises :class:`InputError` when impossible."""
    src, dst = normalise_unit(unit), normalise_unit(to)
    f = _factor(src, dst, analyte)
    if f is None:
        raise InputError(
            f"cannot convert {src!r} to {dst!r}"
            + (f" for {analyte}" if analyte else " without knowing the analyte"),
            hint="add the unit pair or the analyte's molar mass to cardiofabric.vocab.units",
        )
    return value * f
