"""The ``tabular`` adapter: a CSV or Parquet research extract, read with DuckDB.

Where the mapping is found and how the table is read are described in
:mod:`cardiofabric.ingest.tabular`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, register
from cardiofabric.ingest.tabular.mapping import Extract, load_mapping
from cardiofabric.ingest.tabular.rows import Rows, cell_text
from cardiofabric.mmio.container import PayloadSpec
from cardiofabric.mmio.model import ModalityKind, Semantics

__all__ = ["TabularAdapter"]


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
        reader = Rows(m, ctx, path.name)
        for where, row in rows:
            reader.add(where, row)
        kept = [c for c in names if c != m.role("patient_id")]
        parquet = path.name.lower().endswith(".parquet")
        for local, (content, raw, time) in reader.patients.items():
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerows(
                [kept, *([cell_text(r[c]) for c in kept] for r in raw)]
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
