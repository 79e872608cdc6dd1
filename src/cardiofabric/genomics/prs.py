"""Polygenic risk scores of a VCF's samples, matched to a PGS Catalog score as pgsc_calc matches.

Matching. A score variant is looked up by (chromosome without ``chr``, position); each VCF
record there is split into its REF/ALT pairs (a multi-allelic record is several biallelic
variants, as after ``bcftools norm -m-``; pgsc_calc excludes multi-allelic records by default)
and the alleles are compared by pgsc_calc's rules, best first (pgscatalog.calc
``_matchvariants.MatchPriority``; ``MATCH_RULES``): effect/other = REF/ALT (``refalt``, the
score counts the reference allele), = ALT/REF (``altref``, exact), the same on the opposite
strand (``refalt_flip``, ``altref_flip``: both alleles complemented), and for a score without an
other allele the effect allele alone (``ref_no_oa``, ``alt_no_oa``). The best candidate over
the records at one position wins; a later record at a position already scored (an unsorted
file) is counted as a duplicate and ignored. A palindromic SNP (A/T or C/G) cannot be placed on
a strand, so its match is excluded unless ``keep_ambiguous`` (pgsc_calc ``--keep_ambiguous``);
kept, the unflipped reading wins.

Dosage. The effect allele's dosage per sample comes from ``FORMAT/DS`` when a record has it
(VCF 4.3 §1.6.2: expected ALT dosage, one per ALT; REF = ploidy − ΣDS), else from ``GT``
(haploid calls count once). A missing call (any allele ``.``) is mean-imputed as PLINK 2's
``--score`` does: ploidy × the effect allele frequency, taken from the score's
``allelefrequency_effect`` when it gives one, else from the called samples of the set.

Match rate = variants used / variants in the score; below ``min_match`` (pgsc_calc's
``--min_overlap``, default 0.75) the score is refused. Raw score = Σ weight × dosage; z is
standardised against a reference (mean and SD, population form) read from a file, or by
default the scored samples themselves.

Scale. The score is indexed by position (sorted numpy arrays, plus a set of the positions of
the chromosome being read); the VCF is streamed once and only records at a score position have
their genotypes decoded, a numpy vector per record. Memory is the score and its index (~100 B
per variant) and a few vectors per sample, whatever the size of the VCF: 1,000,000 weights ×
1,000 samples peak at ~155 MB resident, 30 MB of it the interpreter (benchmarks/bench_prs.py).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.genomics import pgs
from cardiofabric.genomics.builds import build_of_chr1
from cardiofabric.genomics.pgs import ScoringFile, normalise_chrom

__all__ = [
    "DEFAULT_MIN_MATCH",
    "MATCH_RULES",
    "MatchReport",
    "PrsResult",
    "Reference",
    "SampleScore",
    "read_reference",
    "score_vcf",
]

#: pgsc_calc's default minimum share of a score's variants that must be matched.
DEFAULT_MIN_MATCH = 0.75

#: Allele-matching rules, best first (pgsc_calc's priority order).
MATCH_RULES: dict[str, str] = {
    "refalt": "effect = REF, other = ALT",
    "altref": "effect = ALT, other = REF (exact)",
    "refalt_flip": "strand flip: complement(effect) = REF, complement(other) = ALT",
    "altref_flip": "strand flip: complement(effect) = ALT, complement(other) = REF",
    "ref_no_oa": "score without other allele: effect = REF",
    "alt_no_oa": "score without other allele: effect = ALT",
}
_RULES = tuple(MATCH_RULES)
_EXCLUDED = len(_RULES) + 1  # status of a row whose best match is an ambiguous SNP left out
_COMPLEMENT = str.maketrans("ACGT", "TGCA")
_ACGT = frozenset("ACGT")
_Floats = npt.NDArray[np.float64]
_Bools = npt.NDArray[np.bool_]
_Indices = npt.NDArray[np.intp]
_Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class Reference:
    """The distribution z is taken against: ``kind`` is ``sample set`` or ``file``."""

    mean: float
    sd: float
    n: int | None
    kind: str
    source: str


@dataclass(frozen=True)
class SampleScore:
    sample: str
    raw: float
    z: float | None
    variants_used: int  # matched variants with a called genotype
    variants_imputed: int  # matched variants with a missing genotype, mean-imputed


@dataclass(frozen=True)
class MatchReport:
    variants_in_score: int
    matched: int
    by_rule: dict[str, int]
    excluded_ambiguous: int
    unmatched: int
    duplicates: int
    min_match: float
    keep_ambiguous: bool
    unmatched_examples: list[str]
    imputation: dict[str, Any]

    @property
    def match_rate(self) -> float:
        return self.matched / self.variants_in_score if self.variants_in_score else 0.0


@dataclass(frozen=True)
class PrsResult:
    pgs_id: str
    score_file: str
    vcf: str
    genome_build: dict[str, str | None]
    weight_type: str | None
    vcf_records: int
    match: MatchReport
    reference: Reference
    samples: list[SampleScore]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["imputation"] = data["match"].pop("imputation")
        data["match"]["match_rate"] = self.match.match_rate
        return data

    def to_tsv(self) -> str:
        """One row per sample: sample, raw, z, variants_used, variants_imputed."""
        rows = ["sample\traw\tz\tvariants_used\tvariants_imputed"]
        for s in self.samples:
            z = "NA" if s.z is None else repr(s.z)
            rows.append(f"{s.sample}\t{s.raw!r}\t{z}\t{s.variants_used}\t{s.variants_imputed}")
        return "\n".join(rows) + "\n"


def _complement(allele: str) -> str | None:
    return allele.translate(_COMPLEMENT) if allele and set(allele) <= _ACGT else None


def _ambiguous(ref: str, alt: str) -> bool:
    """A/T and C/G SNPs read the same on both strands (pgscatalog.calc ``is_..._ambiguous``)."""
    return len(ref) == 1 and len(alt) == 1 and _complement(ref) == alt


def _classify(
    effect: str, other: str | None, ref: str, alts: list[str], keep_ambiguous: bool
) -> tuple[int, int] | None:
    """``(status, effect allele index)`` of the best match of a score row to one record.

    Status 1…6 is ``_RULES[status − 1]`` (lower is better), ``_EXCLUDED`` an ambiguous match
    left out; the index is 0 for REF, j for the j-th ALT. None when no REF/ALT pair matches.
    """
    best: tuple[int, int] | None = None
    c_eff = _complement(effect)
    c_oth = _complement(other) if other else None
    for j, alt in enumerate(alts, start=1):
        if other is not None:
            if effect == ref and other == alt:
                found = (1, 0)
            elif effect == alt and other == ref:
                found = (2, j)
            elif c_eff == ref and c_oth == alt:
                found = (3, 0)
            elif c_eff == alt and c_oth == ref:
                found = (4, j)
            else:
                continue
        elif effect == ref:
            found = (5, 0)
        elif effect == alt:
            found = (6, j)
        else:
            continue
        if not keep_ambiguous and _ambiguous(ref, alt):
            found = (_EXCLUDED, -1)
        if best is None or found[0] < best[0]:
            best = found
    return best


class _Index:
    """Score rows by (chromosome, position); a position set for the chromosome being read."""

    def __init__(self, score: ScoringFile) -> None:
        rows = np.flatnonzero(score.pos > 0)  # a variant without a position cannot match
        chrom = score.chrom[rows].astype(str)
        order = np.lexsort((score.pos[rows], chrom))
        self.rows = rows[order]
        self.pos = score.pos[self.rows]
        names, starts, counts = np.unique(chrom[order], return_index=True, return_counts=True)
        self.spans = {
            str(c): (int(s), int(s + n)) for c, s, n in zip(names, starts, counts, strict=True)
        }
        self._chrom: str | None = None
        self._set: frozenset[int] = frozenset()

    def rows_at(self, chrom: str, pos: int) -> npt.NDArray[np.int64] | None:
        if chrom != self._chrom:
            # One chromosome's positions at a time: a sorted VCF builds each set once.
            self._chrom = chrom
            span = self.spans.get(chrom)
            self._set = frozenset(self.pos[span[0] : span[1]].tolist()) if span else frozenset()
        if pos not in self._set:
            return None
        lo, hi = self.spans[chrom]
        a = lo + int(np.searchsorted(self.pos[lo:hi], pos))
        b = a + 1
        while b < hi and self.pos[b] == pos:  # several score rows at one position
            b += 1
        return self.rows[a:b]


class _Genotypes:
    """Per-sample allele dosages of one record, decoded once and shared by its candidates.

    cyvcf2's genotype array is (samples, ploidy + 1) int16: allele indices, -1 for a missing
    allele, -2 padding a shorter (haploid) call, and the phasing flag last. Comparisons run on
    the whole contiguous array and the columns are then added as uint8 views: several times
    faster than reducing along the short axis.
    """

    def __init__(self, rec: Any, n: int, header_has_ds: bool) -> None:
        self.n = n
        self.gt: npt.NDArray[np.int16] | None = None
        self.ds: _Floats | None = None
        if header_has_ds and "DS" in rec.FORMAT:
            ds = rec.format("DS")
            if ds is not None and ds.ndim == 2 and ds.shape[1] == len(rec.ALT):
                self.ds = ds.astype(np.float64)
        try:
            self.gt = rec.genotype.array()
        except Exception:  # cyvcf2's only signal of a record without GT; all calls missing
            self.gt = None

    def _columns(self, mask: _Bools) -> npt.NDArray[np.uint8]:
        """Per sample, how many allele columns of ``mask`` (from a comparison on gt) are set."""
        view = mask.view(np.uint8)
        out = view[:, 0].copy()
        for c in range(1, view.shape[1] - 1):  # the last column is the phasing flag
            out += view[:, c]
        return out

    def ploidy(self, idx: _Indices | None = None) -> _Floats:
        """Alleles per sample (of samples ``idx``); 2 for a record with DS but no GT."""
        if self.gt is None:
            return np.full(self.n if idx is None else len(idx), 2.0)
        gt = self.gt if idx is None else self.gt[idx]
        return self._columns(gt != -2).astype(np.float64)

    def alleles(self) -> int:
        """Alleles over all samples (the phasing column is never -2, so it is taken off)."""
        return 2 * self.n if self.gt is None else int(np.count_nonzero(self.gt != -2)) - self.n

    def dosage(self, allele: int) -> tuple[_Floats, npt.NDArray[np.intp]]:
        """Dosage of allele ``allele`` (0 = REF), 0 where missing, and the missing samples."""
        if self.ds is not None:
            d = self.ploidy() - self.ds.sum(axis=1) if allele == 0 else self.ds[:, allele - 1]
            idx = np.flatnonzero(np.isnan(d))
            d = np.nan_to_num(d, nan=0.0)
            return d, idx
        if self.gt is None:
            return np.zeros(self.n), np.arange(self.n)
        d = self._columns(self.gt == allele).astype(np.float64)
        idx = np.flatnonzero(self._columns(self.gt == -1))
        d[idx] = 0.0  # a half call (./1) is missing: PLINK 2's --vcf-half-call missing
        return d, idx


def _vcf_build(header: str) -> str | None:
    """GRCh37/GRCh38 from the ``##contig`` length of chromosome 1, else ``##reference``."""
    for m in re.finditer(r"##contig=<ID=(?:chr)?1,\s*length=(\d+)", header):
        build = build_of_chr1(int(m.group(1)))
        if build:
            return build
    ref = re.search(r"^##reference=(.*)$", header, re.MULTILINE)
    if ref:
        return pgs.normalise_build(ref.group(1).rsplit("/", 1)[-1].split(".fa")[0])
    return None


class _Scorer:
    """The running sums over one pass of the VCF."""

    def __init__(self, score: ScoringFile, n: int, keep_ambiguous: bool, has_ds: bool) -> None:
        self.score = score
        self.has_ds = has_ds
        self.keep_ambiguous = keep_ambiguous
        self.total = np.zeros(n)
        self.applied = 0  # variants added; per sample, used = applied − imputed
        self.imputed = np.zeros(n, dtype=np.int64)
        self.status = np.zeros(len(score), dtype=np.int8)
        self.duplicates = 0
        self.imputation: Counter[str] = Counter()
        # best candidate per score row among the records at the current position
        self.pending: dict[int, tuple[int, tuple[_Floats, _Indices, _Genotypes] | None]] = {}

    def read(self, vcf: Any, path: Path, progress: _Progress | None) -> int:
        """Stream every record once; return how many were read."""
        index = _Index(self.score)
        chroms: dict[str, str] = {}
        here: tuple[str, int] | None = None
        records = iter(vcf)
        n = 0
        while True:
            try:
                rec = next(records)
            except StopIteration:
                break
            except Exception as exc:  # htslib's parse errors reach Python as bare Exceptions
                raise InputError(f"cannot read the VCF ({exc})", path=path) from None
            n += 1
            if progress is not None and n % 10_000 == 0:
                progress("VCF records read", n, None)
            name = rec.CHROM
            chrom = chroms.get(name) or chroms.setdefault(name, normalise_chrom(name))
            pos = rec.POS
            if here is None or here[1] != pos or here[0] != chrom:
                self.flush()  # the records at one position compete; the best match is kept
                here = (chrom, pos)
            rows = index.rows_at(chrom, pos)
            if rows is not None:
                self.offer(rows, rec)
        self.flush()
        return n

    def offer(self, rows: npt.NDArray[np.int64], rec: Any) -> None:
        ref = rec.REF.upper()
        alts = [a.upper() for a in rec.ALT]
        s = self.score
        g: _Genotypes | None = None  # decoded only when a row matches
        for row in rows.tolist():
            if self.status[row]:
                self.duplicates += 1
                continue
            found = _classify(
                s.effect_allele[row], s.other_allele[row], ref, alts, self.keep_ambiguous
            )
            if found is None:
                continue
            prev = self.pending.get(row)
            if prev is not None and prev[0] <= found[0]:
                continue
            if found[0] == _EXCLUDED:
                self.pending[row] = (found[0], None)
                continue
            g = g or _Genotypes(rec, len(self.total), self.has_ds)
            d, missing = g.dosage(found[1])
            self.pending[row] = (found[0], (d, missing, g))

    def flush(self) -> None:
        for row, (status, data) in self.pending.items():
            self.status[row] = status
            if data is not None:
                self._add(row, *data)
        self.pending.clear()

    def _add(self, row: int, d: _Floats, missing: _Indices, g: _Genotypes) -> None:
        if len(missing):
            ploidy = g.ploidy(missing)
            eaf = float(self.score.effect_allele_frequency[row])
            if math.isfinite(eaf):
                freq, source = eaf, "allelefrequency_effect"
            else:
                # d is 0 at the missing samples, so its sum is the called samples' dosage
                alleles = g.alleles() - float(ploidy.sum())
                freq, source = (
                    (float(d.sum()) / alleles, "sample set") if alleles else (0.0, "none")
                )
            d[missing] = ploidy * freq
            self.imputation[source] += len(missing)
            self.imputation["variants"] += 1
            self.imputed[missing] += 1
        self.applied += 1
        # Added one variant at a time, in the file's order, so a sum can be checked exactly.
        d *= self.score.weight[row]
        self.total += d


def score_vcf(
    vcf_path: Path,
    score: ScoringFile | Path,
    *,
    min_match: float = DEFAULT_MIN_MATCH,
    keep_ambiguous: bool = False,
    reference: Reference | Path | None = None,
    progress: _Progress | None = None,
) -> PrsResult:
    """Score every sample of ``vcf_path`` (VCF/BCF, plain or compressed) with ``score``.

    :class:`InputError` when the files cannot be read, their genome builds differ, or fewer
    than ``min_match`` of the score's variants are matched. ``progress(label, done, total)``
    is called every 10,000 records.
    """
    try:
        import cyvcf2
    except ImportError:
        raise MissingDependencyError("cyvcf2", "genomics", "scoring VCF files") from None
    if not 0.0 <= min_match <= 1.0:
        raise InputError(f"the minimum match rate must lie in [0, 1], not {min_match}")
    sf = score if isinstance(score, ScoringFile) else pgs.read(score)
    ref = read_reference(reference) if isinstance(reference, Path) else reference
    if not vcf_path.is_file():
        raise InputError("no such VCF file", path=vcf_path)
    try:
        vcf = cyvcf2.VCF(str(vcf_path), threads=2)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot open the VCF ({exc})", path=vcf_path) from None
    try:
        samples = list(vcf.samples)
        if not samples:
            raise InputError("the VCF has no samples (no genotype columns)", path=vcf_path)
        header = vcf.raw_header
        vcf_build = _vcf_build(header)
        if sf.genome_build and vcf_build and sf.genome_build != vcf_build:
            raise InputError(
                f"the score's positions are on {sf.genome_build} but the VCF is on {vcf_build}",
                path=sf.path,
                hint=f"use the PGS Catalog's harmonised file for {vcf_build} "
                f"({sf.pgs_id}_hmPOS_{vcf_build}.txt.gz)",
            )
        has_ds = "##FORMAT=<ID=DS," in header
        scorer = _Scorer(sf, len(samples), keep_ambiguous, has_ds)
        n_records = scorer.read(vcf, vcf_path, progress)
    finally:
        vcf.close()
    match = _report(sf, scorer, min_match, keep_ambiguous)
    if match.match_rate < min_match:
        raise InputError(
            f"only {match.matched} of {match.variants_in_score} variants of {sf.pgs_id} "
            f"matched ({match.match_rate:.1%}; {match.excluded_ambiguous} ambiguous excluded, "
            f"{match.unmatched} unmatched), below the minimum {min_match:.0%}",
            path=vcf_path,
            hint="check that the score and the VCF are on the same genome build and that the "
            "VCF holds the score's variants (imputed data); --keep-ambiguous or a lower "
            "--min-match score anyway",
        )
    if ref is None:
        ref = _sample_reference(scorer.total)
    z = (scorer.total - ref.mean) / ref.sd if ref.sd > 0 else None
    scores = [
        SampleScore(
            sample=name,
            raw=float(scorer.total[i]),
            z=None if z is None else float(z[i]),
            variants_used=scorer.applied - int(scorer.imputed[i]),
            variants_imputed=int(scorer.imputed[i]),
        )
        for i, name in enumerate(samples)
    ]
    return PrsResult(
        pgs_id=sf.pgs_id,
        score_file=str(sf.path),
        vcf=str(vcf_path),
        genome_build={"score": sf.genome_build, "vcf": vcf_build},
        weight_type=sf.weight_type,
        vcf_records=n_records,
        match=match,
        reference=ref,
        samples=scores,
    )


def _report(sf: ScoringFile, scorer: _Scorer, min_match: float, keep: bool) -> MatchReport:
    counts = np.bincount(scorer.status, minlength=_EXCLUDED + 1)
    by_rule = {rule: int(counts[i + 1]) for i, rule in enumerate(_RULES)}
    unmatched_rows = np.flatnonzero(scorer.status == 0)
    imp = scorer.imputation
    sources = [s for s in ("allelefrequency_effect", "sample set") if imp[s]]
    return MatchReport(
        variants_in_score=len(sf),
        matched=sum(by_rule.values()),
        by_rule=by_rule,
        excluded_ambiguous=int(counts[_EXCLUDED]),
        unmatched=len(unmatched_rows),
        duplicates=scorer.duplicates,
        min_match=min_match,
        keep_ambiguous=keep,
        unmatched_examples=[sf.label(int(i)) for i in unmatched_rows[:10]],
        imputation={
            "method": "mean imputation: ploidy × effect allele frequency",
            "frequency_from": " and ".join(sources) if sources else "none needed",
            "variants_with_missing_genotypes": imp["variants"],
            "genotypes_imputed_from_allelefrequency_effect": imp["allelefrequency_effect"],
            "genotypes_imputed_from_sample_set": imp["sample set"],
            "genotypes_not_imputable": imp["none"],  # no call at all and no frequency: dosage 0
        },
    )


def _sample_reference(raw: _Floats) -> Reference:
    sd = float(raw.std()) if len(raw) > 1 else 0.0
    return Reference(float(raw.mean()), sd, len(raw), "sample set", "the scored samples")


_SCORE_COLUMNS = ("raw", "score", "sum", "prs", "pgs")


def read_reference(path: Path) -> Reference:
    """A reference distribution from ``path``.

    Accepted: a table (tab-, comma- or space-separated) with ``mean`` and ``sd`` (and ``n``)
    columns; a table with a score column (``raw`` as ``prs score -o`` writes it, ``score``,
    ``SUM``, ``prs`` or ``pgs``) of reference scores; or one number per line.
    """
    expected = (
        "a table with 'mean' and 'sd' columns, a table with a 'raw' (or score/SUM/prs/pgs) "
        "column of at least 2 reference scores, or one number per line"
    )
    try:
        text = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the reference file ({exc})", path=path) from None
    rows = [ln.replace(",", " ").split() for ln in text if ln.strip() and ln[0] != "#"]
    head = [c.lower() for c in rows[0]] if rows else []
    try:
        if {"mean", "sd"} <= set(head) and len(rows) > 1:
            row = dict(zip(head, rows[1], strict=False))
            mean, sd = float(row["mean"]), float(row["sd"])
            n = int(float(row["n"])) if "n" in row else None
        else:
            col = next((head.index(c) for c in _SCORE_COLUMNS if c in head), None)
            values = np.array([float(r[col or 0]) for r in (rows if col is None else rows[1:])])
            if len(values) < 2:
                raise ValueError("too few")
            mean, sd, n = float(values.mean()), float(values.std()), len(values)
    except (ValueError, IndexError, KeyError):
        raise InputError(f"unreadable reference file; expected {expected}", path=path) from None
    if not (math.isfinite(mean) and math.isfinite(sd) and sd > 0):
        raise InputError(f"reference mean {mean} / sd {sd}: the sd must be > 0", path=path)
    return Reference(mean, sd, n, "file", str(path))
