"""VEP CSQ and SnpEff ANN reading: VCFs written here with the headers both tools write and read
back with cyvcf2 (multi-transcript, multi-allelic, MANE/canonical/severity picking, VEP's indel
allele spelling, percent-encoding, NMD, malformed entries), plus the real VEP-annotated ExAC and
gnomAD extracts Debian ships with vcfanno's examples."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from cardiofabric.errors import InputError
from cardiofabric.genomics.annotation import (
    INFRAME_TERMS,
    LOF_TERMS,
    MISSENSE_TERMS,
    SEVERITY,
    SNPEFF_EQUIVALENT,
    SPLICE_REGION_TERMS,
    SYNONYMOUS_TERMS,
    AnnotationReader,
    allele_matches,
    amino_acids_from_hgvsp,
    pick,
    severity,
)
from cardiofabric.genomics.model import Consequence

cyvcf2 = pytest.importorskip("cyvcf2", reason="cyvcf2 is not installed")

VCFANNO = Path("/usr/share/doc/vcfanno-examples")
needs_vcfanno = pytest.mark.skipif(
    not VCFANNO.is_dir(),
    reason="Debian package vcfanno-examples is not installed (scripts/sysdeps.sh installs it)",
)

# The CSQ fields of VEP 110 with --everything-like options, MANE, and the LOFTEE and NMD plugins.
VEP_FIELDS = [
    "Allele", "Consequence", "IMPACT", "SYMBOL", "Gene", "Feature_type", "Feature", "BIOTYPE",
    "EXON", "INTRON", "HGVSc", "HGVSp", "cDNA_position", "CDS_position", "Protein_position",
    "Amino_acids", "Codons", "Existing_variation", "DISTANCE", "STRAND", "FLAGS",
    "SYMBOL_SOURCE", "HGNC_ID", "CANONICAL", "MANE_SELECT", "MANE_PLUS_CLINICAL", "LoF",
    "LoF_filter", "LoF_flags", "LoF_info", "NMD",
]  # fmt: skip
VEP_HEADER = (
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. '
    f'Format: {"|".join(VEP_FIELDS)}">'
)
SNPEFF_HEADER = (
    "##INFO=<ID=ANN,Number=.,Type=String,Description=\"Functional annotations: 'Allele | "
    "Annotation | Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | "
    "Transcript_BioType | Rank | HGVS.c | HGVS.p | cDNA.pos / cDNA.length | CDS.pos / CDS.length "
    "| AA.pos / AA.length | Distance | ERRORS / WARNINGS / INFO' \">\n"
    '##INFO=<ID=LOF,Number=.,Type=String,Description="Predicted loss of function effects for '
    "this variant. Format: 'Gene_Name | Gene_ID | Number_of_transcripts_in_gene | "
    "Percent_of_transcripts_affected'\">\n"
    '##INFO=<ID=NMD,Number=.,Type=String,Description="Predicted nonsense mediated decay effects '
    "for this variant. Format: 'Gene_Name | Gene_ID | Number_of_transcripts_in_gene | "
    "Percent_of_transcripts_affected'\">"
)


def csq(**values: str) -> str:
    """One VEP transcript entry with the given fields (others empty)."""
    unknown = set(values) - set(VEP_FIELDS)
    assert not unknown, unknown
    return "|".join(values.get(f, "") for f in VEP_FIELDS)


def ann(*values: str) -> str:
    """One SnpEff entry: the 16 fields, missing trailing ones empty."""
    assert len(values) <= 16
    return "|".join([*values, *[""] * (16 - len(values))])


def write_vcf(path: Path, header: str, records: Sequence[tuple[str, int, str, str, str]]) -> Path:
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=1,length=248956422>",
        "##contig=<ID=11,length=135086622>",
        "##contig=<ID=14,length=107043718>",
        header,
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    lines += [f"{c}\t{p}\t.\t{r}\t{a}\t50\tPASS\t{info}" for c, p, r, a, info in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def read(path: Path) -> tuple[AnnotationReader, list[tuple[Any, list[Consequence]]]]:
    vcf = cyvcf2.VCF(str(path))
    reader = AnnotationReader.from_vcf(vcf)
    assert reader is not None
    out = [(v, reader.parse_variant(v)) for v in vcf]
    vcf.close()
    return reader, out


# MYH7 c.1208G>A p.(Arg403Gln) on its MANE Select transcript (GRCh38 chr14, minus strand),
# with a non-MANE protein-coding transcript, a retained-intron transcript and a regulatory
# feature, as VEP lists them.
MYH7_MANE = csq(
    Allele="T", Consequence="missense_variant", IMPACT="MODERATE", SYMBOL="MYH7",
    Gene="ENSG00000092054", Feature_type="Transcript", Feature="ENST00000355349.4",
    BIOTYPE="protein_coding", EXON="13/40", HGVSc="ENST00000355349.4:c.1208G>A",
    HGVSp="ENSP00000347507.3:p.Arg403Gln", Protein_position="403", Amino_acids="R/Q",
    Codons="cGg/cAg", STRAND="-1", SYMBOL_SOURCE="HGNC", HGNC_ID="HGNC:7577", CANONICAL="YES",
    MANE_SELECT="NM_000257.4",
)  # fmt: skip
MYH7_OTHER = csq(
    Allele="T", Consequence="stop_gained", IMPACT="HIGH", SYMBOL="MYH7", Gene="ENSG00000092054",
    Feature_type="Transcript", Feature="ENST00000713768.1", BIOTYPE="protein_coding",
    EXON="12/39", HGVSc="ENST00000713768.1:c.1100C>T", HGVSp="ENSP00000519070.1:p.Gln367Ter",
    Protein_position="367", Amino_acids="Q/*",
)  # fmt: skip
MYH7_RETAINED = csq(
    Allele="T", Consequence="non_coding_transcript_exon_variant", IMPACT="MODIFIER",
    SYMBOL="MYH7", Gene="ENSG00000092054", Feature_type="Transcript",
    Feature="ENST00000557264.1", BIOTYPE="retained_intron", EXON="2/3",
)  # fmt: skip
REGULATORY = csq(
    Allele="T", Consequence="regulatory_region_variant", IMPACT="MODIFIER",
    Feature_type="RegulatoryFeature", Feature="ENSR00000071560", BIOTYPE="promoter_flanking_region",
)  # fmt: skip


@pytest.fixture
def vep_vcf(tmp_path: Path) -> Path:
    value = ",".join([REGULATORY, MYH7_RETAINED, MYH7_OTHER, MYH7_MANE])
    records = [("14", 23429005, "C", "T", "CSQ=" + value)]
    return write_vcf(tmp_path / "vep.vcf", VEP_HEADER, records)


def test_the_header_declares_the_fields_and_the_source(vep_vcf: Path) -> None:
    reader = AnnotationReader.from_vcf(cyvcf2.VCF(str(vep_vcf)))
    assert reader is not None
    assert reader.source == "VEP"
    assert reader.info_id == "CSQ"
    assert reader.fields == tuple(VEP_FIELDS)


def test_a_multi_transcript_record_is_read_in_full(vep_vcf: Path) -> None:
    reader, [(_, cs)] = read(vep_vcf)
    assert [c.transcript for c in cs] == [
        "ENSR00000071560",
        "ENST00000557264.1",
        "ENST00000713768.1",
        "ENST00000355349.4",
    ]
    mane = cs[3]
    assert mane.allele == "T"
    assert mane.terms == ("missense_variant",)
    assert mane.impact == "MODERATE"
    assert mane.gene == "MYH7"
    assert mane.gene_id == "ENSG00000092054"
    assert mane.biotype == "protein_coding"
    assert mane.hgvsc == "c.1208G>A"
    assert mane.hgvsp == "p.Arg403Gln"  # the ENSP prefix is stripped
    assert mane.protein_position == 403
    assert (mane.amino_acids, mane.ref_aa, mane.alt_aa) == ("R/Q", "R", "Q")
    assert mane.exon == (13, 40) and mane.intron is None
    assert mane.mane_select == "NM_000257.4"
    assert mane.canonical is True
    assert mane.nmd_escape is None  # only judged for premature stops
    assert mane.source == "VEP"
    assert cs[0].gene is None and cs[0].terms == ("regulatory_region_variant",)
    assert reader.warnings == {}


def test_pick_prefers_mane_then_panel_transcript_then_canonical_then_severity(
    vep_vcf: Path,
) -> None:
    _, [(_, cs)] = read(vep_vcf)
    # MANE Select wins over the more severe stop_gained on another transcript.
    chosen = pick(cs, "T", "C")
    assert chosen is not None and chosen.transcript == "ENST00000355349.4"

    no_mane = [c for c in cs if not c.mane_select]
    # Without MANE and canonical flags the most severe consequence is taken.
    chosen = pick(no_mane, "T", "C")
    assert chosen is not None and chosen.terms == ("stop_gained",)
    # A panel preference (versionless) beats severity ...
    preferred = {"MYH7": "ENST00000557264.9"}
    chosen = pick(no_mane, "T", "C", preferred=preferred)
    assert chosen is not None and chosen.transcript == "ENST00000557264.1"
    # ... and the transcript-id form of the preference works too.
    chosen = pick(no_mane, "T", "C", preferred={"ENST00000557264": "MYH7"})
    assert chosen is not None and chosen.transcript == "ENST00000557264.1"
    # Canonical beats severity when there is no preference.
    canonical = [
        Consequence(allele="T", terms=("intron_variant",), transcript="ENST1", canonical=True),
        Consequence(allele="T", terms=("stop_gained",), transcript="ENST2"),
    ]
    chosen = pick(canonical, "T", "C")
    assert chosen is not None and chosen.transcript == "ENST1"
    # MANE beats a preference for another transcript of the gene.
    chosen = pick(cs, "T", "C", preferred={"MYH7": "ENST00000713768"})
    assert chosen is not None and chosen.transcript == "ENST00000355349.4"
    # Nothing for an allele the record does not annotate.
    assert pick(cs, "G", "C") is None
    assert pick([], "T", "C") is None


def test_refseq_annotation_finds_the_panel_transcript(tmp_path: Path) -> None:
    # VEP --refseq: features are NM_ ids; MANE_SELECT may be empty in older caches.
    entries = [
        csq(Allele="T", Consequence="missense_variant", SYMBOL="MYH7", Feature="NM_000257.3",
            Feature_type="Transcript", BIOTYPE="protein_coding", Protein_position="403"),
        csq(Allele="T", Consequence="stop_gained", SYMBOL="MYH7", Feature="XM_011536610.3",
            Feature_type="Transcript", BIOTYPE="protein_coding"),
    ]  # fmt: skip
    path = write_vcf(
        tmp_path / "refseq.vcf", VEP_HEADER, [("14", 1, "C", "T", "CSQ=" + ",".join(entries))]
    )
    _, [(_, cs)] = read(path)
    from cardiofabric.genomics.panel import load_panel

    preferred = load_panel().preferred_transcripts()
    chosen = pick(cs, "T", "C", preferred=preferred)
    assert chosen is not None and chosen.transcript == "NM_000257.3"


def test_vep_indel_alleles_are_matched_through_minimisation(tmp_path: Path) -> None:
    records = [
        # A deletion: VEP drops the shared first base and writes "-".
        ("1", 100, "CA", "C",
         "CSQ=" + csq(Allele="-", Consequence="frameshift_variant", Feature="T1")),
        # An insertion: ALT without the shared base.
        ("1", 200, "C", "CAG",
         "CSQ=" + csq(Allele="AG", Consequence="frameshift_variant", Feature="T1")),
        # Multi-allelic, every allele starts with C: all stripped (deletion "-", insertion "AGAG").
        ("1", 300, "CAG", "C,CAGAG", "CSQ=" + ",".join([
            csq(Allele="-", Consequence="inframe_deletion", Feature="T1"),
            csq(Allele="AGAG", Consequence="inframe_insertion", Feature="T1"),
        ])),
        # Multi-allelic with different first bases: VEP keeps the alleles whole.
        ("1", 400, "A", "T,AT", "CSQ=" + ",".join([
            csq(Allele="T", Consequence="missense_variant", Feature="T1"),
            csq(Allele="AT", Consequence="frameshift_variant", Feature="T1"),
        ])),
        # --minimal: each ALT trimmed of what it shares with REF (gnomAD's VEP run).
        ("1", 500, "A", "T,G,ATT", "CSQ=" + ",".join([
            csq(Allele="T", Consequence="missense_variant", Feature="T1"),
            csq(Allele="G", Consequence="synonymous_variant", Feature="T1"),
            csq(Allele="TT", Consequence="frameshift_variant", Feature="T1"),
        ])),
    ]  # fmt: skip
    path = write_vcf(tmp_path / "indels.vcf", VEP_HEADER, records)
    _, parsed = read(path)
    expected = {
        100: {"C": "frameshift_variant"},
        200: {"CAG": "frameshift_variant"},
        300: {"C": "inframe_deletion", "CAGAG": "inframe_insertion"},
        400: {"T": "missense_variant", "AT": "frameshift_variant"},
        500: {"T": "missense_variant", "G": "synonymous_variant", "ATT": "frameshift_variant"},
    }
    for variant, cs in parsed:
        alts = list(variant.ALT)
        for alt in alts:
            chosen = pick(cs, alt, variant.REF, alts=alts)
            assert chosen is not None, (variant.POS, alt)
            assert chosen.terms[0] == expected[variant.POS][alt], (variant.POS, alt)
    # A deletion's "-" is not the allele of another deletion.
    deletion = Consequence(allele="-", terms=("frameshift_variant",))
    assert allele_matches(deletion, "CA", "C")
    assert not allele_matches(deletion, "C", "CA")
    assert not allele_matches(deletion, "C", "T")
    # The SNV at a multi-allelic site with different first bases is not the insertion.
    insertion = Consequence(allele="AT", terms=("frameshift_variant",))
    assert not allele_matches(insertion, "A", "T", alts=["T", "AT"])
    # SnpEff writes the ALT as in the VCF, or ALT-REF in cancer mode.
    snpeff = Consequence(allele="C", terms=("frameshift_variant",), source="SnpEff")
    assert allele_matches(snpeff, "CA", "C")
    cancer = Consequence(allele="T-C", terms=("missense_variant",), source="SnpEff")
    assert allele_matches(cancer, "C", "T") and not allele_matches(cancer, "C", "G")


def test_percent_encoded_values_are_decoded(tmp_path: Path) -> None:
    entry = csq(
        Allele="A", Consequence="synonymous_variant", SYMBOL="KCNQ1", Feature="ENST00000155840.12",
        HGVSc="ENST00000155840.12:c.30G>A", HGVSp="ENSP00000155840.2:p.Leu10%3D",
        Protein_position="10", Amino_acids="L", Existing_variation="rs1%2Crs2",
        FLAGS="cds_start_NF%3Bnote%3Dx",
    )  # fmt: skip
    path = write_vcf(tmp_path / "pct.vcf", VEP_HEADER, [("11", 1, "G", "A", "CSQ=" + entry)])
    _, [(_, [c])] = read(path)
    assert c.hgvsp == "p.Leu10="
    assert c.amino_acids == "L"
    assert c.terms == ("synonymous_variant",)


def test_protein_positions_exons_and_nmd(tmp_path: Path) -> None:
    entries = [
        # An in-frame deletion over two residues; a start-lost with an unknown first residue.
        csq(Allele="-", Consequence="inframe_deletion", Feature="T1", Protein_position="403-404",
            EXON="3-4/27"),
        csq(Allele="-", Consequence="start_lost", Feature="T2", Protein_position="?-5"),
        # Premature stops: last exon (escapes NMD), an early exon (NMD), the penultimate
        # (unknown without the 50-nt rule), a single-exon gene.
        csq(Allele="-", Consequence="stop_gained", Feature="T3", EXON="27/27"),
        csq(Allele="-", Consequence="frameshift_variant", Feature="T4", EXON="5/27"),
        csq(Allele="-", Consequence="stop_gained", Feature="T5", EXON="26/27"),
        csq(Allele="-", Consequence="stop_gained", Feature="T6", EXON="1/1"),
        # Plugins override the exon rule: LOFTEE's 50-bp rule and the NMD plugin.
        csq(Allele="-", Consequence="stop_gained", Feature="T7", EXON="26/27", LoF="LC",
            LoF_filter="END_TRUNC", LoF_info="50_BP_RULE:FAIL"),
        csq(Allele="-", Consequence="stop_gained", Feature="T8", EXON="3/27", LoF="HC",
            LoF_info="PERCENTILE:0.1&50_BP_RULE:PASS"),
        csq(Allele="-", Consequence="stop_gained", Feature="T9", EXON="3/27",
            NMD="NMD_escaping_variant"),
        csq(Allele="-", Consequence="intron_variant&splice_region_variant", Feature="T10",
            INTRON="4/26"),
    ]  # fmt: skip
    path = write_vcf(
        tmp_path / "nmd.vcf", VEP_HEADER, [("1", 10, "CA", "C", "CSQ=" + ",".join(entries))]
    )
    _, [(_, cs)] = read(path)
    by = {c.transcript: c for c in cs}
    assert by["T1"].protein_position == 403 and by["T1"].exon == (3, 27)
    assert by["T2"].protein_position == 5
    assert by["T3"].nmd_escape is True
    assert by["T4"].nmd_escape is False
    assert by["T5"].nmd_escape is None
    assert by["T6"].nmd_escape is True
    assert by["T7"].nmd_escape is True and by["T7"].lof == "LC"
    assert by["T8"].nmd_escape is False and by["T8"].lof == "HC"
    assert by["T9"].nmd_escape is True
    # Terms are ordered most severe first, whatever order VEP wrote.
    assert by["T10"].terms == ("splice_region_variant", "intron_variant")
    assert by["T10"].intron == (4, 26) and by["T10"].nmd_escape is None


def test_malformed_entries_are_skipped_and_counted(tmp_path: Path) -> None:
    good = csq(Allele="T", Consequence="missense_variant", Feature="T1", SYMBOL="MYH7")
    short = "T|missense_variant|MODERATE|MYH7"  # truncated entry
    path = write_vcf(tmp_path / "bad.vcf", VEP_HEADER, [("14", 1, "C", "T", f"CSQ={short},{good}")])
    reader, [(_, cs)] = read(path)
    assert [c.transcript for c in cs] == ["T1"]
    assert reader.malformed == 1
    assert sum(reader.warnings.values()) == 1
    (reason,) = reader.warnings
    assert "4 fields" in reason and str(len(VEP_FIELDS)) in reason
    # A value with no readable entry at all is an error naming the field.
    with pytest.raises(InputError, match="CSQ"):
        reader.parse("not|an|annotation,at|all")
    assert reader.parse("") == [] and reader.parse(".") == [] and reader.parse(None) == []


def test_headers_without_annotation_or_without_consequences() -> None:
    assert AnnotationReader.from_header("##fileformat=VCFv4.2\n") is None
    bad = (
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl'
        ' VEP. Format: Allele|SYMBOL|Feature">'
    )
    with pytest.raises(InputError, match="Consequence"):
        AnnotationReader.from_header(bad)
    no_format = '##INFO=<ID=CSQ,Number=.,Type=String,Description="something else">'
    with pytest.raises(InputError, match="Format"):
        AnnotationReader.from_header(no_format)
    # Both declared: VEP unless SnpEff is preferred.
    both = VEP_HEADER + "\n" + SNPEFF_HEADER
    vep = AnnotationReader.from_header(both)
    snpeff = AnnotationReader.from_header(both, prefer="SnpEff")
    assert vep is not None and vep.source == "VEP"
    assert snpeff is not None and snpeff.source == "SnpEff"


def test_a_vep_file_without_allele_field_matches_single_alt_records_only() -> None:
    header = (
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence type as predicted by VEP.'
        " Format: Consequence|Codons|Amino_acids|Gene|SYMBOL|Feature|EXON|PolyPhen|SIFT|"
        'Protein_position|BIOTYPE">'
    )
    reader = AnnotationReader.from_header(header)
    assert reader is not None
    [c] = reader.parse("missense_variant|Cgg/Tgg|R/W|ENSG1|GENE|ENST1|3/9|||12|protein_coding")
    assert c.allele == "" and c.protein_position == 12 and c.exon == (3, 9)
    assert pick([c], "T", "C") is c
    assert pick([c], "T", "C", alts=["T", "G"]) is None


# SnpEff 5: MYH7 p.Arg403Gln on two transcripts, an intronic splice-region hit, an in-frame
# deletion and a stop in KCNQ1 with LOF/NMD tags.
@pytest.fixture
def snpeff_vcf(tmp_path: Path) -> Path:
    myh7 = ",".join([
        ann("T", "missense_variant", "MODERATE", "MYH7", "ENSG00000092054", "transcript",
            "ENST00000355349.4", "protein_coding", "13/40", "c.1208G>A", "p.Arg403Gln",
            "1320/6027", "1208/5808", "403/1935"),
        ann("T", "splice_region_variant&intron_variant", "LOW", "MYH7", "ENSG00000092054",
            "transcript", "ENST00000713768.1", "protein_coding", "11/38", "c.1150+5G>A"),
        ann("T", "upstream_gene_variant", "MODIFIER", "MYH6", "ENSG00000197616", "transcript",
            "ENST00000405093.9", "protein_coding", "", "c.-3400C>T", "", "", "", "", "3400"),
    ])  # fmt: skip
    inframe = ann(
        "C", "conservative_inframe_deletion", "MODERATE", "MYBPC3", "ENSG00000134571",
        "transcript", "ENST00000545968.6", "protein_coding", "5/35", "c.500_502delAGA",
        "p.Lys167del", "", "", "167/1274",
    )  # fmt: skip
    stop = ",".join([
        ann("A", "stop_gained", "HIGH", "KCNQ1", "ENSG00000053918", "transcript",
            "ENST00000155840.12", "protein_coding", "7/16", "c.1031C>A", "p.Ser344*", "", "",
            "344/676"),
        ann("A", "stop_gained", "HIGH", "KCNQ1", "ENSG00000053918", "transcript",
            "ENST00000335475.6", "protein_coding", "7/16", "c.1031C>A", "p.Ser344Ter", "", "",
            "344/549"),
    ])  # fmt: skip
    records = [
        ("14", 23429005, "C", "T", f"ANN={myh7}"),
        ("11", 1000, "CAGA", "C", f"ANN={inframe}"),
        ("11", 2000, "C", "A", f"ANN={stop};LOF=(KCNQ1|ENSG00000053918|12|0.17);"
                               "NMD=(KCNQ1|ENSG00000053918|12|1.00)"),
    ]  # fmt: skip
    return write_vcf(tmp_path / "snpeff.vcf", SNPEFF_HEADER, records)


def test_snpeff_ann_is_read(snpeff_vcf: Path) -> None:
    reader, parsed = read(snpeff_vcf)
    assert reader.source == "SnpEff" and reader.info_id == "ANN"
    assert len(reader.fields) == 16
    (_, myh7), (_, inframe), (_, stop) = parsed
    mane, splice, upstream = myh7
    assert mane.source == "SnpEff"
    assert mane.terms == ("missense_variant",) and mane.impact == "MODERATE"
    assert (mane.gene, mane.gene_id, mane.transcript) == (
        "MYH7",
        "ENSG00000092054",
        "ENST00000355349.4",
    )
    assert mane.hgvsc == "c.1208G>A" and mane.hgvsp == "p.Arg403Gln"
    assert mane.protein_position == 403
    assert mane.amino_acids == "R/Q"  # derived from HGVS.p
    assert mane.exon == (13, 40) and mane.intron is None
    # SnpEff's Rank is the intron's for intronic positions.
    assert splice.terms == ("splice_region_variant", "intron_variant")
    assert splice.intron == (11, 38) and splice.exon is None
    assert upstream.gene == "MYH6"
    [deletion] = inframe
    assert deletion.terms[0] in INFRAME_TERMS and deletion.allele == "C"
    assert allele_matches(deletion, "CAGA", "C")
    # The NMD tag covers all KCNQ1 transcripts: NMD expected.
    assert [c.nmd_escape for c in stop] == [False, False]
    assert [c.amino_acids for c in stop] == ["S/*", "S/*"]
    # Picking by preference (SnpEff has no MANE flags).
    chosen = pick(myh7, "T", "C", preferred={"MYH7": "ENST00000355349"})
    assert chosen is mane
    # Without preference the most severe consequence wins (missense over splice region).
    assert pick(myh7, "T", "C") is mane


def test_snpeff_lof_without_nmd_means_escape() -> None:
    reader = AnnotationReader.from_header(SNPEFF_HEADER)
    assert reader is not None
    value = ann(
        "A", "stop_gained", "HIGH", "GENE", "G1", "transcript", "T1", "protein_coding", "3/16"
    )
    [c] = reader._parse(value, lof="(GENE|G1|2|1.00)", nmd=None)
    assert c.nmd_escape is True
    # Without tags the exon rule applies: exon 3 of 16 → NMD expected.
    [c] = reader.parse(value)
    assert c.nmd_escape is False


def test_severity_ranking_and_term_sets() -> None:
    order = [
        "transcript_ablation",
        "splice_acceptor_variant",
        "stop_gained",
        "frameshift_variant",
        "missense_variant",
        "splice_region_variant",
        "synonymous_variant",
        "intron_variant",
        "intergenic_variant",
        "sequence_variant",
    ]
    assert [SEVERITY[t] for t in order] == sorted(SEVERITY[t] for t in order)
    assert SEVERITY["transcript_ablation"] == 0
    assert severity("not_a_term") > SEVERITY["sequence_variant"]
    # SnpEff's own names rank as their VEP equivalents.
    assert SEVERITY["disruptive_inframe_insertion"] == SEVERITY["inframe_insertion"]
    assert (
        SEVERITY["5_prime_UTR_premature_start_codon_gain_variant"]
        == (SEVERITY["5_prime_UTR_variant"])
    )
    assert SEVERITY["intergenic_region"] == SEVERITY["intergenic_variant"]
    assert all(vep in SEVERITY for vep in SNPEFF_EQUIVALENT.values())
    assert {"stop_gained", "frameshift_variant", "splice_donor_variant", "start_lost"} <= LOF_TERMS
    assert "missense_variant" in MISSENSE_TERMS and "stop_lost" not in LOF_TERMS
    assert {"conservative_inframe_deletion", "inframe_insertion"} <= INFRAME_TERMS
    assert "synonymous_variant" in SYNONYMOUS_TERMS
    assert "splice_donor_5th_base_variant" in SPLICE_REGION_TERMS


@pytest.mark.parametrize(
    ("hgvsp", "expected"),
    [
        ("p.Arg403Gln", "R/Q"),
        ("p.(Arg403Gln)", "R/Q"),
        ("p.Arg403Ter", "R/*"),
        ("p.Arg403*", "R/*"),
        ("p.Leu10=", "L"),
        ("p.Arg403fs", None),
        ("p.Lys167del", None),
        ("p.?", None),
        (None, None),
    ],
)
def test_amino_acids_from_hgvsp(hgvsp: str | None, expected: str | None) -> None:
    assert amino_acids_from_hgvsp(hgvsp) == expected


# ---------------------------------------------------------------- real files (Debian)


@needs_vcfanno
def test_real_exac_vep_extract_parses() -> None:
    """ExAC r0.3 sites (VEP 81 with LOFTEE), a different field order, real indels."""
    path = VCFANNO / "example" / "exac.vcf.gz"
    vcf = cyvcf2.VCF(str(path))
    reader = AnnotationReader.from_vcf(vcf)
    assert reader is not None and reader.source == "VEP"
    assert reader.fields[:5] == ("Allele", "Gene", "Feature", "Feature_type", "Consequence")
    records = entries = unmatched = 0
    picked: dict[int, Consequence] = {}
    for v in vcf:
        cs = reader.parse_variant(v)
        records += 1
        entries += len(cs)
        chosen = pick(cs, v.ALT[0], v.REF, alts=v.ALT)
        if chosen is None:
            unmatched += 1
        else:
            picked[v.POS] = chosen
    assert records == 148 and entries == 515
    assert reader.warnings == {}
    # 1:98683 G>A carries a CSQ written for the allele C (the file's own inconsistency): no pick.
    assert unmatched == 1 and 98683 not in picked
    # OR4F5 is a single-exon gene: LOFTEE flags SINGLE_EXON, so the stop escapes NMD.
    stop = picked[69516]
    assert stop.terms == ("stop_gained",) and stop.gene == "OR4F5"
    assert stop.lof == "HC" and stop.nmd_escape is True
    assert (stop.protein_position, stop.amino_acids, stop.exon) == (142, "W/*", (1, 1))
    # A 1-bp deletion written "-" by VEP.
    deletion = picked[69620]
    assert deletion.allele == "-" and deletion.terms[0] == "frameshift_variant"


@needs_vcfanno
def test_real_gnomad_vep_minimal_multiallelic_parses() -> None:
    """gnomAD 2.0 sites (VEP --minimal): A→T,G,ATT annotated T, G and TT."""
    path = VCFANNO / "tests" / "testVA" / "test-gnomad.vcf.gz"
    vcf = cyvcf2.VCF(str(path))
    reader = AnnotationReader.from_vcf(vcf)
    assert reader is not None
    by_pos = {v.POS: (v.REF, list(v.ALT), reader.parse_variant(v)) for v in vcf}
    ref, alts, cs = by_pos[15274]
    assert alts == ["T", "G", "ATT"]
    assert {c.allele for c in cs} == {"T", "G", "TT"}
    for alt, written in zip(alts, ["T", "G", "TT"], strict=True):
        chosen = pick(cs, alt, ref, alts=alts)
        assert chosen is not None and chosen.allele == written
        # WASH7P ENST00000438504 is the canonical transcript there.
        assert chosen.canonical and chosen.transcript == "ENST00000438504"
    ref, alts, cs = by_pos[15271]
    chosen = pick(cs, alts[0], ref, alts=alts)
    assert chosen is not None and chosen.allele == "-"
    assert reader.warnings == {}


@needs_vcfanno
def test_real_file_without_annotation_gives_no_reader() -> None:
    path = VCFANNO / "tests" / "id-test" / "small.ann.vcf"
    if not path.exists():
        pytest.skip("small.ann.vcf is not shipped in this version of vcfanno-examples")
    assert AnnotationReader.from_vcf(cyvcf2.VCF(str(path))) is None


# ------------------------------------------------- the fast path picks what pick(parse()) picks

# A second VEP layout: an older field order, the pre-104 ``MANE`` column, no plugins.
VEP_OLD_FIELDS = [
    "Allele", "Gene", "Feature", "Feature_type", "Consequence", "cDNA_position", "CDS_position",
    "Protein_position", "Amino_acids", "Codons", "Existing_variation", "EXON", "INTRON",
    "MANE", "SYMBOL", "BIOTYPE", "CANONICAL", "HGVSc", "HGVSp",
]  # fmt: skip
_TERMS = [
    "missense_variant", "synonymous_variant", "stop_gained", "frameshift_variant",
    "intron_variant", "splice_region_variant&intron_variant", "inframe_deletion",
    "3_prime_UTR_variant", "upstream_gene_variant", "intron_variant&NMD_transcript_variant",
    "splice_donor_variant", "start_lost", "not_a_so_term", "regulatory_region_variant",
]  # fmt: skip
_SNPEFF_TERMS = [
    "missense_variant", "stop_gained", "frameshift_variant", "exon_loss_variant",
    "disruptive_inframe_deletion", "splice_region_variant&intron_variant", "intron_variant",
    "5_prime_UTR_premature_start_codon_gain_variant", "intergenic_region", "sequence_feature",
]  # fmt: skip
# Panel genes with their MANE transcripts (so panel preferences are hit), others, no symbol, and
# a percent-encoded symbol that decodes to a panel gene.
_GENES = [
    ("MYH7", ["ENST00000355349", "NM_000257", "ENST00000713768", "XM_011536610"]),
    ("MYBPC3", ["ENST00000545968", "NM_000256", "ENST00000399249"]),
    ("GENEX", ["ENST00000000001", "ENST00000000002"]),
    ("", ["ENSR00000071560", "ENST00000355349"]),
    ("MYH%37", ["ENST00000355349", "ENST00000999999"]),
]


def _written_alleles(rng: random.Random, ref: str, alt: str) -> list[str]:
    """Spellings an annotator may use for ``alt``, plus ones that are not this allele."""
    forms = [alt, alt[1:] or "-" if alt[:1] == ref[:1] else alt]
    i = 0
    while i < min(len(ref), len(alt)) and ref[i] == alt[i]:
        i += 1
    r, a = ref[i:], alt[i:]
    while r and a and r[-1] == a[-1]:
        r, a = r[:-1], a[:-1]
    forms.append(a or "-")
    forms.append(rng.choice(["G", "-", "TT", "N"]))  # another allele's (or nobody's)
    return forms


def _layout_records(
    rng: random.Random, source: str, n: int
) -> list[tuple[str, int, str, str, str]]:
    fields = {"vep": VEP_FIELDS, "vep_old": VEP_OLD_FIELDS}.get(source)
    records = []
    for i in range(n):
        ref = rng.choice(["C", "CA", "CAG", "A", "CAGAG"])
        pool = ["T", "G", ref[0], ref + "T", ref[0] + "AT", "A" * len(ref), "C" + ref[1:]]
        alts = list(dict.fromkeys(a for a in rng.sample(pool, rng.randint(1, 3)) if a != ref))
        if not alts:
            alts = ["T"] if ref != "T" else ["G"]
        entries: list[str] = []
        for alt in alts:
            for _ in range(rng.randint(0, 5)):
                written = rng.choice(_written_alleles(rng, ref, alt))
                symbol, txs = rng.choice(_GENES)
                tx = f"{rng.choice(txs)}.{rng.randint(1, 12)}"
                coding = rng.random() < 0.7
                if source == "snpeff":
                    term = rng.choice(_SNPEFF_TERMS)
                    if rng.random() < 0.1:
                        written = f"{alt}-{ref}"  # cancer mode
                    entries.append(
                        ann(written, term, rng.choice(["HIGH", "MODERATE", "LOW", "MODIFIER"]),
                            symbol, "ENSG1", "transcript", tx,
                            "protein_coding" if coding else "retained_intron",
                            f"{rng.randint(1, 9)}/9", f"c.{rng.randint(1, 900)}C>T",
                            rng.choice(["p.Arg403Gln", "p.Leu10=", "p.Ser344*", ""]),
                            "", "", f"{rng.randint(1, 300)}/300")
                    )  # fmt: skip
                    continue
                term = rng.choice(_TERMS) if rng.random() > 0.03 else ""
                values = {
                    "Allele": written,
                    "Consequence": term,
                    "SYMBOL": symbol,
                    "Gene": "ENSG1",
                    "Feature_type": "Transcript",
                    "Feature": tx if rng.random() > 0.05 else "",
                    "BIOTYPE": "protein_coding" if coding else "nonsense_mediated_decay",
                    "EXON": f"{rng.randint(1, 9)}/9",
                    "Protein_position": str(rng.randint(1, 300)),
                    "Amino_acids": "R/Q",
                    "HGVSp": rng.choice(["ENSP1:p.Arg403Gln", "ENSP1:p.Leu10%3D", ""]),
                    "CANONICAL": "YES" if rng.random() < 0.3 else "",
                    ("MANE_SELECT" if source == "vep" else "MANE"): (
                        f"NM_{rng.randint(1, 9)}.1" if rng.random() < 0.15 else ""
                    ),
                }
                if source == "vep":
                    values["LoF"] = rng.choice(["HC", "LC", ""])
                    values["LoF_info"] = rng.choice(["50_BP_RULE:PASS", "50_BP_RULE:FAIL", ""])
                    values["NMD"] = rng.choice(["NMD_escaping_variant", ""])
                assert fields is not None
                entry = "|".join(values.get(f, "") for f in fields)
                if rng.random() < 0.04:
                    entry = "|".join(entry.split("|")[:-2])  # a truncated entry: skipped
                entries.append(entry)
        if source == "vep" and rng.random() < 0.01:
            entries = ["not|an|annotation"]  # no readable entry: an error for both paths
        rng.shuffle(entries)
        tag = "ANN" if source == "snpeff" else "CSQ"
        info = [f"{tag}={','.join(entries)}"] if entries else []
        if source == "snpeff" and rng.random() < 0.3:
            info += ["LOF=(MYH7|ENSG1|4|0.50)", "NMD=(GENEX|ENSG1|2|1.00)"]
        records.append(("14", 1000 + 10 * i, ref, ",".join(alts), ";".join(info) or "."))
    return records


@pytest.mark.parametrize("source", ["vep", "vep_old", "snpeff"])
def test_the_fast_path_picks_exactly_what_pick_of_parse_picks(tmp_path: Path, source: str) -> None:
    from cardiofabric.genomics.panel import load_panel

    header = {
        "vep": VEP_HEADER,
        "vep_old": VEP_HEADER.replace("|".join(VEP_FIELDS), "|".join(VEP_OLD_FIELDS)),
        "snpeff": SNPEFF_HEADER,
    }[source]
    rng = random.Random(20240531)
    path = write_vcf(tmp_path / f"{source}.vcf", header, _layout_records(rng, source, 600))
    panel = load_panel().preferred_transcripts()
    preferences: list[dict[str, str] | None] = [
        None,
        panel,
        {"GENEX": "ENST00000000002.4", "ENST00000399249": "MYBPC3"},  # gene and id keys
    ]
    gene_filters: list[frozenset[str] | None] = [None, frozenset({"MYH7", "GENEX"})]
    slow_reader = AnnotationReader.from_vcf(cyvcf2.VCF(str(path)))
    fast_reader = AnnotationReader.from_vcf(cyvcf2.VCF(str(path)))
    assert slow_reader is not None and fast_reader is not None
    compared = chosen = errors = 0
    layouts: set[str] = set()
    for variant in cyvcf2.VCF(str(path)):
        ref, alts = variant.REF, list(variant.ALT)
        value = variant.INFO.get(fast_reader.info_id)
        try:
            parsed = slow_reader.parse_variant(variant)
        except InputError:
            errors += 1
            with pytest.raises(InputError, match="cannot be read"):
                fast_reader.pick_variant(variant, ref, alts)
            with pytest.raises(InputError, match="cannot be read"):
                fast_reader.pick_each(value, ref, alts)
            continue
        layouts.add("multi-allelic" if len(alts) > 1 else "single")
        layouts.update(c.allele for c in parsed if c.allele in ("-", "") or "-" in c.allele)
        for preferred in preferences:
            for genes in gene_filters:
                fast = fast_reader.pick_variant(
                    variant, ref, alts, preferred=preferred, genes=genes
                )
                each = fast_reader.pick_each(value, ref, alts, preferred=preferred, genes=genes)
                cands = [c for c in parsed if genes is None or (c.gene or "").upper() in genes]
                slow = [pick(cands, alt, ref, preferred=preferred, alts=alts) for alt in alts]
                assert fast == slow, (variant.POS, preferred is panel, genes)
                if source != "snpeff":  # pick_each has no LOF/NMD tags to read
                    assert each == slow, (variant.POS, preferred is panel, genes)
                for alt, want in zip(alts, slow, strict=True):
                    if genes is None and source != "snpeff":
                        for ctx in (alts, None):
                            expected = pick(parsed, alt, ref, preferred=preferred, alts=ctx)
                            got = fast_reader.pick_from(value, ref, alt, ctx, preferred)
                            assert got == expected, (variant.POS, alt, ctx)
                    compared += 1
                    chosen += want is not None
    # Each value was read once by the slow reader and (several times) by the fast one; the
    # skipped-entry counts of a single read agree.
    once = AnnotationReader.from_vcf(cyvcf2.VCF(str(path)))
    assert once is not None
    for variant in cyvcf2.VCF(str(path)):
        with contextlib.suppress(InputError):
            once.pick_variant(variant, variant.REF, list(variant.ALT))
    assert once.warnings == slow_reader.warnings
    if source == "vep":
        assert errors > 0 and slow_reader.malformed > 0
        assert {"multi-allelic", "single", "-"} <= layouts
    if source == "snpeff":
        assert any("-" in x for x in layouts)  # cancer-mode alleles were written
    # Enough of both outcomes that the comparison means something.
    assert chosen > 500 and compared - chosen > 100
