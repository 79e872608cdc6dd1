"""The network's knowledge resources, small but in each publisher's own layout.

Written into ``knowledge/`` of the network from the catalogue (:mod:`..knowledge`) and the
polygenic score's SNPs, so that ``genomics resource add`` reads them as it reads the real files:

- ``gnomad.sites.vcf.bgz`` (+ ``.tbi``): gnomAD v4 sites-VCF INFO (``AC``, ``AN``, ``AF``,
  ``nhomalt``, ``faf95``, ``fafmax_faf95_max``, per-group ``AC_<grp>``/``AN_<grp>``/
  ``AF_<grp>``/``nhomalt_<grp>``, ``faf95_<grp>`` for the non-founder groups), ``chr`` contigs;
- ``clinvar.vcf.gz`` (+ ``.tbi``): ClinVar's VCF (``ID`` = VariationID, ``CLNSIG``,
  ``CLNREVSTAT``, ``GENEINFO``, ``MC``, ``CLNHGVS``), annotated with VEP ``CSQ`` as sites
  annotate it (ClinVar's own file names no protein change);
- ``revel.csv.gz``: REVEL's CSV (one row per transcript; hg19 positions not given: ``.``);
- ``cadd.tsv.gz``: CADD's TSV with its ``## CADD GRCh38-v1.7`` comment line;
- ``spliceai.vcf.gz`` (+ ``.tbi``): SpliceAI's VCF (``INFO/SpliceAI``).

All values are synthetic (see :mod:`cardiofabric.pathfinder.knowledge`).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable
from pathlib import Path

from cardiofabric.errors import MissingDependencyError
from cardiofabric.pathfinder.cohort import PGS_SNPS
from cardiofabric.pathfinder.knowledge import (
    CATALOGUE,
    GNOMAD_GROUP_AN,
    KnownVariant,
    csq_description,
    csq_for,
    split_allele_count,
)
from cardiofabric.pathfinder.writers.vcf import GRCH38_CONTIGS

__all__ = ["RESOURCE_FILES", "write_knowledge"]

#: kind → file name in ``knowledge/``.
RESOURCE_FILES: dict[str, str] = {
    "gnomad": "gnomad.sites.vcf.bgz",
    "clinvar": "clinvar.vcf.gz",
    "revel": "revel.csv.gz",
    "cadd": "cadd.tsv.gz",
    "spliceai": "spliceai.vcf.gz",
}

_ORDER = {c: i for i, c in enumerate(GRCH38_CONTIGS)}
_FAF = ("afr", "amr", "eas", "nfe", "sas")
_GROUP_NAMES = {
    "afr": "African/African-American",
    "amr": "Admixed American",
    "asj": "Ashkenazi Jewish",
    "eas": "East Asian",
    "fin": "Finnish",
    "nfe": "Non-Finnish European",
    "sas": "South Asian",
}


def _sorted(variants: Iterable[KnownVariant]) -> list[KnownVariant]:
    return sorted(variants, key=lambda v: (_ORDER[v.key.chrom], v.key.pos, v.key.alt))


def _bgzip_vcf(lines: list[str], path: Path) -> list[Path]:
    """Write VCF text bgzipped with a tabix index (pysam), atomically."""
    try:
        import pysam
    except ImportError:
        raise MissingDependencyError("pysam", "genomics", "writing VCF files") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = path.with_name(f".{path.name}.txt")
    tmp = path.with_name(f".{path.name}.tmp")
    plain.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        pysam.tabix_compress(str(plain), str(tmp), force=True)
    finally:
        plain.unlink(missing_ok=True)
    os.replace(tmp, path)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return [path, path.with_name(path.name + ".tbi")]


def _gzip_text(lines: list[str], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    # mtime=0: the same network gives the same bytes.
    with gzip.GzipFile(tmp, "wb", mtime=0) as fh:
        fh.write(("\n".join(lines) + "\n").encode("utf-8"))
    os.replace(tmp, path)
    return path


def _contigs(prefix: str) -> list[str]:
    return [f"##contig=<ID={prefix}{c},length={n}>" for c, n in GRCH38_CONTIGS.items()]


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _gnomad(path: Path) -> list[Path]:
    from cardiofabric.genomics.resource_formats import filtering_allele_frequency

    groups = list(GNOMAD_GROUP_AN)
    header = [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="Passed all variant filters">',
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="Alternate allele count">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Total number of alleles">',
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Alternate allele frequency">',
        '##INFO=<ID=nhomalt,Number=A,Type=Integer,Description="Count of homozygous individuals">',
        '##INFO=<ID=faf95,Number=A,Type=Float,Description="Filtering allele frequency (using '
        'Poisson 95% CI)">',
        '##INFO=<ID=fafmax_faf95_max,Number=A,Type=Float,Description="Maximum filtering '
        'allele frequency (using Poisson 95% CI) across genetic ancestry groups">',
        '##INFO=<ID=fafmax_faf95_max_gen_anc,Number=A,Type=String,Description="Genetic '
        'ancestry group with the maximum filtering allele frequency (using Poisson 95% CI)">',
    ]
    for g in groups:
        name = _GROUP_NAMES[g]
        header += [
            f'##INFO=<ID=AC_{g},Number=A,Type=Integer,Description="Alternate allele count '
            f'for samples of {name} genetic ancestry">',
            f'##INFO=<ID=AN_{g},Number=1,Type=Integer,Description="Total number of alleles '
            f'in samples of {name} genetic ancestry">',
            f'##INFO=<ID=AF_{g},Number=A,Type=Float,Description="Alternate allele frequency '
            f'in samples of {name} genetic ancestry">',
            f'##INFO=<ID=nhomalt_{g},Number=A,Type=Integer,Description="Count of homozygous '
            f'individuals in samples of {name} genetic ancestry">',
        ]
    for g in _FAF:
        header.append(
            f'##INFO=<ID=faf95_{g},Number=A,Type=Float,Description="Filtering allele '
            f"frequency (using Poisson 95% CI) for samples of {_GROUP_NAMES[g]} genetic "
            'ancestry">'
        )
    header += _contigs("chr")
    header += [
        "##reference=GRCh38",
        "##source=cardiofabric.pathfinder synthetic gnomAD (layout of gnomAD v4.1 sites VCFs)",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    total_an = sum(GNOMAD_GROUP_AN.values())
    rows: list[tuple[str, int, str, str, dict[str, int], int]] = []
    for v in CATALOGUE:
        if v.gnomad_ac is not None:
            k = v.key
            rows.append((k.chrom, k.pos, k.ref, k.alt, v.gnomad_groups, v.gnomad_nhomalt))
    for s in PGS_SNPS:  # common SNPs: the score's effect allele frequency
        ac = round(s.eaf * total_an)
        rows.append(
            (
                s.chrom,
                s.pos,
                s.ref,
                s.alt,
                split_allele_count(ac, GNOMAD_GROUP_AN),
                round(s.eaf**2 * total_an / 2),
            )
        )
    rows.sort(key=lambda r: (_ORDER[r[0]], r[1], r[3]))
    lines = list(header)
    for chrom, pos, ref, alt, by_group, nhom in rows:
        ac = sum(by_group.values())
        fafs = {g: filtering_allele_frequency(by_group[g], GNOMAD_GROUP_AN[g]) for g in _FAF}
        top = max(_FAF, key=lambda g: (fafs[g], g))
        info = [
            f"AC={ac}",
            f"AN={total_an}",
            f"AF={_fmt(ac / total_an)}",
            f"nhomalt={nhom}",
            f"faf95={_fmt(filtering_allele_frequency(ac, total_an))}",
            f"fafmax_faf95_max={_fmt(fafs[top])}",
            f"fafmax_faf95_max_gen_anc={top}",
        ]
        for g in groups:
            share = round(nhom * by_group[g] / ac) if ac else 0
            info += [
                f"AC_{g}={by_group[g]}",
                f"AN_{g}={GNOMAD_GROUP_AN[g]}",
                f"AF_{g}={_fmt(by_group[g] / GNOMAD_GROUP_AN[g])}",
                f"nhomalt_{g}={share}",
            ]
        info += [f"faf95_{g}={_fmt(fafs[g])}" for g in _FAF]
        lines.append(f"chr{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t{';'.join(info)}")
    return _bgzip_vcf(lines, path)


_REVIEW = {
    4: "practice_guideline",
    3: "reviewed_by_expert_panel",
    2: "criteria_provided,_multiple_submitters,_no_conflicts",
    1: "criteria_provided,_single_submitter",
    0: "no_assertion_criteria_provided",
}
_SO = {
    "missense_variant": "SO:0001583",
    "synonymous_variant": "SO:0001819",
    "stop_gained": "SO:0001587",
    "frameshift_variant": "SO:0001589",
    "splice_donor_variant": "SO:0001575",
    "splice_acceptor_variant": "SO:0001574",
    "inframe_deletion": "SO:0001822",
    "splice_region_variant": "SO:0001630",
    "intron_variant": "SO:0001627",
}
_VC = {1: ("single_nucleotide_variant", "SO:0001483")}
#: RefSeq accessions of the GRCh38 chromosomes the catalogue uses (NCBI GRCh38.p14).
_NC = {
    "1": "NC_000001.11",
    "2": "NC_000002.12",
    "3": "NC_000003.12",
    "6": "NC_000006.12",
    "7": "NC_000007.14",
    "11": "NC_000011.10",
    "12": "NC_000012.12",
    "14": "NC_000014.9",
    "15": "NC_000015.10",
    "18": "NC_000018.10",
    "19": "NC_000019.10",
}


def _clinvar(path: Path) -> list[Path]:
    header = [
        "##fileformat=VCFv4.1",
        "##fileDate=2024-06-02",
        "##source=ClinVar",
        "##reference=GRCh38",
        '##ID=<Description="ClinVar Variation ID">',
        '##INFO=<ID=ALLELEID,Number=1,Type=Integer,Description="the ClinVar Allele ID">',
        "##INFO=<ID=CLNDN,Number=.,Type=String,Description=\"ClinVar's preferred disease name "
        'for the concept specified by disease identifiers in CLNDISDB">',
        '##INFO=<ID=CLNHGVS,Number=.,Type=String,Description="Top-level (primary assembly, '
        'alt, or patch) HGVS expression.">',
        '##INFO=<ID=CLNREVSTAT,Number=.,Type=String,Description="ClinVar review status of '
        'germline classification for the Variation ID">',
        '##INFO=<ID=CLNSIG,Number=.,Type=String,Description="Aggregate germline '
        "classification for this single variant; multiple values are separated by a vertical "
        'bar">',
        '##INFO=<ID=CLNVC,Number=1,Type=String,Description="Variant type">',
        '##INFO=<ID=CLNVCSO,Number=1,Type=String,Description="Sequence Ontology id for variant '
        'type">',
        '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="Gene(s) for the variant '
        "reported as gene symbol:gene id. The gene symbol and id are delimited by a colon (:) "
        'and each pair is delimited by a vertical bar (|)">',
        '##INFO=<ID=MC,Number=.,Type=String,Description="comma separated list of molecular '
        'consequence in the form of Sequence Ontology ID|molecular_consequence">',
        '##INFO=<ID=ORIGIN,Number=.,Type=String,Description="Allele origin. One or more of the '
        "following values may be added: 0 - unknown; 1 - germline; 2 - somatic; 4 - inherited; "
        "8 - paternal; 16 - maternal; 32 - de-novo; 64 - biparental; 128 - uniparental; 256 - "
        'not-tested; 512 - tested-inconclusive; 1073741824 - other">',
        '##VEP="v110" cache="refseq" assembly="GRCh38"',
        f'##INFO=<ID=CSQ,Number=.,Type=String,Description="{csq_description()}">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    lines = list(header)
    disease = {
        "hcm": "Hypertrophic_cardiomyopathy",
        "dcm": "Dilated_cardiomyopathy",
        "arvc": "Arrhythmogenic_right_ventricular_cardiomyopathy",
        "lqts": "Long_QT_syndrome",
        "cpvt": "Catecholaminergic_polymorphic_ventricular_tachycardia",
        "fh": "Familial_hypercholesterolemia",
        "attr": "Amyloidosis,_hereditary,_transthyretin-related",
    }
    for v in _sorted(x for x in CATALOGUE if x.clinvar_significance):
        k = v.key
        kind = (
            _VC[1]
            if len(k.ref) == len(k.alt) == 1
            else ("Deletion", "SO:0000159")
            if len(k.ref) > len(k.alt)
            else ("Duplication", "SO:1000035")
        )
        mc = ",".join(f"{_SO[t]}|{t}" for t in v.terms if t in _SO)
        if len(k.ref) == len(k.alt) == 1:
            g = f"{_NC[k.chrom]}:g.{k.pos}{k.ref}>{k.alt}"
        elif len(k.ref) > len(k.alt):
            g = f"{_NC[k.chrom]}:g.{k.pos + 1}_{k.pos + len(k.ref) - 1}del"
        else:
            g = f"{_NC[k.chrom]}:g.{k.pos}_{k.pos + 1}ins{k.alt[1:]}"
        info = [
            f"ALLELEID={int(v.clinvar_id or 0) + 1_000_000}",
            f"CLNDN={disease.get(v.condition or '', 'not_specified')}",
            f"CLNHGVS={g}",
            f"CLNREVSTAT={_REVIEW[v.clinvar_stars or 0]}",
            f"CLNSIG={v.clinvar_significance}",
            f"CLNVC={kind[0]}",
            f"CLNVCSO={kind[1]}",
            f"GENEINFO={v.gene}:{v.info.entrez}",
            f"MC={mc}",
            "ORIGIN=1",
            f"CSQ={csq_for(v)}",
        ]
        lines.append(
            f"{k.chrom}\t{k.pos}\t{v.clinvar_id}\t{k.ref}\t{k.alt}\t.\t.\t{';'.join(info)}"
        )
    return _bgzip_vcf(lines, path)


def _revel(path: Path) -> Path:
    lines = ["chr,hg19_pos,grch38_pos,ref,alt,aaref,aaalt,REVEL,Ensembl_transcriptid"]
    for v in _sorted(x for x in CATALOGUE if x.revel is not None and x.amino_acids):
        k = v.key
        ref_aa, alt_aa = (v.amino_acids or "/").split("/")
        tx = v.info.mane_ensembl.split(".")[0]
        lines.append(f"{k.chrom},.,{k.pos},{k.ref},{k.alt},{ref_aa},{alt_aa},{v.revel:.3f},{tx}")
        # REVEL scores a variant once per transcript; a lower score on another transcript
        # checks that the reader keeps the maximum.
        lines.append(
            f"{k.chrom},.,{k.pos},{k.ref},{k.alt},{ref_aa},{alt_aa},"
            f"{max(0.0, (v.revel or 0) - 0.1):.3f},ENST99999999999"
        )
    return _gzip_text(lines, path)


def _cadd_raw(phred: float) -> float:
    # A monotone stand-in for CADD's raw score (the real mapping is a genome-wide rank).
    return round(phred / 10.0 - 1.0, 6)


def _cadd(path: Path) -> Path:
    rows = [(v.key.chrom, v.key.pos, v.key.ref, v.key.alt, v.cadd_phred) for v in CATALOGUE]
    rows += [(s.chrom, s.pos, s.ref, s.alt, round(1.0 + 4.0 * s.weight * 10, 3)) for s in PGS_SNPS]
    rows.sort(key=lambda r: (_ORDER[r[0]], r[1], r[3]))
    lines = [
        "## CADD GRCh38-v1.7 (c) University of Washington, Hudson-Alpha Institute for "
        "Biotechnology and Berlin Institute of Health at Charite - Universitatsmedizin Berlin "
        "2013-2023. All rights reserved.",
        "#Chrom\tPos\tRef\tAlt\tRawScore\tPHRED",
    ]
    for chrom, pos, ref, alt, phred in rows:
        if phred is None:
            continue
        lines.append(f"{chrom}\t{pos}\t{ref}\t{alt}\t{_cadd_raw(phred)}\t{phred:.3f}")
    return _gzip_text(lines, path)


def _spliceai(path: Path) -> list[Path]:
    header = [
        "##fileformat=VCFv4.2",
        "##fileDate=20191004",
        "##reference=GRCh38/hg38",
        *_contigs(""),
        '##INFO=<ID=SpliceAI,Number=.,Type=String,Description="SpliceAIv1.3 variant '
        "annotation. These include delta scores (DS) and delta positions (DP) for acceptor "
        "gain (AG), acceptor loss (AL), donor gain (DG), and donor loss (DL). Format: "
        'ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    lines = list(header)
    for v in _sorted(x for x in CATALOGUE if x.spliceai is not None):
        k = v.key
        ds = v.spliceai or 0.0
        # The largest delta goes to the event the variant's class suggests; the others small.
        if "splice_acceptor_variant" in v.terms:
            ag, al, dg, dl = 0.0, ds, 0.0, min(ds, 0.01)
        else:
            ag, al, dg, dl = min(ds, 0.01), 0.0, min(ds / 3, 0.05), ds
        sai = f"{k.alt}|{v.gene}|{ag:.2f}|{al:.2f}|{dg:.2f}|{dl:.2f}|-12|3|-40|1"
        lines.append(f"{k.chrom}\t{k.pos}\t.\t{k.ref}\t{k.alt}\t.\t.\tSpliceAI={sai}")
    return _bgzip_vcf(lines, path)


def write_knowledge(folder: Path) -> dict[str, Path]:
    """Write the five resources into ``folder``; return kind → file (indexes beside VCFs)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {
        "gnomad": _gnomad(folder / RESOURCE_FILES["gnomad"])[0],
        "clinvar": _clinvar(folder / RESOURCE_FILES["clinvar"])[0],
        "revel": _revel(folder / RESOURCE_FILES["revel"]),
        "cadd": _cadd(folder / RESOURCE_FILES["cadd"]),
        "spliceai": _spliceai(folder / RESOURCE_FILES["spliceai"])[0],
    }
    return out
