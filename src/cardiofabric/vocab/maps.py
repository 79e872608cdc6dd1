"""A site's code map: its local codes, local-language labels and unit spellings → standard ones.

A site writes one map file (named by ``code_map`` in its site configuration), TOML or CSV.

TOML (``.toml``)::

    [map]                          # optional
    site = "fi-helsinki"
    version = "2024-05"
    language = "fin"               # default language of the [[label]] entries

    [[code]]                       # a local code → a standard code
    system = "HUS-LAB"             # the local system as sources name it (optional: any system)
    code = "4567"
    to = "LOINC|2089-1"            # SYSTEM|code, as FHIR search tokens write it
    unit = "mmol/l"                # optional: the unit of values that arrive without one
    label = "fP-Kol-LDL"           # optional: a note for the steward

    [[label]]                      # a local-language label → a standard code
    language = "fin"               # ISO 639-3 (optional when [map].language is set)
    text = "LDL-kolesteroli"
    to = "LOINC|2089-1"

    [units]                        # unit spellings → UCUM
    "yks/l" = "U/L"

``to`` may also be an inline table, ``to = { system = "LOINC", code = "2089-1" }``. The system
is any spelling :func:`~cardiofabric.vocab.systems.normalise_system` knows (``LOINC``,
``http://loinc.org``, ``SNOMED CT``, ``ICD-10``, ``HPO``, ``ATC``) and the code must be well
formed for it.

CSV (``.csv``, UTF-8, a header row, one mapping per row)::

    kind,system,code,language,text,to,unit
    code,HUS-LAB,4567,,,LOINC|2089-1,mmol/l
    label,,,fin,LDL-kolesteroli,LOINC|2089-1,
    unit,,,,yks/l,U/L,

(``kind=unit`` rows give the spelling in ``text`` and the UCUM unit in ``to``.)

Matching: local codes compare exactly after trimming, under the normalised system; an entry
without a system matches that code in any system not mapped on its own. Labels compare
case- and accent-insensitively (:func:`~cardiofabric.vocab.labels.fold`). A malformed file is an
:class:`~cardiofabric.errors.InputError` naming the file, the entry (``code[3].to``) or CSV line,
what was expected and what was found; two entries mapping one code or label two ways is one too.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.vocab.labels import fold, normalise_language
from cardiofabric.vocab.systems import (
    STANDARD_SYSTEMS,
    normalise_code,
    normalise_system,
    valid_code,
)
from cardiofabric.vocab.units import normalise_unit

__all__ = ["CodeMap", "Target", "load_code_map"]

_SYSTEMS = ", ".join(sorted(STANDARD_SYSTEMS))
_CSV_COLUMNS = ("kind", "system", "code", "language", "text", "to", "unit")


@dataclass(frozen=True)
class Target:
    """The standard code a local code or label maps to, and where the map says so."""

    system: str
    code: str
    unit: str | None = None  # the unit of values that arrive without one, as the site spells it
    where: str = ""  # "codes.toml: code[3]" / "codes.csv: line 7"


class CodeMap:
    """A site's local → standard map; build it with :func:`load_code_map` or the constructor."""

    def __init__(
        self,
        *,
        site: str | None = None,
        version: str | None = None,
        source: str | None = None,
    ) -> None:
        self.site = site
        self.version = version
        self.source = source
        self._codes: dict[tuple[str, str], Target] = {}
        self._labels: dict[tuple[str, str], Target] = {}
        self._units: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._codes) + len(self._labels) + len(self._units)

    def __repr__(self) -> str:
        return (
            f"CodeMap(site={self.site!r}, codes={len(self._codes)}, "
            f"labels={len(self._labels)}, units={len(self._units)})"
        )

    # -- building --------------------------------------------------------------------------

    def add_code(self, system: str | None, code: str, target: Target) -> None:
        key = (normalise_system(system) or "", code.strip())
        self._add(self._codes, key, target, f"code {code!r} of system {system or '(any)'!r}")

    def add_label(self, language: str, text: str, target: Target) -> None:
        key = (normalise_language(language) or "", fold(text))
        self._add(self._labels, key, target, f"label {text!r} ({language})")

    def add_unit(self, spelling: str, ucum: str, where: str = "") -> None:
        key = spelling.strip().lower()
        if key in self._units and self._units[key] != ucum:
            raise InputError(
                f"{where}: unit {spelling!r} is mapped twice, to {self._units[key]!r} and {ucum!r}",
                path=self.source,
                hint="keep one mapping per unit spelling",
            )
        self._units[key] = ucum

    def _add(
        self,
        table: dict[tuple[str, str], Target],
        key: tuple[str, str],
        target: Target,
        what: str,
    ) -> None:
        old = table.get(key)
        if old is not None and (old.system, old.code) != (target.system, target.code):
            raise InputError(
                f"{_entry(target.where)}: {what} is already mapped to {old.system}|{old.code} "
                f"({old.where}), now to {target.system}|{target.code}",
                path=self.source,
                hint="keep one mapping per local code or label",
            )
        table[key] = target

    # -- lookup ----------------------------------------------------------------------------

    def lookup(self, system: str | None, code: str | None) -> Target | None:
        """The standard code for a local ``(system, code)``, or None."""
        if code is None or not code.strip():
            return None
        c = code.strip()
        return self._codes.get((normalise_system(system) or "", c)) or self._codes.get(("", c))

    def lookup_label(self, language: str | None, label: str | None) -> Target | None:
        """The standard code for a local-language label (case and accents ignored), or None."""
        if not label:
            return None
        return self._labels.get((normalise_language(language) or "", fold(label)))

    def unit(self, spelling: str | None) -> str | None:
        """The UCUM unit for a unit as this site spells it: its own map, then the defaults."""
        if spelling is None or not spelling.strip():
            return None
        return self._units.get(spelling.strip().lower()) or normalise_unit(spelling)

    # -- reading ---------------------------------------------------------------------------

    @classmethod
    def from_toml(cls, text: str, *, source: str = "<code map>") -> CodeMap:
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(
                f"not a valid TOML code map ({exc})",
                path=source,
                hint="check the line and column named; strings need quotes",
            ) from None
        _keys(doc, {"map", "code", "label", "units"}, "the top level", source)
        head = doc.get("map", {})
        _require_table(head, "[map]", source)
        _keys(head, {"site", "version", "language"}, "[map]", source)
        cmap = cls(
            site=_opt_str(head, "site", "[map]", source),
            version=_opt_str(head, "version", "[map]", source),
            source=source,
        )
        default_lang = _opt_str(head, "language", "[map]", source)
        units = doc.get("units", {})
        _require_table(units, "[units]", source)
        for spelling, ucum in units.items():
            if not isinstance(ucum, str) or not ucum.strip():
                raise InputError(
                    f"units.{spelling}: expected a UCUM unit string, found {ucum!r}",
                    path=source,
                )
            cmap.add_unit(spelling, ucum.strip(), f"units.{spelling}")
        for i, entry in enumerate(_list_of_tables(doc, "code", source)):
            where = f"code[{i}]"
            _keys(entry, {"system", "code", "to", "unit", "label"}, where, source)
            code = _str(entry, "code", where, source)
            target = _target(entry.get("to"), f"{where}.to", source)
            unit = _opt_str(entry, "unit", where, source)
            located = Target(target[0], target[1], unit, f"{_name(source)}: {where}")
            _opt_str(entry, "label", where, source)
            cmap.add_code(_opt_str(entry, "system", where, source), code, located)
        for i, entry in enumerate(_list_of_tables(doc, "label", source)):
            where = f"label[{i}]"
            _keys(entry, {"language", "text", "to"}, where, source)
            lang = _opt_str(entry, "language", where, source) or default_lang
            if not lang:
                raise InputError(
                    f"{where}: expected a 'language' (ISO 639-3, e.g. 'fin'), found none",
                    path=source,
                    hint="give each [[label]] a language, or set [map].language",
                )
            text_ = _str(entry, "text", where, source)
            target = _target(entry.get("to"), f"{where}.to", source)
            cmap.add_label(lang, text_, Target(*target, where=f"{_name(source)}: {where}"))
        return cmap

    @classmethod
    def from_csv(cls, text: str, *, source: str = "<code map>") -> CodeMap:
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in ("kind", "to") if c not in header]
        unknown = [c for c in header if c not in _CSV_COLUMNS]
        if missing or unknown:
            raise InputError(
                f"line 1: expected the header {','.join(_CSV_COLUMNS)}, found {','.join(header)}"
                + (f" (missing {', '.join(missing)})" if missing else "")
                + (f" (unknown {', '.join(unknown)})" if unknown else ""),
                path=source,
            )
        cmap = cls(source=source)
        for raw in reader:
            line = reader.line_num
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            where = f"line {line}"
            kind = row.get("kind", "")
            located = f"{_name(source)}: {where}"
            if kind == "code":
                if not row.get("code"):
                    raise InputError(f"{where}: a 'code' row needs a code", path=source)
                system, code = _target(row.get("to"), f"{where} column 'to'", source)
                target = Target(system, code, row.get("unit") or None, located)
                cmap.add_code(row.get("system") or None, row["code"], target)
            elif kind == "label":
                if not row.get("language") or not row.get("text"):
                    raise InputError(
                        f"{where}: a 'label' row needs a language and a text, "
                        f"found language={row.get('language')!r} text={row.get('text')!r}",
                        path=source,
                    )
                system, code = _target(row.get("to"), f"{where} column 'to'", source)
                cmap.add_label(row["language"], row["text"], Target(system, code, where=located))
            elif kind == "unit":
                if not row.get("text") or not row.get("to"):
                    raise InputError(
                        f"{where}: a 'unit' row needs the spelling in 'text' and the UCUM unit "
                        "in 'to'",
                        path=source,
                    )
                cmap.add_unit(row["text"], row["to"], where)
            else:
                raise InputError(
                    f"{where}: expected kind 'code', 'label' or 'unit', found {kind!r}",
                    path=source,
                )
        return cmap


def load_code_map(path: Path | str) -> CodeMap:
    """Read a site's code map from a ``.toml`` or ``.csv`` file (see the module docstring)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            "no code map here: the file does not exist",
            path=p,
            hint="check code_map in the site configuration",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the code map as UTF-8 text ({exc})", path=p) from None
    suffix = p.suffix.lower()
    if suffix == ".toml":
        return CodeMap.from_toml(text, source=str(p))
    if suffix == ".csv":
        return CodeMap.from_csv(text, source=str(p))
    raise InputError(
        f"expected a code map ending in .toml or .csv, found {p.name!r}",
        path=p,
        hint="write the map as TOML or CSV (see cardiofabric.vocab.maps)",
    )


# -- validation helpers ------------------------------------------------------------------------


def _entry(where: str) -> str:
    """``code[3]`` from ``codes.toml: code[3]`` (the error already names the file)."""
    return where.split(": ", 1)[-1]


def _name(source: str) -> str:
    return Path(source).name if source and not source.startswith("<") else source


def _keys(table: Mapping[str, Any], allowed: set[str], where: str, source: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InputError(
            f"{where}: unknown key {unknown[0]!r}; expected one of {', '.join(sorted(allowed))}",
            path=source,
        )


def _require_table(value: Any, where: str, source: str) -> None:
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a table, found {type(value).__name__}", path=source)


def _list_of_tables(doc: Mapping[str, Any], key: str, source: str) -> Iterable[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InputError(
            f"{key}: expected an array of tables written [[{key}]], found {type(value).__name__}",
            path=source,
        )
    return value


def _str(table: Mapping[str, Any], key: str, where: str, source: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        found = "nothing" if value is None else repr(value)
        raise InputError(f"{where}.{key}: expected a non-empty string, found {found}", path=source)
    return value.strip()


def _opt_str(table: Mapping[str, Any], key: str, where: str, source: str) -> str | None:
    return _str(table, key, where, source) if key in table else None


def _target(value: Any, where: str, source: str) -> tuple[str, str]:
    if isinstance(value, dict):
        system, code = value.get("system"), value.get("code")
    elif isinstance(value, str) and "|" in value:
        system, code = value.split("|", 1)
    else:
        system = code = None
    short = normalise_system(system) if isinstance(system, str) else None
    norm = normalise_code(short, code) if isinstance(code, str) else None
    if short not in STANDARD_SYSTEMS or not valid_code(short, norm):
        found = "nothing" if value is None else repr(value)
        why = (
            f"{system!r} is not a standard system"
            if isinstance(system, str) and short not in STANDARD_SYSTEMS
            else f"{code!r} is not a well-formed {short} code"
            if short in STANDARD_SYSTEMS
            else "no SYSTEM|code"
        )
        raise InputError(
            f"{where}: expected 'SYSTEM|code' with a standard system ({_SYSTEMS}), "
            f"found {found} ({why})",
            path=source,
            hint='write for example to = "LOINC|2089-1" or to = "SNOMEDCT|233873004"',
        )
    assert short is not None and norm is not None
    return short, norm
