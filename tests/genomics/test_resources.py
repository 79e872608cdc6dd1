"""The knowledge base: each resource kind read from its own format, looked up in one join.

Real files: the ExAC and gnomAD slices Debian ships with vcfanno's examples (skipped when
absent), read independently with cyvcf2 to check what the base returns. Synthetic files: the
Pathfinder network's resources, in each publisher's layout, checked against the catalogue.
"""

from __future__ import annotations

import csv
import gzip
import math
from pathlib import Path
from typing import Any

import pytest

from cardiofabric.errors import InputError, StoreError
from cardiofabric.genomics.model import VariantKey
from cardiofabric.genomics.resources import (
    KINDS,
    KnowledgeBase,
    file_digest,
    filtering_allele_frequency,
)
from cardiofabric.pathfinder.knowledge import CATALOGUE
from cardiofabric.pathfinder.writers.knowledge import write_knowledge

cyvcf2 = pytest.importorskip("cyvcf2")

EXAMPLES = Path("/usr/share/doc/vcfanno-examples")
EXAC = EXAMPLES / "example" / "exac.vcf.gz"
GNOMAD = EXAMPLES / "tests" / "testVA" / "test-gnomad.vcf.gz"
needs_exac = pytest.mark.skipif(not EXAC.is_file(), reason="vcfanno-examples not installed")
needs_gnomad = pytest.mark.skipif(not GNOMAD.is_file(), reason="vcfanno-examples not installed")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_knowledge(tmp_path_factory.mktemp("knowledge"))


@pytest.fixture(scope="module")
def kb(files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("kb") / "knowledge.duckdb"
    with KnowledgeBase.open(path, read_only=False, create=True) as base:
        for kind in KINDS:
            base.add(kind, files[kind])
    base = KnowledgeBase.open(path)
    yield base
    base.close()


def _new(tmp_path: Path) -> KnowledgeBase:
    return KnowledgeBase.open(tmp_path / "kb.duckdb", read_only=False, create=True)


# ------------------------------------------------------------------------------------------
# the filtering allele frequency


def test_filtering_allele_frequency_is_the_poisson_lower_bound() -> None:
    from scipy.stats import poisson

    assert filtering_allele_frequency(0, 1000) == 0.0
    assert filtering_allele_frequency(3, 0) == 0.0
    # One allele: P(X ≥ 1 | λ) = 1 − e^−λ = 0.05 → λ = −ln 0.95.
    assert filtering_allele_frequency(1, 10_000) == pytest.approx(-math.log(0.95) / 10_000)
    for ac, an in ((2, 5052), (17, 120_000), (900, 1_000_000)):
        faf = filtering_allele_frequency(ac, an)
        assert faf < ac / an
        # the highest frequency at which seeing ac or more alleles is still 5 % likely
        assert poisson.sf(ac - 1, faf * an) == pytest.approx(0.05, rel=1e-6)


# ------------------------------------------------------------------------------------------
# real files: ExAC and a gnomAD v2 slice


@needs_exac
def test_exac_counts_adjusted_alleles_and_computes_the_faf(tmp_path: Path) -> None:
    from scipy.stats import poisson

    with _new(tmp_path) as base:
        info = base.add("gnomad", EXAC)
        assert info.build == "GRCh37" and base.build == "GRCh37"
        assert info.digest == file_digest(EXAC) and info.source == "exac.vcf.gz"
        expected: dict[VariantKey, dict[str, Any]] = {}
        groups = ("AFR", "AMR", "EAS", "NFE", "SAS")  # FIN and OTH never set the FAF
        split = 0
        for rec in cyvcf2.VCF(str(EXAC)):
            assert len(rec.ALT) == 1  # split by vt decompose, INFO left as it was
            old = rec.INFO.get("OLD_MULTIALLELIC")  # 1:13404:G/A/T
            j = old.split(":")[-1].split("/")[1:].index(rec.ALT[0]) if old else 0
            split += bool(old)

            def at(field: str, j: int = j, rec: Any = rec) -> Any:
                value = rec.INFO.get(field)
                return value[j] if isinstance(value, tuple) else value

            expected[VariantKey(rec.CHROM, rec.POS, rec.REF, rec.ALT[0])] = {
                "ac": at("AC_Adj"),
                "an": at("AN_Adj"),
                "nhomalt": at("AC_Hom"),
                "filter": rec.FILTER or "PASS",
                "groups": [(at(f"AC_{g}"), at(f"AN_{g}")) for g in groups],
            }
        assert split > 10
        got = base.lookup(list(expected))
    assert info.rows == len(expected) == len(got) == 148 and info.skipped == 0
    for key, want in expected.items():
        k = got[key]
        assert (k.ac, k.an, k.nhomalt, k.gnomad_filter) == (
            want["ac"],
            want["an"],
            want["nhomalt"],
            want["filter"],
        )
        assert k.af == pytest.approx(want["ac"] / want["an"]) if want["an"] else k.af is None
        fafs = [filtering_allele_frequency(a, n) for a, n in want["groups"] if n]
        if fafs:
            assert k.faf95 == pytest.approx(max(fafs), rel=1e-6)
        else:  # no group was called here: nothing to bound
            assert k.faf95 is None and not want["an"]
        if k.faf95:  # the bound of one group, and at least every other group's bound
            tails = [poisson.sf(a - 1, k.faf95 * n) for a, n in want["groups"] if n and a]
            assert min(tails) == pytest.approx(0.05, rel=1e-4)
    first = got[VariantKey("1", 13372, "G", "C")]
    assert (first.ac, first.an, first.nhomalt) == (2, 8432, 1)
    assert first.faf95 == pytest.approx(filtering_allele_frequency(2, 5052), rel=1e-6)  # SAS


@needs_gnomad
def test_gnomad_v2_slice_splits_alleles_with_their_own_filter(tmp_path: Path) -> None:
    with _new(tmp_path) as base:
        info = base.add("gnomad", GNOMAD)
        rows = []
        for rec in cyvcf2.VCF(str(GNOMAD)):
            status = str(rec.INFO.get("AS_FilterStatus")).split(",")
            acs = rec.INFO.get("AC")
            acs = acs if isinstance(acs, tuple) else (acs,)
            homs = rec.INFO.get("Hom")
            homs = homs if isinstance(homs, tuple) else (homs,)
            for i, alt in enumerate(rec.ALT):
                rows.append((rec.POS, rec.REF, alt, acs[i], rec.INFO.get("AN"), homs[i], status[i]))
        got = base.lookup([VariantKey("1", p, r, a) for p, r, a, *_ in rows])
    assert info.rows == len(rows) == 4
    for pos, ref, alt, ac, an, hom, status in rows:
        k = got[VariantKey("1", pos, ref, alt)]
        assert (k.ac, k.an, k.nhomalt, k.gnomad_filter) == (ac, an, hom, status)
    # the second ALT of A>T,G,ATT failed gnomAD's random forest, the others passed
    assert got[VariantKey("1", 15274, "A", "G")].gnomad_filter == "RF"
    assert got[VariantKey("1", 15274, "A", "T")].gnomad_filter == "PASS"
    assert got[VariantKey("1", 15274, "A", "T")].af == pytest.approx(6.12235e-01)


@needs_exac
def test_a_second_build_is_refused(tmp_path: Path, files: dict[str, Path]) -> None:
    with _new(tmp_path) as base:
        base.add("gnomad", EXAC)  # GRCh37
        with pytest.raises(InputError, match="holds GRCh37 resources; the file is on GRCh38"):
            base.add("clinvar", files["clinvar"])
        with pytest.raises(InputError, match="holds GRCh37"):
            base.add("revel", files["revel"], build="GRCh38")
        assert [r.kind for r in base.resources()] == ["gnomad"]
    with pytest.raises(InputError, match="says it is on GRCh37, but --build GRCh38"):
        _new(tmp_path / "other").add("gnomad", EXAC, build="GRCh38")


# ------------------------------------------------------------------------------------------
# the Pathfinder resources: every kind against the catalogue and an independent reading


def test_every_kind_is_loaded_with_its_build_and_digest(
    kb: KnowledgeBase, files: dict[str, Path]
) -> None:
    infos = {r.kind: r for r in kb.resources()}
    assert set(infos) == set(KINDS) and kb.build == "GRCh38"
    for kind, info in infos.items():
        assert info.source == files[kind].name and info.digest == file_digest(files[kind])
        assert info.build == "GRCh38" and info.skipped == 0 and info.added_at
    assert infos["clinvar"].rows == sum(1 for v in CATALOGUE if v.clinvar_significance)
    assert infos["revel"].rows == sum(1 for v in CATALOGUE if v.revel is not None)


def test_lookup_agrees_with_the_catalogue(kb: KnowledgeBase) -> None:
    keys = [v.key for v in CATALOGUE]
    got = kb.lookup([*keys, VariantKey("1", 1, "A", "C"), keys[0]])  # unknown, repeated
    assert VariantKey("1", 1, "A", "C") not in got and len(got) == len(keys)
    for v in CATALOGUE:
        k = got[v.key]
        assert k.clinvar_significance == v.clinvar_significance
        assert k.clinvar_stars == v.clinvar_stars and k.clinvar_id == v.clinvar_id
        assert k.revel == v.revel  # the maximum over the file's transcripts
        assert k.cadd_phred == v.cadd_phred and k.spliceai == v.spliceai
        if v.gnomad_ac is None:
            assert k.ac is None and k.af is None and k.faf95 is None
        else:
            assert (k.ac, k.an, k.nhomalt) == (v.gnomad_ac, v.gnomad_an, v.gnomad_nhomalt)
            assert k.faf95 == pytest.approx(v.gnomad_faf95, rel=1e-5)
        if v.clinvar_significance and v.hgvsp:
            assert k.clinvar_hgvsp == v.hgvsp


def test_lookup_agrees_with_cyvcf2_and_csv(kb: KnowledgeBase, files: dict[str, Path]) -> None:
    gnomad = {}
    for rec in cyvcf2.VCF(str(files["gnomad"])):
        key = VariantKey(rec.CHROM.removeprefix("chr"), rec.POS, rec.REF, rec.ALT[0])
        gnomad[key] = (rec.INFO.get("AF"), rec.INFO.get("fafmax_faf95_max"), rec.INFO["AC"])
    spliceai = {}
    for rec in cyvcf2.VCF(str(files["spliceai"])):
        parts = rec.INFO["SpliceAI"].split("|")
        spliceai[VariantKey(rec.CHROM, rec.POS, rec.REF, rec.ALT[0])] = max(
            float(x) for x in parts[2:6]
        )
    revel: dict[VariantKey, float] = {}
    with gzip.open(files["revel"], "rt") as fh:
        for row in csv.DictReader(fh):
            key = VariantKey(row["chr"], int(row["grch38_pos"]), row["ref"], row["alt"])
            revel[key] = max(revel.get(key, 0.0), float(row["REVEL"]))
    got = kb.lookup([*gnomad, *spliceai, *revel])
    for key, (af, faf, ac) in gnomad.items():
        assert got[key].af == pytest.approx(af, rel=1e-6)
        assert got[key].faf95 == pytest.approx(faf, rel=1e-6) and got[key].ac == ac
    for key, ds in spliceai.items():
        assert got[key].spliceai == pytest.approx(ds)
    for key, score in revel.items():
        assert got[key].revel == pytest.approx(score)


def test_clinvar_at_residue_gives_pathogenic_alleles_with_their_protein_change(
    kb: KnowledgeBase,
) -> None:
    found = kb.clinvar_at_residue("MYH7", [403, 719, 244, 1])
    assert sorted(found) == [403, 719]  # p.Phe244= is benign: not listed
    assert {(c.ref_aa, c.alt_aa, c.hgvsp) for c in found[403]} == {
        ("R", "Q", "p.Arg403Gln"),
        ("R", "W", "p.Arg403Trp"),
    }
    assert [c.stars for c in found[403]] == [3, 2]  # best reviewed first
    (r719,) = found[719]
    assert r719.key == VariantKey("14", 23424120, "G", "A") and r719.significance == "Pathogenic"
    assert kb.clinvar_at_residue("MYBPC3", [158]) == {}  # p.Val158Met: benign
    assert kb.clinvar_at_residue("MYH7", []) == {}


# ------------------------------------------------------------------------------------------
# ClinVar's variant_summary.txt

SUMMARY_COLUMNS = (
    "#AlleleID\tType\tName\tGeneID\tGeneSymbol\tHGNC_ID\tClinicalSignificance\tClinSigSimple\t"
    "LastEvaluated\tRS# (dbSNP)\tnsv/esv (dbVar)\tRCVaccession\tPhenotypeIDS\tPhenotypeList\t"
    "Origin\tOriginSimple\tAssembly\tChromosomeAccession\tChromosome\tStart\tStop\t"
    "ReferenceAllele\tAlternateAllele\tCytogenetic\tReviewStatus\tNumberSubmitters\tGuidelines\t"
    "TestedInGTR\tOtherIDs\tSubmitterCategories\tVariationID\tPositionVCF\tReferenceAlleleVCF\t"
    "AlternateAlleleVCF"
)


def _summary_row(
    name: str,
    gene: str,
    sig: str,
    review: str,
    assembly: str,
    chrom: str,
    pos: str,
    ref: str,
    alt: str,
    vid: str,
) -> str:
    cols = [
        "1", "single nucleotide variant", name, "4625", gene, "HGNC:7577", sig, "1", "-", "-",
        "-", "RCV1", "-", "-", "germline", "germline", assembly, "NC_0", chrom, pos, pos, "na",
        "na", "14q11.2", review, "3", "-", "N", "-", "2", vid, pos, ref, alt,
    ]  # fmt: skip
    return "\t".join(cols)


def test_variant_summary_is_read_for_the_base_build(tmp_path: Path) -> None:
    rows = [
        _summary_row("NM_000257.4(MYH7):c.1208G>A (p.Arg403Gln)", "MYH7", "Pathogenic",
                     "reviewed by expert panel", "GRCh38", "14", "23425813", "C", "T", "14087"),
        _summary_row("NM_000257.4(MYH7):c.1208G>A (p.Arg403Gln)", "MYH7", "Pathogenic",
                     "reviewed by expert panel", "GRCh37", "14", "23894022", "C", "T", "14087"),
        _summary_row("NM_000257.4(MYH7):c.1207C>T (p.Arg403Trp)", "MYH7",
                     "Pathogenic/Likely pathogenic",
                     "criteria provided, multiple submitters, no conflicts", "GRCh38", "14",
                     "23425814", "G", "A", "14088"),
        _summary_row("NM_000257.4(MYH7):c.732C>T (p.Phe244=)", "MYH7", "Benign",
                     "criteria provided, single submitter", "GRCh38", "14", "23431584", "G",
                     "A", "14090"),
        _summary_row("NM_000257.4(MYH7):c.2000del", "MYH7", "Likely pathogenic",
                     "no assertion criteria provided", "GRCh38", "14", "-1", "na", "na", "1"),
        "1\ttoo\tfew\tcolumns",
    ]  # fmt: skip
    path = tmp_path / "variant_summary.txt.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join([SUMMARY_COLUMNS, *rows]) + "\n")
    with _new(tmp_path) as base:
        with pytest.raises(InputError, match="say which build"):
            base.add("clinvar", path)
        info = base.add("clinvar", path, build="GRCh38")
        assert info.rows == 3 and info.build == "GRCh38"
        assert info.skip_reasons == {
            "malformed line (wrong number of columns)": 1,
            "no VCF position": 1,
            "other assembly than GRCh38": 1,
        }
        assert info.skipped == 3
        got = base.lookup(
            [VariantKey("14", 23425813, "C", "T"), VariantKey("14", 23431584, "G", "A")]
        )
        r403q = got[VariantKey("14", 23425813, "C", "T")]
        assert (r403q.clinvar_significance, r403q.clinvar_stars, r403q.clinvar_id) == (
            "Pathogenic",
            3,
            "14087",
        )
        assert r403q.clinvar_hgvsp == "p.Arg403Gln"
        assert got[VariantKey("14", 23431584, "G", "A")].clinvar_stars == 1
        residue = base.clinvar_at_residue("MYH7", [403, 244])
    assert sorted(residue) == [403]
    assert [(c.ref_aa, c.alt_aa, c.stars) for c in residue[403]] == [("R", "Q", 3), ("R", "W", 2)]
    assert residue[403][1].significance == "Pathogenic/Likely_pathogenic"


# ------------------------------------------------------------------------------------------
# wrong kinds, malformed lines, replacing


def test_a_file_of_the_wrong_kind_is_refused(tmp_path: Path, files: dict[str, Path]) -> None:
    with _new(tmp_path) as base:
        with pytest.raises(InputError, match="found a CADD TSV") as err:
            base.add("clinvar", files["cadd"])
        assert "genomics resource add cadd" in (err.value.hint or "")
        with pytest.raises(InputError, match="found a sites VCF with allele counts"):
            base.add("spliceai", files["gnomad"])
        with pytest.raises(InputError, match="found a ClinVar VCF"):
            base.add("gnomad", files["clinvar"])
        with pytest.raises(InputError, match="found REVEL's CSV"):
            base.add("cadd", files["revel"])
        with pytest.raises(InputError, match="unknown resource kind"):
            base.add("dbsnp", files["cadd"])
        with pytest.raises(InputError, match="does not exist"):
            base.add("cadd", tmp_path / "missing.tsv")
        assert base.resources() == []


def test_malformed_lines_are_counted_not_loaded(tmp_path: Path) -> None:
    cadd = tmp_path / "cadd.tsv"
    cadd.write_text(
        "## CADD GRCh38-v1.7 (c) University of Washington\n"
        "#Chrom\tPos\tRef\tAlt\tRawScore\tPHRED\n"
        "1\t100\tA\tC\t0.5\t12.3\n"
        "chr1\t101\tA\tG\t0.1\tnot-a-number\n"
        "a line that is not CADD\n"
        "1\tx\tA\tT\t0.1\t2.0\n"
        "1\t102\tA\tT\t0.1\t2.0\t99\n"
        "chrX\t5\tG\tA\t1\t25\n"
    )
    vcf = tmp_path / "sites.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n"
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="x">\n'
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="x">\n'
        "##contig=<ID=chr1,length=248956422>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr1\t100\t.\tA\tG\t.\tPASS\tAC=1;AN=10\n"
        "chr1\tabc\t.\tA\tG\t.\tPASS\tAC=1;AN=10\n"
        "chr1\t200\t.\tA\t<DEL>\t.\tPASS\tAC=1;AN=10\n"
        "chr1\t300\t.\tA\tG\t.\tPASS\tAN=10\n"
        "chr1\t400\t.\tAT\tA,ATT\t.\tPASS\tAC=2,30;AN=40\n"
    )
    with _new(tmp_path) as base:
        cinfo = base.add("cadd", cadd)
        ginfo = base.add("gnomad", vcf)
        got = base.lookup(
            [
                VariantKey("1", 100, "A", "C"),
                VariantKey("X", 5, "G", "A"),
                VariantKey("1", 400, "AT", "A"),
                VariantKey("1", 400, "A", "T"),  # ATT→... trimmed: A>AT at 400 is the insertion
                VariantKey("1", 400, "A", "AT"),
            ]
        )
    assert cinfo.rows == 2 and cinfo.build == "GRCh38"
    assert cinfo.skip_reasons == {
        "malformed PHRED score": 1,
        "malformed line (wrong number of columns)": 2,
        "malformed position": 1,
    }
    assert ginfo.rows == 3  # 100, and both alleles at 400
    assert ginfo.skip_reasons == {
        "no AC/AN": 1,
        "symbolic or missing ALT allele": 1,
        "unparseable VCF line": 1,
    }
    assert got[VariantKey("1", 100, "A", "C")].cadd_phred == 12.3
    assert got[VariantKey("X", 5, "G", "A")].cadd_phred == 25.0
    assert got[VariantKey("1", 400, "AT", "A")].ac == 2
    assert got[VariantKey("1", 400, "A", "AT")].ac == 30  # AT>ATT in minimal form
    assert got[VariantKey("1", 400, "A", "AT")].af == pytest.approx(0.75)  # AC/AN
    assert VariantKey("1", 400, "A", "T") not in got


def test_spliceai_tsv_and_revel_positions(tmp_path: Path) -> None:
    tsv = tmp_path / "spliceai.tsv"
    tsv.write_text("chrom\tpos\tref\talt\tmax_delta\nchr3\t10\tC\tT\t0.61\n3\t11\tC\tT\t1.7\n")
    revel = tmp_path / "revel.csv"
    revel.write_text(
        "chr,hg19_pos,grch38_pos,ref,alt,aaref,aaalt,REVEL,Ensembl_transcriptid\n"
        "1,35142,35142,G,A,T,M,0.027,ENST00000417324\n"
        "1,35142,35142,G,A,T,M,0.031,ENST00000461467\n"
        "1,69091,.,A,C,M,L,0.5,ENST00000335137\n"
    )
    with _new(tmp_path) as base:
        with pytest.raises(InputError, match="say which build"):
            base.add("revel", revel)
        rinfo = base.add("revel", revel, build="GRCh38")
        sinfo = base.add("spliceai", tsv)
        got = base.lookup([VariantKey("1", 35142, "G", "A"), VariantKey("3", 10, "C", "T")])
    assert rinfo.rows == 1 and rinfo.skip_reasons == {"no GRCh38 position ('.')": 1}
    assert got[VariantKey("1", 35142, "G", "A")].revel == 0.031  # the maximum per allele
    assert sinfo.rows == 1 and sinfo.skip_reasons == {"malformed delta score": 1}
    assert got[VariantKey("3", 10, "C", "T")].spliceai == 0.61


def test_adding_again_replaces_atomically(tmp_path: Path, files: dict[str, Path]) -> None:
    smaller = tmp_path / "clinvar-smaller.vcf"
    with gzip.open(files["clinvar"], "rt") as fh:
        lines = fh.read().splitlines()
    body = [ln for ln in lines if not ln.startswith("#")]
    smaller.write_text("\n".join([ln for ln in lines if ln.startswith("#")] + body[:5]) + "\n")
    with _new(tmp_path) as base:
        first = base.add("clinvar", files["clinvar"])
        dropped = VariantKey(*body[-1].split("\t")[:2], *body[-1].split("\t")[3:5])
        dropped = VariantKey(dropped.chrom, int(dropped.pos), dropped.ref, dropped.alt)
        assert dropped in base.lookup([dropped])

        def fail(n: int) -> None:
            raise RuntimeError("interrupted")

        with pytest.raises(RuntimeError):
            base.add("clinvar", smaller, progress=fail)
        assert base.resources() == [first]  # nothing half-replaced
        assert dropped in base.lookup([dropped])
        second = base.add("clinvar", smaller)
        assert second.rows == 5 and second.source == smaller.name
        assert [r.kind for r in base.resources()] == ["clinvar"]
        assert base.resources()[0].digest == file_digest(smaller)
        assert dropped not in base.lookup([dropped])


def test_opening_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no knowledge base here"):
        KnowledgeBase.open(tmp_path / "none.duckdb")
    import duckdb

    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE t (x INT)")
    with pytest.raises(StoreError, match="not a CardioFabric knowledge base"):
        KnowledgeBase.open(other)
    _new(tmp_path).close()
    with KnowledgeBase.open(tmp_path / "kb.duckdb") as ro:
        assert ro.resources() == [] and ro.build is None and ro.lookup([]) == {}
        with pytest.raises(StoreError, match="read-only"):
            ro.add("cadd", other)


def test_clinvar_residues_of_several_genes_in_one_query_match_the_per_gene_answers(
    kb: KnowledgeBase,
) -> None:
    wanted = {"MYH7": [403, 719, 244, 1, 403], "MYBPC3": [158], "NOT_A_GENE": [5]}
    together = kb.clinvar_at_residues(wanted)
    assert together == {
        gene: found
        for gene, positions in wanted.items()
        if (found := kb.clinvar_at_residue(gene, positions))
    }
    assert sorted(together) == ["MYH7"] and sorted(together["MYH7"]) == [403, 719]
    assert kb.clinvar_at_residues({}) == {}
    # resources() is read once per instance; callers get their own list.
    listed = kb.resources()
    listed.clear()
    assert [r.kind for r in kb.resources()] == sorted(KINDS)
