"""The Pathfinder variant catalogue: cardiac panel variants with everything resources say.

One :class:`KnownVariant` per allele holds the gene, transcript and protein annotation (as VEP
writes it) and what gnomAD, ClinVar, REVEL, CADD and SpliceAI say about it. The network's
knowledge files (:mod:`cardiofabric.pathfinder.writers.knowledge`) and the VEP ``CSQ`` of the
sites' VCFs (:mod:`cardiofabric.pathfinder.writers.vcf`) are written from it, so the whole
interpretation chain runs offline and its answers can be checked against this module.

**Illustrative, not a reference.** Positions are GRCh38 coordinates inside (or near) the named
genes but are not checked against the reference sequence; REF bases may differ from it. The
protein changes of the carrier variants and of several others are well-known published cardiac
variants, used as labels; transcript versions, exon numbers, HGVS c. numbering, ClinVar
Variation IDs (from 9,000,001: not real ClinVar ids), counts and scores are synthetic. Check any
of them against MANE, ClinVar and gnomAD before reusing them for anything but this network.

:func:`csq_header` and :func:`csq_for` give the VEP ``CSQ`` header line and values for a
variant, for spiking variants into real VCFs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cardiofabric.genomics.model import VariantKey
from cardiofabric.pathfinder.cohort import CARRIER_VARIANTS, PGS_SNPS

if TYPE_CHECKING:
    from cardiofabric.pathfinder.cohort import SimPatient

ProgressHook = Callable[[str, int, int], None]

__all__ = [
    "CATALOGUE",
    "CSQ_FIELDS",
    "GENES",
    "GNOMAD_GROUP_AN",
    "KnownVariant",
    "PanelGeneInfo",
    "by_key",
    "csq_for",
    "csq_header",
    "install_site_knowledge",
    "intergenic_csq",
    "seed_incidental",
    "split_allele_count",
]


@dataclass(frozen=True)
class PanelGeneInfo:
    """A gene as the catalogue annotates it (MANE Select transcript; versions illustrative)."""

    symbol: str
    hgnc_id: str
    entrez: str
    strand: int
    mane_refseq: str
    mane_ensembl: str
    protein: str  # RefSeq protein of the MANE transcript
    exons: int


GENES: dict[str, PanelGeneInfo] = {
    g.symbol: g
    for g in (
        PanelGeneInfo("MYH7", "HGNC:7577", "4625", -1, "NM_000257.4", "ENST00000355349.4",
                      "NP_000248.2", 40),
        PanelGeneInfo("MYBPC3", "HGNC:7551", "4607", -1, "NM_000256.3", "ENST00000545968.6",
                      "NP_000247.2", 35),
        PanelGeneInfo("TNNT2", "HGNC:11949", "7139", -1, "NM_001276345.2", "ENST00000656932.1",
                      "NP_001263274.1", 17),
        PanelGeneInfo("KCNQ1", "HGNC:6294", "3784", 1, "NM_000218.3", "ENST00000155840.12",
                      "NP_000209.2", 16),
        PanelGeneInfo("KCNH2", "HGNC:6251", "3757", -1, "NM_000238.4", "ENST00000262186.10",
                      "NP_000229.1", 15),
        PanelGeneInfo("SCN5A", "HGNC:10593", "6331", -1, "NM_000335.5", "ENST00000423572.7",
                      "NP_000326.2", 28),
        PanelGeneInfo("RYR2", "HGNC:10484", "6262", 1, "NM_001035.3", "ENST00000366574.7",
                      "NP_001026.2", 105),
        PanelGeneInfo("LDLR", "HGNC:6547", "3949", 1, "NM_000527.5", "ENST00000558518.6",
                      "NP_000518.1", 18),
        PanelGeneInfo("APOB", "HGNC:603", "338", -1, "NM_000384.3", "ENST00000233242.5",
                      "NP_000375.3", 29),
        PanelGeneInfo("PCSK9", "HGNC:20001", "255738", 1, "NM_174936.4", "ENST00000302118.5",
                      "NP_777596.2", 12),
        PanelGeneInfo("TTN", "HGNC:12403", "7273", -1, "NM_001267550.2", "ENST00000589042.5",
                      "NP_001254479.2", 363),
        PanelGeneInfo("LMNA", "HGNC:6636", "4000", 1, "NM_170707.4", "ENST00000677389.1",
                      "NP_733821.1", 12),
        PanelGeneInfo("FLNC", "HGNC:3756", "2318", 1, "NM_001458.5", "ENST00000325888.13",
                      "NP_001449.3", 48),
        PanelGeneInfo("DSP", "HGNC:3052", "1832", 1, "NM_004415.4", "ENST00000379802.8",
                      "NP_004406.2", 24),
        PanelGeneInfo("PKP2", "HGNC:9024", "5318", -1, "NM_004572.4", "ENST00000340811.9",
                      "NP_004563.2", 14),
        PanelGeneInfo("TTR", "HGNC:12405", "7276", 1, "NM_000371.4", "ENST00000237014.8",
                      "NP_000362.1", 4),
    )
}  # fmt: skip

#: Allele numbers per genetic ancestry group of the synthetic gnomAD (of the order of gnomAD
#: v4.1 exomes; not its exact figures). ``fin`` and ``asj`` are founder groups: counted in AC
#: and AN but, as in gnomAD, never the group that sets the filtering allele frequency.
GNOMAD_GROUP_AN: dict[str, int] = {
    "afr": 75_000,
    "amr": 60_000,
    "asj": 29_000,
    "eas": 45_000,
    "fin": 64_000,
    "nfe": 1_130_000,
    "sas": 90_000,
}

#: Kinds of catalogue variant. Only the benign and uncertain ones are seeded into patients
#: (pathogenic variants reach patients through the cohort model's carriers only).
CATEGORIES = (
    "pathogenic_missense",
    "truncating",
    "splice",
    "benign_common",
    "synonymous",
    "vus_missense",
    "inframe",
    "splice_region",
)
SEEDED_CATEGORIES = frozenset(
    {"benign_common", "synonymous", "vus_missense", "inframe", "splice_region"}
)

_IMPACT = {
    "missense_variant": "MODERATE",
    "inframe_deletion": "MODERATE",
    "inframe_insertion": "MODERATE",
    "stop_gained": "HIGH",
    "frameshift_variant": "HIGH",
    "splice_donor_variant": "HIGH",
    "splice_acceptor_variant": "HIGH",
    "start_lost": "HIGH",
    "splice_region_variant": "LOW",
    "synonymous_variant": "LOW",
    "intron_variant": "MODIFIER",
    "intergenic_variant": "MODIFIER",
}


@dataclass(frozen=True)
class KnownVariant:
    """One catalogue allele: annotation on the MANE transcript and every resource's value.

    ``hgvsc``/``hgvsp`` are the ``c.``/``p.`` parts (VEP prefixes the transcript and protein
    ids); ``amino_acids`` is VEP's ``R/Q`` form; ``exon``/``intron`` are ``(number, total)``.
    ``gnomad_ac`` None: absent from gnomAD. ``gnomad_enriched`` names the group holding most
    alleles (otherwise spread in proportion to the groups' allele numbers).
    """

    gene: str
    key: VariantKey
    category: str
    terms: tuple[str, ...]
    hgvsc: str
    hgvsp: str | None = None
    protein_position: int | None = None
    amino_acids: str | None = None
    exon: tuple[int, int] | None = None
    intron: tuple[int, int] | None = None
    gnomad_ac: int | None = None
    gnomad_nhomalt: int = 0
    gnomad_enriched: str | None = None
    clinvar_significance: str | None = None
    clinvar_stars: int | None = None
    clinvar_id: str | None = None
    revel: float | None = None
    cadd_phred: float | None = None
    spliceai: float | None = None
    condition: str | None = None  # hcm | lqts | fh ... for pathogenic variants
    note: str = ""

    @property
    def info(self) -> PanelGeneInfo:
        return GENES[self.gene]

    @property
    def transcript(self) -> str:
        """The MANE Select RefSeq transcript (the ``Feature`` VEP writes with ``--refseq``)."""
        return self.info.mane_refseq

    @property
    def mane_select(self) -> str:
        return self.info.mane_ensembl

    @property
    def seeded(self) -> bool:
        """Whether patients may carry it as an incidental finding."""
        return self.category in SEEDED_CATEGORIES

    @property
    def gnomad_an(self) -> int:
        return sum(GNOMAD_GROUP_AN.values())

    @property
    def gnomad_af(self) -> float | None:
        return None if self.gnomad_ac is None else self.gnomad_ac / self.gnomad_an

    @cached_property
    def gnomad_groups(self) -> dict[str, int]:
        """Allele counts per group: the largest-remainder split of ``gnomad_ac``."""
        ac = self.gnomad_ac or 0
        if self.gnomad_enriched:
            main = round(ac * 0.8)
            rest = split_allele_count(ac - main, {g: n for g, n in GNOMAD_GROUP_AN.items()})
            rest[self.gnomad_enriched] += main
            return rest
        return split_allele_count(ac, GNOMAD_GROUP_AN)

    @cached_property
    def gnomad_faf95(self) -> float | None:
        """The filtering allele frequency as gnomAD computes it (maximum over non-founder
        groups of the Poisson 95 % lower bound; Whiffin et al. 2017)."""
        from cardiofabric.genomics.resource_formats import FAF_GROUPS, filtering_allele_frequency

        if self.gnomad_ac is None:
            return None
        groups = self.gnomad_groups
        best = max(filtering_allele_frequency(groups[g], GNOMAD_GROUP_AN[g]) for g in FAF_GROUPS)
        return float(f"{best:.6g}")


def split_allele_count(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """``total`` alleles split across groups in proportion to ``weights`` (largest remainder)."""
    whole = sum(weights.values())
    raw = {g: total * w / whole for g, w in weights.items()}
    out = {g: int(v) for g, v in raw.items()}
    left = total - sum(out.values())
    for g in sorted(raw, key=lambda g: (-(raw[g] - out[g]), g))[:left]:
        out[g] += 1
    return out


def _v(
    gene: str,
    chrom: str,
    pos: int,
    ref: str,
    alt: str,
    category: str,
    term: str,
    hgvsc: str,
    hgvsp: str | None,
    exon: int | None,
    **kw: object,
) -> KnownVariant:
    """Build a catalogue entry: protein position and amino acids from ``hgvsp``."""
    import re

    info = GENES[gene]
    ppos = aa = None
    if hgvsp:
        m = re.match(r"p\.([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2}|=|Ter)?", hgvsp)
        if m:
            ppos = int(m.group(2))
            r1 = _AA1[m.group(1)]
            a3 = m.group(3)
            if term == "missense_variant" and a3:
                aa = f"{r1}/{_AA1[a3]}"
            elif term == "synonymous_variant":
                aa = r1
            elif term == "stop_gained":
                aa = f"{r1}/*"
            elif term == "frameshift_variant":
                aa = f"{r1}/X"
            elif term.startswith("inframe"):
                aa = f"{r1}/-"
    intron = kw.pop("intron", None)
    terms = kw.pop("terms", None) or (term,)
    return KnownVariant(
        gene=gene,
        key=VariantKey(chrom, pos, ref, alt),
        category=category,
        terms=terms,  # type: ignore[arg-type]
        hgvsc=hgvsc,
        hgvsp=hgvsp,
        protein_position=ppos,
        amino_acids=aa,
        exon=(exon, info.exons) if exon else None,
        intron=(intron, info.exons - 1) if isinstance(intron, int) else None,
        **kw,  # type: ignore[arg-type]
    )


_AA1 = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*",
}  # fmt: skip

_P, _LP, _B, _LB, _VUS = (
    "Pathogenic",
    "Likely_pathogenic",
    "Benign",
    "Likely_benign",
    "Uncertain_significance",
)
_CONFLICT = "Conflicting_classifications_of_pathogenicity"
_MS = "missense_variant"


def _carriers() -> list[KnownVariant]:
    """The cohort's carrier variants, annotated (c. numbering and exons illustrative)."""
    extra = {  # gene: (hgvsc, exon, gnomAD AC, ClinVar, stars, REVEL, CADD)
        "MYBPC3": ("c.1504C>T", 17, 4, _P, 2, 0.78, 28.1),
        "MYH7": ("c.1208G>A", 13, None, _P, 3, 0.93, 32.0),
        "KCNQ1": ("c.569G>A", 3, 1, _P, 2, 0.89, 31.0),
        "KCNH2": ("c.1841C>T", 7, None, _P, 2, 0.95, 29.6),
        "LDLR": ("c.1775G>A", 12, 3, _P, 3, 0.97, 28.9),
        "APOB": ("c.10580G>A", 26, 180, _P, 2, 0.42, 24.3),
        "PCSK9": ("c.1120G>T", 7, None, _LP, 2, 0.91, 27.5),
    }
    out = []
    for n, c in enumerate(CARRIER_VARIANTS):
        hgvsc, exon, ac, sig, stars, revel, cadd = extra[c.gene]
        out.append(
            _v(
                c.gene,
                c.chrom,
                c.pos,
                c.ref,
                c.alt,
                "pathogenic_missense",
                _MS,
                hgvsc,
                c.hgvs_p,
                exon,
                gnomad_ac=ac,
                clinvar_significance=sig,
                clinvar_stars=stars,
                clinvar_id=str(9_000_001 + n),
                revel=revel,
                cadd_phred=cadd,
                spliceai=0.02,
                condition=c.condition,
                note="cohort carrier variant",
            )
        )
    return out


def _others() -> list[KnownVariant]:
    ids = iter(range(9_000_101, 9_001_000))

    def cv() -> str:
        return str(next(ids))

    return [
        # -- pathogenic / likely pathogenic missense (ClinVar only; never seeded) -----------
        _v("MYH7", "14", 23425814, "G", "A", "pathogenic_missense", _MS, "c.1207C>T",
           "p.Arg403Trp", 13, clinvar_significance=_P, clinvar_stars=2, clinvar_id=cv(),
           revel=0.94, cadd_phred=31.0, spliceai=0.01, condition="hcm",
           note="same residue as the cohort's p.Arg403Gln (PM5)"),
        _v("MYH7", "14", 23424120, "G", "A", "pathogenic_missense", _MS, "c.2155C>T",
           "p.Arg719Trp", 20, clinvar_significance=_P, clinvar_stars=3, clinvar_id=cv(),
           revel=0.96, cadd_phred=33.0, spliceai=0.0, condition="hcm"),
        _v("TNNT2", "1", 201365298, "C", "T", "pathogenic_missense", _MS, "c.275G>A",
           "p.Arg92Gln", 9, gnomad_ac=2, clinvar_significance=_P, clinvar_stars=2,
           clinvar_id=cv(), revel=0.85, cadd_phred=29.0, spliceai=0.03, condition="hcm"),
        _v("KCNQ1", "11", 2768881, "C", "T", "pathogenic_missense", _MS, "c.1022C>T",
           "p.Ala341Val", 7, clinvar_significance=_P, clinvar_stars=3, clinvar_id=cv(),
           revel=0.97, cadd_phred=30.0, spliceai=0.0, condition="lqts"),
        _v("RYR2", "1", 237778031, "A", "C", "pathogenic_missense", _MS, "c.7422A>C",
           "p.Arg2474Ser", 49, clinvar_significance=_LP, clinvar_stars=1, clinvar_id=cv(),
           revel=0.88, cadd_phred=26.5, spliceai=0.0, condition="cpvt"),
        _v("TTR", "18", 31598655, "G", "A", "pathogenic_missense", _MS, "c.424G>A",
           "p.Val142Ile", 4, gnomad_ac=1300, gnomad_nhomalt=6, gnomad_enriched="afr",
           clinvar_significance=_P, clinvar_stars=2, clinvar_id=cv(), revel=0.52,
           cadd_phred=23.9, spliceai=0.0, condition="attr",
           note="pathogenic yet common in African ancestry: frequency rules need care"),
        # -- truncating variants in genes where loss of function causes disease ---------------
        _v("MYBPC3", "11", 47338563, "C", "CG", "truncating", "frameshift_variant",
           "c.2373dup", "p.Trp792ValfsTer41", 24, gnomad_ac=2, clinvar_significance=_P,
           clinvar_stars=3, clinvar_id=cv(), cadd_phred=34.0, spliceai=0.05, condition="hcm",
           note="Dutch founder variant (label)"),
        _v("MYBPC3", "11", 47335107, "G", "A", "truncating", "stop_gained", "c.2827C>T",
           "p.Arg943Ter", 27, clinvar_significance=_P, clinvar_stars=2, clinvar_id=cv(),
           cadd_phred=38.0, spliceai=0.01, condition="hcm"),
        _v("LMNA", "1", 156130690, "C", "T", "truncating", "stop_gained", "c.673C>T",
           "p.Arg225Ter", 4, clinvar_significance=_P, clinvar_stars=2, clinvar_id=cv(),
           cadd_phred=39.0, spliceai=0.02, condition="dcm"),
        _v("TTN", "2", 178580212, "G", "A", "truncating", "stop_gained", "c.80104C>T",
           "p.Arg26702Ter", 326, gnomad_ac=1, clinvar_significance=_LP, clinvar_stars=1,
           clinvar_id=cv(), cadd_phred=42.0, spliceai=0.0, condition="dcm",
           note="A-band truncation (label)"),
        _v("DSP", "6", 7580612, "C", "T", "truncating", "stop_gained", "c.3799C>T",
           "p.Arg1267Ter", 23, clinvar_significance=_P, clinvar_stars=2, clinvar_id=cv(),
           cadd_phred=40.0, spliceai=0.01, condition="arvc"),
        _v("KCNH2", "7", 150950213, "GC", "G", "truncating", "frameshift_variant",
           "c.3107del", "p.Pro1036ArgfsTer50", 13, clinvar_significance=_LP, clinvar_stars=1,
           clinvar_id=cv(), cadd_phred=33.0, spliceai=0.0, condition="lqts"),
        # -- canonical splice site -----------------------------------------------------------
        _v("PKP2", "12", 32822870, "C", "G", "splice", "splice_acceptor_variant",
           "c.2146-1G>C", None, None, intron=10, gnomad_ac=9, clinvar_significance=_P,
           clinvar_stars=2, clinvar_id=cv(), cadd_phred=34.0, spliceai=0.98,
           condition="arvc"),
        _v("LDLR", "19", 11102787, "G", "A", "splice", "splice_donor_variant",
           "c.313+1G>A", None, None, intron=3, clinvar_significance=_P, clinvar_stars=3,
           clinvar_id=cv(), cadd_phred=35.0, spliceai=0.95, condition="fh"),
        # -- common benign: seeded into patients under Hardy-Weinberg -------------------------
        _v("MYBPC3", "11", 47348490, "C", "T", "benign_common", _MS, "c.472G>A",
           "p.Val158Met", 4, gnomad_ac=148_000, gnomad_nhomalt=8_100, clinvar_significance=_B,
           clinvar_stars=2, clinvar_id=cv(), revel=0.09, cadd_phred=11.2, spliceai=0.0),
        _v("SCN5A", "3", 38603929, "T", "C", "benign_common", _MS, "c.1673A>G",
           "p.His558Arg", 12, gnomad_ac=300_000, gnomad_nhomalt=31_000,
           clinvar_significance=_B, clinvar_stars=2, clinvar_id=cv(), revel=0.05,
           cadd_phred=0.9, spliceai=0.0),
        _v("KCNH2", "7", 150951554, "T", "G", "benign_common", _MS, "c.2690A>C",
           "p.Lys897Thr", 11, gnomad_ac=290_000, gnomad_nhomalt=29_000,
           clinvar_significance=_B, clinvar_stars=2, clinvar_id=cv(), revel=0.11,
           cadd_phred=6.4, spliceai=0.0),
        _v("PCSK9", "1", 55043938, "C", "T", "benign_common", _MS, "c.158C>T", "p.Ala53Val",
           1, gnomad_ac=220_000, gnomad_nhomalt=17_000, clinvar_significance=_B,
           clinvar_stars=1, clinvar_id=cv(), revel=0.07, cadd_phred=9.8, spliceai=0.0),
        _v("MYH7", "14", 23431584, "G", "A", "synonymous", "synonymous_variant", "c.732C>T",
           "p.Phe244=", 8, gnomad_ac=95_000, gnomad_nhomalt=3_300, clinvar_significance=_B,
           clinvar_stars=2, clinvar_id=cv(), cadd_phred=4.2, spliceai=0.0),
        _v("LDLR", "19", 11116928, "C", "T", "synonymous", "synonymous_variant", "c.1773C>T",
           "p.Asn591=", 12, gnomad_ac=560_000, gnomad_nhomalt=105_000,
           clinvar_significance=_B, clinvar_stars=3, clinvar_id=cv(), cadd_phred=8.1,
           spliceai=0.01),
        # -- rare, uncertain: seeded into a few patients --------------------------------------
        _v("MYH7", "14", 23424119, "C", "A", "vus_missense", _MS, "c.2156G>T", "p.Arg719Leu",
           20, revel=0.91, cadd_phred=29.8, spliceai=0.0,
           note="novel; P/LP p.Arg719Trp at the same residue (PM5)"),
        _v("MYBPC3", "11", 47341020, "C", "T", "vus_missense", _MS, "c.1828G>A",
           "p.Asp610Asn", 19, gnomad_ac=3, clinvar_significance=_VUS, clinvar_stars=1,
           clinvar_id=cv(), revel=0.45, cadd_phred=22.7, spliceai=0.04),
        _v("KCNQ1", "11", 2776002, "G", "A", "vus_missense", _MS, "c.1229G>A", "p.Arg410Gln",
           9, gnomad_ac=7, clinvar_significance=_CONFLICT, clinvar_stars=1, clinvar_id=cv(),
           revel=0.63, cadd_phred=25.1, spliceai=0.0),
        _v("LMNA", "1", 156137204, "G", "A", "vus_missense", _MS, "c.1447G>A", "p.Ala483Thr",
           8, gnomad_ac=1, revel=0.58, cadd_phred=24.4, spliceai=0.02),
        _v("TTN", "2", 178633317, "C", "T", "vus_missense", _MS, "c.52270G>A",
           "p.Val17424Ile", 276, gnomad_ac=12, clinvar_significance=_VUS, clinvar_stars=1,
           clinvar_id=cv(), revel=0.21, cadd_phred=15.3, spliceai=0.0),
        _v("RYR2", "1", 237550611, "G", "A", "vus_missense", _MS, "c.3407G>A", "p.Arg1136His",
           28, gnomad_ac=2, revel=0.78, cadd_phred=27.9, spliceai=0.01),
        _v("DSP", "6", 7568301, "A", "G", "vus_missense", _MS, "c.2723A>G", "p.Asn908Ser",
           20, gnomad_ac=41, clinvar_significance=_LB, clinvar_stars=1, clinvar_id=cv(),
           revel=0.08, cadd_phred=12.0, spliceai=0.0),
        _v("FLNC", "7", 128845392, "CAAG", "C", "inframe", "inframe_deletion",
           "c.4126_4128del", "p.Lys1376del", 24, revel=None, cadd_phred=21.8, spliceai=0.03),
        _v("SCN5A", "3", 38575601, "C", "T", "splice_region", "splice_region_variant",
           "c.3840+5G>A", None, None, intron=21, gnomad_ac=1,
           terms=("splice_region_variant", "intron_variant"), cadd_phred=19.5, spliceai=0.61,
           note="near a donor site; SpliceAI predicts donor loss"),
    ]  # fmt: skip


def _build() -> tuple[KnownVariant, ...]:
    variants = tuple(_carriers() + _others())
    seen: set[tuple[str, int]] = set()
    pgs = {(s.chrom, s.pos) for s in PGS_SNPS}
    for v in variants:
        site = (v.key.chrom, v.key.pos)
        if site in seen or site in pgs:  # one record per site in every written VCF
            raise AssertionError(f"catalogue site {site} listed twice")
        seen.add(site)
    return variants


#: The catalogue, carriers first.
CATALOGUE: tuple[KnownVariant, ...] = _build()


def by_key() -> dict[VariantKey, KnownVariant]:
    """The catalogue keyed by allele."""
    return {v.key: v for v in CATALOGUE}


# ------------------------------------------------------------------------------------------
# VEP CSQ

#: The CSQ sub-fields, in the order VEP writes them with ``--refseq --symbol --canonical
#: --mane --hgvs --numbers --variant_class``-like options (VEP 110 output layout).
CSQ_FIELDS: tuple[str, ...] = (
    "Allele",
    "Consequence",
    "IMPACT",
    "SYMBOL",
    "Gene",
    "Feature_type",
    "Feature",
    "BIOTYPE",
    "EXON",
    "INTRON",
    "HGVSc",
    "HGVSp",
    "cDNA_position",
    "CDS_position",
    "Protein_position",
    "Amino_acids",
    "Codons",
    "Existing_variation",
    "DISTANCE",
    "STRAND",
    "FLAGS",
    "SYMBOL_SOURCE",
    "HGNC_ID",
    "CANONICAL",
    "MANE_SELECT",
    "MANE_PLUS_CLINICAL",
)


def csq_header() -> str:
    """The ``##INFO=<ID=CSQ,...>`` header line as Ensembl VEP writes it (these fields)."""
    return (
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from '
        f'Ensembl VEP. Format: {"|".join(CSQ_FIELDS)}">'
    )


def csq_description() -> str:
    """The header line's Description (for writers that build the line themselves)."""
    return f"Consequence annotations from Ensembl VEP. Format: {'|'.join(CSQ_FIELDS)}"


def _vep_allele(ref: str, alt: str) -> str:
    """VEP's allele spelling for one ALT: the shared first base of an indel is dropped."""
    if len(ref) != len(alt) and ref[:1] == alt[:1]:
        return alt[1:] or "-"
    return alt


def _escape(text: str) -> str:
    # VEP percent-encodes characters that would break the VCF INFO syntax.
    return text.replace("%", "%25").replace("=", "%3D").replace(";", "%3B").replace(",", "%2C")


def csq_for(variant: KnownVariant) -> str:
    """The VEP ``CSQ`` value of ``variant`` on its MANE Select transcript (one entry).

    Fields as :data:`CSQ_FIELDS`; ``=`` in HGVSp percent-encoded as VEP does (``p.Phe244%3D``).
    """
    info = variant.info
    key = variant.key
    cds = ""
    import re

    m = re.match(r"c\.(\d+)(?:_\d+)?(?:[ACGT]>|del|dup|ins)", variant.hgvsc)
    if m:
        cds = m.group(1)
    values = {
        "Allele": _vep_allele(key.ref, key.alt),
        "Consequence": "&".join(variant.terms),
        "IMPACT": _IMPACT.get(variant.terms[0], "MODIFIER"),
        "SYMBOL": variant.gene,
        "Gene": info.entrez,
        "Feature_type": "Transcript",
        "Feature": info.mane_refseq,
        "BIOTYPE": "protein_coding",
        "EXON": f"{variant.exon[0]}/{variant.exon[1]}" if variant.exon else "",
        "INTRON": f"{variant.intron[0]}/{variant.intron[1]}" if variant.intron else "",
        "HGVSc": f"{info.mane_refseq}:{variant.hgvsc}",
        "HGVSp": _escape(f"{info.protein}:{variant.hgvsp}") if variant.hgvsp else "",
        "cDNA_position": "",
        "CDS_position": cds,
        "Protein_position": str(variant.protein_position or ""),
        "Amino_acids": variant.amino_acids or "",
        "Codons": "",
        "Existing_variation": "",
        "DISTANCE": "",
        "STRAND": str(info.strand),
        "FLAGS": "",
        "SYMBOL_SOURCE": "EntrezGene",
        "HGNC_ID": info.hgnc_id,
        "CANONICAL": "YES",
        "MANE_SELECT": info.mane_ensembl,
        "MANE_PLUS_CLINICAL": "",
    }
    return "|".join(values[f] for f in CSQ_FIELDS)


def intergenic_csq(ref: str, alt: str) -> str:
    """The CSQ VEP writes for an allele outside any transcript (``intergenic_variant``)."""
    values = dict.fromkeys(CSQ_FIELDS, "")
    values.update(Allele=_vep_allele(ref, alt), Consequence="intergenic_variant", IMPACT="MODIFIER")
    return "|".join(values[f] for f in CSQ_FIELDS)


# ------------------------------------------------------------------------------------------
# incidental variants in the cohort

#: Per patient, the chance of carrying each rare seeded variant (enriched over gnomAD, as a
#: referral cohort's exomes are, so every site's VCF has some).
RARE_RATE = 0.02


def seed_incidental(by_site: Mapping[str, Sequence[SimPatient]], seed: int) -> None:
    """Give patients the catalogue's benign and uncertain variants (``SimPatient.incidental``).

    Common variants: Hardy–Weinberg genotypes at their gnomAD frequency. Rare ones: carried
    heterozygously with probability :data:`RARE_RATE`; a site whose sequenced patients drew
    none gets one, so every site's VCF has a rare variant. Its own random stream: the rest of
    the cohort is the same with or without it.
    """
    rng = np.random.default_rng([seed, 0x1C1D])
    seeded = [v for v in CATALOGUE if v.seeded]
    rare = [v for v in seeded if (v.gnomad_af or 0.0) < 0.01]
    for patients in by_site.values():
        for p in patients:
            for v in seeded:
                af = v.gnomad_af or 0.0
                if af >= 0.01:
                    dosage = int(rng.binomial(2, af))
                else:
                    dosage = 1 if rng.random() < RARE_RATE else 0
                if dosage:
                    p.incidental[str(v.key)] = dosage
        sequenced = [p for p in patients if p.has_vcf]
        rare_ids = {str(v.key) for v in rare}
        if sequenced and not any(set(p.incidental) & rare_ids for p in sequenced):
            p = sequenced[int(rng.integers(0, len(sequenced)))]
            v = rare[int(rng.integers(0, len(rare)))]
            p.incidental[str(v.key)] = 1


# ------------------------------------------------------------------------------------------
# a site's knowledge base


def install_site_knowledge(
    resources: Path, database: Path, *, progress: ProgressHook | None = None
) -> list[dict[str, object]]:
    """Add the network's resource files (``resources``: its ``knowledge/`` folder) to a site's
    knowledge base, once: a kind whose file has the same BLAKE3 digest is left as it is.

    Returns one entry per kind: ``{"kind", "source", "action": "added" | "unchanged", "rows",
    "skipped"}``.
    """
    from cardiofabric.errors import InputError
    from cardiofabric.genomics.resources import KnowledgeBase, file_digest
    from cardiofabric.pathfinder.writers.knowledge import RESOURCE_FILES

    out: list[dict[str, object]] = []
    with KnowledgeBase.open(database, read_only=False, create=True) as kb:
        for n, (kind, name) in enumerate(RESOURCE_FILES.items()):
            file = resources / name
            if not file.is_file():
                raise InputError(
                    f"the network's {kind} resource is missing",
                    path=file,
                    hint="generate the network again (cardiofabric pathfinder generate)",
                )
            now = kb.current(kind)
            if now is not None and now.digest == file_digest(file):
                info, action = now, "unchanged"
            else:
                info, action = kb.add(kind, file), "added"
            out.append(
                {
                    "kind": kind,
                    "source": info.source,
                    "action": action,
                    "rows": info.rows,
                    "skipped": info.skipped,
                }
            )
            if progress:
                progress("knowledge", n + 1, len(RESOURCE_FILES))
    return out
