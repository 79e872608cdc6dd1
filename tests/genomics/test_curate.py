"""VCF normalisation (bcftools norm through pysam) and the build check, on small files whose
right answer is worked out by hand against a 47-base reference."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pysam
import pytest
from typer.testing import CliRunner

from cardiofabric.cli.main import app
from cardiofabric.errors import InputError
from cardiofabric.genomics.curate import check_builds, normalise, read_build

# 1 G, 2 A, 3 T, 4 T, 5 A, ..., 12-20 ACACACACA (a dinucleotide repeat), 30-35 AAATTT.
SEQ = "GATTACAGATTACACACACAGGGTTTCCCAAATTTGGGCCCAAATTT"
HEADER = (
    "##fileformat=VCFv4.2\n"
    "{contigs}"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
)


def _vcf(path: Path, records: list[str], contigs: str = "##contig=<ID=1,length=47>\n") -> Path:
    path.write_text(HEADER.format(contigs=contigs) + "".join(r + "\n" for r in records))
    return path


def _records(path: Path) -> list[str]:
    with gzip.open(path, "rt") as fh:
        return [line.rstrip("\n") for line in fh if not line.startswith("#")]


@pytest.fixture
def fasta(tmp_path: Path) -> Path:
    ref = tmp_path / "ref.fa"
    ref.write_text(f">1\n{SEQ}\n")
    pysam.faidx(str(ref))
    return ref


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    return _vcf(
        tmp_path / "in.vcf",
        [
            "1\t2\t.\tA\tC,T\t.\tPASS\t.\tGT\t1/2",  # multiallelic
            "1\t5\t.\tA\tT\t.\tPASS\t.\tGT\t0/1",  # already normal
            "1\t18\t.\tACA\tA\t.\tPASS\t.\tGT\t0/1",  # deletes CA at the right of the repeat
            "1\t31\t.\tAATT\tAGTT\t.\tPASS\t.\tGT\t0/1",  # an SNV padded on both sides
        ],
    )


def test_split_and_left_align_give_the_expected_records(
    tmp_path: Path, fasta: Path, messy: Path
) -> None:
    out = tmp_path / "out" / "norm.vcf.gz"
    report = normalise(messy, out, fasta=fasta)
    assert _records(out) == [
        # -m -any: one record per ALT, genotype 1/2 becoming 1/0 and 0/1
        "1\t2\t.\tA\tC\t.\tPASS\t.\tGT\t1/0",
        "1\t2\t.\tA\tT\t.\tPASS\t.\tGT\t0/1",
        "1\t5\t.\tA\tT\t.\tPASS\t.\tGT\t0/1",
        # deleting any AC unit of ACACACACA (12-20) is one event: leftmost, anchored on T at 11
        "1\t11\t.\tTAC\tT\t.\tPASS\t.\tGT\t0/1",
        # the shared A..TT trimmed away: A>G at 32
        "1\t32\t.\tA\tG\t.\tPASS\t.\tGT\t0/1",
    ]
    assert (report.records_read, report.split, report.realigned) == (4, 1, 2)
    assert report.output == str(out) and report.index == str(out) + ".tbi"
    assert report.ref_mismatches == 0 and report.unknown_contigs == []
    with pysam.TabixFile(str(out)) as tbx:  # bgzipped and indexed
        assert len(list(tbx.fetch("1", 10, 20))) == 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["norm.vcf.gz", "norm.vcf.gz.tbi"]


def test_normalise_is_repeatable_byte_for_byte(tmp_path: Path, fasta: Path, messy: Path) -> None:
    out = tmp_path / "norm.vcf.gz"
    normalise(messy, out, fasta=fasta)
    first = out.read_bytes()
    normalise(messy, out, fasta=fasta)
    assert out.read_bytes() == first


def test_without_a_fasta_only_splits(tmp_path: Path, messy: Path) -> None:
    out = tmp_path / "split.vcf.gz"
    report = normalise(messy, out)
    assert [r.split("\t")[1] for r in _records(out)] == ["2", "2", "5", "18", "31"]
    assert (report.split, report.realigned, report.reference) == (1, 0, None)


def test_a_ref_that_differs_from_the_fasta_is_an_error(tmp_path: Path, fasta: Path) -> None:
    vcf = _vcf(tmp_path / "bad.vcf", ["1\t5\t.\tG\tT\t.\tPASS\t.\tGT\t0/1"])
    out = tmp_path / "out.vcf.gz"
    with pytest.raises(InputError) as err:
        normalise(vcf, out, fasta=fasta)
    text = str(err.value)
    assert "REF does not match the reference FASTA at 1:5" in text
    assert "'G'" in text and "'A'" in text and "--check-ref" in text
    assert list(tmp_path.glob("out*")) == [] and list(tmp_path.glob(".out*")) == []


@pytest.mark.parametrize(
    ("mode", "kept"),
    [("warn", ["G"]), ("exclude", []), ("set", ["A"])],
)
def test_check_ref_modes_report_mismatches(
    tmp_path: Path, fasta: Path, mode: Any, kept: list[str]
) -> None:
    vcf = _vcf(tmp_path / "bad.vcf", ["1\t5\t.\tG\tT\t.\tPASS\t.\tGT\t0/1"])
    out = tmp_path / "out.vcf.gz"
    report = normalise(vcf, out, fasta=fasta, check_ref=mode)
    assert report.ref_mismatches == 1
    assert [r.split("\t")[3] for r in _records(out)] == kept
    if mode == "warn":
        assert report.ref_mismatch_examples == ["1:5 VCF G FASTA A"]


def test_a_record_on_a_contig_the_fasta_lacks_is_a_clear_error(tmp_path: Path, fasta: Path) -> None:
    contigs = "##contig=<ID=1,length=47>\n##contig=<ID=chr7,length=47>\n"
    vcf = _vcf(tmp_path / "c.vcf", ["chr7\t5\t.\tA\tT\t.\tPASS\t.\tGT\t0/1"], contigs)
    with pytest.raises(InputError, match=r"contig 'chr7' \(first record at chr7:5\) is not in"):
        normalise(vcf, tmp_path / "out.vcf.gz", fasta=fasta)


def test_contigs_declared_but_unused_are_reported(tmp_path: Path, fasta: Path) -> None:
    contigs = "##contig=<ID=1,length=47>\n##contig=<ID=chrUn,length=47>\n"
    vcf = _vcf(tmp_path / "c.vcf", ["1\t5\t.\tA\tT\t.\tPASS\t.\tGT\t0/1"], contigs)
    report = normalise(vcf, tmp_path / "out.vcf.gz", fasta=fasta)
    assert report.unknown_contigs == ["chrUn"]


def test_the_output_must_be_named_vcf_gz(tmp_path: Path, messy: Path) -> None:
    with pytest.raises(InputError, match=r"should end in \.vcf\.gz"):
        normalise(messy, tmp_path / "out.vcf")


GRCH37 = "##contig=<ID=1,length=249250621>\n"
GRCH38 = "##contig=<ID=chr1,length=248956422>\n"


def test_the_build_is_detected_and_recorded(tmp_path: Path) -> None:
    vcf = _vcf(tmp_path / "b37.vcf", ["1\t5\t.\tA\tT\t.\tPASS\t.\tGT\t0/1"], GRCH37)
    assert read_build(vcf) == ("GRCh37", ["1"])
    report = normalise(vcf, tmp_path / "b37.vcf.gz")
    assert report.build == "GRCh37"


def test_mixed_builds_are_refused(tmp_path: Path) -> None:
    a = _vcf(tmp_path / "a.vcf", ["1\t5\t.\tA\tT\t.\tPASS\t.\tGT\t0/1"], GRCH37)
    b = _vcf(tmp_path / "b.vcf", ["chr1\t5\t.\tA\tT\t.\tPASS\t.\tGT\t0/1"], GRCH38)
    c = _vcf(tmp_path / "c.vcf", ["1\t5\t.\tA\tT\t.\tPASS\t.\tGT\t0/1"])  # build unknown
    assert check_builds([a, c]) == "GRCh37"
    assert check_builds([c]) is None
    with pytest.raises(InputError, match="different genome builds") as err:
        check_builds([a, b, c])
    assert "GRCh37: " in str(err.value) and "GRCh38: " in str(err.value)


def test_cli_normalise(tmp_path: Path, fasta: Path, messy: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
    out = tmp_path / "cli.vcf.gz"
    result = runner.invoke(
        app, ["variants", "normalise", str(messy), "-o", str(out), "--fasta", str(fasta), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["split"], data["realigned"], data["output"]) == (1, 2, str(out))

    result = runner.invoke(app, ["variants", "normalise", str(messy), "-o", str(out)])
    assert result.exit_code == 0 and "1 split" in result.stdout

    bad = _vcf(tmp_path / "bad.vcf", ["1\t5\t.\tG\tT\t.\tPASS\t.\tGT\t0/1"])
    args = ["variants", "normalise", str(bad), "-o", str(out), "-f", str(fasta)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "REF does not match" in result.stderr
    result = runner.invoke(app, [*args, "--check-ref", "maybe"])
    assert result.exit_code == 2 and "--check-ref must be" in result.stderr
