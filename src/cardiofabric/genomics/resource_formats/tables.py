"""Text tables read by DuckDB's ``read_csv``: the shared scan, reject counting and SQL snippets.

:func:`_table_load` scans a table once, counts each row left out by its reason, and inserts
the rest into the staging table; the REVEL, CADD, SpliceAI TSV and ClinVar
``variant_summary`` loaders are built on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cardiofabric.genomics.resource_formats.common import Loaded, Progress, _is_gzip

__all__: list[str] = []

_CONTIG_SQL = (
    "CASE WHEN upper(regexp_replace({c}, '^chr', '', 'i')) IN ('M', 'MT') THEN 'MT' "
    "ELSE regexp_replace(trim({c}), '^chr', '', 'i') END"
)


def _contig(col: str) -> str:
    return _CONTIG_SQL.format(c=col)


def _csv(path: Path, *, delim: str, skip: int, columns: Sequence[str], header: bool) -> str:
    cols = ", ".join(f"'{c}': 'VARCHAR'" for c in columns)
    comp = "gzip" if _is_gzip(path) else "none"
    return (
        f"read_csv('{_sql_str(path)}', delim='{delim}', header={str(header).lower()}, "
        f"skip={skip}, columns={{{cols}}}, compression='{comp}', auto_detect=false, "
        "quote='', escape='', ignore_errors=true, store_rejects=true, "
        "rejects_table='_cf_rejects', rejects_scan='_cf_reject_scans')"
    )


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rejects(con: Any) -> int:
    try:
        return int(con.execute("SELECT count(DISTINCT line) FROM _cf_rejects").fetchone()[0])
    except Exception:  # no rejects table: DuckDB made none
        return 0


def _table_load(
    con: Any,
    stage: str,
    source: str,
    select: str,
    where_bad: dict[str, str],
    loaded: Loaded,
    progress: Progress | None,
) -> Loaded:
    """One scan of ``source`` into a temporary table with each row's reason to be left out
    (the first of ``where_bad`` that holds), then ``INSERT INTO stage SELECT select`` of the
    rows without one. DuckDB's temporary tables spill to disk, so memory stays bounded."""
    con.execute("DROP TABLE IF EXISTS _cf_rejects")
    con.execute("DROP TABLE IF EXISTS _cf_reject_scans")
    why = (
        (
            "CASE "
            + " ".join(
                f"WHEN ({cond}) THEN '{reason.replace(chr(39), chr(39) * 2)}'"
                for reason, cond in where_bad.items()
            )
            + " END"
        )
        if where_bad
        else "NULL"
    )
    con.execute(f"CREATE TEMP TABLE _cf_raw AS SELECT *, {why} AS _why FROM {source}")
    try:
        for reason, n in con.execute("SELECT _why, count(*) FROM _cf_raw GROUP BY _why").fetchall():
            loaded.read += int(n)
            if reason is not None:
                loaded.skipped[str(reason)] += int(n)
        rejected = _rejects(con)
        if rejected:
            loaded.read += rejected
            loaded.skipped["malformed line (wrong number of columns)"] += rejected
        con.execute(f"INSERT INTO {stage} SELECT {select} FROM _cf_raw WHERE _why IS NULL")
    finally:
        con.execute("DROP TABLE IF EXISTS _cf_raw")
    if progress:
        progress(loaded.read)
    return loaded


def _num_bad(col: str, kind: str = "DOUBLE") -> str:
    return f"{col} IS NULL OR TRY_CAST({col} AS {kind}) IS NULL"


def _allele_bad(col: str) -> str:
    return f"{col} IS NULL OR NOT regexp_full_match(upper({col}), '[ACGTN]+')"
