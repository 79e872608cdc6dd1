"""Unit conversion to one canonical UCUM unit per measurement.

Units are UCUM codes (Unified Code for Units of Measure 2.1, ucum.org), case-sensitive:
``mm[Hg]``, ``umol/L``, ``[lb_av]``, ``[in_i]``, ``Cel``, ``[degF]``. :func:`normalise_unit`
turns the spellings found in exports (``mmHg``, ``µmol/l``, ``lbs``, ``°C``) into them.

How a value moves between units:

- within one kind of quantity, by the units' exact factors to a base unit: pressure
  (1 mm[Hg] = 133.322387415 Pa, the UCUM/ISO 80000 definition), time, length
  (1 [in_i] = 2.54 cm exactly), mass (1 [lb_av] = 0.45359237 kg exactly), volume, mass
  concentration and substance concentration;
- between mass and substance concentration, by the analyte's molar mass (:data:`MOLAR_MASS`):
  cholesterol 386.65 g/mol, triglycerides as triolein 885.4 g/mol (the clinical-chemistry
  convention), glucose 180.16 g/mol, creatinine 113.12 g/mol, potassium 39.098 g/mol. These
  give the factors of the SI conversion tables (AMA Manual of Style, 11th ed., Table 18.5-1;
  Young DS, Ann Intern Med 1987;106:114-29): cholesterol 1 mmol/L = 38.67 mg/dL,
  triglycerides 1 mmol/L = 88.5 mg/dL, glucose 1 mmol/L = 18.0 mg/dL, creatinine
  1 mg/dL = 88.4 µmol/L;
- by an affine function where the scales do not share a zero: HbA1c NGSP % ↔ IFCC mmol/mol
  by the IFCC–NGSP master equation, IFCC = 10.929 × (NGSP − 2.15) (Hoelzel W et al., Clin Chem
  2004;50:166-74; the equation behind ngsp.org's converter), and temperature
  (°F − 32) × 5/9 = °C.
"""

from __future__ import annotations

from collections.abc import Callable

from cardiofabric.errors import InputError

__all__ = [
    "MOLAR_MASS",
    "can_convert",
    "convert",
    "converter",
    "hba1c_ifcc_to_ngsp",
    "hba1c_ngsp_to_ifcc",
    "normalise_unit",
]

MOLAR_MASS: dict[str, float] = {
    "cholesterol": 386.65,
    "triglycerides": 885.4,
    "glucose": 180.16,
    "creatinine": 113.12,
    "potassium": 39.098,
}

# Spellings found in exports (compared in lower case, spaces removed) → UCUM.
_ALIASES = {
    "mmol/l": "mmol/L",
    "umol/l": "umol/L",
    "µmol/l": "umol/L",
    "μmol/l": "umol/L",
    "nmol/l": "nmol/L",
    "mol/l": "mol/L",
    "mg/dl": "mg/dL",
    "g/dl": "g/dL",
    "g/l": "g/L",
    "mg/l": "mg/L",
    "ug/l": "ug/L",
    "µg/l": "ug/L",
    "μg/l": "ug/L",
    "ng/l": "ng/L",
    "ng/ml": "ng/mL",
    "pg/ml": "pg/mL",
    "mmhg": "mm[Hg]",
    "mm[hg]": "mm[Hg]",
    "kpa": "kPa",
    "pa": "Pa",
    "bpm": "/min",
    "/min": "/min",
    "1/min": "/min",
    "beats/min": "/min",
    "{beats}/min": "/min",
    "slag/min": "/min",
    "s": "s",
    "sec": "s",
    "ms": "ms",
    "msec": "ms",
    "min": "min",
    "h": "h",
    "hr": "h",
    "hours": "h",
    "%": "%",
    "mmol/mol": "mmol/mol",
    "kg": "kg",
    "g": "g",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "[lb_av]": "[lb_av]",
    "m": "m",
    "cm": "cm",
    "mm": "mm",
    "in": "[in_i]",
    "inch": "[in_i]",
    "[in_i]": "[in_i]",
    "kg/m2": "kg/m2",
    "kg/m²": "kg/m2",
    "g/m2": "g/m2",
    "l": "L",
    "ml": "mL",
    "ml/m2": "mL/m2",
    "ml/min/1.73m2": "mL/min/{1.73_m2}",
    "ml/min/{1.73_m2}": "mL/min/{1.73_m2}",
    "ml/min/1,73m2": "mL/min/{1.73_m2}",
    "deg": "deg",
    "°": "deg",
    "°c": "Cel",
    "cel": "Cel",
    "degc": "Cel",
    "°f": "[degF]",
    "[degf]": "[degF]",
    "degf": "[degF]",
    "/d": "/d",
    "steps/d": "/d",
    "steps/day": "/d",
    "{steps}/d": "/d",
    "1": "1",
}

# Units of one kind of quantity → factor to that kind's base unit (exact where defined).
_KINDS: dict[str, dict[str, float]] = {
    "pressure": {"Pa": 1.0, "kPa": 1000.0, "mm[Hg]": 133.322387415},
    "time": {"s": 1.0, "ms": 1e-3, "min": 60.0, "h": 3600.0},
    "length": {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "[in_i]": 0.0254},
    "mass": {"kg": 1.0, "g": 1e-3, "[lb_av]": 0.45359237},
    "volume": {"L": 1.0, "mL": 1e-3},
    # mass concentration in g/L (µg/L = ng/mL and ng/L = pg/mL)
    "mass_conc": {
        "g/L": 1.0,
        "g/dL": 10.0,
        "mg/dL": 1e-2,
        "mg/L": 1e-3,
        "ug/L": 1e-6,
        "ng/mL": 1e-6,
        "ng/L": 1e-9,
        "pg/mL": 1e-9,
    },
    # substance concentration in mol/L
    "subst_conc": {"mol/L": 1.0, "mmol/L": 1e-3, "umol/L": 1e-6, "nmol/L": 1e-9},
    "fraction": {"1": 1.0, "%": 1e-2},
}
_KIND_OF = {u: k for k, units in _KINDS.items() for u in units}


def hba1c_ngsp_to_ifcc(percent: float) -> float:
    """HbA1c NGSP/DCCT % → IFCC mmol/mol (IFCC–NGSP master equation)."""
    return 10.929 * (percent - 2.15)


def hba1c_ifcc_to_ngsp(mmol_mol: float) -> float:
    """HbA1c IFCC mmol/mol → NGSP/DCCT % (exact inverse of :func:`hba1c_ngsp_to_ifcc`)."""
    return mmol_mol / 10.929 + 2.15


def _fahrenheit_to_celsius(f: float) -> float:
    return (f - 32.0) * 5.0 / 9.0


def _celsius_to_fahrenheit(c: float) -> float:
    return c * 9.0 / 5.0 + 32.0


# Conversions that are not a factor: (from, to, analyte or None for any) → function.
_AFFINE: dict[tuple[str, str, str | None], Callable[[float], float]] = {
    ("%", "mmol/mol", "hba1c"): hba1c_ngsp_to_ifcc,
    ("mmol/mol", "%", "hba1c"): hba1c_ifcc_to_ngsp,
    ("[degF]", "Cel", None): _fahrenheit_to_celsius,
    ("Cel", "[degF]", None): _celsius_to_fahrenheit,
}


def normalise_unit(unit: str) -> str:
    """The UCUM code for a unit as exports spell it (``mmHg`` → ``mm[Hg]``); else unchanged."""
    u = unit.strip()
    return _ALIASES.get(u.lower().replace(" ", ""), u)


def _factor(src: str, dst: str, analyte: str | None) -> float | None:
    if src == dst:
        return 1.0
    ks, kd = _KIND_OF.get(src), _KIND_OF.get(dst)
    if ks is None or kd is None:
        return None
    if ks == kd:  # includes plain fractions: LVEF 0.6 ↔ 60 %
        return _KINDS[ks][src] / _KINDS[kd][dst]
    mm = MOLAR_MASS.get(analyte or "")
    if mm is None:
        return None
    if ks == "mass_conc" and kd == "subst_conc":  # g/L ÷ g/mol = mol/L
        return _KINDS[ks][src] / mm / _KINDS[kd][dst]
    if ks == "subst_conc" and kd == "mass_conc":
        return _KINDS[ks][src] * mm / _KINDS[kd][dst]
    return None


def converter(unit: str, to: str, *, analyte: str | None = None) -> Callable[[float], float]:
    """The function that converts values from ``unit`` to ``to``.

    Raises :class:`InputError` when the units are of different kinds, or when a mass ↔
    substance conversion is asked without an analyte whose molar mass is known.
    """
    src, dst = normalise_unit(unit), normalise_unit(to)
    fn = _AFFINE.get((src, dst, analyte)) or _AFFINE.get((src, dst, None))
    if fn is not None:
        return fn
    f = _factor(src, dst, analyte)
    if f is None:
        raise InputError(
            f"cannot convert {src!r} to {dst!r}"
            + (f" for {analyte}" if analyte else " without knowing the analyte"),
            hint="add the unit pair or the analyte's molar mass to cardiofabric.vocab.units",
        )
    factor = f
    return lambda v: v * factor


def can_convert(unit: str, to: str, *, analyte: str | None = None) -> bool:
    """Whether :func:`convert` can take values from ``unit`` to ``to``."""
    try:
        converter(unit, to, analyte=analyte)
    except InputError:
        return False
    return True


def convert(value: float, unit: str, to: str, *, analyte: str | None = None) -> float:
    """Convert ``value`` from ``unit`` to ``to``; raises :class:`InputError` when impossible."""
    return converter(unit, to, analyte=analyte)(value)
