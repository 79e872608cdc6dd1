"""OMOP CDM v5.4 extract: a directory of CSV files, one per CDM table, read with DuckDB.

Files are named after the OHDSI OMOP CDM v5.4 tables (``person.csv``; ``.tsv`` and ``.txt``
too, each optionally gzipped; any case), comma- or tab-separated, with a header line of CDM
column names. Columns are read with their CDM types (``*_id`` BIGINT, ``*_date`` DATE,
``*_datetime`` TIMESTAMP, ``value_as_number`` DOUBLE, ...); a row whose value does not parse
is rejected with its file and line, and so is a row whose ``person_id`` is not in ``person``.

============================  ======================================  ====================
CDM table                     required columns                        harmonised as
============================  ======================================  ====================
``person`` (required)         person_id, gender_concept_id,           ``person``
                              year_of_birth
``observation_period``        person_id, observation_period_start_    ``person.index_date``
                              date                                    (earliest start)
``death``                     person_id, death_date                   ``person.death_date``
``condition_occurrence``      person_id, condition_concept_id,        ``condition``
                              condition_start_date
``measurement``               person_id, measurement_concept_id,      ``measurement``
                              measurement_date
``observation``               person_id, observation_concept_id,      ``observation``
                              observation_date
``drug_exposure``             person_id, drug_concept_id,             ``medication``
                              drug_exposure_start_date
``procedure_occurrence``      person_id, procedure_concept_id,        ``procedure``
                              procedure_date
``concept`` (optional)        concept_id, concept_name,               codes and names
                              vocabulary_id, concept_code
============================  ======================================  ====================

Codes. A standard ``<domain>_concept_id`` becomes our code through ``concept.csv``
(``vocabulary_id`` SNOMED, LOINC, ICD10, ICD10CM, ATC, HPO → ``code_system``, ``concept_code`` →
``code``, ``concept_name`` the English label). Without a concept table, or for a vocabulary we do
not harmonise, the id is kept (``source_code_system`` ``OMOP``) and the row is unmapped unless
the site's code map knows it. Concept id 0 is the CDM's "No matching concept": the row keeps the
``<domain>_source_value`` as its source code under the site's local code system (option
``local_code_system``, default ``local``). The source columns hold the most specific code the
source gave: ``<domain>_source_concept_id`` when the concept table names it, else the standard
concept; ``source_label`` is ``<domain>_source_value`` (a label in the site's language),
``source_unit`` is ``unit_source_value`` and ``source_value`` is ``value_source_value``.

Persons. ``gender_concept_id`` 8507 is male and 8532 female (OMOP Gender vocabulary), 8521
other, anything else unknown. The local id is ``person_source_value`` when present, else
``person_id``. Each person gives one clinical modality, with the person's own CDM rows (without
``person_id`` and ``person_source_value``) kept as a JSON payload.

Consent. OMOP CDM v5.4 has no consent table, so a person's research consent is kept as rows of
``observation`` (CDM v5.4 OBSERVATION: facts obtained by questioning the person), one row per
GA4GH DUO term, the terms of one consent sharing its date:

==============================  ==============================================================
OBSERVATION field (CDM v5.4)    in a consent row
==============================  ==============================================================
``observation_concept_id``      the consent concept: the ``concept`` row of LOINC 59284-0
                                "Patient Consent" (FHIR R4 ``Consent.category``); or
                                ``observation_source_concept_id``, for a site that maps its
                                local concept to 0; without a concept table, the source's
                                option ``consent_concept_id`` names the id
``observation_date``            the day the consent, or its withdrawal, was recorded
``qualifier_source_value``      ``permit`` (or empty): the term is a permission; ``deny``: a
                                prohibition (FHIR ``Consent.provision.type``); ``withdrawn``:
                                the consent was withdrawn that day (the row has no term)
``value_as_string``             the DUO code (``DUO:0000042``) or abbreviation (``GRU``);
                                ``value_source_value`` when empty
``observation_source_value``    the site's own label of the concept (not read)
==============================  ==============================================================

The rows of one date are one consent; the latest is the person's (``updated`` its date,
``version`` the number of dates). A date with terms states the whole consent; a date with only
a ``withdrawn`` row withdraws the consent stated before it, its terms kept (as with FHIR,
governance excludes a withdrawn person whatever the terms say). "No use of genomic data" is
``deny`` DUO:0000016 (GSO), as in :mod:`cardiofabric.ingest.fhir.consent`, and DUO modifiers
among the permissions name the first permission as ``modifier_of``. A consent row whose term or
qualifier is unknown is rejected with its file and line, and the person's consent is then
recorded empty (nothing permitted): a consent read in part, or an older one, could permit what
the person did not. Consent rows are read into :attr:`ModalityRecord.consent` and not into the
``observation`` content (the object's consent is the one place governance reads it); they stay
in the payload with the person's other CDM rows.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, register
from cardiofabric.ingest.fhir.consent import ConsentReading, consent_of
from cardiofabric.ingest.harmonise import coded, measurement
from cardiofabric.mmio.container import PayloadSpec
from cardiofabric.mmio.model import Consent, ModalityKind
from cardiofabric.mmio.said import canonical_json
from cardiofabric.vocab.duo import resolve

__all__ = ["CDM_TABLES", "CONSENT_CONCEPT", "OmopAdapter", "find_table"]

_SUFFIXES = (".csv", ".tsv", ".txt")


@dataclass(frozen=True)
class _Domain:
    cdm: str  # OMOP CDM table
    table: str  # harmonised table
    prefix: str  # <prefix>_concept_id, <prefix>_source_value, <prefix>_source_concept_id
    date: str  # the event's date column
    when: str | None = None  # its datetime column, preferred for TIMESTAMP targets
    end: str | None = None


_DOMAINS = (
    _Domain(
        "condition_occurrence",
        "condition",
        "condition",
        "condition_start_date",
        None,
        "condition_end_date",
    ),
    _Domain(
        "measurement", "measurement", "measurement", "measurement_date", "measurement_datetime"
    ),
    _Domain(
        "observation", "observation", "observation", "observation_date", "observation_datetime"
    ),
    _Domain(
        "drug_exposure",
        "medication",
        "drug",
        "drug_exposure_start_date",
        None,
        "drug_exposure_end_date",
    ),
    _Domain("procedure_occurrence", "procedure", "procedure", "procedure_date"),
)

#: CDM table → the columns a file of it must have (OMOP CDM v5.4 required fields we use).
CDM_TABLES: dict[str, tuple[str, ...]] = {
    "person": ("person_id", "gender_concept_id", "year_of_birth"),
    "observation_period": ("person_id", "observation_period_start_date"),
    "death": ("person_id", "death_date"),
    **{d.cdm: ("person_id", f"{d.prefix}_concept_id", d.date) for d in _DOMAINS},
    "concept": ("concept_id", "concept_name", "vocabulary_id", "concept_code"),
}

# OMOP vocabulary_id → our code system (OHDSI Athena vocabulary ids).
_VOCABULARIES = {
    "SNOMED": "SNOMEDCT",
    "LOINC": "LOINC",
    "ICD10": "ICD10",
    "ICD10CM": "ICD10CM",
    "ATC": "ATC",
    "HPO": "HPO",
}
# OMOP Gender vocabulary concepts → HL7 administrative gender.
_GENDER = {8507: "male", 8532: "female", 8521: "other", 8551: "unknown"}
# LOINC codes of the FHIR R4 vital-signs profile: their category is vital-signs, not laboratory.
_VITAL_SIGNS = {"8480-6", "8462-4", "8867-4", "40443-4", "39156-5", "29463-7", "8302-2", "8478-0"}
# Vocabulary-table ids that are text (OMOP CDM v5.4 CONCEPT: domain_id, vocabulary_id, ...).
_TEXT_IDS = {"domain_id", "vocabulary_id", "concept_class_id", "relationship_id"}
_INTEGER = {"year_of_birth", "month_of_birth", "day_of_birth", "refills", "days_supply"}
_DOUBLE = {"value_as_number", "range_low", "range_high", "quantity"}
# Identifiers of the person never kept in the payload (the pipeline pseudonymises the local id).
_IDENTIFYING = {"person_id", "person_source_value"}
#: The concept of consent observations (vocabulary_id, concept_code); see "Consent" above.
CONSENT_CONCEPT = ("LOINC", "59284-0")
_CONSENT_QUALIFIERS = ("permit", "deny", "withdrawn")


def _sql_type(column: str) -> str:
    """The CDM v5.4 type of a column, from its name (the CDM's own naming convention)."""
    if column.endswith("_datetime"):
        return "TIMESTAMP"
    if column.endswith("_date"):
        return "DATE"
    if column.endswith("_id") and column not in _TEXT_IDS:
        return "BIGINT"
    if column in _INTEGER:
        return "INTEGER"
    if column in _DOUBLE:
        return "DOUBLE"
    return "VARCHAR"


def find_table(directory: Path, table: str) -> Path | None:
    """The file holding a CDM table in ``directory`` (any case, .csv/.tsv/.txt, gzipped or not)."""
    names = {table + s for s in _SUFFIXES} | {table + s + ".gz" for s in _SUFFIXES}
    found = sorted(p for p in directory.iterdir() if p.is_file() and p.name.lower() in names)
    if len(found) > 1:
        raise InputError(
            f"the {table} table is given twice: {', '.join(p.name for p in found)}",
            path=directory,
            hint="keep one file per CDM table",
        )
    return found[0] if found else None


def _header(path: Path) -> tuple[list[str], str]:
    opener: Any = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            first: str = fh.readline()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the header line ({exc})",
            path=path,
            hint="give UTF-8 CSV text, or a complete gzip file of it",
        ) from None
    if not first.strip():
        raise InputError(
            "the file is empty; expected a header line of OMOP CDM v5.4 column names", path=path
        )
    delim = "\t" if first.count("\t") > first.count(",") else ","
    return [c.strip().strip('"').lower() for c in first.rstrip("\r\n").split(delim)], delim


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date | datetime) else v


def _kept(raw: dict[str, Any]) -> dict[str, Any]:
    """A CDM row as kept in the payload: without the person's identifiers or empty fields."""
    return {k: _iso(v) for k, v in raw.items() if k not in _IDENTIFYING and v is not None}


@dataclass(frozen=True)
class _Concept:
    vocabulary: str
    code: str
    name: str | None


@dataclass
class _ConsentDay:
    """The consent rows of one person on one date."""

    permissions: list[str] = field(default_factory=list)
    prohibitions: list[str] = field(default_factory=list)
    withdrawn: bool = False


@dataclass
class _Person:
    local_id: str
    content: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    source: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    time: str = ""
    consent_days: dict[str, _ConsentDay] = field(default_factory=dict)
    consent_unreadable: bool = False

    def add(self, table: str, row: dict[str, Any], cdm: str, raw: dict[str, Any]) -> None:
        self.content.setdefault(table, []).append(row)
        self.source.setdefault(cdm, []).append(_kept(raw))

    def add_consent(self, raw: dict[str, Any]) -> None:
        """Record one consent row; ``ValueError`` says why it cannot be read."""
        day = self.consent_days.setdefault(_iso(raw.get("observation_date")) or "", _ConsentDay())
        qualifier = (raw.get("qualifier_source_value") or "").strip().lower() or "permit"
        if qualifier not in _CONSENT_QUALIFIERS:
            self.consent_unreadable = True
            raise ValueError(
                f"consent row: qualifier_source_value {qualifier!r} is not one of "
                f"{', '.join(_CONSENT_QUALIFIERS)}; the person's consent is recorded empty"
            )
        if qualifier == "withdrawn":
            day.withdrawn = True
            return
        term = (raw.get("value_as_string") or raw.get("value_source_value") or "").strip()
        try:
            code = resolve(term).code
        except InputError:
            self.consent_unreadable = True
            raise ValueError(
                f"consent row: unknown DUO term {term!r} in value_as_string; expected a DUO code "
                "(DUO:0000042) or abbreviation (GRU); the person's consent is recorded empty"
            ) from None
        (day.permissions if qualifier == "permit" else day.prohibitions).append(code)

    def consent(self) -> Consent | None:
        """The person's consent from the consent rows (see "Consent" above); None if none."""
        if not self.consent_days:
            return None
        days = sorted(self.consent_days.items())
        if self.consent_unreadable:  # nothing permitted: see the module docstring
            return Consent(version=len(days), updated=days[-1][0] or None)
        readings: list[ConsentReading] = []
        permits: tuple[str, ...] = ()
        denies: tuple[str, ...] = ()
        for order, (when, day) in enumerate(days):
            if day.permissions or day.prohibitions:  # a date with terms states them all
                permits = tuple(dict.fromkeys(day.permissions))
                denies = tuple(dict.fromkeys(day.prohibitions))
            status = "withdrawn" if day.withdrawn else "active"
            readings.append(ConsentReading(status, permits, denies, when or None, None, order))
        return consent_of(readings)


class _Extract:
    """One OMOP extract being read: its DuckDB connection, concepts and persons."""

    def __init__(self, directory: Path, ctx: SourceContext) -> None:
        import duckdb  # a core dependency; imported here to keep module import light

        self.duckdb = duckdb
        self.con = duckdb.connect()
        self.directory = directory
        self.ctx = ctx
        self.local_system = str(ctx.options.get("local_code_system", "local"))
        self.concepts: dict[int, _Concept] = {}
        self.consent_ids: set[int] = set()

    def rows(self, table: str, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(line, row)`` for every row that parses; rejects the others with their line."""
        names, delim = _header(path)
        required = CDM_TABLES[table]
        missing = [c for c in required if c not in names]
        if missing or len(set(names)) != len(names):
            what = f"lacks {', '.join(missing)}" if missing else "repeats a column"
            raise InputError(
                f"the {table} table {what}; expected the OMOP CDM v5.4 columns "
                f"{', '.join(required)} (and any others of the table), found "
                f"{', '.join(names[:12])}",
                path=path,
                hint="export the table with its CDM v5.4 header line",
            )
        rejects = f"rejects_{table}"
        try:
            cur = self.con.execute(
                "SELECT * FROM read_csv(?, header = true, delim = ?, quote = '\"', "
                "escape = '\"', columns = ?, auto_detect = false, compression = 'auto', "
                f"store_rejects = true, rejects_table = '{rejects}', "
                f"rejects_scan = 'scan_{table}')",
                [str(path), delim, {n: _sql_type(n) for n in names}],
            )
            data = cur.fetchall()
            bad = self.con.execute(
                f"SELECT line, column_name, error_message FROM {rejects} ORDER BY line"
            ).fetchall()
        except self.duckdb.Error as exc:
            raise InputError(
                f"DuckDB cannot read the {table} table ({str(exc).splitlines()[0]})",
                path=path,
                hint="check that the file is complete CSV text (or a complete gzip of it)",
            ) from None
        bad_lines: set[int] = set()
        for line, _column, message in bad:
            if line not in bad_lines:
                # DuckDB's message names the column and the CDM type it expected.
                self.ctx.reject(f"{path.name} line {line}", str(message))
            bad_lines.add(int(line))
        if table != "concept":  # vocabulary rows are not records of the source
            self.ctx.count_read(len(data) + len(bad_lines))
        line = 1  # the header; records are one per line in CDM exports
        for values in data:
            line += 1
            while line in bad_lines:
                line += 1
            yield line, dict(zip(names, values, strict=True))

    def load_concepts(self) -> None:
        path = find_table(self.directory, "concept")
        if path is None:
            return
        for _, r in self.rows("concept", path):
            if r["concept_id"] is not None and r["vocabulary_id"] and r["concept_code"]:
                self.concepts[int(r["concept_id"])] = _Concept(
                    str(r["vocabulary_id"]), str(r["concept_code"]), r["concept_name"]
                )

    def load_consent_ids(self) -> None:
        """The concept ids of consent rows: the consent concept's, and the option's."""
        self.consent_ids = {
            cid for cid, c in self.concepts.items() if (c.vocabulary, c.code) == CONSENT_CONCEPT
        }
        given = self.ctx.options.get("consent_concept_id")
        for v in given if isinstance(given, list | tuple) else [] if given is None else [given]:
            try:
                self.consent_ids.add(int(v))
            except (TypeError, ValueError):
                raise InputError(
                    f"option consent_concept_id: expected an OMOP concept id (an integer), "
                    f"found {v!r}",
                    path=self.directory,
                    hint="name the observation_concept_id of the extract's consent rows",
                ) from None
        self.consent_ids.discard(0)  # "No matching concept" is never the consent concept

    def is_consent(self, r: dict[str, Any]) -> bool:
        ids = (r.get("observation_concept_id"), r.get("observation_source_concept_id"))
        return any(i in self.consent_ids for i in ids if i)

    def codes(
        self, concept_id: int | None, source_concept_id: int | None, source_value: str | None
    ) -> tuple[tuple[str | None, str | None], tuple[str | None, str | None], _Concept | None]:
        """(code to harmonise, code as the source gave it, the standard concept if named)."""
        std = self.concepts.get(concept_id or 0) if concept_id else None
        src = self.concepts.get(source_concept_id or 0) if source_concept_id else None
        given: tuple[str | None, str | None]
        if src is not None:
            given = (src.vocabulary, src.code)
        elif std is not None:
            given = (std.vocabulary, std.code)
        elif source_concept_id:
            given = ("OMOP", str(source_concept_id))
        elif concept_id:
            given = ("OMOP", str(concept_id))
        else:  # concept 0, "No matching concept": the source value is the local code
            given = (self.local_system, source_value)
        harmonise = (_VOCABULARIES.get(std.vocabulary, std.vocabulary), std.code) if std else given
        if not std and given[0] in _VOCABULARIES:
            harmonise = (_VOCABULARIES[given[0]], given[1])
        return harmonise, given, std

    def domain_row(self, d: _Domain, r: dict[str, Any]) -> dict[str, Any]:
        label = r.get(f"{d.prefix}_source_value")
        (system, code), given, std = self.codes(
            r.get(f"{d.prefix}_concept_id"), r.get(f"{d.prefix}_source_concept_id"), label
        )
        lang, cm = self.ctx.language, self.ctx.code_map
        when = _iso(r.get(d.when) if d.when and r.get(d.when) else r.get(d.date))
        if d.table == "measurement":
            unit = r.get("unit_source_value")
            if not unit and r.get("unit_concept_id") in self.concepts:
                unit = self.concepts[r["unit_concept_id"]].code
            row = measurement(
                system, code, label, r.get("value_as_number"), unit, lang, code_map=cm
            )
            if r.get("value_source_value") is not None:
                row["source_value"] = str(r["value_source_value"])
            vital = row["code_system"] == "LOINC" and row["code"] in _VITAL_SIGNS
            row.update(category="vital-signs" if vital else "laboratory", date=when)
        else:
            row = coded(system, code, label, lang, code_map=cm)
            if d.table == "observation":
                value = self.concepts.get(r.get("value_as_concept_id") or 0)
                number = r.get("value_as_number")
                row.update(
                    value_text=r.get("value_as_string")
                    or r.get("value_source_value")
                    or (None if number is None else f"{number:g}")
                    or (value.name if value else None),
                    value_code_system=_VOCABULARIES.get(value.vocabulary, value.vocabulary)
                    if value
                    else None,
                    value_code=value.code if value else None,
                    date=when,
                )
            elif d.table == "condition":
                ended = r.get(d.end or "")
                row.update(onset_date=when, status="resolved" if ended else "active")
            elif d.table == "medication":
                row.update(start_date=when, end_date=_iso(r.get(d.end or "")))
            else:
                row["date"] = when
        if row["mapped"] and not row["label"] and std is not None and std.name:
            row["label"] = std.name  # the concept's English name (OMOP concept_name)
        row["source_code_system"], row["source_code"] = given
        row["source_label"] = label
        return row


@register("omop")
class OmopAdapter:
    format = "omop"
    version = "1"

    def read(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        if not path.is_dir():
            raise InputError(
                "expected a directory of OMOP CDM v5.4 CSV files (person.csv, measurement.csv, "
                "...), found " + ("a file" if path.exists() else "nothing"),
                path=path,
                hint="give the folder of the extract as the source path",
            )
        ex = _Extract(path, ctx)
        person_file = find_table(path, "person")
        if person_file is None:
            raise InputError(
                "the extract has no person table; expected person.csv (or .csv.gz, .tsv) "
                "beside the other CDM tables",
                path=path,
                hint="export the OMOP CDM v5.4 person table too: every row refers to it",
            )
        ex.load_concepts()
        ex.load_consent_ids()
        persons: dict[int, _Person] = {}
        used: set[str] = set()
        for line, r in ex.rows("person", person_file):
            pid = r["person_id"]
            where = f"{person_file.name} line {line}"
            local = (r.get("person_source_value") or "").strip() or str(pid)
            if pid is None or pid in persons or local in used:
                ctx.reject(where, f"person_id {pid} or person_source_value {local!r} repeats")
                continue
            used.add(local)
            gender = r["gender_concept_id"]
            row = {
                "sex": _GENDER.get(gender or 0, "unknown"),
                "source_sex": r.get("gender_source_value")
                or (None if gender is None else str(gender)),
                "birth_year": r["year_of_birth"],
            }
            persons[pid] = p = _Person(local)
            p.add("person", row, "person", r)
        for cdm in ("observation_period", "death"):
            file = find_table(path, cdm)
            if file is None:
                continue
            for line, r in ex.rows(cdm, file):
                p_or_none = persons.get(r["person_id"])
                if p_or_none is None:
                    ctx.reject(f"{file.name} line {line}", _unknown(r["person_id"], person_file))
                    continue
                person = p_or_none.content["person"][0]
                key, value = (
                    ("index_date", r["observation_period_start_date"])
                    if cdm == "observation_period"
                    else ("death_date", r["death_date"])
                )
                if value is not None and (person.get(key) is None or value < person[key]):
                    person[key] = value
                p_or_none.source.setdefault(cdm, []).append(_kept(r))
        for p in persons.values():
            person = p.content["person"][0]
            for key in ("index_date", "death_date"):
                if key in person:
                    person[key] = _iso(person[key])
        for d in _DOMAINS:
            file = find_table(path, d.cdm)
            if file is None:
                continue
            for line, r in ex.rows(d.cdm, file):
                owner = persons.get(r["person_id"])
                if owner is None:
                    ctx.reject(f"{file.name} line {line}", _unknown(r["person_id"], person_file))
                    continue
                if d.cdm == "observation" and ex.is_consent(r):
                    owner.source.setdefault(d.cdm, []).append(_kept(r))
                    try:
                        owner.add_consent(r)
                    except ValueError as exc:
                        ctx.reject(f"{file.name} line {line}", str(exc))
                    continue
                row = ex.domain_row(d, r)
                owner.add(d.table, row, d.cdm, r)
                stamp = _iso(r.get(d.date))
                if isinstance(stamp, str) and stamp > owner.time:
                    owner.time = stamp
        for p in persons.values():
            payload = {"cdm": "OMOP CDM v5.4", "tables": p.source}
            yield ModalityRecord(
                local_id=p.local_id,
                kind=ModalityKind.CLINICAL,
                media_type="text/csv",
                content=p.content,
                payloads=[PayloadSpec(canonical_json(payload), "application/json")],
                time=p.time or None,
                consent=p.consent(),
            )


def _unknown(pid: Any, person_file: Path) -> str:
    return f"person_id {pid} is not in {person_file.name}"
