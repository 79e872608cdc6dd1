"""What every resource reader shares: the kinds, their staging columns, and the small types.

:data:`KINDS` and :data:`COLUMNS` (the staging table each kind fills), :class:`Sniffed` (what
:func:`~cardiofabric.genomics.resource_formats.sniff` found a file to be), :class:`Loaded` (what
a reader loaded and left out) and :class:`_Skip` (a record left out, with its reason), plus
:func:`minimal_alleles` and the gzip helpers the readers use.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "COLUMNS",
    "KINDS",
    "Loaded",
    "Progress",
    "Sniffed",
    "minimal_alleles",
]

KINDS = ("gnomad", "clinvar", "revel", "cadd", "spliceai")

#: Staging columns per kind (name, DuckDB type), in the order readers fill them.
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "gnomad": (
        ("chrom", "VARCHAR"),
        ("pos", "BIGINT"),
        ("ref", "VARCHAR"),
        ("alt", "VARCHAR"),
        ("af", "DOUBLE"),
        ("faf95", "DOUBLE"),
        ("ac", "BIGINT"),
        ("an", "BIGINT"),
        ("nhomalt", "BIGINT"),
        ("filter", "VARCHAR"),
    ),
    "clinvar": (
        ("chrom", "VARCHAR"),
        ("pos", "BIGINT"),
        ("ref", "VARCHAR"),
        ("alt", "VARCHAR"),
        ("variation_id", "VARCHAR"),
        ("significance", "VARCHAR"),
        ("review_status", "VARCHAR"),
        ("stars", "INTEGER"),
        ("gene", "VARCHAR"),
        ("hgvsp", "VARCHAR"),
        ("protein_position", "INTEGER"),
        ("ref_aa", "VARCHAR"),
        ("alt_aa", "VARCHAR"),
        ("consequence", "VARCHAR"),
        ("hgvs", "VARCHAR"),
    ),
    "revel": (
        ("chrom", "VARCHAR"),
        ("pos", "BIGINT"),
        ("ref", "VARCHAR"),
        ("alt", "VARCHAR"),
        ("score", "DOUBLE"),
    ),
    "cadd": (
        ("chrom", "VARCHAR"),
        ("pos", "BIGINT"),
        ("ref", "VARCHAR"),
        ("alt", "VARCHAR"),
        ("raw", "DOUBLE"),
        ("phred", "DOUBLE"),
    ),
    "spliceai": (
        ("chrom", "VARCHAR"),
        ("pos", "BIGINT"),
        ("ref", "VARCHAR"),
        ("alt", "VARCHAR"),
        ("max_ds", "DOUBLE"),
        ("gene", "VARCHAR"),
    ),
}

Progress = Callable[[int], None]


def minimal_alleles(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Trim the bases REF and ALT share at the end, then at the start (keeping one base each):
    the minimal representation of an allele split out of a multiallelic record (Tan et al.,
    Bioinformatics 2015;31:2202). Left-alignment needs the reference and is not done here."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _open_text(path: Path) -> Any:
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open("r", encoding="utf-8", errors="replace")


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


@dataclass(frozen=True)
class Sniffed:
    """What a file is: ``layout`` is vcf | variant_summary | revel_csv | cadd_tsv | tsv."""

    layout: str
    build: str | None
    header: str  # the VCF header, or the first lines of a text table
    columns: tuple[str, ...] = ()  # a table's column names
    skip_lines: int = 0  # lines before the first data line (tables read without header)
    info: frozenset[str] = frozenset()  # a VCF's INFO ids


@dataclass
class Loaded:
    """What a reader put into the staging table, and what it left out (by reason)."""

    read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


class _Skip(Exception):
    """A record (or one allele of it) that cannot be used; the message is the reason."""
