"""A tabular extract's rows turned into harmonised rows and a consent, per patient.

How cells are read (numbers, Boolean, dates, DUO terms) and what they become is described in
:mod:`cardiofabric.ingest.tabular`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import SourceContext
from cardiofabric.ingest.consent import ConsentReading, consent_of
from cardiofabric.ingest.harmonise import coded, measurement
from cardiofabric.ingest.tabular.mapping import Extract, ExtractMapping, Item
from cardiofabric.mmio.model import Consent
from cardiofabric.vocab.duo import resolve

__all__ = ["Rows", "cell_text"]

_GENDERS = {"male", "female", "other", "unknown"}
# LOINC codes of the FHIR R4 vital-signs profile: their category is vital-signs.
_VITAL_SIGNS = {"8480-6", "8462-4", "8867-4", "40443-4", "39156-5", "29463-7", "8302-2"}
_CONSENT_ROLES = ("consent_permissions", "consent_prohibitions", "consent_status", "consent_date")
_CONSENT_STATUS = ("active", "withdrawn")
_TERM_SEPARATORS = re.compile(r"[;,\s]+")


def _duo_terms(v: Any) -> tuple[str, ...]:
    """The DUO codes of a consent cell: codes or abbreviations, separated by ``;``, ``,``."""
    out = []
    for term in _TERM_SEPARATORS.split(cell_text(v)):
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


def cell_text(v: Any) -> str:
    if isinstance(v, date | datetime):
        return v.isoformat()
    return repr(v) if isinstance(v, float) else "" if v is None else str(v).strip()


def _number(ex: Extract, v: Any) -> float:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    text = cell_text(v)
    try:
        return float(text.replace(ex.decimal, ".") if ex.decimal != "." else text)
    except ValueError:
        raise ValueError(f"expected a number, found {text!r}") from None


def _boolean(ex: Extract, v: Any) -> bool:
    text = cell_text(v).casefold()
    if isinstance(v, bool) or text in ex.true_values | ex.false_values:
        return bool(v) if isinstance(v, bool) else text in ex.true_values
    yes, no = ", ".join(sorted(ex.true_values)), ", ".join(sorted(ex.false_values))
    raise ValueError(f"expected yes ({yes}) or no ({no}), found {cell_text(v)!r}")


def _when(ex: Extract, v: Any) -> str:
    text = cell_text(v)
    try:
        if isinstance(v, date | datetime) or not ex.date_format:
            parse = datetime if "T" in text or " " in text else date
            return parse.fromisoformat(text).isoformat()
        return datetime.strptime(text, ex.date_format).isoformat().removesuffix("T00:00:00")
    except ValueError:
        raise ValueError(
            f"expected a date ({ex.date_format or 'ISO 8601'}), found {text!r}"
        ) from None


class Rows:
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
        # local id → the consents of the patient's rows
        self.consents: dict[str, list[ConsentReading]] = {}

    def add(self, where: str, row: dict[str, Any]) -> None:
        m, ex = self.m, self.ex
        pid = m.role("patient_id") or ""
        local = cell_text(row.get(pid))
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
            code, value = cell_text(row[m.role("code") or ""]), row[m.role("value") or ""]
            it = m.codes.get(code) or Item(name=code, table="measurement", type="Numeric")
            if code not in m.codes and not _blank(value):
                try:
                    _number(ex, value)
                except ValueError:  # an unknown code with a text result: an observation
                    it = it.model_copy(update={"table": "observation", "type": "Text"})
            label = cell_text(row.get(m.role("label") or "")) or None
            unit = cell_text(row.get(m.role("unit") or "")) or None
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
        problems: list[str] = []
        for r, cell in cells.items():
            try:
                if r == "consent_status":
                    status = self._status(cell)
                elif r == "consent_date":
                    when = _when(self.ex, cell)
                else:
                    terms[r] = _duo_terms(cell)
            except ValueError as exc:
                problems.append(
                    f"{exc}; the patient's consent is recorded empty (nothing permitted)"
                )
                self.ctx.reject(
                    f"{self.file} {where} column {self.consent_columns[r]}", problems[-1]
                )
        readings.append(
            ConsentReading(
                status=status,
                permissions=terms.get("consent_permissions", ()),
                prohibitions=terms.get("consent_prohibitions", ()),
                time=when,
                version=None,
                order=len(readings),
                problems=tuple(problems),
            )
        )

    def _status(self, cell: Any) -> str:
        it = self.m.columns[self.consent_columns["consent_status"]]
        text = cell_text(cell)
        words = {k.strip().casefold(): v for k, v in it.values.items()}
        status = words.get(text.casefold(), text).strip().casefold()
        if status not in _CONSENT_STATUS:
            known = ", ".join([*_CONSENT_STATUS, *it.values])
            raise ValueError(f"expected a consent status ({known}), found {text!r}")
        return status

    def consent(self, local: str) -> Consent | None:
        """The patient's consent from the rows read; None when no row states one."""
        return consent_of(self.consents.get(local, []))

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
            text = cell_text(cell)
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
            row.update(source_value=cell_text(cell), date=when, category=category)
        elif table == "observation":
            if it.type == "Numeric":
                _number(ex, cell)
            system, _, code = it.values.get(cell_text(cell), "").partition(":")
            row = coded(*target, label, lang, code_map=cm)
            row.update(
                value_text=cell_text(cell),
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
