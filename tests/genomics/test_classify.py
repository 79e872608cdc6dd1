"""Classifying a whole VCF: a VEP-annotated file written here with a real knowledge database
(gnomAD, ClinVar with CSQ, REVEL, SpliceAI in their own formats), multi-allelic records, sample
mode, the gene filter, broken and symbolic records, a build mismatch, files without annotation
(the Debian example VCFs), and the ``variants classify`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cardiofabric.cli.main import app
from cardiofabric.errors import InputError
from cardiofabric.genomics.classify import (
    TSV_COLUMNS,
    ClassifiedRecord,
    classify_vcf,
    tsv_header,
)
from cardiofabric.genomics.model import Tier
from cardiofabric.genomics.panel import Domain, FrequencySpec, GeneDisease, Panel, PanelGene
from cardiofabric.genomics.resources import KnowledgeBase

QUERY = Path("/usr/share/doc/vcfanno-examples/example/query.vcf.gz")
KG = Path("/usr/share/doc/python3-vcf/test/1kg.vcf.gz")

GRCH38 = (
    "##contig=<ID=1,length=248956422>\n##contig=<ID=2,length=242193529>\n"
    "##contig=<ID=11,length=135086622>\n##contig=<ID=14,length=107043718>\n"
)
CSQ_FIELDS = (
    "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|"
    "HGVSp|Protein_position|Amino_acids|MANE_SELECT|CANONICAL"
)
CSQ_HEADER = (
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl '
    f'VEP. Format: {CSQ_FIELDS}">\n'
)


def csq(
    allele: str,
    term: str,
    gene: str,
    *,
    tx: str | None = None,
    exon: str = "",
    intron: str = "",
    hgvsc: str = "",
    hgvsp: str = "",
    pos: str = "",
    aa: str = "",
    mane: bool = True,
) -> str:
    tx = tx or f"ENST_{gene}.1"
    cells = [
        allele,
        term,
        "MODERATE",
        gene,
        f"ENSG_{gene}",
        "Transcript",
        tx,
        "protein_coding",
        exon,
        intron,
        f"{tx}:{hgvsc}" if hgvsc else "",
        f"ENSP_{gene}:{hgvsp}" if hgvsp else "",
        pos,
        aa,
        f"NM_{gene}.1" if mane else "",
        "YES" if mane else "",
    ]
    return "|".join(cells)


def _panel() -> Panel:
    def gene(symbol: str, chrom: str, condition: str, disease: str, **kw: object) -> PanelGene:
        base: dict[str, object] = dict(
            symbol=symbol,
            hgnc_id="HGNC:0",
            chrom=chrom,
            mane_refseq=f"NM_{symbol}.1",
            mane_ensembl=f"ENST_{symbol}.1",
            diseases=(
                GeneDisease(condition, disease, None, (), "Definitive", "AD", "2020", "test"),
            ),
            lof_mechanism=False,
            missense_mechanism=False,
            truncating_only=False,
            domains=(),
        )
        base.update(kw)
        return PanelGene(**base)  # type: ignore[arg-type]

    genes = {
        "MYH7": gene(
            "MYH7",
            "14",
            "HCM",
            "hypertrophic cardiomyopathy",
            missense_mechanism=True,
            domains=(Domain(181, 937, "head", "test"),),
        ),
        "MYBPC3": gene("MYBPC3", "11", "HCM", "hypertrophic cardiomyopathy", lof_mechanism=True),
    }
    spec = FrequencySpec("HCM", 0.001, 0.0002, 0.00004, "test")
    return Panel(genes, {"HCM": spec})


PANEL = _panel()

RECORDS = [
    # 1: MYH7 p.Arg403Gln-like, with a non-MANE transcript and another gene's entry
    "14\t23424000\trs1\tC\tT\t60\tPASS\tCSQ="
    + ",".join(
        [
            csq(
                "T",
                "missense_variant",
                "MYH7",
                exon="12/40",
                hgvsc="c.1208G>A",
                hgvsp="p.Arg403Gln",
                pos="403",
                aa="R/Q",
            ),
            csq("T", "missense_variant", "MYH7", tx="ENST_ALT.1", pos="380", aa="R/Q", mane=False),
            csq("T", "upstream_gene_variant", "MYH6", mane=False),
        ]
    )
    + "\tGT\t0/1\t0/0",
    # 2: multi-allelic: a missense and a nonsense allele at one codon
    "14\t23424100\t.\tG\tA,T\t50\tLowQual\tCSQ="
    + csq("A", "missense_variant", "MYH7", exon="13/40", hgvsp="p.Gly420Arg", pos="420", aa="G/R")
    + ","
    + csq("T", "stop_gained", "MYH7", exon="13/40", hgvsp="p.Gly420Ter", pos="420", aa="G/*")
    + "\tGT\t1/2\t0|2",
    # 3: MYBPC3 frameshift duplication (VEP writes the inserted base alone)
    "11\t47350000\t.\tC\tCA\t70\tPASS\tCSQ="
    + csq(
        "A",
        "frameshift_variant",
        "MYBPC3",
        exon="25/35",
        hgvsc="c.2373dup",
        hgvsp="p.Trp792ValfsTer41",
        pos="792",
        aa="W/VX",
    )
    + "\tGT\t0/0\t1/1",
    # 4: MYH7 synonymous
    "14\t23425000\t.\tA\tG\t.\tPASS\tCSQ="
    + csq("G", "synonymous_variant", "MYH7", exon="14/40", hgvsp="p.Leu500=", pos="500", aa="L")
    + "\tGT\t0/1\t0/1",
    # 5: intergenic and common
    "1\t1000000\t.\tA\tG\t.\tPASS\tCSQ=G|intergenic_variant|MODIFIER" + "|" * 13 + "\tGT\t1/1\t0/1",
    # 6: a symbolic allele
    "1\t2000000\t.\tA\t<DEL>\t.\tPASS\t.\tGT\t0/1\t0/0",
    # 7: a broken line (POS is not a number)
    "1\tnotapos\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0",
    # 8: a gene outside the panel
    "2\t21000000\t.\tC\tT\t.\tPASS\tCSQ="
    + csq("T", "missense_variant", "CFTR", pos="100", aa="R/W")
    + "\tGT\t0/1\t./.",
]


def write_vcf(
    path: Path, records: list[str], *, header: str = GRCH38, annotated: bool = True
) -> Path:
    text = (
        "##fileformat=VCFv4.2\n"
        + header
        + '##FILTER=<ID=LowQual,Description="Low quality">\n'
        + '##INFO=<ID=END,Number=1,Type=Integer,Description="End">\n'
        + (CSQ_HEADER if annotated else "")
        + '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n"
        + "\n".join(records)
        + "\n"
    )
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def kb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kb")
    gnomad = root / "gnomad.vcf"
    gnomad.write_text(
        "##fileformat=VCFv4.2\n"
        + GRCH38
        + '##INFO=<ID=AC,Number=A,Type=Integer,Description="AC">\n'
        + '##INFO=<ID=AN,Number=1,Type=Integer,Description="AN">\n'
        + '##INFO=<ID=AF,Number=A,Type=Float,Description="AF">\n'
        + '##INFO=<ID=nhomalt,Number=A,Type=Integer,Description="hom">\n'
        + '##INFO=<ID=faf95_popmax,Number=A,Type=Float,Description="faf">\n'
        + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        + "1\t1000000\t.\tA\tG\t.\tPASS\tAC=40000;AN=200000;AF=0.2;nhomalt=4000;"
        "faf95_popmax=0.19\n"
        + "14\t23425000\t.\tA\tG\t.\tPASS\tAC=1;AN=200000;AF=5e-06;nhomalt=0;faf95_popmax=0\n"
    )
    clinvar = root / "clinvar.vcf"
    clinvar.write_text(
        "##fileformat=VCFv4.1\n"
        + GRCH38
        + '##INFO=<ID=CLNSIG,Number=.,Type=String,Description="sig">\n'
        + '##INFO=<ID=CLNREVSTAT,Number=.,Type=String,Description="rev">\n'
        + '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="gene">\n'
        + CSQ_HEADER
        + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        + "14\t23424001\t14071\tG\tA\t.\t.\tCLNSIG=Pathogenic;"
        "CLNREVSTAT=criteria_provided,_multiple_submitters,_no_conflicts;GENEINFO=MYH7:4625;CSQ="
        + csq("A", "missense_variant", "MYH7", hgvsp="p.Arg403Trp", pos="403", aa="R/W")
        + "\n"
    )
    revel = root / "revel.csv"
    revel.write_text(
        "chr,hg19_pos,grch38_pos,ref,alt,aaref,aaalt,REVEL,Ensembl_transcriptid\n"
        "14,23893209,23424000,C,T,R,Q,0.95,ENST_MYH7\n"
    )
    spliceai = root / "spliceai.tsv"
    spliceai.write_text("chrom\tpos\tref\talt\tmax_delta\n14\t23425000\tA\tG\t0.02\n")
    path = root / "knowledge.duckdb"
    with KnowledgeBase.open(path, read_only=False, create=True) as kb:
        kb.add("gnomad", gnomad)
        kb.add("clinvar", clinvar)
        kb.add("revel", revel, build="GRCh38")
        kb.add("spliceai", spliceai)
    return path


@pytest.fixture
def kb(kb_path: Path) -> KnowledgeBase:
    k = KnowledgeBase.open(kb_path)
    yield k  # type: ignore[misc]
    k.close()


def by_key(records: list[ClassifiedRecord]) -> dict[str, ClassifiedRecord]:
    return {str(r.classification.variant): r for r in records}


def test_a_vep_vcf_with_a_knowledge_base(tmp_path: Path, kb: KnowledgeBase) -> None:
    vcf = write_vcf(tmp_path / "a.vcf", RECORDS)
    stream = classify_vcf(vcf, knowledge=kb, panel=PANEL, batch_size=2)
    got = by_key(list(stream))
    assert set(got) == {
        "14-23424000-C-T",
        "14-23424100-G-A",
        "14-23424100-G-T",
        "11-47350000-C-CA",
        "14-23425000-A-G",
        "1-1000000-A-G",
        "2-21000000-C-T",
    }
    r1 = got["14-23424000-C-T"].classification
    assert r1.consequence is not None and r1.consequence.transcript == "ENST_MYH7.1"
    assert r1.criteria == ["PM1", "PM2_Supporting", "PM5", "PP2", "PP3_Moderate"]
    assert r1.points == 8 and r1.tier is Tier.LIKELY_PATHOGENIC
    assert r1.knowledge.revel == 0.95
    assert "p.Arg403Trp" in next(e.reason for e in r1.evidence if e.criterion == "PM5")
    # a multi-allelic record: each ALT its own consequence
    assert got["14-23424100-G-A"].classification.criteria == ["PM1", "PM2_Supporting", "PP2"]
    stop = got["14-23424100-G-T"].classification
    assert stop.criteria == ["PM2_Supporting"]
    assert any("PVS1 not applied" in n for n in stop.notes)
    assert got["14-23424100-G-T"].filter == "LowQual" and got["14-23424100-G-T"].qual == 50
    fs = got["11-47350000-C-CA"].classification
    assert fs.criteria == ["PVS1", "PM2_Supporting"] and fs.tier is Tier.LIKELY_PATHOGENIC
    syn = got["14-23425000-A-G"].classification
    assert syn.criteria == ["PM2_Supporting", "BP4", "BP7"] and syn.tier is Tier.LIKELY_BENIGN
    common = got["1-1000000-A-G"].classification
    assert common.criteria == ["BA1"] and common.tier is Tier.BENIGN and common.gene is None
    cftr = got["2-21000000-C-T"].classification
    assert cftr.gene == "CFTR" and cftr.evidence == () and cftr.disease is None
    s = stream.summary
    assert s.complete and s.records == 8 and s.alleles == 8 and s.classified == 7
    assert s.annotation == "VEP" and s.build == "GRCh38"
    assert s.skipped == {
        "record htslib cannot parse": 1,
        "symbolic, breakend or spanning-deletion allele": 1,
    }
    assert s.frequency_only == 2
    assert s.by_tier[str(Tier.LIKELY_PATHOGENIC)] == 2
    assert s.by_criterion["PM2_Supporting"] == 5
    data = s.to_json()
    assert data["skipped_total"] == 2 and len(data["skipped_examples"]) == 2


def test_sample_mode_keeps_the_alleles_the_sample_carries(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    vcf = write_vcf(tmp_path / "a.vcf", RECORDS)
    stream = classify_vcf(vcf, knowledge=kb, panel=PANEL, sample="S2")
    got = by_key(list(stream))
    assert {k: (r.genotype, r.zygosity) for k, r in got.items()} == {
        "14-23424100-G-T": ("0|2", "heterozygous"),
        "11-47350000-C-CA": ("1/1", "homozygous"),
        "14-23425000-A-G": ("0/1", "heterozygous"),
        "1-1000000-A-G": ("0/1", "heterozygous"),
    }
    assert all(r.sample == "S2" for r in got.values())
    # 14-23424000 (0/0), 14-23424100 A (not in 0|2), the <DEL> (0/0), 2-21000000 (./.)
    assert stream.summary.not_carried == 4
    s1 = by_key(list(classify_vcf(vcf, knowledge=kb, panel=PANEL, sample="S1")))
    assert s1["14-23424100-G-A"].zygosity == "heterozygous"
    assert s1["1-1000000-A-G"].zygosity == "homozygous"
    assert "11-47350000-C-CA" not in s1


def test_unknown_sample_is_refused(tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf", RECORDS)
    with pytest.raises(InputError, match="'S9' is not in the VCF"):
        classify_vcf(vcf, panel=PANEL, sample="S9")


def test_gene_filter(tmp_path: Path, kb: KnowledgeBase) -> None:
    vcf = write_vcf(tmp_path / "a.vcf", RECORDS)
    stream = classify_vcf(vcf, knowledge=kb, panel=PANEL, genes=["mybpc3"])
    assert list(by_key(list(stream))) == ["11-47350000-C-CA"]
    assert stream.summary.gene_filtered == 7  # the symbolic allele is outside MYBPC3 too


def test_without_a_knowledge_base_pm2_is_not_assumed(tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf", RECORDS)
    got = by_key(list(classify_vcf(vcf, panel=PANEL)))
    fs = got["11-47350000-C-CA"].classification
    assert fs.criteria == ["PVS1"] and any("no gnomAD" in n for n in fs.notes)


def test_a_build_mismatch_is_refused(tmp_path: Path, kb: KnowledgeBase) -> None:
    grch37 = "##contig=<ID=1,length=249250621>\n##contig=<ID=14,length=107349540>\n"
    vcf = write_vcf(tmp_path / "a.vcf", RECORDS[:1], header=grch37)
    with pytest.raises(InputError, match="GRCh37 but the knowledge database is on GRCh38"):
        classify_vcf(vcf, knowledge=kb, panel=PANEL)


def test_a_vcf_without_annotation_is_classified_on_frequency(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    plain = [r.split("\tCSQ=")[0] + "\t.\tGT" + r.split("\tGT")[1] if "CSQ=" in r else r
             for r in RECORDS]  # fmt: skip
    vcf = write_vcf(tmp_path / "plain.vcf", plain, annotated=False)
    stream = classify_vcf(vcf, knowledge=kb, panel=PANEL)
    got = by_key(list(stream))
    assert all(r.classification.gene is None for r in got.values())
    assert got["1-1000000-A-G"].classification.criteria == ["BA1"]
    assert stream.summary.annotation is None
    assert stream.summary.frequency_only == stream.summary.classified == 7


def test_unreadable_annotation_is_skipped_and_counted(tmp_path: Path) -> None:
    bad = "14\t23424000\t.\tC\tT\t.\tPASS\tCSQ=T|missense_variant\tGT\t0/1\t0/0"
    vcf = write_vcf(tmp_path / "bad.vcf", [bad, RECORDS[3]])
    stream = classify_vcf(vcf, panel=PANEL)
    assert [str(r.classification.variant) for r in stream] == ["14-23425000-A-G"]
    assert stream.summary.skipped == {"unreadable CSQ annotation": 1}


def test_a_damaged_file_stops_with_an_error(tmp_path: Path) -> None:
    from cardiofabric.genomics import classify as mod

    lines = ["1\tx\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0"] * (mod.MAX_CONSECUTIVE_ERRORS + 5)
    vcf = write_vcf(tmp_path / "junk.vcf", lines)
    with pytest.raises(InputError, match="records in a row cannot be parsed"):
        list(classify_vcf(vcf, panel=PANEL))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such VCF"):
        classify_vcf(tmp_path / "nope.vcf", panel=PANEL)


def test_the_bundled_panel_by_default(tmp_path: Path, kb: KnowledgeBase) -> None:
    vcf = write_vcf(tmp_path / "a.vcf", RECORDS)
    got = by_key(list(classify_vcf(vcf, knowledge=kb)))
    fs = got["11-47350000-C-CA"].classification
    assert fs.gene == "MYBPC3" and "PVS1" in fs.criteria
    assert fs.disease and "hypertrophic cardiomyopathy" in fs.disease


@pytest.mark.skipif(not QUERY.is_file(), reason="Debian package vcfanno-examples not installed")
def test_vcfanno_query_file_is_frequency_only() -> None:
    # The header declares an old VEP CSQ (no Allele sub-field) but no record carries one, and
    # SnpEff's legacy EFF is not read: every allele is classified on frequency alone.
    stream = classify_vcf(QUERY)
    records = list(stream)
    s = stream.summary
    assert s.records == 337 and s.annotation == "VEP" and s.build == "GRCh37"
    assert len(records) == s.classified == s.frequency_only == 335
    assert s.skipped == {"symbolic, breakend or spanning-deletion allele": 2}
    assert all(r.classification.gene is None for r in records)
    assert all(r.classification.evidence == () for r in records)


@pytest.mark.skipif(not KG.is_file(), reason="Debian package python-pyvcf-examples not installed")
def test_pyvcf_1kg_file_is_frequency_only_in_sample_mode() -> None:
    stream = classify_vcf(KG, sample="HG00098")
    records = list(stream)
    s = stream.summary
    assert s.complete and s.records == 381
    assert all(r.classification.gene is None for r in records)
    assert s.classified + s.not_carried + s.skipped_total == s.alleles
    assert all(r.zygosity in ("heterozygous", "homozygous", "hemizygous") for r in records)


def test_tsv_row_and_header(tmp_path: Path, kb: KnowledgeBase) -> None:
    vcf = write_vcf(tmp_path / "a.vcf", RECORDS[:1])
    rec = next(classify_vcf(vcf, knowledge=kb, panel=PANEL))
    assert tsv_header().split("\t") == list(TSV_COLUMNS)
    cells = rec.to_tsv_row().split("\t")
    assert cells == [
        "14",
        "23424000",
        "C",
        "T",
        "MYH7",
        "ENST_MYH7.1",
        "c.1208G>A",
        "p.Arg403Gln",
        "missense_variant",
        "Likely pathogenic",
        "8",
        "PM1,PM2_Supporting,PM5,PP2,PP3_Moderate",
    ]
    assert len(tsv_header(with_sample=True).split("\t")) == len(TSV_COLUMNS) + 3


# -- the command ----------------------------------------------------------------------------


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1"})


def test_cli_json(tmp_path: Path, kb_path: Path, runner: CliRunner) -> None:
    vcf = write_vcf(tmp_path / "a.vcf", RECORDS)
    result = runner.invoke(app, ["variants", "classify", str(vcf), "--db", str(kb_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # the bundled panel: every record, tiers and evidence trails
    assert len(data["records"]) == 7 and data["summary"]["classified"] == 7
    fs = next(r for r in data["records"] if r["variant"] == "11-47350000-C-CA")
    assert fs["gene"] == "MYBPC3" and "PVS1" in fs["criteria"]
    assert fs["evidence"][0]["reason"] and fs["filter"] == "PASS"
    assert data["summary"]["skipped_total"] == 2


def test_cli_tsv_to_a_file_with_a_sample_and_min_tier(
    tmp_path: Path, kb_path: Path, runner: CliRunner
) -> None:
    vcf = write_vcf(tmp_path / "a.vcf", RECORDS)
    out = tmp_path / "out" / "calls.tsv"
    args = ["variants", "classify", str(vcf), "--db", str(kb_path), "--tsv", "--out", str(out)]
    result = runner.invoke(app, [*args, "--sample", "S2", "--min-tier", "LP"])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0].split("\t") == [*TSV_COLUMNS, "sample", "genotype", "zygosity"]
    rows = [ln.split("\t") for ln in lines[1:]]
    assert [(r[0], r[1], r[4], r[-1]) for r in rows] == [("11", "47350000", "MYBPC3", "homozygous")]


def test_cli_panel_only(tmp_path: Path, kb_path: Path, runner: CliRunner) -> None:
    vcf = write_vcf(tmp_path / "a.vcf", RECORDS)
    args = ["variants", "classify", str(vcf), "--db", str(kb_path), "--json", "--panel-only"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    genes = {r["gene"] for r in data["records"]}
    assert genes == {"MYH7", "MYBPC3"}  # of the bundled panel; CFTR and intergenic left out
    assert data["summary"]["gene_filtered"] == 3


def test_cli_table(tmp_path: Path, kb_path: Path, runner: CliRunner) -> None:
    vcf = write_vcf(tmp_path / "a.vcf", RECORDS)
    result = runner.invoke(app, ["variants", "classify", str(vcf), "--db", str(kb_path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "11-47350000-C-CA" in out and "MYBPC3" in out and "PVS1" in out
    assert "1-1000000-A-G" not in out  # benign, and outside the panel
    assert "2-21000000-C-T" not in out  # outside the panel, no evidence
    assert "7 classified" in out and "by criterion" in out


def test_cli_errors(tmp_path: Path, runner: CliRunner) -> None:
    vcf = write_vcf(tmp_path / "a.vcf", RECORDS)
    result = runner.invoke(app, ["variants", "classify", str(vcf), "--db", str(tmp_path / "x")])
    assert result.exit_code == 2 and "no such knowledge database" in result.output
    result = runner.invoke(app, ["variants", "classify", str(vcf), "--min-tier", "bad"])
    assert result.exit_code == 2 and "--min-tier" in result.output
    result = runner.invoke(app, ["variants", "classify", str(vcf), "--json", "--tsv"])
    assert result.exit_code == 2
