"""Research extract: a CSV or Parquet table, described by a mapping file or an OCA bundle.

The table is read with DuckDB (CSV: any delimiter, optionally gzipped; Parquet). What its
columns mean comes from ``ctx.options["mapping"]``, or else from a file beside the table named
``<stem>.mapping.toml`` or ``<stem>.oca.json``. Every modality embeds its OCA bundle as
semantics: the bundle given (verified), or one built from the mapping, labelled in the
extract's language and English.

Mapping file (TOML)::

    [extract]                      # all optional
    name = "Cardiology extract"    # name and description of the OCA bundle built from it
    language = "fin"               # ISO 639-3 of labels and text values (default: the site's)
    layout = "wide"                # wide: a row per patient, a column per item;
                                   # long: a row per result (patient, code, value, unit, date)
    delimiter = ";"                # CSV only (default: detected)
    decimal = ","                  # decimal separator of numbers written as text
    date_format = "%d.%m.%Y"       # strptime format of text dates (default ISO 8601)
    code_system = "HUS-LAB"        # the site's own code system (a long layout's code column)
    true_values = ["1", "kyllä"]   # Boolean cells (defaults: 1/0, true/false, yes/no, ja/nej,
    false_values = ["0", "ei"]     #   kyllä/ei, ...)

    [columns.potilastunnus]        # one table per column
    patient_id = true              # the local patient id: exactly one column
    labels = { fin = "Potilastunnus", eng = "Patient identifier" }

    [columns.ldl]
    table = "measurement"          # person | measurement | condition | observation |
    code_system = "LOINC"          #   medication | procedure; the code (a local system is
    code = "2089-1"                #   looked up in the site's code map)
    source_code = "4516"           # the site's own code, kept beside (source_code_system too)
    unit = "mmol/l"                # the unit values are written in
    type = "Numeric"               # OCA type: Numeric | Text | Boolean | DateTime
    date_column = "naytepvm"       # this item's date (default: the first date column)
    labels = { fin = "fP-Kol-LDL", eng = "LDL cholesterol" }

    [columns.sukupuoli]
    table = "person"
    field = "sex"                  # sex | birth_year | index_date | death_date | ancestry
    values = { mies = "male", nainen = "female" }   # cell → value, or "SYSTEM:code" answer

    [columns.naytepvm]
    role = "date"                  # role: patient_id | date | code | value | unit | label |
                                   #   consent_permissions | consent_prohibitions |
                                   #   consent_status | consent_date

    [columns.suostumus_tila]
    role = "consent_status"
    values = { voimassa = "active", peruttu = "withdrawn" }   # cell → active | withdrawn

    [codes.4516]                   # long layout: one table per local code (keys as columns)
    labels = { fin = "fP-Kol-LDL", eng = "LDL cholesterol" }

Cells: ``measurement`` numbers; ``condition``, ``medication``, ``procedure`` Boolean (true gives
a row on the item's date) or dates (a row on that date); ``observation`` text, coded through
``values``; ``person`` cells fill the person row. A long layout's code without a ``[codes]``
entry is read too (a number as a measurement, else an observation), unmapped unless the site's
code map knows it. One file may map several tables: ``[tables.<stem>]`` holds the ``extract``,
``columns`` and ``codes`` of ``<stem>.csv`` (a top-level ``[extract]`` is shared).

OCA bundle (JSON, bare or ``{"bundle": ...}``): attributes are columns and types; the unit (or
format) overlay gives units, label overlays labels, English entries the values of person and
``consent_status`` columns, and ``attribute_framing`` the meaning: ``SYSTEM:code`` (Numeric →
measurement, Text → observation, Boolean or DateTime → condition, or medication for ATC) or
``cardiofabric:patient_id``, ``cardiofabric:person.<field>``, ``cardiofabric:<role>`` (the
consent roles too); the ``person.index_date`` column dates the rows. A bundle says neither which
code a text answer means (observations keep their text only) nor an item's own date column, nor
how text is written: the source's options ``language``, ``delimiter``, ``decimal``,
``date_format``, ``code_system`` and ``date_column`` give those (and override a mapping file's
``[extract]``).

Consent. A row may carry the patient's research consent as GA4GH DUO terms, in columns with
the roles ``consent_permissions`` and ``consent_prohibitions`` (DUO codes ``DUO:0000042`` or
abbreviations ``GRU``, several separated by ``;``, ``,`` or spaces), ``consent_status``
(``active`` or ``withdrawn``, or the site's words for them through ``values``; empty is active)
and ``consent_date`` (when the consent was given or withdrawn, its ``updated``). "No use of
genomic data" is the prohibition of DUO:0000016 (GSO), as in
:mod:`cardiofabric.ingest.fhir.consent`, and DUO modifiers among the permissions name the first
permission as ``modifier_of``. A row with any consent cell filled is one consent; of a patient's
several, the latest (``consent_date``, then order) is the patient's, versioned by their number.
A consent cell that cannot be read (an unknown DUO term, an unknown status, a bad date) is
rejected like any cell, and the patient's consent is then recorded empty (nothing permitted):
a consent read in part could permit what the patient did not.

A cell that does not parse as its type is rejected (``line N column C``), the rest of its row
kept; an empty cell is missing. A column the mapping does not describe is reported once, unread.
The patient's rows, without the patient id column, are kept as a CSV payload.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cardiofabric.errors import InputError, ObjectFormatError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, register
from cardiofabric.ingest.fhir.consent import ConsentReading, consent_of
from cardiofabric.ingest.harmonise import coded, measurement
from cardiofabric.mmio.container import PayloadSpec
from cardiofabric.mmio.model import Consent, ModalityKind, Semantics
from cardiofabric.mmio.oca import AttributeSpec, BundleSpec, build_bundle, check_bundle
from cardiofabric.vocab.codes import lookup
from cardiofabric.vocab.duo import resolve

__all__ = [
    "Extract",
    "ExtractMapping",
    "Item",
    "TabularAdapter",
    "bundle_for",
    "load_mapping",
    "mapping_from_bundle",
]

_GENDERS = {"male", "female", "other", "unknown"}
_TRUE = frozenset({"1", "true", "yes", "y", "x", "ja", "j", "kyllä", "k", "si", "sì"})
_FALSE = frozenset({"0", "false", "no", "n", "nej", "nein", "ei", "e", "nee"})
# LOINC codes of the FHIR R4 vital-signs profile: their category is vital-signs.
_VITAL_SIGNS = {"8480-6", "8462-4", "8867-4", "40443-4", "39156-5", "29463-7", "8302-2"}
_NS = "cardiofabric:"  # framing namespace of our structural roles
OcaType = Literal["Numeric", "Text", "Boolean", "DateTime"]  # OCA 2.0 attribute types we read
_DEFAULT_TYPE: dict[str, OcaType] = {"measurement": "Numeric", "observation": "Text"}
_FIELD_TYPE: dict[str, OcaType] = {
    "birth_year": "Numeric",
    "index_date": "DateTime",
    "death_date": "DateTime",
}

Table = Literal["person", "measurement", "condition", "observation", "medication", "procedure"]
Role = Literal[
    "patient_id",
    "date",
    "code",
    "value",
    "unit",
    "label",
    "consent_permissions",
    "consent_prohibitions",
    "consent_status",
    "consent_date",
]
_CONSENT_ROLES = ("consent_permissions", "consent_prohibitions", "consent_status", "consent_date")
_CONSENT_STATUS = ("active", "withdrawn")
_TERM_SEPARATORS = re.compile(r"[;,\s]+")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Item(_Strict):
    """What one column (wide layout) or one local code (long layout) means."""

    name: str = ""
    patient_id: bool = False
    role: Role | None = None
    table: Table | None = None
    person_field: Literal["sex", "birth_year", "index_date", "death_date", "ancestry"] | None = (
        Field(default=None, alias="field")
    )
    type: OcaType | None = None
    code_system: str | None = None
    code: str | None = None
    source_code_system: str | None = None
    source_code: str | None = None
    unit: str | None = None
    category: str | None = None
    date_column: str | None = None
    values: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> Item:
        if self.patient_id:
            self.role = "patient_id"
        if (self.table is None) == (self.role is None):
            raise ValueError("give either a table (what the item is) or a role (patient_id, ...)")
        if self.table == "person" and self.person_field is None:
            raise ValueError("a person item needs a field: sex, birth_year, index_date, ...")
        if self.type is None:
            dflt = _FIELD_TYPE.get(self.person_field or "") or _DEFAULT_TYPE.get(self.table or "")
            dated = self.role in ("date", "consent_date")
            role: OcaType = "DateTime" if dated else "Text"
            self.type = dflt or ("Boolean" if self.table not in (None, "person") else role)
        return self


class Extract(_Strict):
    """How the whole table is laid out and how its text is written."""

    name: str = "Research extract"
    description: str = "A tabular research extract"
    language: str | None = None
    layout: Literal["wide", "long"] = "wide"
    delimiter: str | None = None
    decimal: str = "."
    date_format: str | None = None
    code_system: str | None = None
    date_column: str | None = None
    true_values: frozenset[str] = _TRUE
    false_values: frozenset[str] = _FALSE


class ExtractMapping(_Strict):
    """A table's mapping: the extract's conventions, its columns and (long layout) its codes."""

    extract: Extract = Field(default_factory=Extract)
    columns: dict[str, Item] = Field(default_factory=dict)
    codes: dict[str, Item] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> ExtractMapping:
        for name, it in [*self.columns.items(), *self.codes.items()]:
            it.name = name
        ex = self.extract
        ex.true_values = frozenset(v.strip().casefold() for v in ex.true_values)
        ex.false_values = frozenset(v.strip().casefold() for v in ex.false_values)
        if ex.date_column and ex.date_column not in self.columns:  # a column read as a date only
            self.columns[ex.date_column] = Item(name=ex.date_column, role="date")
        ids = [c for c, it in self.columns.items() if it.role == "patient_id"]
        if len(ids) != 1:
            raise ValueError(f"expected exactly one patient_id column, found {ids}")
        for role in ("code", "value") if ex.layout == "long" else ():
            if self.role(role) is None:
                raise ValueError(f"a long layout needs a column with role {role!r}")
        for c, it in self.columns.items():
            if it.date_column and it.date_column not in self.columns:
                raise ValueError(f"columns.{c}: date_column {it.date_column!r} is not a column")
        return self

    def role(self, role: str) -> str | None:
        """The first column with ``role`` (``patient_id``, ``date``, ``code``, ...)."""
        return next((c for c, it in self.columns.items() if it.role == role), None)


def _validated(doc: Mapping[str, Any], source: str, stem: str | None) -> ExtractMapping:
    if "tables" in doc:
        tables = doc["tables"]
        if not isinstance(tables, Mapping) or stem not in tables:
            raise InputError(
                f"the mapping has no [tables.{stem}] for this file; it describes "
                f"{', '.join(sorted(tables)) if isinstance(tables, Mapping) else 'nothing'}",
                path=source,
            )
        shared = doc.get("extract", {})
        doc = {**tables[stem], "extract": {**shared, **tables[stem].get("extract", {})}}
    try:
        return ExtractMapping.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "the top level"
        raise InputError(
            f"{where}: {err['msg']} (found {err.get('input')!r})",
            path=source,
            hint="see the mapping format in the docstring of cardiofabric.ingest.tabular",
        ) from None


def mapping_from_bundle(bundle: Mapping[str, Any], source: str = "<bundle>") -> ExtractMapping:
    """An :class:`ExtractMapping` read from an OCA bundle's overlays (see the docstring)."""
    ov: dict[str, list[Any]] = {}
    for name, value in bundle.get("overlays", {}).items():
        ov[name] = value if isinstance(value, list) else [value]

    def merged(kind: str, key: str) -> dict[str, Any]:
        return {k: v for o in ov.get(kind, []) for k, v in o.get(key, {}).items()}

    units = {**merged("format", "attribute_formats"), **merged("unit", "attribute_units")}
    framing = merged("attribute_framing", "attribute_framing")
    labels = {o["language"]: o.get("attribute_labels", {}) for o in ov.get("label", [])}
    entries = {o["language"]: o.get("attribute_entries", {}) for o in ov.get("entry", [])}
    meta: dict[str, Any] = next(iter(ov.get("meta", [])), {})
    columns: dict[str, dict[str, Any]] = {}
    for col, kind in bundle["capture_base"].get("attributes", {}).items():
        frame = framing.get(col)
        if isinstance(frame, Mapping):  # OCA 2.0 framing: {frame_id: {predicate_id: ...}}
            frame = next(iter(frame), None)
        item: dict[str, Any] = {
            "type": kind if kind in ("Numeric", "Text", "Boolean", "DateTime") else "Text",
            "labels": {lang: str(v[col]) for lang, v in labels.items() if col in v},
            "unit": units.get(col),
        }
        what = frame[len(_NS) :] if isinstance(frame, str) and frame.startswith(_NS) else None
        if what and what.startswith("person."):
            english = entries.get("eng", {}).get(col, {})
            item.update(
                table="person",
                field=what[7:],
                values={k: str(v).lower() for k, v in english.items()},
            )
        elif what:
            item["role"] = what
            if what == "consent_status":  # the status each cell stands for, in English
                item["values"] = {k: str(v) for k, v in entries.get("eng", {}).get(col, {}).items()}
        elif isinstance(frame, str) and ":" in frame:
            system, code = frame.split(":", 1)
            table = {"Numeric": "measurement", "Text": "observation"}.get(kind, "condition")
            medication = system == "ATC" and table == "condition"
            item.update(table="medication" if medication else table, code_system=system, code=code)
        else:
            item["table"] = "measurement" if kind == "Numeric" else "observation"
        columns[col] = item
    # The cohort's index date is the natural default date of an extract's rows.
    index = [c for c, i in columns.items() if i.get("field") == "index_date"]
    doc = {
        "extract": {
            "date_column": index[0] if index else None,
            "name": meta.get("name", "Research extract"),
            "description": meta.get("description", ""),
            "layout": "long" if any(c.get("role") == "code" for c in columns.values()) else "wide",
        },
        "columns": columns,
    }
    return _validated(doc, source, None)


def load_mapping(path: Path, table: str | None = None) -> tuple[ExtractMapping, dict[str, Any]]:
    """A mapping and its OCA bundle, from a ``.toml`` mapping or an OCA bundle ``.json``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the extract's mapping ({exc})", path=path) from None
    if path.suffix.lower() == ".toml":
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"the mapping is not valid TOML ({exc})", path=path) from None
        m = _validated(doc, str(path), table)
        return m, bundle_for(m)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"the OCA bundle is not valid JSON ({exc})", path=path) from None
    bundle = raw.get("bundle", raw) if isinstance(raw, dict) else raw
    try:
        problems = check_bundle(bundle)
    except ObjectFormatError as exc:
        raise InputError(exc.message, path=path, hint="give an OCA 2.0 bundle JSON") from None
    if problems:
        p = problems[0]
        raise InputError(
            f"the OCA bundle's digest at {p.location} is {p.stated!r} but its content gives "
            f"{p.computed!r}; expected an unaltered bundle",
            path=path,
            hint="restore the bundle as published, or rebuild it from its source",
        )
    return mapping_from_bundle(bundle, str(path)), dict(bundle)


def bundle_for(m: ExtractMapping) -> dict[str, Any]:
    """The OCA bundle of a mapping: types, labels, units, codes and value entries."""
    lang = m.extract.language or "eng"
    attrs = []
    for col, it in m.columns.items():
        frame = None
        if it.table == "person":
            frame = f"{_NS}person.{it.person_field}"
        elif it.role:
            frame = f"{_NS}{it.role}"
        elif it.code_system and it.code:
            frame = f"{it.code_system}:{it.code}"
        entries: dict[str, dict[str, str]] = {}
        if it.values:
            # An answer's English entry is its code's label where the vocabulary has one.
            english = {k: _english(v) for k, v in it.values.items()}
            entries = {lang: {k: k for k in it.values}, "eng": english}
        if it.role == "code" and m.codes:
            entries = {
                g: {c: i.labels.get(g, c) for c, i in m.codes.items()}
                for g in sorted({lang, "eng"})
            }
        attrs.append(
            AttributeSpec(
                col,
                str(it.type),
                labels=dict(it.labels),
                unit=it.unit,
                code=frame,
                entries=entries,
                required=it.role == "patient_id",
            )
        )
    ex = m.extract
    return build_bundle(BundleSpec(ex.name, ex.description, attrs))


def _english(value: str) -> str:
    system, _, code = value.partition(":")
    entry = lookup(system, code) if code else None
    return entry.label if entry else value


def _duo_terms(v: Any) -> tuple[str, ...]:
    """The DUO codes of a consent cell: codes or abbreviations, separated by ``;``, ``,``."""
    out = []
    for term in _TERM_SEPARATORS.split(_text(v)):
        if not term:
            continue
        try:
            out.append(resolve(term).code)
        except InputError:
            raise ValueError(
                f"unknown DUO term {term!r}; expected DUO codes (DUO:0000042) or abbreviations "
                "(GRU, HMB, DS, GSO, ...)"
            ) from None
    return tuple(dict.fromkeys(out))


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _text(v: Any) -> str:
    if isinstance(v, date | datetime):
        return v.isoformat()
    return repr(v) if isinstance(v, float) else "" if v is None else str(v).strip()


def _number(ex: Extract, v: Any) -> float:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    text = _text(v)
    try:
        return float(text.replace(ex.decimal, ".") if ex.decimal != "." else text)
    except ValueError:
        raise ValueError(f"expected a number, found {text!r}") from None


def _boolean(ex: Extract, v: Any) -> bool:
    text = _text(v).casefold()
    if isinstance(v, bool) or text in ex.true_values | ex.false_values:
        return bool(v) if isinstance(v, bool) else text in ex.true_values
    yes, no = ", ".join(sorted(ex.true_values)), ", ".join(sorted(ex.false_values))
    raise ValueError(f"expected yes ({yes}) or no ({no}), found {_text(v)!r}")


def _when(ex: Extract, v: Any) -> str:
    text = _text(v)
    try:
        if isinstance(v, date | datetime) or not ex.date_format:
            parse = datetime if "T" in text or " " in text else date
            return parse.fromisoformat(text).isoformat()
        return datetime.strptime(text, ex.date_format).isoformat().removesuffix("T00:00:00")
    except ValueError:
        raise ValueError(
            f"expected a date ({ex.date_format or 'ISO 8601'}), found {text!r}"
        ) from None


def _read_table(
    path: Path, ex: Extract
) -> tuple[list[str], list[tuple[str, dict[str, Any]]], list[tuple[int, str]]]:
    """Column names, ``(where, row)`` pairs, and the CSV lines DuckDB could not split."""
    import duckdb  # core dependency, imported where used

    con = duckdb.connect()
    try:
        if path.name.lower().endswith(".parquet"):
            cur = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
            return names, [(f"row {i + 1}", r) for i, r in enumerate(rows)], []
        delim = ", delim = ?" if ex.delimiter else ""
        cur = con.execute(
            "SELECT * FROM read_csv(?, header = true, all_varchar = true, store_rejects = true, "
            f"rejects_table = 'rejects', rejects_scan = 'scan'{delim})",
            [str(path), *([ex.delimiter] if ex.delimiter else [])],
        )
        names = [d[0] for d in cur.description]
        data = cur.fetchall()
        bad = con.execute("SELECT line, error_message FROM rejects ORDER BY line").fetchall()
    except duckdb.Error as exc:
        raise InputError(
            f"DuckDB cannot read this as a CSV or Parquet table ({str(exc).splitlines()[0]})",
            path=path,
            hint="give a CSV file with a header line (optionally gzipped) or a Parquet file",
        ) from None
    skipped = {int(line) for line, _ in bad}
    out, line = [], 1
    for values in data:
        line += 1
        while line in skipped:  # records are one per line; DuckDB's rejects name theirs
            line += 1
        out.append((f"line {line}", dict(zip(names, values, strict=True))))
    return names, out, [(int(line), str(msg)) for line, msg in bad]


#: Site-configuration options that override the mapping's [extract] (an OCA bundle has none).
_OVERRIDES = ("language", "delimiter", "decimal", "date_format", "code_system", "date_column")


@register("tabular")
class TabularAdapter:
    format = "tabular"
    version = "1"

    def read(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        if not path.is_file():
            raise InputError("the extract file does not exist", path=path)
        stem = path.name.split(".")[0]
        given = ctx.options.get("mapping")
        found = (
            [Path(given)]
            if given
            else [path.with_name(f"{stem}.mapping.toml"), path.with_name(f"{stem}.oca.json")]
        )
        mapping_path = next((p for p in found if p.is_file()), None)
        if mapping_path is None:
            raise InputError(
                f"the extract has no mapping: expected {' or '.join(p.name for p in found)}",
                path=path,
                hint="name a mapping file or OCA bundle in the source's options (mapping = ...)",
            )
        m, bundle = load_mapping(mapping_path, stem)
        m.extract = m.extract.model_copy(
            update={k: str(ctx.options[k]) for k in _OVERRIDES if k in ctx.options}
        )
        names, rows, broken = _read_table(path, m.extract)
        missing = [c for c in m.columns if c not in names]
        if missing:
            raise InputError(
                f"the extract lacks the column(s) {', '.join(missing)} that {mapping_path.name} "
                f"describes; found {', '.join(names[:15])}",
                path=path,
                hint="export the extract with the columns of its mapping, or update the mapping",
            )
        for line, msg in broken:
            ctx.reject(f"{path.name} line {line}", msg)
        for c in names:
            if c not in m.columns:
                ctx.reject(f"{path.name} column {c}", "not described by the mapping; not read")
        ctx.count_read(len(rows) + len(broken))
        reader = _Rows(m, ctx, path.name)
        for where, row in rows:
            reader.add(where, row)
        kept = [c for c in names if c != m.role("patient_id")]
        parquet = path.name.lower().endswith(".parquet")
        for local, (content, raw, time) in reader.patients.items():
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerows(
                [kept, *([_text(r[c]) for c in kept] for r in raw)]
            )
            yield ModalityRecord(
                local_id=local,
                kind=ModalityKind.CLINICAL,
                media_type="application/vnd.apache.parquet" if parquet else "text/csv",
                content=content,
                payloads=[PayloadSpec(buf.getvalue().encode("utf-8"), "text/csv")],
                semantics=Semantics(type="Bundle", value=bundle),
                time=time[0] or None,
                consent=reader.consent(local),
            )


class _Rows:
    """Turns the extract's rows into harmonised rows, per patient."""

    def __init__(self, m: ExtractMapping, ctx: SourceContext, file: str) -> None:
        self.m, self.ex, self.ctx, self.file = m, m.extract, ctx, file
        self.lang = m.extract.language or ctx.language
        # Date columns: role "date", the extract's date_column, any item's date_column.
        self.default_date = m.extract.date_column or m.role("date")
        named = {it.date_column for it in m.columns.values()} | {self.default_date}
        roles = {c for c, it in m.columns.items() if it.role == "date"}
        self.date_columns = sorted(c for c in named | roles if c)
        # local id → (content, the patient's source rows, [latest date])
        self.patients: dict[
            str, tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]], list[str]]
        ] = {}
        self.consent_columns = {r: c for r in _CONSENT_ROLES if (c := m.role(r)) is not None}
        # local id → the consents of the patient's rows; the patients with an unreadable one
        self.consents: dict[str, list[ConsentReading]] = {}
        self.unreadable: set[str] = set()

    def add(self, where: str, row: dict[str, Any]) -> None:
        m, ex = self.m, self.ex
        pid = m.role("patient_id") or ""
        local = _text(row.get(pid))
        if not local:
            self.ctx.reject(f"{self.file} {where}", f"no patient id in column {pid}")
            return
        content, raw, time = self.patients.setdefault(local, ({}, [], [""]))
        raw.append(row)
        dates: dict[str, str] = {}
        for c in self.date_columns:
            try:
                if not _blank(row[c]):
                    dates[c] = _when(ex, row[c])
            except ValueError as exc:
                self.ctx.reject(f"{self.file} {where} column {c}", str(exc))
        items: list[tuple[str, Item, Any, str | None, str | None]] = []
        if ex.layout == "wide":
            items = [(c, it, row[c], None, None) for c, it in m.columns.items() if it.table]
        else:
            code, value = _text(row[m.role("code") or ""]), row[m.role("value") or ""]
            it = m.codes.get(code) or Item(name=code, table="measurement", type="Numeric")
            if code not in m.codes and not _blank(value):
                try:
                    _number(ex, value)
                except ValueError:  # an unknown code with a text result: an observation
                    it = it.model_copy(update={"table": "observation", "type": "Text"})
            label = _text(row.get(m.role("label") or "")) or None
            unit = _text(row.get(m.role("unit") or "")) or None
            items = [(m.role("value") or "", it, value, label, unit)]
        for c, it, cell, label, unit in items:
            when = dates.get(it.date_column or "") or dates.get(self.default_date or "")
            try:
                if not _blank(cell):
                    self._item(content, it, cell, when, label, unit)
            except ValueError as exc:
                self.ctx.reject(f"{self.file} {where} column {c}", str(exc))
        time[0] = max([time[0], *dates.values()])
        self._consent(local, where, row)

    def _consent(self, local: str, where: str, row: dict[str, Any]) -> None:
        """The consent a row states, if it fills any consent column (see the docstring)."""
        cells = {r: row[c] for r, c in self.consent_columns.items() if not _blank(row[c])}
        if not cells:
            return
        readings = self.consents.setdefault(local, [])
        terms: dict[str, tuple[str, ...]] = {}
        status, when = "active", None
        for r, cell in cells.items():
            try:
                if r == "consent_status":
                    status = self._status(cell)
                elif r == "consent_date":
                    when = _when(self.ex, cell)
                else:
                    terms[r] = _duo_terms(cell)
            except ValueError as exc:
                self.unreadable.add(local)
                column = self.consent_columns[r]
                self.ctx.reject(
                    f"{self.file} {where} column {column}",
                    f"{exc}; the patient's consent is recorded empty (nothing permitted)",
                )
        readings.append(
            ConsentReading(
                status=status,
                permissions=terms.get("consent_permissions", ()),
                prohibitions=terms.get("consent_prohibitions", ()),
                time=when,
                version=None,
                order=len(readings),
            )
        )

    def _status(self, cell: Any) -> str:
        it = self.m.columns[self.consent_columns["consent_status"]]
        text = _text(cell)
        words = {k.strip().casefold(): v for k, v in it.values.items()}
        status = words.get(text.casefold(), text).strip().casefold()
        if status not in _CONSENT_STATUS:
            known = ", ".join([*_CONSENT_STATUS, *it.values])
            raise ValueError(f"expected a consent status ({known}), found {text!r}")
        return status

    def consent(self, local: str) -> Consent | None:
        """The patient's consent from the rows read; None when no row states one."""
        readings = self.consents.get(local)
        if not readings:
            return None
        if local in self.unreadable:  # nothing permitted: see the module docstring
            latest = max((r.time for r in readings if r.time), default=None)
            return Consent(version=len(readings), updated=latest)
        return consent_of(readings)

    def _item(
        self,
        content: dict[str, list[dict[str, Any]]],
        it: Item,
        cell: Any,
        when: str | None,
        label: str | None,
        unit: str | None,
    ) -> None:
        ex, lang, cm = self.ex, self.lang, self.ctx.code_map
        if it.table == "person":
            person = content.setdefault("person", [{}])[0]
            text = _text(cell)
            if it.person_field == "sex":
                sex = it.values.get(text, text).strip().lower()
                person.update(sex=sex if sex in _GENDERS else "unknown", source_sex=text)
            elif it.person_field == "birth_year":
                person["birth_year"] = int(_number(ex, cell))
            elif it.person_field in ("index_date", "death_date"):
                person[it.person_field] = _when(ex, cell)[:10]
            else:
                person[str(it.person_field)] = text
            return
        source = (it.source_code_system or ex.code_system, it.source_code or it.name)
        target = (it.code_system, it.code) if it.code_system and it.code else source
        label = label or it.labels.get(lang) or it.name
        table = str(it.table)
        if table == "measurement":
            value = _number(ex, cell)
            row = measurement(*target, label, value, unit or it.unit, lang, code_map=cm)
            vital = row["code_system"] == "LOINC" and row["code"] in _VITAL_SIGNS
            category = it.category or ("vital-signs" if vital else "laboratory")
            row.update(source_value=_text(cell), date=when, category=category)
        elif table == "observation":
            if it.type == "Numeric":
                _number(ex, cell)
            system, _, code = it.values.get(_text(cell), "").partition(":")
            row = coded(*target, label, lang, code_map=cm)
            row.update(
                value_text=_text(cell),
                value_code_system=system or None,
                value_code=code or None,
                date=when,
            )
        else:
            if it.type == "DateTime":
                when = _when(ex, cell)
            elif it.type == "Boolean" and not _boolean(ex, cell):
                return
            day = when[:10] if when else None
            row = coded(*target, label, lang, code_map=cm)
            key = {"condition": "onset_date", "medication": "start_date"}.get(table, "date")
            row[key] = day
            if table == "condition":
                row["status"] = "active"
        if not row["mapped"] and it.code_system and it.code:
            source = (it.code_system, it.code)  # a local code of the mapping's own: keep it
        row["source_code_system"], row["source_code"] = source
        content.setdefault(table, []).append(row)
