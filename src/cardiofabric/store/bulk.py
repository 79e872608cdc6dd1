"""Loading rows into the store in bulk: column lists, one INSERT per table.

Row-at-a-time inserts (``executemany``) cost about a millisecond a row in DuckDB; an ingest of a
site's cohort would spend most of its time there. Rows are therefore gathered as one list per
column and inserted with a single statement: through an Arrow table when ``pyarrow`` is
installed (about ten times faster still), otherwise as typed list parameters that DuckDB
unnests. Both paths get the same values, checked here first, so they behave the same.
"""

from __future__ import annotations

import importlib
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import duckdb

from cardiofabric.errors import InputError
from cardiofabric.mmio import MMIO
from cardiofabric.store.schema import CONTENT_TABLES

__all__ = [
    "LINK_COLUMNS",
    "BatchInsertError",
    "RowBatch",
    "collect_content",
    "content_batches",
    "content_types",
    "quote",
]

#: Columns that link a row to its patient, object and modality: filled by the store.
LINK_COLUMNS = frozenset({"pseudonym", "object_digest", "modality_digest"})

# JSON gives str, int, float, bool and null; each column takes its own kind strictly, so that a
# unit in a value column is an error here rather than a silent cast or NULL later.
_PY_TYPES: dict[str, tuple[type, ...]] = {
    "VARCHAR": (str,),
    "DOUBLE": (int, float),
    "INTEGER": (int,),
    "BIGINT": (int,),
    "BOOLEAN": (bool,),
    "DATE": (str,),
    "TIMESTAMP": (str,),
}
_EXPECTED = {
    "VARCHAR": "text",
    "DOUBLE": "a number",
    "INTEGER": "an integer",
    "BIGINT": "an integer",
    "BOOLEAN": "true or false",
    "DATE": "an ISO 8601 date (YYYY-MM-DD)",
    "TIMESTAMP": "an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss)",
}
_INT_LIMIT = {"INTEGER": 2**31, "BIGINT": 2**63}
_FIX = "correct the value in the source or in the adapter's mapping"


def quote(name: str) -> str:
    """A SQL identifier, quoted: some column names (``filter``, ``date``) are keywords."""
    return '"' + name.replace('"', '""') + '"'


def _arrow() -> ModuleType | None:
    try:
        return importlib.import_module("pyarrow")
    except ImportError:
        return None


def _arrow_type(pa: ModuleType, t: str) -> Any:
    if t.endswith("[]"):
        return pa.list_(_arrow_type(pa, t[:-2]))
    known = {
        "DOUBLE": pa.float64(),
        "INTEGER": pa.int32(),
        "BIGINT": pa.int64(),
        "BOOLEAN": pa.bool_(),
    }
    return known.get(t, pa.string())  # text, and dates as text that DuckDB casts on insert


class BatchInsertError(Exception):
    """An INSERT failed; carries the batch so that the caller can explain it after rollback."""

    def __init__(self, batch: RowBatch, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.batch, self.cause = batch, cause


class RowBatch:
    """Rows for one table as column lists, remembering where each run of rows came from.

    ``types`` maps every column to its DuckDB type (``VARCHAR``, ``DATE``, ``VARCHAR[]`` ...);
    ``suffix`` is appended to the INSERT (an ``ON CONFLICT`` clause for upserts).
    """

    def __init__(self, table: str, types: Mapping[str, str], *, suffix: str = "") -> None:
        self.table, self.types, self.suffix = table, dict(types), suffix
        self.data: dict[str, list[Any]] = {c: [] for c in types}
        self.n = 0
        self._starts: list[int] = []
        self._origins: list[str] = []

    def extend(self, origin: str, rows: Sequence[Mapping[str, Any]], **fixed: Any) -> None:
        """Append rows (missing keys are NULL); ``fixed`` gives columns one value for all."""
        self._starts.append(self.n)
        self._origins.append(origin)
        for c, col in self.data.items():
            col.extend([fixed[c]] * len(rows) if c in fixed else [r.get(c) for r in rows])
        self.n += len(rows)

    def append(self, origin: str, **values: Any) -> None:
        """Append one row given as keyword arguments."""
        self.extend(origin, [values])

    def where(self, i: int) -> str:
        j = bisect_right(self._starts, i) - 1
        return f"{self._origins[j]}, row {i - self._starts[j]}"

    def check(self) -> None:
        """Raise :class:`InputError` at the first value of the wrong kind."""
        for col, t in self.types.items():
            allowed, values = _PY_TYPES.get(t), self.data[col]
            if allowed is None:
                continue  # list columns are filled by the store itself
            limit = _INT_LIMIT.get(t)

            def bad(v: Any, allowed: tuple[type, ...] = allowed, limit: int | None = limit) -> bool:
                return v is not None and (
                    type(v) not in allowed or (limit is not None and not -limit <= v < limit)
                )

            # The set of types is cheap to take; only a column that fails is walked row by row.
            found = set(map(type, values)) - {type(None)}
            if found <= set(allowed) and (limit is None or not any(map(bad, values))):
                continue
            i = next(i for i, v in enumerate(values) if bad(v))
            raise InputError(
                f"{self.where(i)}: column {self.table}.{col} expects {_EXPECTED[t]}, "
                f"found {values[i]!r} ({type(values[i]).__name__})",
                hint=_FIX,
            )

    def insert(self, con: duckdb.DuckDBPyConnection) -> None:
        """Insert every row with one statement; failures raise :class:`BatchInsertError`."""
        if not self.n:
            return
        cols = [c for c, v in self.data.items() if any(x is not None for x in v)]
        names = ", ".join(quote(c) for c in cols)
        into = f"INSERT INTO {quote(self.table)} ({names}) SELECT"
        pa = _arrow()
        try:
            if pa is not None:
                table = pa.table(
                    {c: pa.array(self.data[c], type=_arrow_type(pa, self.types[c])) for c in cols}
                )
                view = f"_cf_rows_{self.table}"
                con.register(view, table)
                try:
                    casts = ", ".join(f"CAST({quote(c)} AS {self.types[c]})" for c in cols)
                    con.execute(f"{into} {casts} FROM {view} {self.suffix}")
                finally:
                    con.unregister(view)
            else:
                lists = ", ".join(f"unnest(?::{self.types[c]}[])" for c in cols)
                con.execute(f"{into} {lists} {self.suffix}", [self.data[c] for c in cols])
        except (duckdb.Error, ValueError, TypeError, OverflowError) as exc:
            raise BatchInsertError(self, exc) from exc

    def explain(self, con: duckdb.DuckDBPyConnection, cause: BaseException) -> InputError:
        """After a failed insert (and its rollback): name the first value DuckDB cannot read.

        Dates are the values Python cannot check the way DuckDB will read them, so they are
        found here, on the error path only, with DuckDB's own ``TRY_CAST``.
        """
        for col, t in self.types.items():
            values = self.data[col]
            if t not in ("DATE", "TIMESTAMP") or not any(v is not None for v in values):
                continue
            row = con.execute(
                "SELECT i FROM (SELECT unnest(?::VARCHAR[]) AS v, unnest(range(?::BIGINT)) AS i)"
                f" WHERE v IS NOT NULL AND TRY_CAST(v AS {t}) IS NULL ORDER BY i LIMIT 1",
                [values, self.n],
            ).fetchone()
            if row is not None:
                i = int(row[0])
                return InputError(
                    f"{self.where(i)}: column {self.table}.{col} expects {_EXPECTED[t]}, "
                    f"found {values[i]!r}",
                    hint=_FIX,
                )
        return InputError(
            f"rows for table {self.table} could not be stored: {cause}",
            hint="check the values against the column types in docs/data-model.md",
        )


def collect_content(m: MMIO, batches: Mapping[str, RowBatch]) -> dict[str, int]:
    """Append an object's content rows to ``batches``; return the row count per table.

    A table or column the store does not have is an :class:`InputError` naming the modality,
    the table and the column: nothing of the object is loaded.
    """
    counts: dict[str, int] = {}
    for mod in m.modalities:
        where = f"modality {mod.kind.value} {mod.digest} of patient {m.pseudonym}"
        for table, rows in mod.content.items():
            spec = CONTENT_TABLES.get(table)
            if spec is None:
                raise InputError(
                    f"{where} has rows for table {table!r}; expected one of the store's "
                    f"content tables",
                    hint=f"use one of: {', '.join(CONTENT_TABLES)}",
                )
            allowed = [c for c in spec.names if c not in LINK_COLUMNS]
            extra = sorted(set().union(*rows) - set(allowed))
            if extra:
                col = extra[0]
                raise InputError(
                    f"{where}: table {table!r} "
                    + (
                        f"column {col!r} is filled by the store, found it in the content"
                        if col in LINK_COLUMNS
                        else f"has no column {col!r}"
                    ),
                    hint=f"columns of {table}: {', '.join(allowed)}",
                )
            batches[table].extend(
                where,
                rows,
                pseudonym=m.pseudonym,
                object_digest=m.digest,
                modality_digest=mod.digest,
            )
            counts[table] = counts.get(table, 0) + len(rows)
    return counts


def content_types() -> dict[str, dict[str, str]]:
    """Column name to DuckDB type, per content table."""
    return {
        name: {c.name: c.type.split()[0] for c in t.columns} for name, t in CONTENT_TABLES.items()
    }


def content_batches() -> dict[str, RowBatch]:
    """An empty batch for every content table."""
    return {t: RowBatch(t, types) for t, types in content_types().items()}
