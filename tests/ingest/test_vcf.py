"""VCF adapter on real public files (Debian packages), BCF and bgzip, scale and broken input.

The real files come from Debian's ``python-pyvcf-examples`` (1000 Genomes, 629 samples, and
the PyVCF test files) and ``vcfanno-examples`` (a Platinum Genomes trio); ``scripts/sysdeps.sh``
installs them. Calls are checked against ``bcftools query`` (htslib's own command line), which
decodes every genotype independently of cyvcf2.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, SourceReport, get_adapter
from cardiofabric.pathfinder.cohort import SITES, simulate_network
from cardiofabric.pathfinder.writers.vcf import write_vcf

PYVCF = Path("/usr/share/doc/python3-vcf/test")
TRIO = Path("/usr/share/doc/vcfanno-examples/example/query.vcf.gz")
needs_pyvcf = pytest.mark.skipif(
    not PYVCF.is_dir(),
    reason="Debian package python-pyvcf-examples is not installed (scripts/sysdeps.sh installs it)",
)
needs_trio = pytest.mark.skipif(
    not TRIO.is_file(),
    reason="Debian package vcfanno-examples is not installed (scripts/sysdeps.sh installs it)",
)
needs_bcftools = pytest.mark.skipif(
    shutil.which("bcftools") is None,
    reason="bcftools is not installed (scripts/sysdeps.sh installs it)",
)

Calls = dict[str, set[tuple[str, int, str, str]]]


def read(path: Path, **options: object) -> tuple[list[ModalityRecord], SourceReport]:
    report = SourceReport(source=str(path), format="vcf")
    ctx = SourceContext(site="s", options=dict(options), report=report)
    return list(get_adapter("vcf").read(path, ctx)), report


def ours(records: list[ModalityRecord]) -> Calls:
    """Per sample: (chrom, pos, alt, genotype) of every variant row."""
    return {
        r.local_id: {(v["chrom"], v["pos"], v["alt"], v["genotype"]) for v in r.content["variant"]}
        for r in records
    }


def bcftools_calls(path: Path) -> Calls:
    """The same, from ``bcftools query``: every called alternate allele of every sample."""
    fmt = "[%SAMPLE\t%CHROM\t%POS\t%ALT\t%GT\n]"
    out = subprocess.run(
        ["bcftools", "query", "-f", fmt, str(path)], capture_output=True, text=True, check=True
    ).stdout
    calls: Calls = defaultdict(set)
    for line in out.splitlines():
        sample, chrom, pos, alts, gt = line.split("\t")
        for a in {int(x) for x in re.split(r"[/|]", gt) if x.isdigit() and int(x) > 0}:
            calls[sample].add((chrom.removeprefix("chr"), int(pos), alts.split(",")[a - 1], gt))
    return dict(calls)


@needs_pyvcf
@needs_bcftools
def test_1000_genomes_calls_match_bcftools() -> None:
    path = PYVCF / "1kg.vcf.gz"
    recs, report = read(path)
    assert report.read == 381 and not report.rejected
    assert len(recs) == 629  # every sample carries something
    assert ours(recs) == bcftools_calls(path)
    # The payload: one single-sample record per non-reference site, the sample renamed.
    for r in recs[:25]:
        text = r.payloads[0].data.decode()
        body = [ln for ln in text.splitlines() if not ln.startswith("#")]
        assert len(body) == len({(c, p) for c, p, _, _ in ours([r])[r.local_id]})
        assert r.local_id not in text and all(len(ln.split("\t")) == 10 for ln in body)


@needs_trio
@needs_bcftools
def test_platinum_trio_calls_build_and_sample_map(tmp_path: Path) -> None:
    recs, report = read(TRIO)
    assert ours(recs) == bcftools_calls(TRIO)
    assert {r.local_id for r in recs} == {"NA12877", "NA12889", "NA12890"}
    rows = [v for r in recs for v in r.content["variant"]]
    assert {v["build"] for v in rows} == {"GRCh37"}  # ##reference=.../human_g1k_v37.fasta
    assert recs[0].time == "2014-08-30"  # ##fileDate
    assert {"heterozygous", "homozygous"} <= {v["zygosity"] for v in rows}
    # A sample map names the patients; samples not in it are reported, not ingested.
    map_file = tmp_path / "samples.tsv"
    map_file.write_text("# sample\tpatient\nNA12877\tMRN-77\n")
    mapped, report = read(TRIO, sample_map_file=str(map_file))
    assert [r.local_id for r in mapped] == ["MRN-77"]
    assert sorted(r.record for r in report.rejected) == ["sample NA12889", "sample NA12890"]
    by_sample = {r.local_id: r for r in recs}
    assert mapped[0].content == by_sample["NA12877"].content
    with pytest.raises(InputError, match="none of the VCF's samples"):
        read(TRIO, sample_map={"someone": "x"})


@needs_pyvcf
@needs_bcftools
@pytest.mark.parametrize(
    "name",
    [
        "example-4.0.vcf",
        "example-4.1.vcf",
        "example-4.1-ploidy.vcf",
        "example-4.1-sv.vcf",
        "freebayes.vcf.gz",
        "gatk.vcf.gz",
        "FT.vcf.gz",
        "bad-info-character.vcf",
        "info-type-character.vcf",
        "uncalled_genotypes.vcf",
        "samtools.vcf",
        "walk_left.vcf",
        "bcftools.vcf.gz",  # PL without GT: nothing called
        "issue-16.vcf",
        "strelka.vcf.gz",  # empty sample columns: rejected records
        "issue-254.vcf",
    ],
)
def test_pyvcf_files_agree_with_bcftools(name: str) -> None:
    recs, report = read(PYVCF / name)
    assert ours(recs) == {k: v for k, v in bcftools_calls(PYVCF / name).items() if v}
    for rej in report.rejected:
        assert re.fullmatch(r"line \d+", rej.record) and "VCF 4.3" in rej.reason


@needs_pyvcf
def test_haploid_calls_are_hemizygous() -> None:
    recs, _ = read(PYVCF / "example-4.1-ploidy.vcf")  # NA00001 carries nothing
    zyg = {(r.local_id, v["pos"]): v["zygosity"] for r in recs for v in r.content["variant"]}
    assert zyg[("NA00002", 60378)] == "hemizygous"
    assert zyg[("NA00003", 60034)] == "homozygous"  # 1/1/1: triploid, all alternate


@needs_pyvcf
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("1kg.sites.vcf.gz", "no sample columns"),
        ("example-4.2.vcf.gz", "tab-separated"),  # spaces in the #CHROM line
        ("metadata-whitespace.vcf.gz", "cannot open"),
    ],
)
def test_unusable_pyvcf_files_are_one_clear_error(name: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read(PYVCF / name)


@needs_pyvcf
def test_spilling_to_disk_gives_the_same_records() -> None:
    path = PYVCF / "1kg.vcf.gz"
    in_memory, _ = read(path)
    spilled, _ = read(path, memory_mb=0.05)  # a 50 kB budget: spills hundreds of times
    assert [(r.local_id, r.content, r.payloads[0].data) for r in spilled] == [
        (r.local_id, r.content, r.payloads[0].data) for r in in_memory
    ]


@pytest.fixture(scope="module")
def site_vcf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    patients = [p for p in simulate_network(40, seed=5, sites=SITES[:1])["nl-amsterdam"]]
    for p in patients:
        p.has_vcf = True
    path = tmp_path_factory.mktemp("vcf") / "site.vcf.gz"
    write_vcf(patients, path, SITES[0], seed=5)
    return path


def test_bcf_plain_and_bgzipped_vcf_read_alike(site_vcf: Path, tmp_path: Path) -> None:
    import pysam

    reference, _ = read(site_vcf)
    for mode, name in (("wb", "site.bcf"), ("w", "site.vcf")):
        with (
            pysam.VariantFile(str(site_vcf)) as src,
            pysam.VariantFile(str(tmp_path / name), mode, header=src.header) as dst,
        ):
            for rec in src:
                dst.write(rec)
        got, report = read(tmp_path / name)
        assert not report.rejected
        assert [(r.local_id, r.content) for r in got] == [
            (r.local_id, r.content) for r in reference
        ]


def _text(path: Path) -> list[str]:
    with gzip.open(path, "rt") as fh:
        return fh.read().splitlines()


def test_broken_lines_are_rejected_with_their_line_numbers(site_vcf: Path, tmp_path: Path) -> None:
    lines = _text(site_vcf)
    first = next(i for i, ln in enumerate(lines) if not ln.startswith("#"))
    broken = list(lines)
    broken[first + 2] = "\t".join(lines[first + 2].split("\t")[:5])  # cut short
    cols = lines[first + 5].split("\t")
    broken[first + 5] = "\t".join([cols[0], "12x", *cols[2:]])  # POS not a number
    path = tmp_path / "broken.vcf"
    path.write_text("\n".join(broken) + "\n")
    recs, report = read(path)
    assert [r.record for r in report.rejected] == [f"line {first + 3}", f"line {first + 6}"]
    assert "5 tab-separated columns" in report.rejected[0].reason
    assert "'12x' is not a position" in report.rejected[1].reason
    good, _ = read(site_vcf)
    total = sum(len(r.content["variant"]) for r in good)
    assert sum(len(r.content["variant"]) for r in recs) < total
    assert report.read == len(lines) - first


def test_damaged_files_are_one_clear_error(site_vcf: Path, tmp_path: Path) -> None:
    data = site_vcf.read_bytes()
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(data[: len(data) // 2])  # a bgzip file cut in transfer
    with pytest.raises(InputError, match="damaged or truncated"):
        read(cut)
    plain = tmp_path / "plain.vcf.gz"
    raw = gzip.compress("\n".join(_text(site_vcf)).encode() + b"\n")
    plain.write_bytes(raw[: len(raw) - 100])  # plain gzip, no BGZF end-of-file block
    with pytest.raises(InputError, match="damaged or truncated"):
        read(plain)
    header = [ln for ln in _text(site_vcf) if ln.startswith("#")]
    garbage = tmp_path / "garbage.vcf"
    garbage.write_text("\n".join(header + ["not\ta\tvariant"] * 30) + "\n")
    with pytest.raises(InputError, match="cannot read past line"):
        read(garbage)


# Peak memory of the reading process itself: VmHWM of /proc/self/status (Linux). getrusage's
# ru_maxrss would not do: Linux carries the parent's peak across fork and exec.
_PEAK = """
import sys
from pathlib import Path
from cardiofabric.ingest.base import SourceContext, get_adapter
ctx = SourceContext(site="s", options={"memory_mb": float(sys.argv[2])})
n = rows = 0
for rec in get_adapter("vcf").read(Path(sys.argv[1]), ctx):  # one record at a time
    n, rows = n + 1, rows + len(rec.content["variant"])
hwm = next(ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")).split()[1]
print(n, rows, hwm)
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_many_samples_stream_in_bounded_memory(tmp_path: Path) -> None:
    """2,000 samples x 2,000 variants (1.1 M calls): same records, a fraction of the memory."""
    import sys

    import pysam

    rng = np.random.default_rng(1)
    n_samples, n_variants = 2000, 2000
    head = [
        "##fileformat=VCFv4.3",
        "##contig=<ID=1,length=248956422>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "".join(f"\tS{i:05d}" for i in range(n_samples)),
    ]
    gts = np.array(["0|0", "0|1", "1|0", "1|1"])
    text = tmp_path / "big.vcf"
    with text.open("w") as fh:
        fh.write("\n".join(head) + "\n")
        for j in range(n_variants):
            af = rng.uniform(0.01, 0.3)
            a = (rng.random(n_samples) < af).astype(int) + 2 * (rng.random(n_samples) < af)
            fh.write(f"1\t{1000 + 10 * j}\t.\tA\tG\t50\tPASS\t.\tGT\t" + "\t".join(gts[a]) + "\n")
    path = tmp_path / "big.vcf.gz"
    pysam.tabix_compress(str(text), str(path), force=True)

    def peak(memory_mb: float) -> tuple[int, int, int]:
        """Records, rows and peak resident memory (kB) of reading as the pipeline does."""
        proc = subprocess.run(
            [sys.executable, "-c", _PEAK, str(path), str(memory_mb)],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        n, rows, rss = proc.stdout.split()
        return int(n), int(rows), int(rss)

    n_small, rows_small, rss_small = peak(4)
    n_large, rows_large, rss_large = peak(4096)
    assert (n_small, rows_small) == (n_large, rows_large) and n_small == n_samples
    assert rss_small < rss_large / 2  # measured: 81 MB against 363 MB
