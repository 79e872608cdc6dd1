"""The shared vocabulary of variant interpretation: a variant, what a transcript makes of it,
what knowledge resources say about it, and the evidence an ACMG/AMP call is built from.

These types connect the pieces of ``genomics``: annotation readers (VEP ``CSQ``, SnpEff ``ANN``)
produce :class:`Consequence`; the knowledge database (gnomAD, ClinVar, REVEL, CADD, SpliceAI)
produces :class:`Knowledge`; the classifier turns both, with the cardiac gene panel, into a
:class:`Classification` whose :class:`Evidence` trail names every criterion that fired, its
strength, the value seen and the threshold it crossed.

Positions are 1-based VCF positions; contigs carry no ``chr`` prefix; alleles are as in the VCF
after normalisation (``variants normalise``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "POINTS",
    "Classification",
    "Consequence",
    "Evidence",
    "Knowledge",
    "Strength",
    "Tier",
    "VariantKey",
    "normalise_contig",
    "tier_of_points",
]


@dataclass(frozen=True, slots=True, order=True)
class VariantKey:
    """A variant allele: contig (no ``chr``), 1-based position, REF and one ALT."""

    chrom: str
    pos: int
    ref: str
    alt: str

    def __str__(self) -> str:
        return f"{self.chrom}-{self.pos}-{self.ref}-{self.alt}"

    @property
    def is_snv(self) -> bool:
        return len(self.ref) == 1 and len(self.alt) == 1


def normalise_contig(chrom: str) -> str:
    """``chr1`` → ``1``, ``chrM``/``MT`` → ``MT``; anything else unchanged."""
    c = chrom[3:] if chrom[:3].lower() == "chr" else chrom
    return "MT" if c in ("M", "m") else c


@dataclass(frozen=True, slots=True)
class Consequence:
    """One transcript's reading of a variant allele, as VEP or SnpEff wrote it.

    ``terms`` are Sequence Ontology consequence terms (``missense_variant``, ...), most severe
    first. ``protein_position`` is the first affected amino-acid position; ``amino_acids`` is
    VEP's ``R/W`` form (reference/alternate). ``exon``/``intron`` are ``(number, total)``.
    ``lof`` is LOFTEE's call (``HC``/``LC``) where present; ``nmd_escape`` is True when the
    premature stop lies where nonsense-mediated decay is not expected (last exon or the last
    50 nt of the penultimate exon), False when NMD is expected, None when unknown.
    """

    allele: str
    terms: tuple[str, ...]
    impact: str | None = None
    gene: str | None = None
    gene_id: str | None = None
    transcript: str | None = None
    biotype: str | None = None
    hgvsc: str | None = None
    hgvsp: str | None = None
    protein_position: int | None = None
    amino_acids: str | None = None
    exon: tuple[int, int] | None = None
    intron: tuple[int, int] | None = None
    mane_select: str | None = None
    canonical: bool = False
    lof: str | None = None
    nmd_escape: bool | None = None
    source: str = "VEP"

    @property
    def ref_aa(self) -> str | None:
        if self.amino_acids and "/" in self.amino_acids:
            return self.amino_acids.split("/", 1)[0]
        return None

    @property
    def alt_aa(self) -> str | None:
        if self.amino_acids and "/" in self.amino_acids:
            return self.amino_acids.split("/", 1)[1]
        return None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Knowledge:
    """What the site's knowledge resources say about one variant allele (None: not listed).

    gnomAD: ``af`` overall allele frequency, ``faf95`` the filtering allele frequency (the
    lower bound of the 95 % CI of the highest continental group; gnomAD ``faf95_popmax``/
    ``fafmax_faf95_max``), ``ac``/``an``/``nhomalt``. ClinVar: significance as ClinVar writes it
    (``Pathogenic``, ``Likely_pathogenic``, ``Pathogenic/Likely_pathogenic``, ...), review
    ``stars`` 0–4, ``clinvar_hgvsp`` and ``clinvar_id``. Predictors: REVEL score, CADD PHRED,
    SpliceAI maximum delta score.
    """

    af: float | None = None
    faf95: float | None = None
    ac: int | None = None
    an: int | None = None
    nhomalt: int | None = None
    clinvar_significance: str | None = None
    clinvar_stars: int | None = None
    clinvar_hgvsp: str | None = None
    clinvar_id: str | None = None
    revel: float | None = None
    cadd_phred: float | None = None
    spliceai: float | None = None
    #: gnomAD's FILTER for the allele (``PASS``, ``RF``, ``AC0``, ...): a frequency from a
    #: site that failed gnomAD's quality filters deserves less weight.
    gnomad_filter: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Strength(StrEnum):
    """Evidence strengths of ACMG/AMP (Richards 2015) as the ClinGen SVI scales them."""

    VERY_STRONG = "VeryStrong"
    STRONG = "Strong"
    MODERATE = "Moderate"
    SUPPORTING = "Supporting"
    STAND_ALONE = "StandAlone"


#: Points per strength in the Bayesian framework (Tavtigian et al., Hum Mutat 2020;41:1734):
#: supporting 1, moderate 2, strong 4, very strong 8; benign evidence counts negative. BA1 is
#: stand-alone benign and is given −8 so that it alone reaches Benign (≤ −7).
POINTS: dict[Strength, int] = {
    Strength.SUPPORTING: 1,
    Strength.MODERATE: 2,
    Strength.STRONG: 4,
    Strength.VERY_STRONG: 8,
    Strength.STAND_ALONE: 8,
}


class Tier(StrEnum):
    PATHOGENIC = "Pathogenic"
    LIKELY_PATHOGENIC = "Likely pathogenic"
    VUS = "Uncertain significance"
    LIKELY_BENIGN = "Likely benign"
    BENIGN = "Benign"


def tier_of_points(points: int) -> Tier:
    """Tavtigian 2020 point ranges: P ≥ 10, LP 6…9, VUS 0…5, LB −1…−6, B ≤ −7."""
    if points >= 10:
        return Tier.PATHOGENIC
    if points >= 6:
        return Tier.LIKELY_PATHOGENIC
    if points >= 0:
        return Tier.VUS
    if points >= -6:
        return Tier.LIKELY_BENIGN
    return Tier.BENIGN


@dataclass(frozen=True, slots=True)
class Evidence:
    """One criterion that fired: ``PVS1`` at ``Strong`` (downgraded), the value seen and the
    threshold it was compared with, and a sentence a clinical scientist can check."""

    criterion: str
    strength: Strength
    benign: bool
    reason: str
    value: float | str | None = None
    threshold: float | str | None = None

    @property
    def points(self) -> int:
        p = POINTS[self.strength]
        return -p if self.benign else p

    @property
    def label(self) -> str:
        """``PM2_Supporting`` style: the criterion with its strength when not the default."""
        default = _DEFAULT_STRENGTH.get(self.criterion[:3] if self.criterion != "BA1" else "BA1")
        return self.criterion if default == self.strength else f"{self.criterion}_{self.strength}"

    def to_json(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "label": self.label,
            "strength": str(self.strength),
            "direction": "benign" if self.benign else "pathogenic",
            "points": self.points,
            "value": self.value,
            "threshold": self.threshold,
            "reason": self.reason,
        }


# Default strengths by criterion prefix (Richards et al., Genet Med 2015;17:405).
_DEFAULT_STRENGTH = {
    "PVS": Strength.VERY_STRONG,
    "PS1": Strength.STRONG,
    "PS2": Strength.STRONG,
    "PS3": Strength.STRONG,
    "PS4": Strength.STRONG,
    "PM1": Strength.MODERATE,
    "PM2": Strength.MODERATE,
    "PM3": Strength.MODERATE,
    "PM4": Strength.MODERATE,
    "PM5": Strength.MODERATE,
    "PM6": Strength.MODERATE,
    "PP1": Strength.SUPPORTING,
    "PP2": Strength.SUPPORTING,
    "PP3": Strength.SUPPORTING,
    "PP4": Strength.SUPPORTING,
    "PP5": Strength.SUPPORTING,
    "BA1": Strength.STAND_ALONE,
    "BS1": Strength.STRONG,
    "BS2": Strength.STRONG,
    "BS3": Strength.STRONG,
    "BS4": Strength.STRONG,
    "BP1": Strength.SUPPORTING,
    "BP2": Strength.SUPPORTING,
    "BP3": Strength.SUPPORTING,
    "BP4": Strength.SUPPORTING,
    "BP5": Strength.SUPPORTING,
    "BP6": Strength.SUPPORTING,
    "BP7": Strength.SUPPORTING,
}


@dataclass(frozen=True, slots=True)
class Classification:
    """An ACMG/AMP call for one variant allele: the points, the tier and the evidence trail."""

    variant: VariantKey
    gene: str | None
    consequence: Consequence | None
    knowledge: Knowledge
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)
    disease: str | None = None
    #: Criteria considered but not applied, and why (the data needed was missing, a rule of
    #: combination withheld one): the trail behind what did not fire.
    notes: tuple[str, ...] = ()

    @property
    def points(self) -> int:
        return sum(e.points for e in self.evidence)

    @property
    def tier(self) -> Tier:
        return tier_of_points(self.points)

    @property
    def criteria(self) -> list[str]:
        return [e.label for e in self.evidence]

    def to_json(self) -> dict[str, Any]:
        c = self.consequence
        return {
            "variant": str(self.variant),
            "chrom": self.variant.chrom,
            "pos": self.variant.pos,
            "ref": self.variant.ref,
            "alt": self.variant.alt,
            "gene": self.gene,
            "disease": self.disease,
            "transcript": c.transcript if c else None,
            "consequence": c.terms[0] if c and c.terms else None,
            "hgvsc": c.hgvsc if c else None,
            "hgvsp": c.hgvsp if c else None,
            "classification": str(self.tier),
            "points": self.points,
            "criteria": self.criteria,
            "evidence": [e.to_json() for e in self.evidence],
            "knowledge": self.knowledge.to_json(),
            "notes": list(self.notes),
        }
