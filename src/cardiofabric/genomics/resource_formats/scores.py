"""Variant effect scores: REVEL CSV, CADD TSV, and SpliceAI as a VCF or a TSV.

The tables are read by DuckDB (:mod:`~cardiofabric.genomics.resource_formats.tables`); a
SpliceAI VCF's ``INFO/SpliceAI`` is turned into rows by :class:`_SpliceaiRows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.genomics.resource_formats.common import Loaded, Progress, Sniffed, _Skip
from cardiofabric.genomics.resource_formats.tables import (
    _allele_bad,
    _contig,
    _csv,
    _num_bad,
    _table_load,
)

__all__: list[str] = []

_SPLICEAI_SCORE = ("max_delta", "delta_max", "max_ds", "ds_max", "spliceai", "spliceai_max")
_CHROM_NAMES = ("chrom", "#chrom", "chr", "#chr", "chromosome", "contig")
_POS_NAMES = ("pos", "position", "pos_vcf")


def _spliceai_columns(cols: Sequence[str]) -> tuple[str, str, str, str, str] | None:
    lower = {c.lower(): c for c in cols}
    chrom = next((lower[n] for n in _CHROM_NAMES if n in lower), None)
    pos = next((lower[n] for n in _POS_NAMES if n in lower), None)
    score = next((lower[n] for n in _SPLICEAI_SCORE if n in lower), None)
    if chrom and pos and score and "ref" in lower and "alt" in lower:
        return chrom, pos, lower["ref"], lower["alt"], score
    return None


class _SpliceaiRows:
    """``SpliceAI=ALT|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL`` → the maximum
    delta score over the four events and every gene listed for this ALT (Jaganathan et al.,
    Cell 2019;176:535)."""

    def __init__(self, vcf: Any, sniffed: Sniffed) -> None:
        pass

    def row(self, rec: Any, i: int, n: int, key: tuple[str, int, str, str]) -> tuple[Any, ...]:
        value = rec.INFO.get("SpliceAI")
        if not value:
            raise _Skip("no SpliceAI INFO")
        alt = rec.ALT[i]
        best: tuple[float, str | None] | None = None
        for entry in str(value).split(","):
            parts = entry.split("|")
            if len(parts) < 6:
                raise _Skip("SpliceAI INFO not ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|...")
            if parts[0] != alt:
                continue
            try:
                ds = max(float(x) for x in parts[2:6])
            except ValueError:
                raise _Skip("SpliceAI delta score not a number") from None
            if best is None or ds > best[0]:
                best = (ds, parts[1] or None)
        if best is None:
            raise _Skip("no SpliceAI entry for the ALT allele")
        return (*key, best[0], best[1])


def _load_revel(
    con: Any, path: Path, stage: str, build: str | None, progress: Progress | None
) -> Loaded:
    if build not in ("GRCh37", "GRCh38"):
        raise InputError(
            "REVEL lists hg19 and GRCh38 positions: say which build the knowledge base uses",
            path=path,
            hint="add it with --build GRCh38 (or GRCh37), or add a VCF resource first",
        )
    poscol = "grch38_pos" if build == "GRCh38" else "hg19_pos"
    names = ("chr", "hg19_pos", "grch38_pos", "ref", "alt", "aaref", "aaalt", "REVEL", "tx")
    source = _csv(path, delim=",", skip=1, columns=names, header=False)
    select = (
        f"{_contig('chr')}, CAST({poscol} AS BIGINT), upper(ref), upper(alt), CAST(REVEL AS DOUBLE)"
    )
    bad = {
        f"no {build} position ('.')": f"{poscol} = '.'",
        "malformed position": _num_bad(poscol, "BIGINT"),
        "malformed allele": f"{_allele_bad('ref')} OR {_allele_bad('alt')}",
        "malformed REVEL score": _num_bad("REVEL")
        + " OR TRY_CAST(REVEL AS DOUBLE) NOT BETWEEN 0 AND 1",
    }
    return _table_load(con, stage, source, select, bad, Loaded(), progress)


def _load_cadd(
    con: Any, path: Path, sniffed: Sniffed, stage: str, progress: Progress | None
) -> Loaded:
    names = [f"c{j}" for j in range(len(sniffed.columns))]
    at = {c: f"c{j}" for j, c in enumerate(sniffed.columns)}
    source = _csv(path, delim="\t", skip=sniffed.skip_lines, columns=names, header=False)
    chrom, pos, ref, alt, phred = (at[c] for c in ("Chrom", "Pos", "Ref", "Alt", "PHRED"))
    raw = at.get("RawScore")
    select = (
        f"{_contig(chrom)}, CAST({pos} AS BIGINT), upper({ref}), upper({alt}), "
        f"{f'TRY_CAST({raw} AS DOUBLE)' if raw else 'NULL'}, CAST({phred} AS DOUBLE)"
    )
    bad = {
        "malformed position": _num_bad(pos, "BIGINT"),
        "malformed allele": f"{_allele_bad(ref)} OR {_allele_bad(alt)}",
        "malformed PHRED score": _num_bad(phred),
    }
    return _table_load(con, stage, source, select, bad, Loaded(), progress)


def _load_spliceai_tsv(
    con: Any, path: Path, sniffed: Sniffed, stage: str, progress: Progress | None
) -> Loaded:
    found = _spliceai_columns(sniffed.columns)
    assert found is not None  # sniff() checked
    names = [f"c{j}" for j in range(len(sniffed.columns))]
    at = {c: f"c{j}" for j, c in enumerate(sniffed.columns)}
    chrom, pos, ref, alt, score = (at[c] for c in found)
    source = _csv(path, delim="\t", skip=1, columns=names, header=False)
    select = (
        f"{_contig(chrom)}, CAST({pos} AS BIGINT), upper({ref}), upper({alt}), "
        f"CAST({score} AS DOUBLE), NULL"
    )
    bad = {
        "malformed position": _num_bad(pos, "BIGINT"),
        "malformed allele": f"{_allele_bad(ref)} OR {_allele_bad(alt)}",
        "malformed delta score": _num_bad(score)
        + f" OR TRY_CAST({score} AS DOUBLE) NOT BETWEEN 0 AND 1",
    }
    return _table_load(con, stage, source, select, bad, Loaded(), progress)
