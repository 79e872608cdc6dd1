"""Readers of the knowledge resources' own file formats, for :mod:`cardiofabric.genomics.resources`.

Each reader recognises its format from the file's first lines (so a file given as the wrong kind
is refused with a message naming what it looks like), and fills a DuckDB staging table:

- **gnomAD** sites VCF (v2, v3, v4) and the older **ExAC** layout (``AC_Adj``/``AN_Adj``,
  ``AC_Hom``), streamed with cyvcf2 in batches;
- **ClinVar** VCF (``CLNSIG``, ``CLNREVSTAT``, ``GENEINFO``; protein change from a VEP ``CSQ``
  or SnpEff ``ANN`` when the file was annotated) and ClinVar's ``variant_summary.txt``;
- **REVEL** CSV, **CADD** TSV and **SpliceAI** TSV, read by DuckDB's ``read_csv``;
- **SpliceAI** VCF (``INFO/SpliceAI``), streamed with cyvcf2.

Records a reader cannot use are counted by reason, never loaded half-right.

This package holds :func:`load`, which hands a recognised file to its reader, and re-exports
the public names of its modules:

- :mod:`~cardiofabric.genomics.resource_formats.common`: kinds, staging columns, shared types;
- :mod:`~cardiofabric.genomics.resource_formats.recognise`: :func:`sniff`;
- :mod:`~cardiofabric.genomics.resource_formats.vcf`: VCFs streamed with cyvcf2;
- :mod:`~cardiofabric.genomics.resource_formats.tables`: text tables read by DuckDB;
- :mod:`~cardiofabric.genomics.resource_formats.gnomad`: gnomAD and ExAC;
- :mod:`~cardiofabric.genomics.resource_formats.clinvar`: ClinVar VCF and variant_summary;
- :mod:`~cardiofabric.genomics.resource_formats.scores`: REVEL, CADD and SpliceAI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.genomics.resource_formats.clinvar import _load_variant_summary, clinvar_stars
from cardiofabric.genomics.resource_formats.common import (
    COLUMNS,
    KINDS,
    Loaded,
    Progress,
    Sniffed,
    minimal_alleles,
)
from cardiofabric.genomics.resource_formats.gnomad import FAF_GROUPS, filtering_allele_frequency
from cardiofabric.genomics.resource_formats.recognise import sniff
from cardiofabric.genomics.resource_formats.scores import (
    _load_cadd,
    _load_revel,
    _load_spliceai_tsv,
)
from cardiofabric.genomics.resource_formats.vcf import _load_vcf

__all__ = [
    "COLUMNS",
    "FAF_GROUPS",
    "KINDS",
    "Loaded",
    "Progress",
    "Sniffed",
    "clinvar_stars",
    "filtering_allele_frequency",
    "load",
    "minimal_alleles",
    "sniff",
]


def load(
    con: Any,
    kind: str,
    path: Path,
    sniffed: Sniffed,
    stage: str,
    *,
    build: str | None,
    progress: Progress | None = None,
    batch_size: int = 50_000,
) -> Loaded:
    """Fill the staging table ``stage`` (already created with ``COLUMNS[kind]``)."""
    if sniffed.layout == "vcf":
        return _load_vcf(con, kind, path, sniffed, stage, progress, batch_size)
    if sniffed.layout == "variant_summary":
        return _load_variant_summary(con, path, sniffed, stage, build, progress)
    if sniffed.layout == "revel_csv":
        return _load_revel(con, path, stage, build, progress)
    if sniffed.layout == "cadd_tsv":
        return _load_cadd(con, path, sniffed, stage, progress)
    if sniffed.layout == "tsv" and kind == "spliceai":
        return _load_spliceai_tsv(con, path, sniffed, stage, progress)
    raise InputError(f"no reader for {kind} files laid out as {sniffed.layout}", path=path)
