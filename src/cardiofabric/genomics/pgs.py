"""PGS Catalog scoring files (format version 2.0), plain or gzipped, read into column arrays.

Layout (https://www.pgscatalog.org/downloads/#dl_scoring_files): a header of ``#key=value``
lines (``format_version``, ``pgs_id``, ``pgs_name``, ``trait_reported``, ``genome_build``,
``variants_number``, ``weight_type``; harmonised files add ``HmPOS_build`` and ``HmPOS_date``;
``##SECTION`` lines are titles), then one tab-separated table. We read:

- position: ``chr_name`` + ``chr_position``, or in a harmonised file ``hm_chr`` + ``hm_pos``,
  which then replace the author's columns even where harmonisation failed (an empty ``hm_pos``
  is a variant that cannot match), as pgsc_calc does (pgscatalog.core ``remap_harmonised``);
- ``effect_allele`` and ``effect_weight`` (required); ``other_allele``, or when it is absent
  ``hm_inferOtherAllele``; an other allele listing several (``A/G``) is unknown, as in
  pgscatalog.core ``assign_other_allele``;
- ``allelefrequency_effect`` (used to impute missing genotypes); ``rsID`` is not needed to
  match, since variants are matched by position as pgsc_calc does.

Only additive scores are computed: a row flagged ``is_haplotype``, ``is_diplotype``,
``is_interaction``, ``is_dominant`` or ``is_recessive``, or carrying genotype-specific weights
(``dosage_0_weight`` …), is refused with the row named.

Memory: about 50 bytes a row once read (numpy columns; allele strings are shared) and about 70
while reading, so a score of a million variants needs some 70 MB.
"""

from __future__ import annotations

import gzip
import math
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cardiofabric.errors import InputError

__all__ = ["NON_ADDITIVE_COLUMNS", "ScoringFile", "normalise_build", "normalise_chrom", "read"]

#: Columns that make a score non-additive (PGS Catalog scoring file format v2.0).
NON_ADDITIVE_COLUMNS = (
    "is_haplotype",
    "is_diplotype",
    "is_interaction",
    "is_dominant",
    "is_recessive",
    "dosage_0_weight",
    "dosage_1_weight",
    "dosage_2_weight",
)
_REQUIRED = ("effect_allele", "effect_weight")
_POSITIONS = (("hm_chr", "hm_pos"), ("chr_name", "chr_position"))
_MISSING = frozenset({"", "NA", "N/A", "NAN", "NONE", "NULL", "."})
_TRUE = frozenset({"TRUE", "T", "1", "YES"})
# PLINK's numeric codes for the sex chromosomes and mitochondria (PLINK 2 chromosome codes).
_PLINK_CHROM = {"23": "X", "24": "Y", "26": "MT", "M": "MT"}
_BUILDS = {
    "GRCH37": "GRCh37",
    "HG19": "GRCh37",
    "B37": "GRCh37",
    "GRCH38": "GRCh38",
    "HG38": "GRCh38",
    "NCBI36": "NCBI36",
    "HG18": "NCBI36",
}


def normalise_chrom(name: str) -> str:
    """``chr1`` → ``1``, ``chrX``/``23`` → ``X``, ``chrM``/``M``/``26`` → ``MT``."""
    text = name.strip()
    if text[:3].lower() == "chr":
        text = text[3:]
    text = text.upper()
    return _PLINK_CHROM.get(text, text)


def normalise_build(value: str | None) -> str | None:
    """``GRCh37``/``hg19`` → ``GRCh37`` etc.; None for ``NR`` (not reported) or unknown text."""
    if not value:
        return None
    key = value.strip().upper().split(".")[0]
    return _BUILDS.get(key)


@dataclass(frozen=True, eq=False)
class ScoringFile:
    """One scoring file, its header metadata and its variants as column arrays.

    ``chrom`` holds normalised names ('' when unknown), ``pos`` 1-based positions (0 when
    unknown), ``other_allele`` None when unknown, ``effect_allele_frequency`` NaN when not given.
    """

    path: Path
    metadata: dict[str, str]
    columns: tuple[str, ...]
    harmonised: bool
    chrom: npt.NDArray[np.object_]
    pos: npt.NDArray[np.int64]
    effect_allele: npt.NDArray[np.object_]
    other_allele: npt.NDArray[np.object_]
    weight: npt.NDArray[np.float64]
    effect_allele_frequency: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.weight)

    @property
    def pgs_id(self) -> str:
        return self.metadata.get("pgs_id") or self.path.name

    @property
    def genome_build(self) -> str | None:
        """The build of the positions used: ``HmPOS_build`` when harmonised, else the author's."""
        key = "HmPOS_build" if self.harmonised else "genome_build"
        return normalise_build(self.metadata.get(key))

    @property
    def weight_type(self) -> str | None:
        return self.metadata.get("weight_type")

    def label(self, i: int) -> str:
        """``chrom:pos:effect:other`` of row ``i`` (``?`` for an unknown other allele)."""
        other = self.other_allele[i] or "?"
        return f"{self.chrom[i] or '?'}:{self.pos[i] or '?'}:{self.effect_allele[i]}:{other}"


def _lines(path: Path) -> Iterator[str]:
    try:
        with path.open("rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        with (
            gzip.open(path, "rt", encoding="utf-8", errors="replace")
            if gz
            else path.open(encoding="utf-8", errors="replace")
        ) as text:
            for line in text:
                yield line.rstrip("\r\n")
    except FileNotFoundError:
        raise InputError("no such scoring file", path=path) from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(
            f"cannot read the scoring file ({exc})",
            path=path,
            hint="download it again from the PGS Catalog; check it with: gzip -t FILE",
        ) from None


def _columns_error(path: Path, found: list[str], positions: bool) -> InputError:
    expected = "effect_allele, effect_weight and chr_name + chr_position (or hm_chr + hm_pos)"
    hint = "give a PGS Catalog scoring file (format 2.0) with a tab-separated header line"
    if not positions and ("rsID" in found or "hm_rsID" in found):
        hint = (
            "this file locates variants by rsID only; download the harmonised file for your "
            "genome build (PGS…_hmPOS_GRCh38.txt.gz), which adds hm_chr and hm_pos"
        )
    return InputError(
        f"missing required columns: expected {expected}; found {', '.join(found) or 'none'}",
        path=path,
        hint=hint,
    )


def _refuse_non_additive(path: Path, line: int, column: str, value: str) -> InputError:
    return InputError(
        f"line {line}: {column}={value}: only additive scores (effect weight × allele dosage) "
        "can be computed; this score has non-additive terms (haplotypes, diplotypes, "
        "interactions, dominant or recessive effects, or genotype-specific weights)",
        path=path,
        hint="compute this score with its authors' own method, or choose an additive score",
    )


def read(path: Path) -> ScoringFile:
    """Read a PGS Catalog scoring file; :class:`InputError` naming the file when it is unusable."""
    metadata: dict[str, str] = {}
    header: list[str] | None = None
    lines = _lines(path)
    first = 1  # the line number the data rows start at
    for n, line in enumerate(lines, start=1):
        if line.startswith("#"):
            key, sep, value = line.lstrip("#").partition("=")
            if sep and key.strip():
                metadata[key.strip()] = value.strip()
            continue
        if line.strip():
            header = [c.strip() for c in line.split("\t")]
            first = n + 1
            break
    if header is None:
        raise InputError(
            "no column header line: the file has only '#' metadata or is empty",
            path=path,
            hint="give a PGS Catalog scoring file (format 2.0)",
        )
    col = {name: i for i, name in enumerate(header)}
    position = next((p for p in _POSITIONS if p[0] in col and p[1] in col), None)
    if position is None or any(c not in col for c in _REQUIRED):
        raise _columns_error(path, header, position is not None)
    i_chr, i_pos = col[position[0]], col[position[1]]
    i_ea, i_w = col["effect_allele"], col["effect_weight"]
    i_oa, i_inf = col.get("other_allele"), col.get("hm_inferOtherAllele")
    i_af = col.get("allelefrequency_effect")
    flags = [(col[c], c) for c in NON_ADDITIVE_COLUMNS if c in col]
    width = len(header)

    chroms: dict[str, str] = {}  # raw → normalised, so each name is one shared string
    alleles: dict[str, str] = {}  # one shared string per distinct allele
    chrom: list[str] = []
    pos = array("q")  # typed arrays: 8 bytes a value where a list holds an object each
    ea: list[str] = []
    oa: list[str | None] = []
    weight = array("d")
    eaf = array("d")
    for n, line in enumerate(lines, start=first):
        if not line.strip() or line.startswith("#"):
            continue
        f = line.split("\t")
        if len(f) < width:
            f += [""] * (width - len(f))
        for i, name in flags:
            value = f[i].strip().upper()
            if value in _TRUE if name.startswith("is_") else value not in _MISSING:
                raise _refuse_non_additive(path, n, name, f[i].strip())
        effect = f[i_ea].strip().upper()
        if effect in _MISSING:
            raise InputError(f"line {n}: no effect_allele", path=path)
        try:
            w = float(f[i_w])
        except ValueError:
            raise InputError(
                f"line {n}: effect_weight {f[i_w]!r} is not a number", path=path
            ) from None
        if not math.isfinite(w):
            raise InputError(f"line {n}: effect_weight {f[i_w]!r} is not finite", path=path)
        other = f[i_oa].strip().upper() if i_oa is not None else ""
        if other in _MISSING and i_inf is not None:
            other = f[i_inf].strip().upper()
        c = f[i_chr]
        norm = chroms.get(c)
        if norm is None:
            norm = chroms[c] = "" if c.strip().upper() in _MISSING else normalise_chrom(c)
        p = f[i_pos].strip()
        chrom.append(norm)
        pos.append(int(p) if p.isdigit() else 0)
        ea.append(alleles.setdefault(effect, effect))
        oa.append(None if other in _MISSING or "/" in other else alleles.setdefault(other, other))
        weight.append(w)
        eaf.append(_frequency(f[i_af]) if i_af is not None else math.nan)
    if not weight:
        raise InputError("the scoring file lists no variants", path=path)
    return ScoringFile(
        path=path,
        metadata=metadata,
        columns=tuple(header),
        harmonised=position[0] == "hm_chr",
        chrom=np.array(chrom, dtype=object),
        pos=np.frombuffer(pos, dtype=np.int64),
        effect_allele=np.array(ea, dtype=object),
        other_allele=np.array(oa, dtype=object),
        weight=np.frombuffer(weight, dtype=np.float64),
        effect_allele_frequency=np.frombuffer(eaf, dtype=np.float64),
    )


def _frequency(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if 0.0 <= value <= 1.0 else math.nan
