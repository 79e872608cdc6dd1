"""Streaming VCF QC: counts on a hand-built 40-sample cohort whose answers are worked out by
hand, the Hardy–Weinberg exact test against exact enumeration, the Debian PyVCF files, broken
lines, and memory that stays flat however long the file."""

from __future__ import annotations

import gzip
import json
import math
import resource
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cardiofabric.cli.main import app
from cardiofabric.errors import InputError
from cardiofabric.genomics.qc import QcThresholds, hwe_exact, run_qc

PYVCF = Path("/usr/share/doc/python3-vcf/test")
needs_pyvcf = pytest.mark.skipif(
    not PYVCF.is_dir(),
    reason="Debian package python-pyvcf-examples is not installed (scripts/sysdeps.sh installs it)",
)

N = 40
# 10 hom-ref, 20 het, 10 hom-alt: exactly the Hardy–Weinberg proportions at p = 0.5.
BALANCED = ["0/0"] * 10 + ["0/1"] * 20 + ["1/1"] * 10
HEADER = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=1,length=1000000>\n"
    '##FILTER=<ID=LowQual,Description="Low quality">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">\n'
    '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
    + "\t".join(f"S{i:02d}" for i in range(N))
    + "\n"
)


def _record(
    pos: int,
    ref: str,
    alt: str,
    gts: list[str],
    *,
    dp: int | None = 30,
    gq: int = 50,
    het_ad: tuple[int, int] = (10, 10),
    filt: str = "PASS",
    chrom: str = "1",
) -> str:
    cols = [chrom, str(pos), ".", ref, alt, "50", filt, "."]
    if dp is None:
        return "\t".join([*cols, "GT", *gts])
    samples = []
    for gt in gts:
        if gt == "./.":
            samples.append("./.:.:.:.")
            continue
        ad = {"0/0": (dp, 0), "1/1": (0, dp)}.get(gt, het_ad)
        samples.append(f"{gt}:{dp}:{gq}:{ad[0]},{ad[1]}")
    return "\t".join([*cols, "GT:DP:GQ:AD", *samples])


def _cohort(offset: int = 0) -> list[str]:
    """Eight records, each failing at most one rule (r2 two), positions shifted by offset."""
    missing3 = ["./."] * 3 + BALANCED[3:]
    return [
        _record(offset + 100, "A", "G", BALANCED),  # r1: passes everything
        _record(offset + 200, "C", "A", BALANCED, dp=5, gq=10, het_ad=(3, 2)),  # r2: DP, GQ
        _record(offset + 300, "G", "A", BALANCED, het_ad=(18, 2)),  # r3: AB = 0.1
        _record(offset + 400, "T", "C", missing3),  # r4: 3/40 = 7.5% missing
        _record(offset + 500, "A", "T", ["0/0"] * 20 + ["1/1"] * 20),  # r5: no hets: HWE
        _record(offset + 600, "A", "G", BALANCED, filt="LowQual"),  # r6: FILTER
        _record(offset + 700, "AC", "A", BALANCED, dp=None),  # r7: indel, GT only
        _record(offset + 800, "A", "C,T", ["0/1"] * N, dp=None),  # r8: multiallelic
    ]


def _write(path: Path, records: list[str]) -> Path:
    path.write_text(HEADER + "".join(r + "\n" for r in records))
    return path


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    return _write(tmp_path / "cohort.vcf", _cohort())


def test_variant_counts_on_a_hand_built_cohort(cohort: Path) -> None:
    report = run_qc(cohort)
    assert (report.samples, report.variants, report.pass_filter) == (N, 8, 7)
    assert (report.snvs, report.indels, report.multiallelic) == (7, 1, 1)
    assert (report.transitions, report.transversions) == (4, 2)  # r1 r3 r4 r6 / r2 r5
    assert report.evaluated == {
        "filter": 8,
        "missingness": 8,
        "depth": 6,  # r7 and r8 carry no DP
        "gq": 6,
        "allele_balance": 5,  # r5 has no heterozygotes
        "hwe": 7,  # r8 is multiallelic
    }
    assert report.failing == {
        "filter": 1,
        "missingness": 1,
        "depth": 1,
        "gq": 1,
        "allele_balance": 1,
        "hwe": 1,
    }
    assert (report.failing_any, report.passing_all) == (5, 3)
    assert report.per_sample is None


def test_sample_rows_on_a_hand_built_cohort(cohort: Path) -> None:
    report = run_qc(cohort, per_sample=True)
    assert report.per_sample is not None and len(report.per_sample) == N
    rows = {r.sample: r for r in report.per_sample}
    # S00-S02 miss r4: called 7 of 8 = 0.875, under 1 - 0.05.
    assert rows["S00"].call_rate == 0.875 and rows["S00"].failed == ["call_rate"]
    assert report.samples_failing == {"call_rate": 3, "depth": 0, "gq": 0}
    assert report.samples_failing_any == 3
    het = rows["S15"]  # het in the balanced records, hom-ref at r5, het at r8
    assert (het.het, het.hom_alt, het.het_hom_ratio) == (7, 0, None)
    assert (het.transitions, het.transversions, het.ti_tv) == (4, 1, 4.0)
    assert het.mean_dp == pytest.approx((30 * 5 + 5) / 6, abs=1e-3)
    assert het.mean_gq == pytest.approx((50 * 5 + 10) / 6, abs=1e-3)
    alt = rows["S35"]  # hom-alt in the balanced records and at r5
    assert (alt.het, alt.hom_alt) == (1, 7)
    assert alt.het_hom_ratio == pytest.approx(1 / 7, abs=1e-4)
    assert (alt.transitions, alt.transversions, alt.ti_tv) == (4, 2, 2.0)


def test_thresholds_are_configurable(cohort: Path) -> None:
    loose = QcThresholds(min_gq=5, min_dp=5, min_ab=0.05, max_missing=0.1, min_hwe_p=1e-20)
    report = run_qc(cohort, loose)
    assert report.failing == {
        "filter": 1,
        "missingness": 0,
        "depth": 0,
        "gq": 0,
        "allele_balance": 0,
        "hwe": 0,
    }
    with pytest.raises(InputError, match="allele balance bounds"):
        QcThresholds(min_ab=0.9, max_ab=0.1)


def _hwe_by_enumeration(het: int, hom1: int, hom2: int) -> Fraction:
    """The exact test written out: P(n_AB | n, n_A) = 2^n_AB n! n_A! n_B! / (n_AA! n_AB! n_BB!
    (2n)!) (Wigginton et al. 2005, eq. 1), summed over outcomes no more likely than observed."""
    n, n_a = het + hom1 + hom2, 2 * hom1 + het
    n_b = 2 * n - n_a

    def prob(k: int) -> Fraction:
        aa = (n_a - k) // 2
        bb = n - k - aa
        num = 2**k * math.factorial(n) * math.factorial(n_a) * math.factorial(n_b)
        den = math.factorial(aa) * math.factorial(k) * math.factorial(bb)
        return Fraction(num, den * math.factorial(2 * n))

    ks = [k for k in range(n_a % 2, min(n_a, n_b) + 1, 2)]
    observed = prob(het)
    return sum((p for k in ks if (p := prob(k)) <= observed), Fraction(0))


@pytest.mark.parametrize(
    "counts", [(0, 20, 20), (20, 10, 10), (57, 14, 50), (1, 0, 30), (3, 1, 96), (0, 0, 5)]
)
def test_hwe_exact_matches_enumeration(counts: tuple[int, int, int]) -> None:
    assert hwe_exact(*counts) == pytest.approx(float(_hwe_by_enumeration(*counts)), rel=1e-9)


def test_hwe_exact_known_values() -> None:
    # 20 AA, 0 AB, 20 BB: 2^0 40! 40! 40! / (20! 0! 20! 80!) and rarer, by exact fractions.
    assert hwe_exact(0, 20, 20) == pytest.approx(1.2822073e-12, rel=1e-6)
    assert hwe_exact(20, 10, 10) == pytest.approx(1.0)
    assert hwe_exact(0, 0, 0) == 1.0


def test_a_broken_line_is_an_input_error_naming_it(tmp_path: Path) -> None:
    records = _cohort()
    records.insert(2, records[2].replace("\t300\t", "\tX\t"))  # header is 8 lines: line 11
    with pytest.raises(InputError, match=r"line 11: malformed VCF record: POS 'X'"):
        run_qc(_write(tmp_path / "bad.vcf", records))
    records = _cohort()
    records[4] = records[4].rsplit("\t", 2)[0]  # two sample columns short
    with pytest.raises(InputError, match=r"line 13: .*47 tab-separated columns, expected 49"):
        run_qc(_write(tmp_path / "short.vcf", records))


def test_a_missing_or_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        run_qc(tmp_path / "absent.vcf")
    (tmp_path / "junk.vcf").write_text("not a vcf\n")
    with pytest.raises(InputError, match="htslib cannot open"):
        run_qc(tmp_path / "junk.vcf")


def _lists(obj: object, where: str = "") -> list[str]:
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _lists(v, f"{where}/{k}")]
    return [where] if isinstance(obj, list) else []


def test_the_report_holds_counters_not_variants(tmp_path: Path) -> None:
    small = run_qc(_write(tmp_path / "small.vcf", _cohort()))
    records = [r for k in range(50) for r in _cohort(offset=k * 1000)]
    big = run_qc(_write(tmp_path / "big.vcf", records))
    assert big.variants == 50 * small.variants
    assert big.failing == {k: 50 * v for k, v in small.failing.items()}
    assert _lists(big.to_json()) == []  # nothing that grows with the records
    assert len(json.dumps(big.to_json())) - len(json.dumps(small.to_json())) < 40


@pytest.mark.slow
def test_memory_stays_flat_over_200k_records(tmp_path: Path) -> None:
    def write(path: Path, n: int) -> Path:
        with path.open("w") as fh:
            fh.write(HEADER)
            for k in range(n // 8):
                fh.writelines(r + "\n" for r in _cohort(offset=k * 1000))
        return path

    run_qc(write(tmp_path / "warm.vcf", 20_000))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, peak so far
    report = run_qc(write(tmp_path / "long.vcf", 200_000))
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert report.variants == 200_000
    assert grown_mib < 16, f"peak memory grew {grown_mib:.1f} MiB over 200k records"


@needs_pyvcf
def test_1kg_per_sample_call_rates_for_all_629_samples() -> None:
    path = PYVCF / "1kg.vcf.gz"
    report = run_qc(path, per_sample=True)
    assert report.samples == 629 and report.per_sample is not None
    assert len(report.per_sample) == 629
    # Counted independently from the text (the file is plain gzip, which pysam cannot seek).
    with gzip.open(path, "rt") as fh:
        lines = [ln.rstrip("\n").split("\t") for ln in fh if not ln.startswith("##")]
    header, records = lines[0], lines[1:]
    assert report.variants == len(records)
    row = report.per_sample[100]
    col = header.index(row.sample)
    called = sum("." not in r[col].split(":")[0] for r in records)
    assert row.call_rate == pytest.approx(called / len(records), abs=1e-6)
    assert all(r.call_rate is not None and 0 <= r.call_rate <= 1 for r in report.per_sample)
    assert report.evaluated["hwe"] > 0


@needs_pyvcf
def test_real_files_broken_and_sites_only() -> None:
    # strelka.vcf.gz line 55 has an empty sample column between two tabs.
    with pytest.raises(InputError, match=r"line 55: malformed VCF record: column 11 is empty"):
        run_qc(PYVCF / "strelka.vcf.gz")
    sites = run_qc(PYVCF / "1kg.sites.vcf.gz", per_sample=True)
    assert sites.samples == 0 and sites.variants > 0 and sites.per_sample == []
    no_gt = run_qc(PYVCF / "bcftools.vcf.gz")  # some records carry no GT
    assert no_gt.variants > 0


def test_cli_qc(cohort: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
    result = runner.invoke(app, ["variants", "qc", str(cohort), "--json", "--per-sample"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["failing_any"] == 5 and len(data["per_sample"]) == N
    assert data["thresholds"]["min_gq"] == 20.0 and "passing_all" in data

    result = runner.invoke(app, ["variants", "qc", str(cohort), "--per-sample", "--min-gq", "5"])
    assert result.exit_code == 0, result.output
    assert "allele_balance" in result.stdout and "S39" in result.stdout
    assert "samples failing: 3 of 40" in result.stdout

    result = runner.invoke(app, ["variants", "qc", str(cohort), "--min-ab", "0.9"])
    assert result.exit_code == 2 and "allele balance bounds" in result.stderr
