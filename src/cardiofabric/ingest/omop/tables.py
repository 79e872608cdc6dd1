"""The tables of an OMOP CDM v5.4 extract, read with DuckDB.

A table is a file named after it (``person.csv``; ``.tsv`` and ``.txt`` too, each optionally
gzipped; any case), comma- or tab-separated, with a header line of CDM column names. Columns
are read with their CDM types, from the CDM's own naming convention (``*_id`` BIGINT,
``*_date`` DATE, ``*_datetime`` TIMESTAMP, ``value_as_number`` DOUBLE, ...); a row whose value
does not parse is rejected with its file and line.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import SourceContext

__all__ = [
    "CDM_TABLES",
    "DOMAINS",
    "CdmReader",
    "Concept",
    "Domain",
    "find_table",
    "iso",
    "kept",
]

_SUFFIXES = (".csv", ".tsv", ".txt")


@dataclass(frozen=True)
class Domain:
    """A CDM event table and the harmonised table it becomes."""

    cdm: str  # OMOP CDM table
    table: str  # harmonised table
    prefix: str  # <prefix>_concept_id, <prefix>_source_value, <prefix>_source_concept_id
    date: str  # the event's date column
    when: str | None = None  # its datetime column, preferred for TIMESTAMP targets
    end: str | None = None


DOMAINS = (
    Domain(
        "condition_occurrence",
        "condition",
        "condition",
        "condition_start_date",
        None,
        "condition_end_date",
    ),
    Domain("measurement", "measurement", "measurement", "measurement_date", "measurement_datetime"),
    Domain("observation", "observation", "observation", "observation_date", "observation_datetime"),
    Domain(
        "drug_exposure",
        "medication",
        "drug",
        "drug_exposure_start_date",
        None,
        "drug_exposure_end_date",
    ),
    Domain("procedure_occurrence", "procedure", "procedure", "procedure_date"),
)

#: CDM table → the columns a file of it must have (OMOP CDM v5.4 required fields we use).
CDM_TABLES: dict[str, tuple[str, ...]] = {
    "person": ("person_id", "gender_concept_id", "year_of_birth"),
    "observation_period": ("person_id", "observation_period_start_date"),
    "death": ("person_id", "death_date"),
    **{d.cdm: ("person_id", f"{d.prefix}_concept_id", d.date) for d in DOMAINS},
    "concept": ("concept_id", "concept_name", "vocabulary_id", "concept_code"),
}

# Vocabulary-table ids that are text (OMOP CDM v5.4 CONCEPT: domain_id, vocabulary_id, ...).
_TEXT_IDS = {"domain_id", "vocabulary_id", "concept_class_id", "relationship_id"}
_INTEGER = {"year_of_birth", "month_of_birth", "day_of_birth", "refills", "days_supply"}
_DOUBLE = {"value_as_number", "range_low", "range_high", "quantity"}
# Identifiers of the person never kept in the payload (the pipeline pseudonymises the local id).
_IDENTIFYING = {"person_id", "person_source_value"}


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


def iso(v: Any) -> Any:
    """A DATE or TIMESTAMP value as ISO 8601 text; any other value as it is."""
    return v.isoformat() if isinstance(v, date | datetime) else v


def kept(raw: dict[str, Any]) -> dict[str, Any]:
    """A CDM row as kept in the payload: without the person's identifiers or empty fields."""
    return {k: iso(v) for k, v in raw.items() if k not in _IDENTIFYING and v is not None}


@dataclass(frozen=True)
class Concept:
    """One row of the CDM ``concept`` table (OMOP CDM v5.4 CONCEPT)."""

    vocabulary: str
    code: str
    name: str | None


class CdmReader:
    """Reads the CDM tables of one extract through one DuckDB connection."""

    def __init__(self, directory: Path, ctx: SourceContext) -> None:
        import duckdb  # a core dependency; imported here to keep module import light

        self.duckdb = duckdb
        self.con = duckdb.connect()
        self.directory = directory
        self.ctx = ctx

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

    def concepts(self) -> dict[int, Concept]:
        """The extract's ``concept`` table by concept id; empty when it has none."""
        path = find_table(self.directory, "concept")
        if path is None:
            return {}
        out: dict[int, Concept] = {}
        for _, r in self.rows("concept", path):
            if r["concept_id"] is not None and r["vocabulary_id"] and r["concept_code"]:
                out[int(r["concept_id"])] = Concept(
                    str(r["vocabulary_id"]), str(r["concept_code"]), r["concept_name"]
                )
        return out
