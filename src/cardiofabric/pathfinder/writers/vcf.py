"""A site's sequencing output: one multi-sample, bgzipped, tabix-indexed VCF (written by pysam).

Samples are the patients with ``has_vcf``, named by their local id as a sequencing pipeline
names them. Records (VCF 4.2 as htslib writes it, GRCh38 with contig lengths):

- each patient's pathogenic carrier variants (``CARRIER_VARIANTS``), heterozygous ``0/1``;
- the CAD polygenic score's SNPs (``PGS_SNPS``) with each patient's effect-allele dosage as
  the genotype (0 → ``0/0``, 1 → ``0/1``, 2 → ``1/1``; the effect allele is ALT);
- each patient's incidental benign and uncertain panel variants (``SimPatient.incidental``,
  from the catalogue of ``pathfinder.knowledge``), with their dosage as the genotype;
- common background SNVs at random positions, genotypes drawn under Hardy–Weinberg.

``INFO/GENE`` names the gene of carrier and incidental variants. ``INFO/CSQ`` is the Ensembl VEP
annotation (header line as VEP writes it, with ``MANE_SELECT``): the catalogue's MANE
transcript consequence for panel variants, ``intergenic_variant`` for the score's SNPs and the
background SNVs (their positions are synthetic and placed outside the annotated genes by
construction of this network, not checked against a gene model). Deterministic by seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cardiofabric.errors import MissingDependencyError
from cardiofabric.genomics.model import VariantKey
from cardiofabric.pathfinder.cohort import PGS_SNPS, SimPatient, SiteSpec
from cardiofabric.pathfinder.knowledge import by_key, csq_description, csq_for, intergenic_csq

__all__ = ["GRCH38_CONTIGS", "write_vcf"]

#: GRCh38 primary assembly sequence lengths (Genome Reference Consortium, GCA_000001405.15).
GRCH38_CONTIGS: dict[str, int] = {
    "1": 248956422,
    "2": 242193529,
    "3": 198295559,
    "4": 190214555,
    "5": 181538259,
    "6": 170805979,
    "7": 159345973,
    "8": 145138636,
    "9": 138394717,
    "10": 133797422,
    "11": 135086622,
    "12": 133275309,
    "13": 114364328,
    "14": 107043718,
    "15": 101991189,
    "16": 90338345,
    "17": 83257441,
    "18": 80373285,
    "19": 58617616,
    "20": 64444167,
    "21": 46709983,
    "22": 50818468,
    "X": 156040895,
    "Y": 57227415,
    "MT": 16569,
}
_ORDER = {c: i for i, c in enumerate(GRCH38_CONTIGS)}
_GT = {0: (0, 0), 1: (0, 1), 2: (1, 1)}
_BASES = "ACGT"

# One site: (chrom, pos, ref, alt, gene, qual, genotype per sample, VEP CSQ).
_Site = tuple[str, int, str, str, str | None, float, list[tuple[int, int]], str]


def _sites(patients: list[SimPatient], rng: np.random.Generator, n_background: int) -> list[_Site]:
    n = len(patients)
    sites: dict[tuple[str, int], _Site] = {}
    for j, snp in enumerate(PGS_SNPS):
        gts = [_GT[p.pgs_dosages[j]] if p.pgs_dosages else (0, 0) for p in patients]
        csq = intergenic_csq(snp.ref, snp.alt)
        sites[(snp.chrom, snp.pos)] = (snp.chrom, snp.pos, snp.ref, snp.alt, None, 99.0, gts, csq)
    catalogue = by_key()
    for i, p in enumerate(patients):
        for c in p.carriers:
            key = (c.chrom, c.pos)
            if key not in sites:
                v = catalogue[VariantKey(c.chrom, c.pos, c.ref, c.alt)]
                sites[key] = (c.chrom, c.pos, c.ref, c.alt, c.gene, 99.0, [(0, 0)] * n, csq_for(v))
            sites[key][6][i] = (0, 1)
        for allele, count in sorted(p.incidental.items()):
            v_chrom, v_pos, v_ref, v_alt = allele.split("-")
            v = catalogue[VariantKey(v_chrom, int(v_pos), v_ref, v_alt)]
            at = (v.key.chrom, v.key.pos)
            if at not in sites:
                k = v.key
                sites[at] = (k.chrom, k.pos, k.ref, k.alt, v.gene, 99.0, [(0, 0)] * n, csq_for(v))
            sites[at][6][i] = _GT[count]
    autosomes = [c for c in GRCH38_CONTIGS if c.isdigit()]
    target = len(sites) + n_background
    while len(sites) < target:
        chrom = autosomes[int(rng.integers(0, len(autosomes)))]
        pos = int(rng.integers(1_000_000, GRCH38_CONTIGS[chrom] - 1_000_000))
        if (chrom, pos) in sites:
            continue
        ref = _BASES[int(rng.integers(0, 4))]
        alt = _BASES[(_BASES.index(ref) + int(rng.integers(1, 4))) % 4]
        af = float(rng.uniform(0.05, 0.5))
        dosage = rng.binomial(2, af, size=n)
        quality = round(float(rng.uniform(30, 99)), 1)
        gts = [_GT[int(d)] for d in dosage]
        sites[(chrom, pos)] = (chrom, pos, ref, alt, None, quality, gts, intergenic_csq(ref, alt))
    return sorted(sites.values(), key=lambda s: (_ORDER[s[0]], s[1]))


def write_vcf(
    patients: list[SimPatient],
    path: Path,
    spec: SiteSpec,
    *,
    seed: int,
    n_background: int = 200,
) -> list[Path]:
    """Write the site's VCF (``.vcf.gz``) and its tabix index; return both paths."""
    try:
        import pysam
    except ImportError:
        raise MissingDependencyError("pysam", "genomics", "writing VCF files") from None
    samples = [p for p in patients if p.has_vcf]
    rng = np.random.default_rng([seed, len(samples), 0x5CF])
    header = pysam.VariantHeader()
    header.add_meta("fileDate", "20240601")
    header.add_meta("source", f"cardiofabric.pathfinder ({spec.name} sequencing pipeline)")
    header.add_meta("reference", "GRCh38")
    for chrom, length in GRCH38_CONTIGS.items():
        header.contigs.add(chrom, length=length)
    header.add_meta(
        "INFO",
        items=[("ID", "GENE"), ("Number", "1"), ("Type", "String"), ("Description", "HGNC gene")],
    )
    header.add_meta("VEP", '"v110" cache="refseq" assembly="GRCh38"')
    header.add_meta(
        "INFO",
        items=[
            ("ID", "CSQ"),
            ("Number", "."),
            ("Type", "String"),
            ("Description", csq_description()),
        ],
    )
    header.add_meta(
        "FORMAT",
        items=[("ID", "GT"), ("Number", "1"), ("Type", "String"), ("Description", "Genotype")],
    )
    for p in samples:
        header.add_sample(p.local_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.gz")
    with pysam.VariantFile(str(tmp), "wz", header=header) as out:
        for chrom, pos, ref, alt, gene, qual, gts, csq in _sites(samples, rng, n_background):
            rec = out.new_record(
                contig=chrom, start=pos - 1, alleles=(ref, alt), qual=qual, filter="PASS"
            )
            if gene:
                rec.info["GENE"] = gene
            rec.info["CSQ"] = csq
            for p, gt in zip(samples, gts, strict=True):
                rec.samples[p.local_id]["GT"] = gt
            out.write(rec)
    tmp.replace(path)
    pysam.tabix_index(str(path), preset="vcf", force=True)  # writes <path>.tbi
    return [path, path.with_name(path.name + ".tbi")]
