"""The VCF adapter's ``variant.gene``: from VEP CSQ / SnpEff ANN through the transcript pick.

The files are written here in the layout each tool writes (header Format line, ``|``-separated
sub-fields, ``,``-separated transcript entries); the picking itself is tested with the
annotation reader (tests/genomics).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cardiofabric.ingest.base import ModalityRecord, SourceContext, SourceReport, get_adapter

pytest.importorskip("cyvcf2")

VEP_FIELDS = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|CANONICAL"
SNPEFF_FIELDS = (
    "Allele | Annotation | Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | "
    "Feature_ID | Transcript_BioType | Rank | HGVS.c | HGVS.p | cDNA.pos / cDNA.length | "
    "CDS.pos / CDS.length | AA.pos / AA.length | Distance | ERRORS / WARNINGS / INFO"
)
HEADER = """##fileformat=VCFv4.2
##reference=GRCh38
##contig=<ID=1,length=248956422>
##contig=<ID=11,length=135086622>
##INFO=<ID=GENE,Number=1,Type=String,Description="HGNC gene">{info}
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2
"""


def vep(*entries: str) -> str:
    return "CSQ=" + ",".join(entries)


def write(path: Path, info_header: str, records: list[tuple[int, str, str, str, str]]) -> Path:
    lines = [HEADER.format(info="\n" + info_header if info_header else "")]
    for pos, ref, alt, info, chrom in records:
        second = "0/2" if "," in alt else "0/0"  # S2 carries the second ALT where there is one
        lines.append(f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t50\tPASS\t{info}\tGT\t0/1\t{second}\n")
    path.write_text("".join(lines))
    return path


def genes(path: Path) -> dict[tuple[int, str], str | None]:
    report = SourceReport(source=str(path), format="vcf")
    ctx = SourceContext(site="s", options={}, report=report)
    records: list[ModalityRecord] = list(get_adapter("vcf").read(path, ctx))
    assert not report.rejected
    return {(v["pos"], v["alt"]): v["gene"] for r in records for v in r.content["variant"]}


def test_gene_from_vep_csq(tmp_path: Path) -> None:
    csq = (
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from '
        f'Ensembl VEP. Format: {VEP_FIELDS}">'
    )
    path = write(
        tmp_path / "vep.vcf",
        csq,
        [
            # Two genes; the other gene's transcript is canonical and more severe, but the
            # cardiac panel's MANE transcript of MYBPC3 (ENST00000545968) is picked first.
            (
                47332274,
                "C",
                "T",
                vep(
                    "T|stop_gained|HIGH|NEIGHBOUR|ENSG0001|Transcript|ENST00000000001|"
                    "protein_coding|YES",
                    "T|missense_variant|MODERATE|MYBPC3|ENSG00000134571|Transcript|"
                    "ENST00000545968.6|protein_coding|",
                ),
                "11",
            ),
            # Multi-allelic: each ALT gets the gene of its own consequences.
            (
                1000,
                "A",
                "G,T",
                vep(
                    "G|missense_variant|MODERATE|GENEA|ENSG1|Transcript|ENST1|protein_coding|YES",
                    "T|missense_variant|MODERATE|GENEB|ENSG2|Transcript|ENST2|protein_coding|YES",
                ),
                "1",
            ),
            # A deletion, which VEP writes as "-" after stripping the shared first base.
            (
                2000,
                "CA",
                "C",
                vep("-|frameshift_variant|HIGH|GENEC|ENSG3|Transcript|ENST3|protein_coding|YES"),
                "1",
            ),
            # Intergenic (no SYMBOL), with an INFO GENE the caller added: that is the gene.
            (3000, "G", "A", "GENE=FROMINFO;" + vep("A|intergenic_variant|MODIFIER||||||"), "1"),
            # An entry that does not fit the header: no gene from it, nothing rejected.
            (4000, "T", "C", vep("C|missense_variant|MODERATE|BROKEN"), "1"),
            (5000, "T", "C", "GENE=ONLYINFO", "1"),
        ],
    )
    got = genes(path)
    assert got[(47332274, "T")] == "MYBPC3"
    assert (got[(1000, "G")], got[(1000, "T")]) == ("GENEA", "GENEB")
    assert got[(2000, "C")] == "GENEC"
    assert got[(3000, "A")] == "FROMINFO"
    assert got[(4000, "C")] is None
    assert got[(5000, "C")] == "ONLYINFO"


def test_gene_from_snpeff_ann(tmp_path: Path) -> None:
    ann = (
        '##INFO=<ID=ANN,Number=.,Type=String,Description="Functional annotations: '
        f"'{SNPEFF_FIELDS}' \">"
    )
    entry = "A|missense_variant|MODERATE|KCNQ1|ENSG00000053918|transcript|ENST00000155840.12|"
    entry += "protein_coding|3/16|c.569G>A|p.Arg190Gln|||190/676||"
    other = "A|upstream_gene_variant|MODIFIER|KCNQ1OT1|ENSG00000269821|transcript|"
    other += "ENST00000597346.1|lncRNA||n.-1C>T|||||1200|"
    path = write(tmp_path / "snpeff.vcf", ann, [(2583549, "G", "A", f"ANN={other},{entry}", "11")])
    assert genes(path) == {(2583549, "A"): "KCNQ1"}  # the most severe consequence's gene


def test_without_annotation_info_gene_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "plain.vcf", "", [(10, "A", "G", "GENE=LDLR", "1")])
    assert genes(path) == {(10, "G"): "LDLR"}
