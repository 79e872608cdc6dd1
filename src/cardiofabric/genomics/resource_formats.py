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
"""

from __future__ import annotations

import gzip
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.genomics.builds import detect_build
from cardiofabric.genomics.model import normalise_contig

__all__ = [
    "FAF_GROUPS",
    "KINDS",
    "Loaded",
    "Sniffed",
    "clinvar_stars",
    "filtering_allele_frequency",
    "load",
    "minimal_alleles",
    "sniff",
]

KINDS = ("gnomad", "clinvar", "revel", "cadd", "spliceai")

#: Genetic ancestry groups over which gnomAD takes the maximum filtering allele frequency. The
#: founder or bottlenecked groups (Ashkenazi Jewish, Finnish, Amish, Middle Eastern) and the
#: unassigned "other/remaining" group are left out, as gnomAD does for ``faf95_popmax`` and
#: ``fafmax_faf95_max`` (gnomAD v2.1 and v4.0 release notes; Whiffin et al., Genet Med 2017).
FAF_GROUPS = ("afr", "amr", "eas", "nfe", "sas")

#: ClinVar review status → stars (ClinVar "Review status in ClinVar", NCBI help pages).
_STARS = {
    "practice_guideline": 4,
    "reviewed_by_expert_panel": 3,
    "criteria_provided,_multiple_submitters,_no_conflicts": 2,
    "criteria_provided,_single_submitter": 1,
    "criteria_provided,_conflicting_classifications": 1,
    "criteria_provided,_conflicting_interpretations": 1,  # the spelling before 2024
}

_AA3 = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Sec": "U",
    "Pyl": "O", "Ter": "*", "Xaa": "X",
}  # fmt: skip

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

_EXPECTED = {
    "gnomad": "a gnomAD or ExAC sites VCF (INFO AC and AN, or AC_Adj and AN_Adj)",
    "clinvar": "a ClinVar VCF (INFO CLNSIG) or ClinVar's variant_summary.txt",
    "revel": "REVEL's CSV (chr,hg19_pos,grch38_pos,ref,alt,aaref,aaalt,REVEL,...)",
    "cadd": "a CADD TSV ('## CADD ...' then '#Chrom Pos Ref Alt RawScore PHRED')",
    "spliceai": "a SpliceAI VCF (INFO SpliceAI) or a TSV with chrom, pos, ref, alt and the "
    "maximum delta score",
}

_SPLICEAI_SCORE = ("max_delta", "delta_max", "max_ds", "ds_max", "spliceai", "spliceai_max")
_CHROM_NAMES = ("chrom", "#chrom", "chr", "#chr", "chromosome", "contig")
_POS_NAMES = ("pos", "position", "pos_vcf")

Progress = Callable[[int], None]


# ------------------------------------------------------------------------------------------
# shared helpers


def filtering_allele_frequency(ac: int, an: int, confidence: float = 0.95) -> float:
    """The filtering allele frequency of one group: the highest true allele frequency at which
    observing ``ac`` or more alleles among ``an`` still has probability ``1 − confidence``.

    This is the lower bound of the one-sided ``confidence`` interval of a Poisson allele count
    (Whiffin et al., "Using high-resolution variant frequencies to empower clinical genome
    interpretation", Genet Med 2017;19:1151; gnomAD computes its ``faf95`` this way with
    Hail's ``filtering_allele_frequency``). With the Poisson–gamma identity
    ``P(X ≥ k | λ) = P(Γ(k) ≤ λ)`` the bound is ``λ = Γ⁻¹(k; 1 − confidence)``, so
    ``faf = gammaincinv(ac, 1 − confidence) / an``. Zero when ``ac`` or ``an`` is 0.
    """
    if ac <= 0 or an <= 0:
        return 0.0
    try:
        from scipy.special import gammaincinv  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - scipy comes with the genomics extra
        raise MissingDependencyError(
            "scipy", "genomics", "computing gnomAD filtering allele frequencies"
        ) from None
    return float(gammaincinv(ac, 1.0 - confidence)) / an


def clinvar_stars(review_status: str | None) -> int:
    """ClinVar review status (VCF ``CLNREVSTAT`` or ``variant_summary`` spelling) → 0–4 stars."""
    if not review_status:
        return 0
    key = review_status.strip().lower().replace(" ", "_").replace(",_", ",").replace(",", ",_")
    return _STARS.get(key, 0)


def minimal_alleles(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Trim the bases REF and ALT share at the end, then at the start (keeping one base each):
    the minimal representation of an allele split out of a multiallelic record (Tan et al.,
    Bioinformatics 2015;31:2202). Left-alignment needs the reference and is not done here."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _g7(x: Any) -> float | None:
    """A VCF float as written: cyvcf2 gives float32 values; 7 significant digits undo that."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    if math.isnan(v):
        return None
    return float(f"{v:.7g}")


def _int(x: Any) -> int | None:
    if x is None:
        return None
    try:
        return int(x)
    except (TypeError, ValueError):
        return None


def _per_alt(value: Any, i: int, n: int) -> Any:
    """The ``i``-th ALT's value of a Number=A INFO field as cyvcf2 returns it."""
    if value is None:
        return None
    if isinstance(value, tuple | list):
        return value[i] if i < len(value) else None
    if isinstance(value, str) and n > 1:
        parts = value.split(",")
        if len(parts) == 1:
            return parts[0]
        return parts[i] if i < len(parts) else None
    return value


def _alt_index(rec: Any, i: int, n: int) -> tuple[int, int]:
    """Where the ``i``-th ALT's values sit in Number=A fields, and how many there are.

    A record split out of a multiallelic one by ``vt decompose`` keeps the original
    ``Number=A`` values and names the original alleles in ``OLD_MULTIALLELIC``
    (``1:13404:G/A/T``), as ExAC's files do: the ALT's position in that list is the index.
    """
    old = rec.INFO.get("OLD_MULTIALLELIC") if n == 1 else None
    if not old:
        return i, n
    where, _, alleles = str(old).rpartition(":")
    parts = alleles.split("/")
    try:
        pos0 = int(where.rsplit(":", 1)[-1])
    except ValueError:
        raise _Skip("OLD_MULTIALLELIC not chrom:pos:REF/ALT/...") from None
    mine = minimal_alleles(rec.POS, rec.REF.upper(), rec.ALT[i].upper())
    for j, alt in enumerate(parts[1:]):
        if minimal_alleles(pos0, parts[0].upper(), alt.upper()) == mine:
            return j, len(parts) - 1
    raise _Skip("ALT allele not found in OLD_MULTIALLELIC")


def _open_text(path: Path) -> Any:
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open("r", encoding="utf-8", errors="replace")


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


# ------------------------------------------------------------------------------------------
# recognising a file


@dataclass(frozen=True)
class Sniffed:
    """What a file is: ``layout`` is vcf | variant_summary | revel_csv | cadd_tsv | tsv."""

    layout: str
    build: str | None
    header: str  # the VCF header, or the first lines of a text table
    columns: tuple[str, ...] = ()  # a table's column names
    skip_lines: int = 0  # lines before the first data line (tables read without header)
    info: frozenset[str] = frozenset()  # a VCF's INFO ids


def _head(path: Path, limit: int = 200_000) -> list[str]:
    lines: list[str] = []
    try:
        with _open_text(path) as fh:
            for line in fh:
                lines.append(line.rstrip("\n").rstrip("\r"))
                if not line.startswith("##") or len(lines) >= limit:
                    break
            # one data line more for tables, for the description of what was found
            nxt = fh.readline()
            if nxt:
                lines.append(nxt.rstrip("\n"))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file ({exc})", path=path) from None
    return lines


def _looks_like(s: Sniffed) -> str:
    if s.layout == "vcf":
        if "CLNSIG" in s.info:
            return "a ClinVar VCF (clinvar)"
        if "SpliceAI" in s.info:
            return "a SpliceAI VCF (spliceai)"
        if {"AC", "AN"} <= s.info or {"AC_Adj", "AN_Adj"} <= s.info:
            return "a sites VCF with allele counts (gnomad)"
        return "a VCF without the INFO fields of any known resource"
    if s.layout == "variant_summary":
        return "ClinVar's variant_summary.txt (clinvar)"
    if s.layout == "revel_csv":
        return "REVEL's CSV (revel)"
    if s.layout == "cadd_tsv":
        return "a CADD TSV (cadd)"
    first = s.header.splitlines()[0] if s.header else ""
    return f"a table whose first line is {first[:120]!r}"


def _guess_kind(s: Sniffed) -> str | None:
    m = re.search(r"\((\w+)\)$", _looks_like(s))
    return m.group(1) if m else None


def sniff(kind: str, path: Path) -> Sniffed:
    """Recognise ``path`` as one of ``kind``'s formats; InputError naming what it is instead."""
    if kind not in KINDS:
        raise InputError(
            f"unknown resource kind {kind!r}",
            hint=f"use one of: {', '.join(KINDS)}",
        )
    if not path.is_file():
        raise InputError("the resource file does not exist", path=path)
    lines = _head(path)
    if not lines:
        raise InputError("the file is empty", path=path, hint=f"expected {_EXPECTED[kind]}")
    s = _classify(lines)
    ok = {
        "gnomad": s.layout == "vcf"
        and ({"AC", "AN"} <= s.info or {"AC_Adj", "AN_Adj"} <= s.info)
        and "CLNSIG" not in s.info
        and "SpliceAI" not in s.info,
        "clinvar": (s.layout == "vcf" and "CLNSIG" in s.info) or s.layout == "variant_summary",
        "revel": s.layout == "revel_csv",
        "cadd": s.layout == "cadd_tsv",
        "spliceai": (s.layout == "vcf" and "SpliceAI" in s.info)
        or (s.layout == "tsv" and _spliceai_columns(s.columns) is not None),
    }[kind]
    if not ok:
        guess = _guess_kind(s)
        hint = (
            f"this looks like {guess} data: add it as that kind "
            f"(cardiofabric genomics resource add {guess} FILE)"
            if guess and guess != kind
            else "check the file and the KIND argument"
        )
        raise InputError(
            f"expected {_EXPECTED[kind]} for kind {kind!r}; found {_looks_like(s)}",
            path=path,
            hint=hint,
        )
    return s


def _classify(lines: list[str]) -> Sniffed:
    first = lines[0]
    if first.startswith("##fileformat=VCF"):
        header = "\n".join(ln for ln in lines if ln.startswith("#"))
        info = frozenset(re.findall(r"^##INFO=<ID=([^,>]+)", header, flags=re.M))
        return Sniffed("vcf", detect_build(header), header, info=info)
    text = "\n".join(lines[:3])
    if first.startswith("## CADD") or first.startswith("#Chrom\tPos\tRef\tAlt"):
        skip = 0
        while skip < len(lines) and lines[skip].startswith("#"):
            skip += 1
        cols = tuple(lines[skip - 1].lstrip("#").split("\t")) if skip else ()
        m = re.search(r"CADD\s+(GRCh3[78])", first)
        if {"Chrom", "Pos", "Ref", "Alt", "PHRED"} <= set(cols):
            return Sniffed(
                "cadd_tsv", m.group(1) if m else None, text, columns=cols, skip_lines=skip
            )
    lowered = first.lower()
    if lowered.startswith("chr,hg19_pos,grch38_pos,ref,alt") and "revel" in lowered:
        return Sniffed("revel_csv", None, text, columns=tuple(first.split(",")), skip_lines=1)
    if "\t" in first:
        cols = tuple(first.split("\t"))
        names = {c.lstrip("#") for c in cols}
        if {"AlleleID", "PositionVCF", "ReferenceAlleleVCF", "Assembly"} <= names:
            return Sniffed("variant_summary", None, text, columns=cols, skip_lines=1)
        return Sniffed("tsv", None, text, columns=cols, skip_lines=1)
    return Sniffed("unknown", None, text)


def _spliceai_columns(cols: Sequence[str]) -> tuple[str, str, str, str, str] | None:
    lower = {c.lower(): c for c in cols}
    chrom = next((lower[n] for n in _CHROM_NAMES if n in lower), None)
    pos = next((lower[n] for n in _POS_NAMES if n in lower), None)
    score = next((lower[n] for n in _SPLICEAI_SCORE if n in lower), None)
    if chrom and pos and score and "ref" in lower and "alt" in lower:
        return chrom, pos, lower["ref"], lower["alt"], score
    return None


# ------------------------------------------------------------------------------------------
# loading


@dataclass
class Loaded:
    """What a reader put into the staging table, and what it left out (by reason)."""

    read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


class _Skip(Exception):
    """A record (or one allele of it) that cannot be used; the message is the reason."""


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


# --- VCFs, streamed with cyvcf2 --------------------------------------------------------------


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


class _GnomadRows:
    """gnomAD v2/v3/v4 and ExAC INFO layouts → (af, faf95, ac, an, nhomalt, filter)."""

    def __init__(self, vcf: Any, sniffed: Sniffed) -> None:
        info = sniffed.info
        self.exac = "AC_Adj" in info and "AN_Adj" in info
        self.ac = "AC_Adj" if self.exac else "AC"
        self.an = "AN_Adj" if self.exac else "AN"
        self.af = None if self.exac or "AF" not in info else "AF"
        self.nhomalt = next((f for f in ("nhomalt", "AC_Hom", "Hom") if f in info), None)
        self.faf_max = next((f for f in ("fafmax_faf95_max", "faf95_popmax") if f in info), None)
        lower = {i.lower(): i for i in info}
        self.faf_groups = [lower[f"faf95_{g}"] for g in FAF_GROUPS if f"faf95_{g}" in lower]
        self.groups: list[tuple[str, str]] = []
        for g in FAF_GROUPS:
            for sep in ("_", "-"):
                ac, an = lower.get(f"ac{sep}{g}"), lower.get(f"an{sep}{g}")
                if ac and an:
                    self.groups.append((ac, an))
                    break
        self.faf_overall = "faf95" if "faf95" in info else None
        self.as_filter = "AS_FilterStatus" if "AS_FilterStatus" in info else None

    def row(self, rec: Any, i: int, n: int, key: tuple[str, int, str, str]) -> tuple[Any, ...]:
        get = rec.INFO.get
        i, n = _alt_index(rec, i, n)
        ac = _int(_per_alt(get(self.ac), i, n))
        an = _int(get(self.an))
        if ac is None or an is None:
            raise _Skip(f"no {self.ac}/{self.an}")
        if ac < 0 or an < 0 or ac > an:
            raise _Skip(f"{self.ac} outside 0…{self.an}")
        af = _g7(_per_alt(get(self.af), i, n)) if self.af else None
        if af is None:
            af = ac / an if an else None
        faf = self._faf(rec, i, n, ac, an)
        nhomalt = _int(_per_alt(get(self.nhomalt), i, n)) if self.nhomalt else None
        filt = None
        if self.as_filter:
            filt = _per_alt(get(self.as_filter), i, n)
        if not filt:
            filt = rec.FILTER or "PASS"
        return (*key, af, faf, ac, an, nhomalt, str(filt))

    def _faf(self, rec: Any, i: int, n: int, ac: int, an: int) -> float | None:
        get = rec.INFO.get
        if self.faf_max:
            v = _g7(_per_alt(get(self.faf_max), i, n))
            if v is not None:
                return v
        values = [_g7(_per_alt(get(f), i, n)) for f in self.faf_groups]
        given = [v for v in values if v is not None]
        if given:
            return max(given)
        if self.groups:
            fafs = []
            for acf, anf in self.groups:
                g_ac = _int(_per_alt(get(acf), i, n))
                g_an = _int(get(anf))
                if g_ac is not None and g_an:
                    fafs.append(filtering_allele_frequency(g_ac, g_an))
            if fafs:
                return float(f"{max(fafs):.7g}")
        if self.faf_overall:
            v = _g7(_per_alt(get(self.faf_overall), i, n))
            if v is not None:
                return v
        return float(f"{filtering_allele_frequency(ac, an):.7g}") if an else None


class _ClinvarRows:
    """ClinVar VCF INFO → significance, stars, gene, and the protein change from CSQ/ANN."""

    def __init__(self, vcf: Any, sniffed: Sniffed) -> None:
        self.reader: Any = None
        self.pick: Any = None
        if "CSQ" in sniffed.info or "ANN" in sniffed.info:
            from cardiofabric.genomics import annotation

            self.reader = annotation.AnnotationReader.from_vcf(vcf)
            self.pick = annotation.pick

    def row(self, rec: Any, i: int, n: int, key: tuple[str, int, str, str]) -> tuple[Any, ...]:
        get = rec.INFO.get
        sig = get("CLNSIG")
        if not sig:
            raise _Skip("no CLNSIG (ClinVar lists the allele only within a haplotype)")
        sig = ",".join(sig) if isinstance(sig, tuple) else str(sig)
        rev = get("CLNREVSTAT")
        rev = ",".join(rev) if isinstance(rev, tuple) else (str(rev) if rev else None)
        geneinfo = get("GENEINFO")
        gene = str(geneinfo).split("|")[0].split(":")[0] if geneinfo else None
        mc = get("MC")
        hgvs = get("CLNHGVS")
        hgvsp = ppos = ref_aa = alt_aa = None
        if self.reader is not None:
            try:
                consequences = self.reader.parse_variant(rec)
            except InputError:  # an unreadable CSQ/ANN: the ClinVar facts still hold
                consequences = []
            chosen = (
                self.pick(consequences, rec.ALT[i], rec.REF, alts=rec.ALT) if consequences else None
            )
            if chosen is not None:
                hgvsp = chosen.hgvsp
                ppos = chosen.protein_position
                ref_aa, alt_aa = chosen.ref_aa, chosen.alt_aa
                gene = chosen.gene or gene
        return (
            *key,
            str(rec.ID) if rec.ID else None,
            sig,
            rev,
            clinvar_stars(rev),
            gene,
            hgvsp,
            ppos,
            ref_aa,
            alt_aa,
            str(mc) if mc else None,
            str(hgvs) if hgvs else None,
        )


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


# --- tables, read by DuckDB ----------------------------------------------------------------

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


def _load_variant_summary(
    con: Any,
    path: Path,
    sniffed: Sniffed,
    stage: str,
    build: str | None,
    progress: Progress | None,
) -> Loaded:
    if build not in ("GRCh37", "GRCh38"):
        raise InputError(
            "variant_summary.txt lists GRCh37 and GRCh38 rows: say which build to load",
            path=path,
            hint="add it with --build GRCh38 (or GRCh37), or add a VCF resource first",
        )
    cols = [c.lstrip("#") for c in sniffed.columns]
    names = [f"c{j}" for j in range(len(cols))]
    at = {c: f"c{j}" for j, c in enumerate(cols)}
    sig_col = at.get("ClinicalSignificance") or at.get("GermlineClassification")
    needed = (
        "Name",
        "GeneSymbol",
        "ReviewStatus",
        "Assembly",
        "Chromosome",
        "PositionVCF",
        "ReferenceAlleleVCF",
        "AlternateAlleleVCF",
        "VariationID",
    )
    missing = [c for c in needed if c not in at] + ([] if sig_col else ["ClinicalSignificance"])
    if missing:
        raise InputError(
            f"variant_summary.txt lacks the columns {', '.join(missing)}",
            path=path,
            hint="use the file as ClinVar publishes it "
            "(ftp.ncbi.nlm.nih.gov/pub/clinvar/tab_delimited)",
        )
    source = _csv(path, delim="\t", skip=1, columns=names, header=False)
    c = at
    p_re = r"\(p\.([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2}|=)\)"
    name = c["Name"]
    stars_case = (
        f"CASE replace(lower(trim({c['ReviewStatus']})), ' ', '_') "
        + " ".join(f"WHEN '{k}' THEN {v}" for k, v in _STARS.items())
        + " ELSE 0 END"
    )
    gene = (
        f"coalesce(nullif(regexp_extract({name}, '^[^(]*\\(([^)]+)\\):', 1), ''), "
        f"nullif(nullif(split_part({c['GeneSymbol']}, ';', 1), '-'), ''))"
    )
    r3 = f"regexp_extract({name}, '{p_re}', 1)"
    a3 = f"regexp_extract({name}, '{p_re}', 3)"
    select = (
        f"{_contig(c['Chromosome'])}, CAST({c['PositionVCF']} AS BIGINT), "
        f"upper({c['ReferenceAlleleVCF']}), upper({c['AlternateAlleleVCF']}), "
        f"{c['VariationID']}, replace(trim({sig_col}), ' ', '_'), "
        f"replace(trim({c['ReviewStatus']}), ' ', '_'), {stars_case}, {gene}, "
        f"nullif(regexp_extract({name}, '\\((p\\.[^)]+)\\)', 1), ''), "
        f"TRY_CAST(nullif(regexp_extract({name}, '{p_re}', 2), '') AS INTEGER), "
        f"{_aa1(r3)}, CASE WHEN {a3} = '=' THEN {_aa1(r3)} ELSE {_aa1(a3)} END, "
        "NULL, NULL"
    )
    assembly = c["Assembly"]
    bad = {
        f"other assembly than {build}": f"{assembly} IS DISTINCT FROM '{build}'",
        "no VCF position": _num_bad(c["PositionVCF"], "BIGINT")
        + f" OR TRY_CAST({c['PositionVCF']} AS BIGINT) < 1",
        "no VCF alleles ('na')": f"{_allele_bad(c['ReferenceAlleleVCF'])} OR "
        f"{_allele_bad(c['AlternateAlleleVCF'])}",
        "no clinical significance": f"{sig_col} IS NULL OR trim({sig_col}) IN ('', '-')",
    }
    return _table_load(con, stage, source, select, bad, Loaded(), progress)


def _aa1(code3_sql: str) -> str:
    """SQL: a three-letter amino-acid code → the one-letter code VEP writes."""
    return (
        f"CASE {code3_sql} "
        + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _AA3.items())
        + " ELSE NULL END"
    )
