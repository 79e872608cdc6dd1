"""Streaming quality control of a VCF/BCF, in memory that does not grow with its length.

One pass with ``cyvcf2`` (htslib). Each record is judged by the rules below and then dropped:
the report holds counters and, per sample, a fixed set of running sums (numpy arrays of one
value per sample). Memory is therefore O(samples), whatever the number of variants; the only
other state is a bounded cache of Hardy–Weinberg p-values keyed by genotype counts.

Per variant (each rule counted separately; a variant may fail several):

- ``filter``: FILTER is neither ``PASS`` nor ``.`` (VCF 4.3 §1.6.1 column 7).
- ``missingness``: the share of samples without a called genotype (``./.``, VCF 4.3 §1.6.2
  ``GT``) is above ``max_missing``.
- ``depth`` / ``gq``: the mean ``FORMAT/DP`` / ``FORMAT/GQ`` over called genotypes is below
  ``min_dp`` / ``min_gq`` (judged only where the field is present).
- ``allele_balance``: over heterozygous calls with ``FORMAT/AD``, the pooled alternate read
  share alt/(ref+alt) lies outside [``min_ab``, ``max_ab``] (GATK's AB for hets, pooled).
- ``hwe``: the Hardy–Weinberg exact test (Wigginton, Cutler & Abecasis 2005, Am J Hum Genet
  76:887) gives p < ``min_hwe_p``. Tested at biallelic, diploid, autosomal sites with at least
  ``hwe_min_genotypes`` called genotypes, i.e. in cohorts, not in single-sample files.

Per sample: call rate, heterozygous / homozygous-alternate ratio, mean DP and GQ over its
called genotypes, and Ti/Tv over its non-reference genotypes at biallelic SNVs. A sample fails
``call_rate`` below 1 − ``max_missing``, ``depth`` below ``min_dp``, ``gq`` below ``min_gq``.

Bad input: a record htslib cannot parse stops the pass with an :class:`InputError` naming its
line (``record N`` for BCF); a QC report over part of a file would look complete when it is not.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cardiofabric.errors import InputError, MissingDependencyError

__all__ = [
    "SAMPLE_RULES",
    "VARIANT_RULES",
    "QcReport",
    "QcThresholds",
    "SampleQc",
    "hwe_exact",
    "run_qc",
]

VARIANT_RULES = ("filter", "missingness", "depth", "gq", "allele_balance", "hwe")
SAMPLE_RULES = ("call_rate", "depth", "gq")
# cyvcf2 gt_types with gts012=False: 0 HOM_REF, 1 HET, 2 UNKNOWN, 3 HOM_ALT.
_HOM_REF, _HET, _UNKNOWN, _HOM_ALT = 0, 1, 2, 3
# Sex chromosomes and mitochondria are not diploid in every sample: no HWE test there.
_NOT_AUTOSOMAL = {"X", "Y", "M", "MT", "XY"}


@dataclass(frozen=True)
class QcThresholds:
    """Cut-offs of the QC rules; the defaults are common whole-genome/exome choices."""

    min_gq: float = 20.0
    min_dp: float = 10.0
    min_ab: float = 0.2
    max_ab: float = 0.8
    max_missing: float = 0.05
    min_hwe_p: float = 1e-6
    hwe_min_genotypes: int = 10

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_ab <= self.max_ab <= 1.0:
            raise InputError(
                f"allele balance bounds must satisfy 0 <= min <= max <= 1; got "
                f"{self.min_ab}..{self.max_ab}"
            )
        if not 0.0 <= self.max_missing <= 1.0:
            raise InputError(f"max_missing must lie in [0, 1]; got {self.max_missing}")
        if not 0.0 <= self.min_hwe_p <= 1.0:
            raise InputError(f"the HWE p-value threshold must lie in [0, 1]; got {self.min_hwe_p}")
        if self.min_gq < 0 or self.min_dp < 0 or self.hwe_min_genotypes < 1:
            raise InputError("min_gq and min_dp must be >= 0 and hwe_min_genotypes >= 1")


@dataclass(frozen=True)
class SampleQc:
    """One sample's QC row."""

    sample: str
    called: int
    missing: int
    call_rate: float | None
    het: int
    hom_alt: int
    het_hom_ratio: float | None
    mean_dp: float | None
    mean_gq: float | None
    transitions: int
    transversions: int
    ti_tv: float | None
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class QcReport:
    """Summary counts of a QC pass; per-sample rows only when asked for."""

    source: str
    samples: int
    variants: int
    pass_filter: int
    snvs: int
    indels: int
    multiallelic: int
    transitions: int
    transversions: int
    hwe_tested: int
    #: Variants each rule could judge (the field was present, the site was testable).
    evaluated: dict[str, int]
    #: Variants failing each rule.
    failing: dict[str, int]
    failing_any: int
    samples_failing: dict[str, int]
    samples_failing_any: int
    thresholds: QcThresholds
    per_sample: list[SampleQc] | None = None

    @property
    def passing_all(self) -> int:
        return self.variants - self.failing_any

    @property
    def filter_pass_rate(self) -> float | None:
        return self.pass_filter / self.variants if self.variants else None

    @property
    def ti_tv(self) -> float | None:
        return self.transitions / self.transversions if self.transversions else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["passing_all"] = self.passing_all
        data["filter_pass_rate"] = _round(self.filter_pass_rate)
        data["ti_tv"] = _round(self.ti_tv)
        if self.per_sample is None:
            del data["per_sample"]
        return data


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


@lru_cache(maxsize=1 << 16)
def hwe_exact(het: int, hom1: int, hom2: int) -> float:
    """Two-sided Hardy–Weinberg exact test p-value (Wigginton, Cutler & Abecasis 2005).

    The probabilities of every heterozygote count compatible with the observed allele counts
    come from the paper's recurrence (their eq. 2), starting at the most likely count so
    that nothing overflows; the p-value sums those no more likely than the observed one.
    """
    if het < 0 or hom1 < 0 or hom2 < 0:
        raise ValueError("genotype counts must be non-negative")
    homr, homc = sorted((hom1, hom2))
    rare = 2 * homr + het
    n = het + homr + homc
    if n == 0:
        return 1.0
    probs = [0.0] * (rare + 1)
    mid = rare * (2 * n - rare) // (2 * n)
    if (rare - mid) % 2:  # the het count has the parity of the rare allele count
        mid += 1
    probs[mid] = 1.0
    hets, r, c = mid, (rare - mid) // 2, n - mid - (rare - mid) // 2
    while hets >= 2:
        probs[hets - 2] = probs[hets] * hets * (hets - 1) / (4.0 * (r + 1) * (c + 1))
        hets, r, c = hets - 2, r + 1, c + 1
    hets, r, c = mid, (rare - mid) // 2, n - mid - (rare - mid) // 2
    while hets <= rare - 2:
        probs[hets + 2] = probs[hets] * 4.0 * r * c / ((hets + 2.0) * (hets + 1.0))
        hets, r, c = hets + 2, r - 1, c - 1
    total = sum(probs)
    # A relative tolerance so that ties in exact arithmetic stay ties in floating point.
    cut = probs[het] * (1 + 1e-8)
    return min(1.0, sum(p for p in probs if p <= cut) / total)


def _format_values(v: Any, tag: str) -> Any:
    """One value per sample of a numeric FORMAT field, missing as -1; None when absent."""
    try:
        arr = v.format(tag)
    except Exception:  # cyvcf2 raises when the field has a type it cannot convert
        return None
    if arr is None:
        return None
    col = arr[:, 0].astype(np.float64)
    # htslib's missing integer is INT32_MIN (VCF 4.3 §1.6.2 "."); a missing float is NaN.
    col[~np.isfinite(col) | (col < 0)] = -1.0
    return col


class _Sums:
    """Per-sample running sums: a handful of arrays with one slot per sample."""

    def __init__(self, n: int) -> None:
        self.called = np.zeros(n, np.int64)
        self.het = np.zeros(n, np.int64)
        self.hom_alt = np.zeros(n, np.int64)
        self.dp_sum = np.zeros(n, np.float64)
        self.dp_n = np.zeros(n, np.int64)
        self.gq_sum = np.zeros(n, np.float64)
        self.gq_n = np.zeros(n, np.int64)
        self.ti = np.zeros(n, np.int64)
        self.tv = np.zeros(n, np.int64)


def _open(path: Path) -> Any:
    try:
        from cyvcf2 import VCF
    except ImportError:
        raise MissingDependencyError("cyvcf2", "genomics", "VCF quality control") from None
    if not path.is_file():
        raise InputError("VCF file not found", path=path)
    try:
        return VCF(str(path), gts012=False, lazy=True)
    except Exception as exc:  # cyvcf2 raises OSError or a plain Exception
        raise InputError(
            f"htslib cannot open this as VCF/BCF ({exc})",
            path=path,
            hint="check that the file is VCF 4.x text, (b)gzipped VCF or BCF, with a "
            "tab-separated header and #CHROM line (VCF 4.3 §1.5)",
        ) from None


def _bad_record(path: Path, k: int, n_samples: int) -> InputError:
    """The ``k``-th record could not be parsed: say which line it is and show its start."""
    with path.open("rb") as fh:
        magic = fh.read(4)
    opener: Any = gzip.open if magic[:2] == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as fh:
            if fh.read(3) == b"BCF":
                return InputError(f"record {k} cannot be parsed by htslib", path=path)
            fh.seek(0)
            seen = 0
            for n, raw in enumerate(fh, start=1):
                if raw.startswith(b"#"):
                    continue
                seen += 1
                if seen == k:
                    text = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
                    cols = text.split("\t")
                    expected = 9 + n_samples if n_samples else 8
                    if "" in cols:
                        why = f"column {cols.index('') + 1} is empty (a missing value is '.')"
                    elif len(cols) != expected:
                        why = f"{len(cols)} tab-separated columns, expected {expected}"
                    elif not cols[1].isdigit():
                        why = f"POS {cols[1][:20]!r} is not a position"
                    else:
                        why = "htslib cannot parse this record"
                    return InputError(
                        f"line {n}: malformed VCF record: {why} (VCF 4.3 §1.6): {text[:80]!r}",
                        path=path,
                        hint="fix or remove the line; bcftools view FILE shows what htslib reads",
                    )
    except (OSError, EOFError) as exc:
        return InputError(f"the file is damaged or truncated near record {k} ({exc})", path=path)
    return InputError(f"record {k} cannot be parsed by htslib", path=path)


def run_qc(
    vcf: Path,
    thresholds: QcThresholds | None = None,
    *,
    per_sample: bool = False,
) -> QcReport:
    """One streaming QC pass over ``vcf``; per-sample rows when ``per_sample``."""
    th = thresholds or QcThresholds()
    vcf = Path(vcf)
    reader = _open(vcf)
    try:
        return _run(reader, vcf, th, per_sample)
    finally:
        reader.close()


def _run(reader: Any, path: Path, th: QcThresholds, per_sample: bool) -> QcReport:
    samples = list(reader.samples)
    n = len(samples)
    header = reader.raw_header
    has = {
        tag: re.search(rf"##FORMAT=<ID={tag},", header) is not None for tag in ("DP", "GQ", "AD")
    }
    sums = _Sums(n)
    evaluated = dict.fromkeys(VARIANT_RULES, 0)
    failing = dict.fromkeys(VARIANT_RULES, 0)
    variants = pass_filter = snvs = indels = multi = ti = tv = hwe_tested = failing_any = 0
    genotyped = 0  # records with a GT field: the denominator of a sample's call rate
    it = iter(reader)
    while True:
        try:
            v = next(it)
        except StopIteration:
            break
        except Exception:  # cyvcf2: "error parsing variant with htslib::bcf_read"
            raise _bad_record(path, variants + 1, n) from None
        variants += 1
        failed = False
        evaluated["filter"] += 1
        if v.FILTER is None:  # cyvcf2 gives None for PASS and '.'
            pass_filter += 1
        else:
            failing["filter"] += 1
            failed = True
        alts = v.ALT
        biallelic = len(alts) == 1
        multi += not biallelic
        # Ti/Tv at biallelic SNVs only: a multiallelic site has no single substitution class.
        snv = biallelic and v.is_snp
        transition = snv and v.is_transition
        if snv:
            ti += transition
            tv += not transition
        if v.is_snp:
            snvs += 1
        elif v.is_indel:
            indels += 1
        if n == 0:  # a sites-only VCF: nothing per sample to judge
            failing_any += failed
            continue

        try:
            gt = v.gt_types
        except Exception:  # cyvcf2: "error parsing genotypes" when FORMAT has no GT
            failing_any += failed
            continue  # no GT (VCF 4.3 §1.6.2): nothing is called per sample here
        genotyped += 1
        called = gt != _UNKNOWN
        n_called = int(np.count_nonzero(called))
        het = gt == _HET
        hom_alt = gt == _HOM_ALT
        sums.called += called
        sums.het += het
        sums.hom_alt += hom_alt
        if snv:
            carriers = het | hom_alt
            if transition:
                sums.ti += carriers
            else:
                sums.tv += carriers

        evaluated["missingness"] += 1
        if 1.0 - n_called / n > th.max_missing:
            failing["missingness"] += 1
            failed = True
        for tag, field_id, threshold, s_sum, s_n in (
            ("depth", "DP", th.min_dp, sums.dp_sum, sums.dp_n),
            ("gq", "GQ", th.min_gq, sums.gq_sum, sums.gq_n),
        ):
            # FORMAT/DP itself: cyvcf2's gt_depths falls back to the sum of AD, which counts
            # only the reads informative for an allele.
            values = _format_values(v, field_id) if has[field_id] else None
            if values is None:
                continue
            ok = called & (values >= 0)  # a missing value was made -1 by _format_values
            k = int(np.count_nonzero(ok))
            if not k:
                continue
            present = np.where(ok, values, 0)
            s_sum += present
            s_n += ok
            evaluated[tag] += 1
            if float(present.sum()) / k < threshold:
                failing[tag] += 1
                failed = True
        if has["AD"] and het.any():
            ref_d, alt_d = v.gt_ref_depths, v.gt_alt_depths
            use = het & (ref_d >= 0) & (alt_d >= 0)
            alt_sum = int(alt_d[use].sum())
            depth = alt_sum + int(ref_d[use].sum())
            if depth:
                evaluated["allele_balance"] += 1
                ab = alt_sum / depth
                if not th.min_ab <= ab <= th.max_ab:
                    failing["allele_balance"] += 1
                    failed = True
        if (
            biallelic
            and n_called >= th.hwe_min_genotypes
            and v.ploidy == 2
            and v.CHROM.removeprefix("chr") not in _NOT_AUTOSOMAL
        ):
            n_het = int(np.count_nonzero(het))
            n_hom_alt = int(np.count_nonzero(hom_alt))
            hwe_tested += 1
            evaluated["hwe"] += 1
            if hwe_exact(n_het, n_called - n_het - n_hom_alt, n_hom_alt) < th.min_hwe_p:
                failing["hwe"] += 1
                failed = True
        failing_any += failed

    rows = _samples(samples, sums, genotyped, th)
    samples_failing = {rule: sum(rule in r.failed for r in rows) for rule in SAMPLE_RULES}
    return QcReport(
        source=str(path),
        samples=n,
        variants=variants,
        pass_filter=pass_filter,
        snvs=snvs,
        indels=indels,
        multiallelic=multi,
        transitions=ti,
        transversions=tv,
        hwe_tested=hwe_tested,
        evaluated=evaluated,
        failing=failing,
        failing_any=failing_any,
        samples_failing=samples_failing,
        samples_failing_any=sum(bool(r.failed) for r in rows),
        thresholds=th,
        per_sample=rows if per_sample else None,
    )


def _samples(names: list[str], s: _Sums, variants: int, th: QcThresholds) -> list[SampleQc]:
    """Per-sample rows; ``variants`` counts the records that carry genotypes."""
    rows = []
    for i, name in enumerate(names):
        called, het, hom_alt = int(s.called[i]), int(s.het[i]), int(s.hom_alt[i])
        call_rate = called / variants if variants else None
        mean_dp = float(s.dp_sum[i] / s.dp_n[i]) if s.dp_n[i] else None
        mean_gq = float(s.gq_sum[i] / s.gq_n[i]) if s.gq_n[i] else None
        failed = []
        if call_rate is not None and call_rate < 1.0 - th.max_missing:
            failed.append("call_rate")
        if mean_dp is not None and mean_dp < th.min_dp:
            failed.append("depth")
        if mean_gq is not None and mean_gq < th.min_gq:
            failed.append("gq")
        rows.append(
            SampleQc(
                sample=name,
                called=called,
                missing=variants - called,
                call_rate=_round(call_rate, 6),
                het=het,
                hom_alt=hom_alt,
                het_hom_ratio=_round(het / hom_alt) if hom_alt else None,
                mean_dp=_round(mean_dp, 3),
                mean_gq=_round(mean_gq, 3),
                transitions=int(s.ti[i]),
                transversions=int(s.tv[i]),
                ti_tv=_round(float(s.ti[i] / s.tv[i])) if s.tv[i] else None,
                failed=failed,
            )
        )
    return rows
