"""Site code maps: reading TOML and CSV, lookups by code and by label, and malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardiofabric.errors import InputError
from cardiofabric.vocab.maps import CodeMap, Target, load_code_map

MAP_TOML = """\
# The Helsinki laboratory's codes, as a steward would write them.
[map]
site = "fi-helsinki"
version = "2024-05"
language = "fin"

[[code]]
system = "HUS-LAB"
code = "4567"
to = "LOINC|2089-1"
unit = "mmol/l"
label = "fP-Kol-LDL"

[[code]]
system = "HUS-LAB"
code = "1234"
to = { system = "http://loinc.org", code = "2160-0" }

[[code]]
code = "QTC"                 # any system
to = "LOINC|8636-3"

[[code]]
system = "HUS-DIAG"
code = "KMP-H"
to = "SNOMED CT|233873004"

[[label]]
text = "Eteisvärinä"
to = "SNOMEDCT|49436004"

[[label]]
language = "nld"
text = "Hypertrofische cardiomyopathie"
to = "SNOMEDCT|233873004"

[[label]]
language = "swe"
text = "Förmaksflimmer"
to = "SNOMEDCT|49436004"

[[label]]
language = "ita"
text = "Ipertensione arteriosa"
to = "SNOMEDCT|38341003"

[[label]]
language = "deu"
text = "Familiäre Hypercholesterinämie"
to = "SNOMEDCT|398036000"

[[label]]
language = "deu"
text = "Herzinsuffizienz"
to = "icd-10|i500"

[units]
"yks/l" = "U/L"
"mmol / l" = "mmol/L"
"""


@pytest.fixture
def toml_map(tmp_path: Path) -> CodeMap:
    path = tmp_path / "codes.toml"
    path.write_text(MAP_TOML, encoding="utf-8")
    return load_code_map(path)


def test_toml_map_header_and_code_lookups(toml_map: CodeMap) -> None:
    assert (toml_map.site, toml_map.version) == ("fi-helsinki", "2024-05")
    ldl = toml_map.lookup("HUS-LAB", " 4567 ")
    assert isinstance(ldl, Target)
    assert (ldl.system, ldl.code, ldl.unit) == ("LOINC", "2089-1", "mmol/l")
    assert ldl.where == "codes.toml: code[0]"
    creat = toml_map.lookup("HUS-LAB", "1234")
    assert creat is not None and (creat.system, creat.code) == ("LOINC", "2160-0")
    # An entry without a system matches the code in any system.
    for system in ("HUS-ECG", None, "whatever"):
        qtc = toml_map.lookup(system, "QTC")
        assert qtc is not None and qtc.code == "8636-3"
    hcm = toml_map.lookup("HUS-DIAG", "KMP-H")
    assert hcm is not None and (hcm.system, hcm.code) == ("SNOMEDCT", "233873004")
    # Codes are compared exactly, under their own system.
    assert toml_map.lookup("HUS-DIAG", "4567") is None
    assert toml_map.lookup("HUS-LAB", "kmp-h") is None
    assert toml_map.lookup("HUS-LAB", None) is None
    assert len(toml_map) == 4 + 6 + 2


@pytest.mark.parametrize(
    ("language", "label", "code"),
    [
        ("fin", "Eteisvärinä", "49436004"),
        ("fin", "ETEISVARINA", "49436004"),  # no accents, upper case
        ("fi", "eteisvärinä", "49436004"),  # ISO 639-1
        ("nld", "hypertrofische  cardiomyopathie", "233873004"),
        ("nl-NL", "HYPERTROFISCHE-CARDIOMYOPATHIE", "233873004"),
        ("swe", "förmaksflimmer", "49436004"),
        ("swe", "Formaksflimmer", "49436004"),
        ("ita", "ipertensione arteriosa", "38341003"),
        ("ita", "IPERTENSIONE ARTERIOSA ", "38341003"),
        ("deu", "familiäre hypercholesterinämie", "398036000"),
        ("ger", "Familiare Hypercholesterinamie", "398036000"),  # ISO 639-2/B
        ("deu", "Herzinsuffizienz", "I50.0"),
    ],
)
def test_label_lookup_ignores_case_and_accents(
    toml_map: CodeMap, language: str, label: str, code: str
) -> None:
    target = toml_map.lookup_label(language, label)
    assert target is not None and target.code == code


def test_label_lookup_is_per_language(toml_map: CodeMap) -> None:
    assert toml_map.lookup_label("swe", "Eteisvärinä") is None  # Finnish, not Swedish
    assert toml_map.lookup_label("fin", "Eteisvärinä hoidossa") is None  # exact, never fuzzy
    assert toml_map.lookup_label("fin", None) is None


def test_units_spelled_by_the_site_then_the_defaults(toml_map: CodeMap) -> None:
    assert toml_map.unit("YKS/L") == "U/L"
    assert toml_map.unit("mmol / l") == "mmol/L"
    assert toml_map.unit("mmHg") == "mm[Hg]"  # not in the map: the common spellings
    assert toml_map.unit(" ") is None


def test_csv_map_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text(
        "kind,system,code,language,text,to,unit\n"
        "code,HUS-LAB,4567,,,LOINC|2089-1,mmol/l\n"
        "label,,,fin,Eteisvärinä,SNOMEDCT|49436004,\n"
        "label,,,ita,Cardiomiopatia ipertrofica,SNOMEDCT|233873004,\n"
        "unit,,,,yks/l,U/L,\n",
        encoding="utf-8",
    )
    cmap = load_code_map(str(path))
    ldl = cmap.lookup("HUS-LAB", "4567")
    assert ldl is not None and (ldl.code, ldl.unit, ldl.where) == (
        "2089-1",
        "mmol/l",
        "codes.csv: line 2",
    )
    af = cmap.lookup_label("fin", "eteisvarina")
    assert af is not None and af.code == "49436004"
    hcm = cmap.lookup_label("it", "CARDIOMIOPATIA IPERTROFICA")
    assert hcm is not None and hcm.code == "233873004"
    assert cmap.unit("Yks/L") == "U/L"


# -- malformed map files: the error names the file, the entry or line, and what was expected ----


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[code]]\ncode = "1"\nto = "LOINC|2089-1\n', r"not a valid TOML code map.*line 3"),
        ('[[code]]\ncode = "1"\ntu = "LOINC|2089-1"\n', r"code\[0\]: unknown key 'tu'"),
        (
            '[[code]]\ncode = "1"\nto = "LONC|2089-1"\n',
            r"code\[0\]\.to: expected 'SYSTEM\|code'.*'LONC' is not a standard system",
        ),
        (
            '[[code]]\ncode = "1"\nto = "LOINC|2089"\n',
            r"code\[0\]\.to: .*'2089' is not a well-formed LOINC code",
        ),
        ('[[code]]\ncode = "1"\nto = "2089-1"\n', r"code\[0\]\.to: .*no SYSTEM\|code"),
        ('[[code]]\ncode = "1"\n', r"code\[0\]\.to: expected 'SYSTEM\|code'.*found nothing"),
        ('[[code]]\ncode = 4567\nto = "LOINC|2089-1"\n', r"code\[0\]\.code: expected a non-empty"),
        (
            '[[label]]\ntext = "LDL"\nto = "LOINC|2089-1"\n',
            r"label\[0\]: expected a 'language'",
        ),
        ('code = "1"\n', r"code: expected an array of tables written \[\[code\]\]"),
        ("[lables]\nx = 1\n", r"the top level: unknown key 'lables'"),
        ('[units]\n"mg" = 1\n', r"units\.mg: expected a UCUM unit string"),
        (
            '[[code]]\nsystem = "L"\ncode = "1"\nto = "LOINC|2089-1"\n'
            '[[code]]\nsystem = "L"\ncode = "1"\nto = "LOINC|2085-9"\n',
            r"code\[1\]: code '1' of system 'L' is already mapped to LOINC\|2089-1 "
            r"\(bad\.toml: code\[0\]\), now to LOINC\|2085-9",
        ),
        (
            '[[label]]\nlanguage = "nld"\ntext = "Hartfalen"\nto = "SNOMEDCT|84114007"\n'
            '[[label]]\nlanguage = "nld"\ntext = "hartfalen"\nto = "SNOMEDCT|42343007"\n',
            r"label\[1\]: label 'hartfalen' \(nld\) is already mapped",
        ),
    ],
)
def test_malformed_toml_maps_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message) as err:
        load_code_map(path)
    assert err.value.path == str(path)  # the file is named


def test_the_same_mapping_twice_is_not_a_conflict() -> None:
    text = '[[code]]\ncode = "1"\nto = "LOINC|2089-1"\n[[code]]\ncode = "1"\nto = "LOINC|2089-1"\n'
    assert CodeMap.from_toml(text).lookup(None, "1") is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind,system,code,to\nnonsense,,,\n", r"line 2: expected kind 'code', 'label' or 'unit'"),
        ("kind,sys,code,to\n", r"line 1: expected the header .*unknown sys"),
        ("system,code\n", r"line 1: expected the header .*missing kind, to"),
        ("kind,system,code,to\ncode,L,,LOINC|2089-1\n", r"line 2: a 'code' row needs a code"),
        ("kind,system,code,to\ncode,L,1,LOINC-2089-1\n", r"line 2 column 'to': expected"),
        (
            "kind,language,text,to\nlabel,,Hartfalen,SNOMEDCT|84114007\n",
            r"line 2: a 'label' row needs a language and a text",
        ),
        ("kind,text,to\nunit,mg,\n", r"line 2: a 'unit' row needs the spelling"),
    ],
)
def test_malformed_csv_maps_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_code_map(path)


def test_missing_unreadable_or_unknown_map_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no code map here") as err:
        load_code_map(tmp_path / "absent.toml")
    assert "check code_map in the site configuration" in str(err.value)
    other = tmp_path / "codes.json"
    other.write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match=r"expected a code map ending in \.toml or \.csv"):
        load_code_map(other)
    latin = tmp_path / "latin.toml"
    latin.write_bytes('[map]\nsite = "Sk\xe5ne"\n'.encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        load_code_map(latin)
