"""A tabular extract's mapping: what its columns mean, from a TOML mapping file or an OCA bundle.

The formats of both are described in :mod:`cardiofabric.ingest.tabular`. A mapping read from
either gives the OCA bundle every modality embeds as semantics (:func:`bundle_for`).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cardiofabric.errors import InputError, ObjectFormatError
from cardiofabric.mmio.oca import AttributeSpec, BundleSpec, build_bundle, check_bundle
from cardiofabric.vocab.codes import lookup

__all__ = [
    "Extract",
    "ExtractMapping",
    "Item",
    "OcaType",
    "Role",
    "Table",
    "bundle_for",
    "load_mapping",
    "mapping_from_bundle",
]

_TRUE = frozenset({"1", "true", "yes", "y", "x", "ja", "j", "kyllä", "k", "si", "sì"})
_FALSE = frozenset({"0", "false", "no", "n", "nej", "nein", "ei", "e", "nee"})
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
