"""Unit conversion, checked against worked values of published conversion tables.

References for the expected values:

- SI conversion factors: AMA Manual of Style, 11th ed., Table 18.5-1 (cholesterol mg/dL ×
  0.02586 → mmol/L, triglycerides × 0.01129, glucose × 0.05551, creatinine × 88.4 → µmol/L);
- diagnostic thresholds that appear in both units: WHO 2006 fasting glucose 7.0 mmol/L =
  126 mg/dL; ADA/IFCC HbA1c 6.5 % = 48 mmol/mol, 7.0 % = 53 mmol/mol (NGSP–IFCC tables);
- exact definitions: 1 mmHg = 133.322387415 Pa (UCUM), 1 lb = 0.45359237 kg and 1 in = 2.54 cm
  (International Yard and Pound Agreement, 1959).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardiofabric.errors import InputError
from cardiofabric.vocab.units import (
    MOLAR_MASS,
    can_convert,
    convert,
    hba1c_ifcc_to_ngsp,
    hba1c_ngsp_to_ifcc,
    normalise_unit,
)


@pytest.mark.parametrize(
    ("value", "unit", "to", "analyte", "expected", "rel"),
    [
        # lipids (AMA Table 18.5-1): 200 mg/dL cholesterol = 5.17 mmol/L; 1 mmol/L = 38.67 mg/dL
        (200, "mg/dL", "mmol/L", "cholesterol", 5.17, 1e-3),
        (1, "mmol/L", "mg/dL", "cholesterol", 38.67, 1e-3),
        (190, "mg/dL", "mmol/L", "cholesterol", 4.91, 1e-3),  # the FH LDL threshold
        # triglycerides: 150 mg/dL = 1.69 mmol/L; 1 mmol/L = 88.5 mg/dL
        (150, "mg/dL", "mmol/L", "triglycerides", 1.694, 1e-3),
        (1, "mmol/L", "mg/dL", "triglycerides", 88.54, 1e-3),
        # glucose: 126 mg/dL = 7.0 mmol/L (WHO diabetes threshold); 100 mg/dL = 5.55 mmol/L
        (126, "mg/dL", "mmol/L", "glucose", 7.0, 1e-3),
        (100, "mg/dL", "mmol/L", "glucose", 5.551, 1e-3),
        # creatinine: 1.0 mg/dL = 88.4 µmol/L (KDIGO; AMA factor 88.4)
        (1.0, "mg/dL", "umol/L", "creatinine", 88.4, 1e-3),
        (1.2, "mg/dL", "µmol/l", "creatinine", 106.1, 1e-3),
        (88.4, "umol/L", "mg/dL", "creatinine", 1.0, 1e-3),
        # pressure: 120 mmHg = 16.0 kPa
        (120, "mmHg", "kPa", None, 15.9987, 1e-5),
        (16, "kPa", "mm[Hg]", None, 120.0099, 1e-5),
        # cardiac markers: 0.04 ng/mL = 40 ng/L; NT-proBNP 125 pg/mL = 125 ng/L; µg/L = ng/mL
        (0.04, "ng/mL", "ng/L", None, 40.0, 1e-12),
        (125, "pg/mL", "ng/L", None, 125.0, 1e-12),
        (0.5, "ug/L", "ng/mL", None, 0.5, 1e-12),
        # time, mass, length (exact definitions)
        (0.44, "s", "ms", None, 440.0, 1e-12),
        (7.5, "h", "min", None, 450.0, 1e-12),
        (154, "lb", "kg", None, 69.8532250, 1e-9),
        (70, "in", "cm", None, 177.8, 1e-12),
        (250, "g", "kg", None, 0.25, 1e-12),
        (12, "mm", "cm", None, 1.2, 1e-12),
        # a plain fraction as a percentage (LVEF 0.55 = 55 %)
        (0.55, "1", "%", None, 55.0, 1e-12),
    ],
)
def test_conversion_matches_published_values(
    value: float, unit: str, to: str, analyte: str | None, expected: float, rel: float
) -> None:
    assert convert(value, unit, to, analyte=analyte) == pytest.approx(expected, rel=rel)


@pytest.mark.parametrize(
    ("percent", "mmol_mol"),
    # NGSP/IFCC equivalents as published (rounded to whole mmol/mol)
    [(5.0, 31), (5.7, 39), (6.0, 42), (6.5, 48), (7.0, 53), (8.0, 64), (9.0, 75), (10.0, 86)],
)
def test_hba1c_follows_the_ifcc_ngsp_master_equation(percent: float, mmol_mol: int) -> None:
    assert round(convert(percent, "%", "mmol/mol", analyte="hba1c")) == mmol_mol
    assert hba1c_ngsp_to_ifcc(percent) == pytest.approx(10.929 * (percent - 2.15))
    back = convert(mmol_mol, "mmol/mol", "%", analyte="hba1c")
    assert back == pytest.approx(percent, abs=0.05)  # the table's rounding to whole mmol/mol
    assert hba1c_ifcc_to_ngsp(hba1c_ngsp_to_ifcc(percent)) == pytest.approx(percent, rel=1e-12)


@pytest.mark.parametrize(("f", "c"), [(32, 0.0), (98.6, 37.0), (212, 100.0), (-40, -40.0)])
def test_temperature_is_affine(f: float, c: float) -> None:
    assert convert(f, "°F", "°C") == pytest.approx(c)
    assert convert(c, "Cel", "[degF]") == pytest.approx(f)


def test_molar_masses_are_the_clinical_chemistry_conventions() -> None:
    assert MOLAR_MASS["cholesterol"] == 386.65
    assert MOLAR_MASS["triglycerides"] == 885.4  # as triolein
    assert MOLAR_MASS["glucose"] == 180.16
    assert MOLAR_MASS["creatinine"] == pytest.approx(113.12)


@pytest.mark.parametrize(
    ("spelled", "ucum"),
    [
        ("mmHg", "mm[Hg]"),
        ("mm Hg", "mm[Hg]"),
        ("µmol/l", "umol/L"),
        ("μmol/L", "umol/L"),  # Greek mu, not the micro sign
        ("MMOL/L", "mmol/L"),
        ("mg/dl", "mg/dL"),
        ("bpm", "/min"),
        ("lbs", "[lb_av]"),
        ("°C", "Cel"),
        ("ml/min/1.73m2", "mL/min/{1.73_m2}"),
        ("kg/m²", "kg/m2"),
        ("furlong", "furlong"),  # unknown spellings are kept as given
    ],
)
def test_normalise_unit(spelled: str, ucum: str) -> None:
    assert normalise_unit(spelled) == ucum


def test_impossible_conversions_are_clear_errors() -> None:
    with pytest.raises(InputError, match="without knowing the analyte"):
        convert(200, "mg/dL", "mmol/L")
    with pytest.raises(InputError, match="for sodium"):
        convert(140, "mmol/L", "mg/dL", analyte="sodium")
    with pytest.raises(InputError, match="cannot convert 'mmol/L' to 'mm\\[Hg\\]'"):
        convert(1, "mmol/L", "mmHg")
    # HbA1c % ↔ mmol/mol is not a unit identity: it needs the analyte.
    assert not can_convert("%", "mmol/mol")
    assert can_convert("%", "mmol/mol", analyte="hba1c")


_PAIRS = [
    ("mg/dL", "mmol/L", "cholesterol"),
    ("mg/dL", "umol/L", "creatinine"),
    ("g/L", "mmol/L", "glucose"),
    ("kPa", "mm[Hg]", None),
    ("ng/mL", "pg/mL", None),
    ("[lb_av]", "kg", None),
    ("[in_i]", "mm", None),
    ("h", "ms", None),
    ("%", "mmol/mol", "hba1c"),
    ("[degF]", "Cel", None),
]


@given(st.sampled_from(_PAIRS), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_conversions_round_trip(pair: tuple[str, str, str | None], value: float) -> None:
    src, dst, analyte = pair
    there = convert(value, src, dst, analyte=analyte)
    assert convert(there, dst, src, analyte=analyte) == pytest.approx(value, rel=1e-9, abs=1e-9)
