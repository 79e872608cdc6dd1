"""Polygenic risk scores: PGS Catalog scoring files, pgsc_calc's matching rules, the CLI.

The hand-built VCF and score cover every matching rule; the expected scores are worked out by
hand beside each row. The Pathfinder network checks the scores against the cohort's truth.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from cardiofabric.cli.main import app
from cardiofabric.errors import InputError
from cardiofabric.genomics import pgs
from cardiofabric.genomics.prs import Reference, read_reference, score_vcf
from cardiofabric.pathfinder.cohort import PGS_SNPS, SITES, simulate_network
from cardiofabric.pathfinder.writers.pgs import write_pgs_scoring_file
from cardiofabric.pathfinder.writers.vcf import GRCH38_CONTIGS, write_vcf

GRCH38_CHR1 = 248956422

# --------------------------------------------------------------------------------------------
# the hand-built case: three samples, one record per rule

VCF_HEADER = f"""##fileformat=VCFv4.2
##contig=<ID=chr1,length={GRCH38_CHR1}>
##contig=<ID=chr2,length=242193529>
##contig=<ID=chrX,length=156040895>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=DS,Number=A,Type=Float,Description="Alternate allele dosage">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\ts3
"""
# chrom, pos, ref, alt, format, s1, s2, s3 — and the effect allele dosages the score sees
VCF_RECORDS = [
    ("chr1", 100, "A", "G", "GT", "0/0", "0/1", "1/1"),  # altref: G = 0, 1, 2
    ("chr1", 200, "C", "T", "GT", "0/0", "0/1", "1/1"),  # refalt: C = 2, 1, 0
    ("chr1", 300, "A", "C", "GT", "0/1", "1/1", "0/0"),  # altref_flip: 1, 2, 0
    ("chr1", 400, "G", "A", "GT", "0/0", "0/1", "1/1"),  # refalt_flip: 2, 1, 0
    ("chr1", 500, "A", "T", "GT", "0/1", "0/0", "1/1"),  # A/T: kept → altref T = 1, 0, 2
    ("chr1", 600, "G", "C", "GT", "1/1", "0/1", "0/0"),  # C/G: kept → refalt G = 0, 1, 2
    ("chr1", 700, "A", "AT", "GT", "0/1", "0/1", "0/1"),  # indel: the score's G/A never matches
    ("chr1", 800, "A", "C", "GT", "0/1", "0/1", "0/1"),  # same position, wrong alleles ...
    ("chr1", 800, "A", "G", "GT", "1/1", "0/0", "0/1"),  # ... this one matches: 2, 0, 1
    ("chr2", 100, "A", "G,C", "GT", "0/2", "1/2", "2/2"),  # split: C = 1, 1, 2; G = 0, 1, 0
    ("chr2", 200, "A", "G", "GT", "0/1", "./.", "1/1"),  # s2 imputed 2 × 0.25 (score's AF)
    ("chr2", 300, "C", "T", "GT", "0/1", "1/1", "./."),  # s3 imputed 2 × 3/4 (sample set)
    ("chr2", 400, "A", "G", "GT:DS", "0/1:0.75", "0/0:0.25", "1/1:1.5"),  # DS wins over GT
    ("chr2", 500, "C", "T", "GT", "0/0", "0/1", "0/1"),  # alt_no_oa: 0, 1, 1
    ("chr2", 600, "G", "A", "GT", "0/1", "0/1", "1/1"),  # ref_no_oa: G = 1, 1, 0
    ("chrX", 100, "A", "G", "GT", "1", "0", "0/1"),  # haploid calls count once: 1, 0, 1
]
SCORE_HEADER = """###PGS CATALOG SCORING FILE - see https://www.pgscatalog.org/downloads/#dl_ftp_scoring
#format_version=2.0
##POLYGENIC SCORE (PGS) INFORMATION
#pgs_id=PGS_TEST
#pgs_name=hand_built
#genome_build=GRCh38
#variants_number=17
#weight_type=beta
"""
SCORE_COLUMNS = "rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\t"
SCORE_COLUMNS += "allelefrequency_effect"
# rsID, chrom, pos, effect, other, weight, allelefrequency_effect
SCORE_ROWS = [
    ("rs1", "1", 100, "G", "A", 0.5, ""),
    ("rs2", "1", 200, "C", "T", 0.2, ""),
    ("rs3", "1", 300, "G", "T", 1.0, ""),  # complements C/A: ALT/REF on the other strand
    ("rs4", "1", 400, "C", "T", -0.3, ""),  # complements G/A: REF/ALT on the other strand
    ("rs5", "1", 500, "T", "A", 0.4, ""),
    ("rs6", "1", 600, "G", "C", 0.7, ""),
    ("rs7", "1", 700, "G", "A", 9.0, ""),
    ("rs8", "1", 800, "G", "A", 0.3, ""),
    ("rs9", "2", 100, "C", "A", 0.6, ""),
    ("rs10", "2", 100, "G", "A", 0.1, ""),
    ("rs11", "2", 200, "G", "A", 2.0, "0.25"),
    ("rs12", "2", 300, "T", "C", 1.0, ""),
    ("rs13", "2", 400, "G", "A", 1.0, ""),
    ("rs14", "2", 500, "T", "", 0.5, ""),
    ("rs15", "2", 600, "G", "", 0.25, ""),
    ("rs16", "3", 100, "A", "G", 5.0, ""),  # no record on chromosome 3
    ("rs17", "X", 100, "G", "A", 0.5, ""),
]
# By hand, Σ weight × dosage over the matched rows (ambiguous rs5, rs6 excluded):
#   s1 = 0 + .4 + 1 − .6 + .6 + 0 + 2 + 1 + .75 + 0 + .25 + .6 + .5 = 6.5
#   s2 = .5 + .2 + 2 − .3 + .6 + .1 + 1 + 2 + .25 + .5 + .25 + 0 + 0 = 7.1
#   s3 = 1 + 0 + 0 + 0 + 1.2 + 0 + 4 + 1.5 + 1.5 + .5 + 0 + .3 + .5 = 10.5
# (rs8 .3 × (2, 0, 1); rs9 .6 × (1, 1, 2); rs10 .1 × (0, 1, 0); rs11 2 × (1, .5, 2);
#  rs12 1 × (1, 2, 1.5); rs13 DS; rs14 .5 × (0, 1, 1); rs15 .25 × (1, 1, 0); rs17 .5 × (1, 0, 1))
RAW = {"s1": 6.5, "s2": 7.1, "s3": 10.5}
# Keeping them adds rs5 .4 × (1, 0, 2) and rs6 .7 × (0, 1, 2).
RAW_KEPT = {"s1": 6.9, "s2": 7.8, "s3": 12.7}


def write_vcf_text(path: Path, records: list[tuple[Any, ...]] = VCF_RECORDS) -> Path:
    lines = [
        "\t".join([c, str(p), ".", r, a, ".", "PASS", ".", *rest]) for c, p, r, a, *rest in records
    ]
    path.write_text(VCF_HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_score(
    path: Path,
    rows: list[tuple[Any, ...]] = SCORE_ROWS,
    *,
    header: str = SCORE_HEADER,
    columns: str = SCORE_COLUMNS,
) -> Path:
    body = "\n".join("\t".join(str(v) for v in row) for row in rows)
    text = header + columns + "\n" + body + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def case(tmp_path: Path) -> tuple[Path, Path]:
    return write_vcf_text(tmp_path / "cohort.vcf"), write_score(tmp_path / "PGS_TEST.txt.gz")


def raw_of(result: Any) -> dict[str, float]:
    return {s.sample: s.raw for s in result.samples}


# --------------------------------------------------------------------------------------------
# the scoring file


def test_reads_the_header_and_the_columns(case: tuple[Path, Path]) -> None:
    sf = pgs.read(case[1])
    assert (sf.pgs_id, sf.genome_build, sf.weight_type, len(sf)) == (
        "PGS_TEST",
        "GRCh38",
        "beta",
        17,
    )
    assert sf.metadata["format_version"] == "2.0" and not sf.harmonised
    assert sf.label(13) == "2:500:T:?"  # no other allele
    assert sf.effect_allele_frequency[10] == 0.25 and math.isnan(sf.effect_allele_frequency[0])


def test_harmonised_columns_replace_the_authors_positions(tmp_path: Path) -> None:
    # The author's GRCh37 positions are wrong for this VCF; hm_chr/hm_pos are GRCh38, and
    # hm_inferOtherAllele stands in for the missing other allele ("A/C" is not one allele).
    cols = "rsID\tchr_name\tchr_position\teffect_allele\teffect_weight\thm_chr\thm_pos\t"
    cols += "hm_inferOtherAllele"
    rows = [
        ("rs1", "1", 99, "G", 0.5, "1", 100, "A"),
        ("rs2", "1", 199, "C", 0.2, "1", 200, "T"),
        ("rs3", "1", 399, "C", -0.3, "1", 400, "T/G"),  # → no other allele: C is no allele here
        ("rs4", "1", 799, "G", 0.3, "", "", "A"),  # harmonisation failed: cannot match
    ]
    header = SCORE_HEADER.replace("#genome_build=GRCh38", "#genome_build=GRCh37")
    header += "##HARMONIZATION DETAILS\n#HmPOS_build=GRCh38\n"
    score = write_score(tmp_path / "hm.txt", rows, header=header, columns=cols)
    sf = pgs.read(score)
    assert sf.harmonised and sf.genome_build == "GRCh38"
    assert list(sf.other_allele) == ["A", "T", None, "A"]
    result = score_vcf(write_vcf_text(tmp_path / "c.vcf"), sf, min_match=0.5)
    assert result.match.by_rule["altref"] == 1 and result.match.by_rule["refalt"] == 1
    assert result.match.unmatched == 2
    assert raw_of(result) == pytest.approx({"s1": 0.4, "s2": 0.7, "s3": 1.0})


def test_missing_columns_name_the_file_what_was_found_and_expected(tmp_path: Path) -> None:
    score = write_score(
        tmp_path / "bad.txt", [("rs1", "G", 0.5)], columns="rsID\teffect_allele\tbeta"
    )
    with pytest.raises(InputError) as err:
        pgs.read(score)
    text = str(err.value)
    assert "bad.txt" in text and "found rsID, effect_allele, beta" in text
    assert "expected effect_allele, effect_weight and chr_name + chr_position" in text
    assert "hmPOS" in text  # rsID only: the hint names the harmonised download


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("is_dominant", "TRUE"),
        ("is_recessive", "True"),
        ("is_haplotype", "TRUE"),
        ("dosage_2_weight", "0.3"),
    ],
)
def test_non_additive_scores_are_refused(tmp_path: Path, column: str, value: str) -> None:
    rows = [(*row[:6], "FALSE" if column.startswith("is_") else "") for row in SCORE_ROWS[:3]]
    rows.append((*SCORE_ROWS[3][:6], value))
    cols = SCORE_COLUMNS.replace("allelefrequency_effect", column)
    score = write_score(tmp_path / "nonadd.txt", rows, columns=cols)
    with pytest.raises(InputError, match=rf"line 13: {column}={value}: only additive"):
        pgs.read(score)


def test_bad_weights_and_damaged_files_are_input_errors(tmp_path: Path) -> None:
    rows = [("rs1", "1", 100, "G", "A", "heavy", "")]
    with pytest.raises(InputError, match="line 10: effect_weight 'heavy' is not a number"):
        pgs.read(write_score(tmp_path / "w.txt", rows))
    broken = tmp_path / "broken.txt.gz"
    broken.write_bytes(gzip.compress(b"#pgs_id=X\n" * 1000)[:40])
    with pytest.raises(InputError, match="cannot read the scoring file"):
        pgs.read(broken)
    with pytest.raises(InputError, match="no such scoring file"):
        pgs.read(tmp_path / "absent.txt")


# --------------------------------------------------------------------------------------------
# matching and scoring


def test_every_matching_rule_and_the_scores_by_hand(case: tuple[Path, Path]) -> None:
    result = score_vcf(*case)
    m = result.match
    assert m.by_rule == {
        "refalt": 1,  # rs2
        "altref": 8,  # rs1, rs8, rs9, rs10, rs11, rs12, rs13, rs17
        "refalt_flip": 1,  # rs4
        "altref_flip": 1,  # rs3
        "ref_no_oa": 1,  # rs15
        "alt_no_oa": 1,  # rs14
    }
    assert (m.variants_in_score, m.matched, m.excluded_ambiguous, m.unmatched) == (17, 13, 2, 2)
    assert m.match_rate == pytest.approx(13 / 17)
    assert m.unmatched_examples == ["1:700:G:A", "3:100:A:G"]
    assert raw_of(result) == pytest.approx(RAW, abs=1e-12)
    used = {s.sample: (s.variants_used, s.variants_imputed) for s in result.samples}
    assert used == {"s1": (13, 0), "s2": (12, 1), "s3": (12, 1)}
    imp = result.match.imputation
    assert imp["frequency_from"] == "allelefrequency_effect and sample set"
    assert imp["genotypes_imputed_from_allelefrequency_effect"] == 1
    assert imp["genotypes_imputed_from_sample_set"] == 1
    # z against the scored samples themselves (population SD), and the output says so
    raw = np.array(list(RAW.values()))
    z = (raw - raw.mean()) / raw.std()
    assert [s.z for s in result.samples] == pytest.approx(list(z))
    assert result.reference.kind == "sample set" and result.reference.n == 3
    assert result.genome_build == {"score": "GRCh38", "vcf": "GRCh38"}


def test_ambiguous_snps_can_be_kept(case: tuple[Path, Path]) -> None:
    result = score_vcf(*case, keep_ambiguous=True)
    assert result.match.excluded_ambiguous == 0
    assert result.match.by_rule["altref"] == 9 and result.match.by_rule["refalt"] == 2
    assert raw_of(result) == pytest.approx(RAW_KEPT, abs=1e-12)


def test_below_the_minimum_match_rate_is_refused(case: tuple[Path, Path]) -> None:
    with pytest.raises(InputError) as err:
        score_vcf(*case, min_match=0.8)
    text = str(err.value)
    assert "only 13 of 17 variants of PGS_TEST matched (76.5%" in text
    assert "2 ambiguous excluded, 2 unmatched), below the minimum 80%" in text
    assert "cohort.vcf" in text


def test_a_score_on_another_build_is_refused(tmp_path: Path) -> None:
    header = SCORE_HEADER.replace("GRCh38", "hg19")
    score = write_score(tmp_path / "PGS_TEST.txt", header=header)
    with pytest.raises(InputError, match="on GRCh37 but the VCF is on GRCh38") as err:
        score_vcf(write_vcf_text(tmp_path / "c.vcf"), score)
    assert "PGS_TEST_hmPOS_GRCh38.txt.gz" in str(err.value)


def test_a_record_seen_again_later_is_a_duplicate_not_a_second_count(tmp_path: Path) -> None:
    records = [*VCF_RECORDS, ("chr1", 100, "A", "G", "GT", "1/1", "1/1", "1/1")]  # unsorted
    result = score_vcf(
        write_vcf_text(tmp_path / "dup.vcf", records), write_score(tmp_path / "s.txt")
    )
    assert result.match.duplicates == 1
    assert raw_of(result) == pytest.approx(RAW, abs=1e-12)


def test_dosages_from_ds_alone(tmp_path: Path) -> None:
    # No GT at all: DS is the ALT dosage, REF = 2 − DS, and a missing DS is imputed.
    records = [
        ("chr1", 100, "A", "G", "DS", "0.5", "1", "2"),  # rs1, altref: .5 × (.5, 1, 2)
        ("chr1", 200, "C", "T", "DS", "0.25", "1", "."),  # rs2, refalt: .2 × (1.75, 1, ?)
    ]
    vcf = write_vcf_text(tmp_path / "ds.vcf", records)
    result = score_vcf(vcf, write_score(tmp_path / "s.txt"), min_match=0.0)
    # s3's REF dosage: the called samples carry 2.75 REF alleles of 4 → 2 × 0.6875 = 1.375
    assert raw_of(result) == pytest.approx({"s1": 0.6, "s2": 0.7, "s3": 1.275}, abs=1e-12)
    assert result.match.imputation["genotypes_imputed_from_sample_set"] == 1


def test_reference_distributions(case: tuple[Path, Path], tmp_path: Path) -> None:
    stats = tmp_path / "ref.tsv"
    stats.write_text("mean\tsd\tn\n5.0\t2.0\t1000\n", encoding="utf-8")
    result = score_vcf(*case, reference=stats)
    assert [s.z for s in result.samples] == pytest.approx([0.75, 1.05, 2.75])
    assert (result.reference.kind, result.reference.n) == ("file", 1000)
    # a previous run's TSV is a reference of scores: here the same samples, so the same z
    tsv = tmp_path / "scores.tsv"
    tsv.write_text(result.to_tsv(), encoding="utf-8")
    ref = read_reference(tsv)
    assert (ref.mean, ref.n) == (pytest.approx(np.mean(list(RAW.values()))), 3)
    again = score_vcf(*case, reference=ref)
    assert [s.z for s in again.samples] == pytest.approx([s.z for s in score_vcf(*case).samples])
    plain = tmp_path / "plain.txt"
    plain.write_text("1\n3\n", encoding="utf-8")
    assert read_reference(plain) == Reference(2.0, 1.0, 2, "file", str(plain))
    plain.write_text("mean\tsd\n1\t0\n", encoding="utf-8")
    with pytest.raises(InputError, match="the sd must be > 0"):
        read_reference(plain)


# --------------------------------------------------------------------------------------------
# the Pathfinder network: the writers' VCF and scoring file against the cohort's truth


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[Any]]:
    root = tmp_path_factory.mktemp("pathfinder")
    patients = simulate_network(30, seed=5, sites=SITES[:1])[SITES[0].name]
    vcf, _ = write_vcf(patients, root / "nl.vcf.gz", SITES[0], seed=5, n_background=50)
    score = write_pgs_scoring_file(root / "PATHFINDER_CAD.txt")
    return vcf, score, [p for p in patients if p.has_vcf]


def test_pathfinder_scores_equal_the_truth(network: tuple[Path, Path, list[Any]]) -> None:
    vcf, score, sequenced = network
    assert len(sequenced) >= 15
    result = score_vcf(vcf, score)  # the defaults: no SNP of the score is strand-ambiguous
    assert result.match.matched == len(PGS_SNPS) and result.match.by_rule["altref"] == 40
    order = sorted(
        range(len(PGS_SNPS)),
        key=lambda j: (list(GRCH38_CONTIGS).index(PGS_SNPS[j].chrom), PGS_SNPS[j].pos),
    )
    truth = {p.local_id: p for p in sequenced}
    for s in result.samples:
        expected = 0.0
        for j in order:  # Σ weight × dosage, added in the VCF's order: equal to the last bit
            expected += PGS_SNPS[j].weight * truth[s.sample].pgs_dosages[j]
        assert s.raw == expected
        assert s.variants_used == 40
    z = [s.z for s in result.samples]
    assert np.corrcoef(z, [truth[s.sample].prs for s in result.samples])[0, 1] > 0.99


def test_pathfinder_score_has_no_ambiguous_snps(
    network: tuple[Path, Path, list[Any]],
) -> None:
    vcf, score, _ = network
    complement = {"A": "T", "T": "A", "C": "G", "G": "C"}
    assert not any(complement[s.ref] == s.alt for s in PGS_SNPS)
    result = score_vcf(vcf, score)
    assert result.match.excluded_ambiguous == 0 and result.match.match_rate == 1.0


# --------------------------------------------------------------------------------------------
# the command


def test_prs_score_command(case: tuple[Path, Path], tmp_path: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
    vcf, score = case
    out = tmp_path / "out" / "scores.tsv"
    result = runner.invoke(app, ["prs", "score", str(vcf), "--pgs", str(score), "-o", str(out)])
    assert result.exit_code == 0, result.output
    for phrase in ("s3", "10.5000", "altref", "match rate 76.5%", "against the scored samples"):
        assert phrase in result.stdout
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "sample\traw\tz\tvariants_used\tvariants_imputed" and len(lines) == 4

    result = runner.invoke(
        app, ["prs", "score", str(vcf), "--pgs", str(score), "--json", "--keep-ambiguous"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {s["sample"]: s["raw"] for s in data["samples"]} == pytest.approx(RAW_KEPT)
    assert data["match"]["matched"] == 15 and data["reference"]["kind"] == "sample set"

    result = runner.invoke(
        app, ["prs", "score", str(vcf), "--pgs", str(score), "--min-match", "0.9"]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "below the minimum 90%" in result.stderr
