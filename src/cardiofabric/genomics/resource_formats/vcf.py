"""Resource VCFs streamed with cyvcf2 in batches into the staging table.

:func:`_load_vcf` splits each record into its ALT alleles (minimal representation), asks the
kind's row maker (gnomAD, ClinVar or SpliceAI) for a staging row, and inserts them in batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.genomics.model import normalise_contig
from cardiofabric.genomics.resource_formats.clinvar import _ClinvarRows
from cardiofabric.genomics.resource_formats.common import (
    COLUMNS,
    Loaded,
    Progress,
    Sniffed,
    _Skip,
    minimal_alleles,
)
from cardiofabric.genomics.resource_formats.gnomad import _GnomadRows
from cardiofabric.genomics.resource_formats.scores import _SpliceaiRows

__all__: list[str] = []


def _insert(con: Any, kind: str, stage: str, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    cols = COLUMNS[kind]
    arrays: dict[str, Any] = {}
    for j, (name, _type) in enumerate(cols):
        arrays[name] = np.array([r[j] for r in rows], dtype=object)
    con.register("_cf_batch", arrays)
    try:
        names = ", ".join(n for n, _ in cols)
        casts = ", ".join(f"CAST({n} AS {t})" for n, t in cols)
        con.execute(f"INSERT INTO {stage} ({names}) SELECT {casts} FROM _cf_batch")
    finally:
        con.unregister("_cf_batch")


def _records(vcf: Any, loaded: Loaded) -> Iterator[Any]:
    """cyvcf2 records; a line htslib cannot parse is counted and passed over."""
    it = iter(vcf)
    while True:
        try:
            rec = next(it)
        except StopIteration:
            return
        except Exception:  # cyvcf2 raises a bare Exception for an unparseable line
            loaded.read += 1
            loaded.skipped["unparseable VCF line"] += 1
            continue
        yield rec


def _load_vcf(
    con: Any,
    kind: str,
    path: Path,
    sniffed: Sniffed,
    stage: str,
    progress: Progress | None,
    batch_size: int,
) -> Loaded:
    try:
        from cyvcf2 import VCF
    except ImportError:
        raise MissingDependencyError("cyvcf2", "genomics", "reading resource VCFs") from None
    try:
        vcf = VCF(str(path), lazy=True, threads=1)
    except (OSError, Exception) as exc:  # cyvcf2 raises OSError or a bare Exception
        raise InputError(f"cannot open the VCF ({exc})", path=path) from None
    make: _GnomadRows | _ClinvarRows | _SpliceaiRows
    if kind == "gnomad":
        make = _GnomadRows(vcf, sniffed)
    elif kind == "clinvar":
        make = _ClinvarRows(vcf, sniffed)
    else:
        make = _SpliceaiRows(vcf, sniffed)
    loaded = Loaded()
    batch: list[tuple[Any, ...]] = []
    try:
        for rec in _records(vcf, loaded):
            loaded.read += 1
            alts = rec.ALT
            if not alts:
                loaded.skipped["no ALT allele"] += 1
                continue
            for i, alt in enumerate(alts):
                if not alt or alt in ("*", ".") or alt.startswith("<") or "[" in alt or "]" in alt:
                    loaded.skipped["symbolic or missing ALT allele"] += 1
                    continue
                pos, ref, a = minimal_alleles(rec.POS, rec.REF.upper(), alt.upper())
                key = (normalise_contig(rec.CHROM), pos, ref, a)
                try:
                    batch.append(make.row(rec, i, len(alts), key))
                except _Skip as why:
                    loaded.skipped[str(why)] += 1
            if len(batch) >= batch_size:
                _insert(con, kind, stage, batch)
                batch = []
                if progress:
                    progress(loaded.read)
        _insert(con, kind, stage, batch)
        if progress:
            progress(loaded.read)
    finally:
        vcf.close()
    return loaded
