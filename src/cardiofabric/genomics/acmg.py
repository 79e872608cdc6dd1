"""ACMG/AMP criteria that data can decide, for the cardiac gene panel.

The rules are those of Richards et al. (Genet Med 2015;17:405) as refined by the ClinGen
Sequence Variant Interpretation (SVI) working group and the cardiac expert panels, combined
with the Bayesian points framework (Tavtigian et al., Hum Mutat 2020;41:1734; see
:data:`~cardiofabric.genomics.model.POINTS`). Each criterion that fires becomes an
:class:`~cardiofabric.genomics.model.Evidence` with the value seen, the threshold crossed and a
sentence to check; a criterion considered but withheld leaves a line in
``Classification.notes``.

Automated here (what a VCF, its VEP/SnpEff annotation, gnomAD, ClinVar, REVEL, CADD and
SpliceAI can decide):

- PVS1 with the SVI decision tree (Abou Tayoun et al., Hum Mutat 2018;39:1517) as far as the
  annotation allows; PS1, PM5 from ClinVar P/LP missense at the same residue; PM1 from the
  panel's domains; PM2_Supporting (SVI 2020), BA1, BS1, BS2 from gnomAD; PM4 (BP3 needs repeat
  annotation and is only noted); PP2 and BP1 from the gene's mechanism; PP3/BP4 from REVEL or
  CADD (Pejaver et al., Am J Hum Genet 2022;109:2163) and SpliceAI (Walker et al., Am J Hum
  Genet 2023;110:1046); BP7; PP5/BP6 only behind :attr:`ClassifierOptions.clinvar_assertions`.
- Not automated (they need the patient, the family or the laboratory): PS2/PM6 (de novo), PS3/BS3
  (functional studies), PS4 (case-control), PM3 (phase in recessive disease), PP1/BS4
  (segregation), PP4 (phenotype specificity), BP2 and BP5.

A variant outside the panel (its gene not in it, or no annotation) gets the frequency criterion
that needs no disease: BA1 at the general 5 % of Richards 2015.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from cardiofabric.errors import InputError
from cardiofabric.genomics.annotation import (
    INFRAME_TERMS,
    LOF_TERMS,
    MISSENSE_TERMS,
    SPLICE_REGION_TERMS,
    SYNONYMOUS_TERMS,
)
from cardiofabric.genomics.model import (
    POINTS,
    Classification,
    Consequence,
    Evidence,
    Knowledge,
    Strength,
    VariantKey,
)

if TYPE_CHECKING:
    from cardiofabric.genomics.panel import Panel, PanelGene

__all__ = [
    "BA1_GENERIC",
    "BS2_MIN_HOMOZYGOTES_AD",
    "BS2_MIN_HOMOZYGOTES_AR",
    "CADD_BP4",
    "CADD_PP3",
    "REVEL_BP4",
    "REVEL_PP3",
    "SPLICEAI_BP4",
    "SPLICEAI_PP3",
    "Classifier",
    "ClassifierOptions",
    "ClinvarResidue",
    "clinvar_class",
]

#: BA1 without a disease-specific threshold: allele frequency > 5 % (Richards 2015, Table 5).
#: The SVI (Ghosh et al., Hum Mutat 2018;39:1525) keeps 5 % on any continental population with
#: ≥ 2,000 alleles and lists a few exceptions, which are not consulted here.
BA1_GENERIC = 0.05

#: Calibrated REVEL thresholds, strongest first (Pejaver et al. 2022, Table 2). No REVEL score
#: reaches PP3 at Very strong.
REVEL_PP3: tuple[tuple[float, Strength], ...] = (
    (0.932, Strength.STRONG),
    (0.773, Strength.MODERATE),
    (0.644, Strength.SUPPORTING),
)
REVEL_BP4: tuple[tuple[float, Strength], ...] = (
    (0.003, Strength.VERY_STRONG),
    (0.016, Strength.STRONG),
    (0.183, Strength.MODERATE),
    (0.290, Strength.SUPPORTING),
)
#: Calibrated CADD (PHRED, v1.6) thresholds, used when a variant has no REVEL score (Pejaver
#: et al. 2022, Table 2): CADD reaches PP3 at Moderate at most.
CADD_PP3: tuple[tuple[float, Strength], ...] = (
    (28.1, Strength.MODERATE),
    (25.3, Strength.SUPPORTING),
)
CADD_BP4: tuple[tuple[float, Strength], ...] = (
    (0.15, Strength.STRONG),
    (17.3, Strength.MODERATE),
    (22.7, Strength.SUPPORTING),
)
#: SpliceAI maximum delta score: PP3 (Supporting) at ≥ 0.2, BP4 (Supporting) at ≤ 0.1
#: (Walker et al. 2023, ClinGen SVI Splicing Subgroup).
SPLICEAI_PP3 = 0.2
SPLICEAI_BP4 = 0.1

#: BS2 from gnomAD homozygotes: for a dominant gene one homozygote already argues against a
#: fully penetrant variant (a homozygote would be expected to be severely affected); for a
#: recessive gene at least two, since one could be an unrecognised affected individual.
BS2_MIN_HOMOZYGOTES_AD = 1
BS2_MIN_HOMOZYGOTES_AR = 2

#: Evidence in the order the report lists it.
_PATHOGENIC_ORDER = ("PVS1", "PS1", "PM1", "PM2", "PM4", "PM5", "PP2", "PP3", "PP5")
_BENIGN_ORDER = ("BA1", "BS1", "BS2", "BP1", "BP3", "BP4", "BP6", "BP7")
_ORDER = {c: i for i, c in enumerate((*_PATHOGENIC_ORDER, *_BENIGN_ORDER))}
_STOP_LOST = "stop_lost"
_INTRON = "intron_variant"
_CANONICAL_SPLICE = frozenset({"splice_donor_variant", "splice_acceptor_variant"})
_START_LOST = "start_lost"
# c.123+7A>G, c.-45-30C>T, c.*12+5G>A: the intronic offset after + or −.
_INTRON_OFFSET = re.compile(r"c\.[-*]?\d+([+-])(\d+)")
_THREE_TO_ONE = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*",
    "Sec": "U", "Pyl": "O", "Xaa": "X",
}  # fmt: skip
_HGVSP_MISSENSE = re.compile(r"p\.\(?([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2})\)?$")


class ClinvarResidue(Protocol):
    """What PS1/PM5 read of a ClinVar P/LP assertion at a protein residue
    (``resources.ClinvarProtein`` has these fields)."""

    @property
    def key(self) -> VariantKey: ...
    @property
    def gene(self) -> str: ...
    @property
    def protein_position(self) -> int: ...
    @property
    def ref_aa(self) -> str | None: ...
    @property
    def alt_aa(self) -> str | None: ...
    @property
    def hgvsp(self) -> str | None: ...
    @property
    def significance(self) -> str: ...
    @property
    def stars(self) -> int: ...


@dataclass(frozen=True)
class ClassifierOptions:
    """Choices of a classification run.

    ``clinvar_assertions``: use ClinVar's own P/LP or B/LB call of the variant as PP5/BP6
    (Supporting). The SVI recommends against it (Biesecker & Harrison, Genet Med 2018;20:1687):
    the assertion is not independent evidence; off by default.
    ``min_clinvar_stars``: the ClinVar review status needed for PS1, PM5, PP5 and BP6; 2 stars
    = criteria provided, multiple submitters, no conflicts.
    ``population_data``: whether the knowledge carries gnomAD, so that a variant absent from it
    is absent from gnomAD (PM2). False: PM2 is not applied and the notes say why.
    """

    clinvar_assertions: bool = False
    min_clinvar_stars: int = 2
    population_data: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.min_clinvar_stars <= 4:
            raise InputError(
                f"ClinVar review stars run from 0 to 4; got {self.min_clinvar_stars}",
                hint="use 1 (single submitter), 2 (multiple submitters, no conflicts), "
                "3 (expert panel) or 4 (practice guideline)",
            )


class _Trail:
    """Evidence and notes of one variant as the rules run."""

    __slots__ = ("evidence", "notes")

    def __init__(self) -> None:
        self.evidence: list[Evidence] = []
        self.notes: list[str] = []

    def fire(
        self,
        criterion: str,
        strength: Strength,
        reason: str,
        value: float | str | None = None,
        threshold: float | str | None = None,
    ) -> None:
        benign = criterion[0] == "B"
        self.evidence.append(Evidence(criterion, strength, benign, reason, value, threshold))

    def has(self, criterion: str) -> Evidence | None:
        return next((e for e in self.evidence if e.criterion == criterion), None)

    def note(self, text: str) -> None:
        self.notes.append(text)


def _fmt(x: float) -> str:
    return f"{x:.3g}" if x >= 1e-3 or x == 0 else f"{x:.2e}"


def _one_letter(aa: str | None) -> str | None:
    """``Arg`` or ``R`` → ``R``; ``Ter``/``*``/``X`` → ``*``."""
    if not aa:
        return None
    if len(aa) == 3 and aa.capitalize() in _THREE_TO_ONE:
        return _THREE_TO_ONE[aa.capitalize()]
    return "*" if aa in ("*", "X") else aa.upper()


def _clinvar_alt(c: ClinvarResidue) -> str | None:
    alt = _one_letter(c.alt_aa)
    if alt is None and c.hgvsp:
        m = _HGVSP_MISSENSE.search(c.hgvsp.split(":")[-1])
        alt = _THREE_TO_ONE.get(m.group(3)) if m else None
    return alt


def clinvar_class(significance: str | None) -> str | None:
    """``P`` for a pathogenic/likely pathogenic ClinVar call, ``B`` for benign/likely benign,
    None otherwise (uncertain, conflicting, or a call of both directions)."""
    if not significance:
        return None
    parts = {p for p in re.split(r"[|,/;]", significance.lower().replace(" ", "_")) if p}
    if any("conflicting" in p for p in parts):
        return None
    path = bool(parts & {"pathogenic", "likely_pathogenic", "pathogenic/likely_pathogenic"})
    benign = bool(parts & {"benign", "likely_benign"})
    if path and not benign:
        return "P"
    if benign and not path:
        return "B"
    return None


def _lower(strength: Strength, steps: int) -> Strength:
    ladder = (Strength.VERY_STRONG, Strength.STRONG, Strength.MODERATE, Strength.SUPPORTING)
    return ladder[min(len(ladder) - 1, ladder.index(strength) + steps)]


class Classifier:
    """Classify variant alleles against a gene panel.

    ``panel`` defaults to the bundled cardiac panel (``panel.load_panel()``).
    """

    def __init__(self, panel: Panel | None = None, options: ClassifierOptions | None = None):
        if panel is None:
            from cardiofabric.genomics.panel import load_panel

            panel = load_panel()
        self.panel = panel
        self.options = options or ClassifierOptions()
        self._diseases: dict[str, str] = {}
        self._outside_notes: dict[str | None, str] = {}

    def classify(
        self,
        key: VariantKey,
        consequence: Consequence | None,
        knowledge: Knowledge,
        clinvar_residue: Sequence[ClinvarResidue] = (),
        *,
        zygosity: str | None = None,
    ) -> Classification:
        """The evidence, points and tier of one allele.

        ``clinvar_residue``: ClinVar P/LP assertions at the variant's protein residue in its
        gene (``KnowledgeBase.clinvar_at_residue``), for PS1 and PM5. ``zygosity``: the
        sample's, when one was asked for (recorded in the notes where a criterion needs it).
        """
        gene = self.panel.gene(consequence.gene) if consequence is not None else None
        t = _Trail()
        if gene is None or consequence is None:
            symbol = consequence.gene if consequence is not None else None
            self._outside_panel(t, knowledge, symbol)
            return Classification(
                key, symbol, consequence, knowledge, tuple(t.evidence), None, tuple(t.notes)
            )
        if self._frequency(t, gene, knowledge):
            # BA1 is stand-alone benign (Richards 2015): nothing else is weighed.
            t.note("other criteria not evaluated: BA1 is stand-alone benign evidence")
        else:
            self._pathogenic_and_benign(t, key, gene, consequence, knowledge, clinvar_residue)
            self._homozygotes(t, gene, knowledge)
            self._assertions(t, knowledge)
            if zygosity and _recessive(gene):
                t.note(
                    f"PM3 not assessed: {gene.symbol} disease is recessive and the sample is "
                    f"{zygosity}; phase and a second pathogenic allele need family data"
                )
        return self._result(key, consequence, knowledge, t, gene.symbol, gene)

    # -- assembly ------------------------------------------------------------------------

    def _result(
        self,
        key: VariantKey,
        consequence: Consequence | None,
        knowledge: Knowledge,
        t: _Trail,
        symbol: str | None,
        gene: PanelGene | None,
    ) -> Classification:
        evidence = sorted(t.evidence, key=lambda e: _ORDER.get(e.criterion, 99))
        return Classification(
            variant=key,
            gene=symbol,
            consequence=consequence,
            knowledge=knowledge,
            evidence=tuple(evidence),
            disease=self._disease(gene) if gene is not None else None,
            notes=tuple(t.notes),
        )

    def _disease(self, gene: PanelGene) -> str | None:
        if gene.symbol not in self._diseases:
            names = dict.fromkeys(d.disease for d in gene.diseases)
            self._diseases[gene.symbol] = "; ".join(names)
        return self._diseases[gene.symbol] or None

    # -- frequency -----------------------------------------------------------------------

    def _outside_panel(self, t: _Trail, k: Knowledge, symbol: str | None) -> None:
        note = self._outside_notes.get(symbol)
        if note is None:
            note = (
                f"{symbol} is not in the gene panel"
                if symbol
                else "no gene annotation (no VEP CSQ / SnpEff ANN for this allele)"
            ) + (
                ": only the disease-independent BA1 (allele frequency ≥ 5 %, Richards 2015) is "
                "assessed; BS1 and PM2 need a disease-specific threshold"
            )
            if len(self._outside_notes) < 100_000:
                self._outside_notes[symbol] = note
        t.note(note)
        freq, what = _frequency(k)
        if freq is not None and freq >= BA1_GENERIC and _failed_qc(k):
            t.note(f"BA1 not applied: the gnomAD site failed its filters ({k.gnomad_filter})")
        elif freq is not None and freq >= BA1_GENERIC:
            t.fire(
                "BA1",
                Strength.STAND_ALONE,
                f"{what} {_fmt(freq)} ≥ {BA1_GENERIC:g}: too common for a rare Mendelian "
                "disease (Richards 2015 BA1)",
                freq,
                BA1_GENERIC,
            )

    def _frequency(self, t: _Trail, gene: PanelGene, k: Knowledge) -> bool:
        """BA1, BS1 and PM2_Supporting on the gene's thresholds; True when BA1 fired."""
        spec = self.panel.frequency_spec(gene.symbol)
        freq, what = _frequency(k)
        if freq is not None and freq >= spec.bs1 and _failed_qc(k):
            # A frequency from a site gnomAD's own QC rejected (RF, AC0, InbreedingCoeff) may
            # be an artefact: it does not rule a variant out (ClinGen SVI: check site quality).
            t.note(
                f"BA1/BS1 not applied: {what} {_fmt(freq)} comes from a site that failed gnomAD's "
                f"filters ({k.gnomad_filter}); review the read data"
            )
            return False
        if freq is not None and freq >= spec.ba1:
            t.fire(
                "BA1",
                Strength.STAND_ALONE,
                f"{what} {_fmt(freq)} ≥ {spec.ba1:g}, the BA1 threshold for "
                f"{spec.condition} ({spec.source})",
                freq,
                spec.ba1,
            )
            return True
        if freq is not None and freq >= spec.bs1:
            t.fire(
                "BS1",
                Strength.STRONG,
                f"{what} {_fmt(freq)} ≥ {spec.bs1:g}, greater than expected for "
                f"{spec.condition} ({spec.source})",
                freq,
                spec.bs1,
            )
            return False
        if not self.options.population_data:
            t.note("PM2 not assessed: no gnomAD resource in the knowledge database")
            return False
        if freq is None or freq <= spec.pm2:
            seen = "absent from gnomAD" if freq is None else f"{what} {_fmt(freq)} ≤ {spec.pm2:g}"
            t.fire(
                "PM2",
                Strength.SUPPORTING,
                f"{seen} ({spec.condition} threshold, {spec.source}); PM2 at Supporting per "
                "ClinGen SVI (2020)",
                freq if freq is not None else "absent",
                spec.pm2,
            )
        else:
            t.note(
                f"PM2 not applied: {what} {_fmt(freq)} > {spec.pm2:g}; BS1 not applied: "
                f"< {spec.bs1:g} ({spec.condition})"
            )
        return False

    def _homozygotes(self, t: _Trail, gene: PanelGene, k: Knowledge) -> None:
        """BS2 from gnomAD homozygote counts (Richards 2015: observed in a healthy adult)."""
        if k.nhomalt is None:
            return
        modes = {d.inheritance for d in gene.diseases}
        if modes and modes <= {"XL"}:
            t.note("BS2 not assessed: X-linked gene and hemizygote counts are not in the data")
            return
        spec = self.panel.frequency_spec(gene.symbol)
        if not spec.bs2:
            t.note(
                f"BS2 not assessed: {k.nhomalt} gnomAD homozygote(s), but {spec.condition} has "
                "late onset and reduced penetrance, so unaffected homozygotes are expected"
            )
            return
        recessive = _recessive(gene)
        need = BS2_MIN_HOMOZYGOTES_AR if recessive else BS2_MIN_HOMOZYGOTES_AD
        if k.nhomalt < need:
            return
        if recessive:
            why = (
                f"{k.nhomalt} homozygotes in gnomAD (≥ {need}) for a recessive disease; "
                "gnomAD excludes severe paediatric disease but its participants are not "
                "phenotyped"
            )
        else:
            why = (
                f"{k.nhomalt} homozygote(s) in gnomAD for a dominant disease, where homozygosity "
                "for a pathogenic allele is expected to be severe; caveat: gnomAD participants "
                "are not phenotyped and cardiac penetrance is age-dependent"
            )
        t.fire("BS2", Strength.STRONG, why, k.nhomalt, need)

    # -- the variant's effect -------------------------------------------------------------

    def _pathogenic_and_benign(
        self,
        t: _Trail,
        key: VariantKey,
        gene: PanelGene,
        c: Consequence,
        k: Knowledge,
        residue: Sequence[ClinvarResidue],
    ) -> None:
        terms = set(c.terms)
        lof = terms & LOF_TERMS
        missense = bool(terms & MISSENSE_TERMS) and not lof
        if lof:
            self._pvs1(t, gene, c, lof)
        elif missense:
            self._missense(t, key, gene, c, k, residue)
        elif terms & INFRAME_TERMS or _STOP_LOST in terms:
            self._inframe(t, c, terms)
        else:
            self._splicing_only(t, c, k, terms)

    def _pvs1(self, t: _Trail, gene: PanelGene, c: Consequence, lof: set[str]) -> None:
        """PVS1 by the SVI decision tree (Abou Tayoun et al. 2018, Figure 1)."""
        term = next(x for x in c.terms if x in lof)
        if not gene.lof_mechanism:
            t.note(
                f"PVS1 not applied: {term} but loss of function is not an established disease "
                f"mechanism of {gene.symbol} (panel)"
            )
            return
        if _START_LOST in lof and len(lof) == 1:
            t.fire(
                "PVS1",
                Strength.MODERATE,
                "start_lost: initiation codon variant, PVS1_Moderate (Abou Tayoun 2018); an "
                "alternative in-frame start and upstream pathogenic variants are not assessed",
                term,
            )
            return
        strength = Strength.VERY_STRONG
        reason = f"{term} in {gene.symbol}, where loss of function causes disease"
        escape, why_escape = _nmd_escape(c, term)
        if escape:
            critical = _critical_domain(gene, c.protein_position)
            if critical is not None:
                strength = Strength.STRONG
                reason += (
                    f"; {why_escape}, NMD not predicted, and the truncated region includes "
                    f"{critical} (critical to function): PVS1_Strong (Abou Tayoun 2018)"
                )
            else:
                strength = Strength.MODERATE
                reason += (
                    f"; {why_escape}, NMD not predicted; "
                    + (
                        "no panel domain lies in the truncated region"
                        if gene.domains and c.protein_position is not None
                        else "whether the lost region is critical cannot be told without "
                        "domain and protein-length data"
                    )
                    + ": PVS1_Moderate (Abou Tayoun 2018)"
                )
        elif escape is None:
            reason += f"; {why_escape}"
        elif term in _CANONICAL_SPLICE:
            reason += "; canonical ±1/2 splice site, not in the last intron"
            t.note(
                "PVS1 splice branch: whether exon skipping preserves the reading frame or a "
                "cryptic site rescues it is not assessed (no transcript structure data)"
            )
        else:
            reason += f"; {why_escape or 'NMD predicted (not in the last exon)'}"
        if c.lof == "LC" and strength in (Strength.VERY_STRONG, Strength.STRONG):
            strength = Strength.MODERATE
            reason += "; LOFTEE low-confidence call: PVS1_Moderate"
        t.fire("PVS1", strength, reason, term, "NMD / LOF mechanism")
        t.note("PP3 not combined with PVS1 for the same variant (Pejaver 2022)")

    def _missense(
        self,
        t: _Trail,
        key: VariantKey,
        gene: PanelGene,
        c: Consequence,
        k: Knowledge,
        residue: Sequence[ClinvarResidue],
    ) -> None:
        pos = c.protein_position
        alt = _one_letter(c.alt_aa)
        if pos is not None:
            self._same_residue(t, key, gene, pos, alt, residue)
            for d in gene.domains:
                if d.start <= pos <= d.end:
                    t.fire(
                        "PM1",
                        Strength.MODERATE,
                        f"residue {pos} lies in {d.label} ({gene.symbol} {d.start}–{d.end}; "
                        f"{d.source})",
                        pos,
                        f"{d.start}-{d.end}",
                    )
                    break
        else:
            t.note("PS1, PM5 and PM1 not assessed: no protein position in the annotation")
        if gene.missense_mechanism:
            t.fire(
                "PP2",
                Strength.SUPPORTING,
                f"missense in {gene.symbol}, where missense variation is a common disease "
                "mechanism with a low rate of benign missense variation (panel)",
            )
        if gene.truncating_only:
            t.fire(
                "BP1",
                Strength.SUPPORTING,
                f"missense in {gene.symbol}, whose disease mechanism is truncating (panel)",
            )
        self._predictors(t, k)

    def _same_residue(
        self,
        t: _Trail,
        key: VariantKey,
        gene: PanelGene,
        pos: int,
        alt: str | None,
        residue: Sequence[ClinvarResidue],
    ) -> None:
        """PS1 (same amino-acid change) and PM5 (another missense change) from ClinVar."""
        stars = self.options.min_clinvar_stars
        here = [
            r
            for r in residue
            if r.protein_position == pos
            and r.gene.upper() == gene.symbol.upper()
            and clinvar_class(r.significance) == "P"
        ]
        trusted = [r for r in here if r.stars >= stars]
        if len(trusted) < len(here):
            t.note(
                f"{len(here) - len(trusted)} ClinVar P/LP assertion(s) at residue {pos} below "
                f"{stars} review stars not used for PS1/PM5"
            )
        same = [r for r in trusted if alt is not None and _clinvar_alt(r) == alt]
        other = [
            r
            for r in trusted
            if (a := _clinvar_alt(r)) is not None and a not in ("*", alt) and len(a) == 1
        ]
        # ClinVar's call of this very variant is PP5's business, not PS1's (Richards 2015).
        ps1 = next((r for r in same if r.key != key), None)
        if ps1 is not None:
            t.fire(
                "PS1",
                Strength.STRONG,
                f"same amino-acid change as ClinVar {ps1.significance} {ps1.hgvsp or ''} "
                f"({ps1.key}, {ps1.stars}★), a different nucleotide change; a splicing effect "
                "of either change is not excluded by this rule",
                ps1.hgvsp or str(ps1.key),
                f"≥{stars}★",
            )
        if other:
            best = max(other, key=lambda r: r.stars)
            if ps1 is not None:
                t.note(
                    f"PM5 not combined with PS1 at residue {pos} (the same residue's evidence "
                    "counted once)"
                )
            else:
                t.fire(
                    "PM5",
                    Strength.MODERATE,
                    f"a different missense change at residue {pos} is ClinVar "
                    f"{best.significance}: {best.hgvsp or best.key} ({best.stars}★) "
                    "(ClinGen cardiomyopathy specification: PM5 at Moderate)",
                    best.hgvsp or str(best.key),
                    f"≥{stars}★",
                )

    def _predictors(self, t: _Trail, k: Knowledge) -> None:
        """PP3/BP4 for a missense allele: REVEL, else CADD; SpliceAI for its splicing effect."""
        if k.revel is not None:
            tool, score, pp3, bp4 = "REVEL", k.revel, REVEL_PP3, REVEL_BP4
        elif k.cadd_phred is not None:
            tool, score, pp3, bp4 = "CADD", k.cadd_phred, CADD_PP3, CADD_BP4
        else:
            tool, score, pp3, bp4 = None, 0.0, (), ()
        cite = "calibrated threshold (Pejaver et al. 2022)"
        fired = False
        for threshold, strength in pp3:
            if score >= threshold:
                t.fire(
                    "PP3",
                    strength,
                    f"{tool} {score:g} ≥ {threshold:g}: {cite}",
                    score,
                    threshold,
                )
                fired = True
                break
        if not fired and k.spliceai is not None and k.spliceai >= SPLICEAI_PP3:
            t.fire(
                "PP3",
                Strength.SUPPORTING,
                f"SpliceAI {k.spliceai:g} ≥ {SPLICEAI_PP3:g}: predicted splicing impact "
                "(Walker et al. 2023)",
                k.spliceai,
                SPLICEAI_PP3,
            )
            fired = True
        if not fired:
            for threshold, strength in bp4:  # strongest (lowest threshold) first
                if score <= threshold:
                    if k.spliceai is not None and k.spliceai > SPLICEAI_BP4:
                        t.note(
                            f"BP4 not applied: {tool} {score:g} ≤ {threshold:g} but SpliceAI "
                            f"{k.spliceai:g} > {SPLICEAI_BP4:g} leaves a splicing effect open "
                            "(Walker et al. 2023)"
                        )
                        break
                    extra = (
                        "" if k.spliceai is not None else "; splicing not assessed (no SpliceAI)"
                    )
                    t.fire(
                        "BP4",
                        strength,
                        f"{tool} {score:g} ≤ {threshold:g}: {cite}{extra}",
                        score,
                        threshold,
                    )
                    break
        if tool is None and k.spliceai is None:
            t.note("PP3/BP4 not assessed: no REVEL, CADD or SpliceAI score")
        self._cap_pp3_with_pm1(t)

    @staticmethod
    def _cap_pp3_with_pm1(t: _Trail) -> None:
        """PP3 + PM1 together count at most Strong, 4 points (Pejaver et al. 2022)."""
        pm1, pp3 = t.has("PM1"), t.has("PP3")
        if pm1 is None or pp3 is None or pm1.points + pp3.points <= POINTS[Strength.STRONG]:
            return
        room = POINTS[Strength.STRONG] - pm1.points  # PM1 is Moderate (2): PP3 keeps 2
        capped = {2: Strength.MODERATE, 1: Strength.SUPPORTING}.get(room)
        t.evidence.remove(pp3)
        if capped is None:
            t.note("PP3 withdrawn: PM1 alone reaches the PP3 + PM1 cap (Pejaver 2022)")
            return
        t.evidence.append(
            Evidence(
                "PP3",
                capped,
                False,
                pp3.reason + f"; capped at {capped} with PM1 (PP3 + PM1 ≤ Strong, Pejaver 2022)",
                pp3.value,
                pp3.threshold,
            )
        )

    def _inframe(self, t: _Trail, c: Consequence, terms: set[str]) -> None:
        """PM4 for in-frame indels and stop-loss; BP3 cannot be told apart without repeats."""
        what = _STOP_LOST if _STOP_LOST in terms else next(x for x in c.terms if x in terms)
        t.fire(
            "PM4",
            Strength.MODERATE,
            f"{what}: protein length changed (Richards 2015 PM4); no repeat annotation, so a "
            "repetitive region without function (BP3) cannot be excluded",
            what,
        )
        t.note("BP3 not assessed: needs repeat-region annotation")
        t.note("PP3/BP4 not applied: the calibrated predictors are for missense variants")

    def _splicing_only(self, t: _Trail, c: Consequence, k: Knowledge, terms: set[str]) -> None:
        """Synonymous, splice-region and intronic alleles: SpliceAI PP3/BP4 and BP7."""
        synonymous = bool(terms & SYNONYMOUS_TERMS)
        splice_region = bool(terms & SPLICE_REGION_TERMS)
        intronic = _INTRON in terms
        if not (synonymous or splice_region or intronic):
            t.note(f"{c.terms[0] if c.terms else 'no consequence'}: no effect criterion applies")
            return
        s = k.spliceai
        if s is None:
            t.note("PP3/BP4/BP7 not assessed: no SpliceAI score")
            return
        if s >= SPLICEAI_PP3:
            t.fire(
                "PP3",
                Strength.SUPPORTING,
                f"SpliceAI {s:g} ≥ {SPLICEAI_PP3:g}: predicted splicing impact (Walker 2023)",
                s,
                SPLICEAI_PP3,
            )
            return
        if s > SPLICEAI_BP4:
            t.note(f"SpliceAI {s:g} lies between {SPLICEAI_BP4:g} and {SPLICEAI_PP3:g}: neither")
            return
        t.fire(
            "BP4",
            Strength.SUPPORTING,
            f"SpliceAI {s:g} ≤ {SPLICEAI_BP4:g}: no predicted splicing impact (Walker 2023)",
            s,
            SPLICEAI_BP4,
        )
        deep = _deep_intronic(c.hgvsc) if intronic and not synonymous else None
        if synonymous or deep:
            where = "synonymous" if synonymous else f"intronic at {deep}"
            t.fire(
                "BP7",
                Strength.SUPPORTING,
                f"{where} with SpliceAI {s:g} ≤ {SPLICEAI_BP4:g} (Walker 2023: BP7 with BP4 for "
                "synonymous and intronic ≥ +7/≤ −21); nucleotide conservation not assessed",
                s,
                SPLICEAI_BP4,
            )
        elif intronic and not splice_region:
            t.note("BP7 not applied: the intronic offset is unknown or within +6/−20")

    # -- ClinVar's own call --------------------------------------------------------------

    def _assertions(self, t: _Trail, k: Knowledge) -> None:
        cls = clinvar_class(k.clinvar_significance)
        if cls is None:
            return
        stars = k.clinvar_stars or 0
        label = f"ClinVar {k.clinvar_significance} ({stars}★"
        label += f", {k.clinvar_id})" if k.clinvar_id else ")"
        if not self.options.clinvar_assertions:
            t.note(f"{label} not used as evidence (PP5/BP6 off; ClinGen SVI advises against)")
            return
        need = self.options.min_clinvar_stars
        if stars < need:
            t.note(f"{label} below {need} review stars: PP5/BP6 not applied")
            return
        criterion = "PP5" if cls == "P" else "BP6"
        t.fire(
            criterion,
            Strength.SUPPORTING,
            f"{label}: reputable source (Richards 2015 {criterion}; used on request)",
            k.clinvar_significance,
            f"≥{need}★",
        )


# -- helpers -----------------------------------------------------------------------------


def _frequency(k: Knowledge) -> tuple[float | None, str]:
    """gnomAD's filtering allele frequency (FAF95, the ClinGen choice), else its AF."""
    if k.faf95 is not None:
        return k.faf95, "gnomAD FAF95"
    if k.af is not None:
        return k.af, "gnomAD AF (no FAF95 given)"
    return None, ""


def _failed_qc(k: Knowledge) -> bool:
    return k.gnomad_filter is not None and k.gnomad_filter not in ("PASS", ".", "")


def _recessive(gene: PanelGene) -> bool:
    modes = {d.inheritance for d in gene.diseases}
    return bool(modes) and modes <= {"AR"}


def _nmd_escape(c: Consequence, term: str) -> tuple[bool | None, str]:
    """Whether the truncation escapes NMD, and why (Abou Tayoun 2018: the 50-nt rule)."""
    if term in _CANONICAL_SPLICE and c.intron is not None and c.intron[0] == c.intron[1]:
        return True, f"in the last intron ({c.intron[0]}/{c.intron[1]})"
    if c.exon is not None and c.exon[0] == c.exon[1] and term not in _CANONICAL_SPLICE:
        return True, f"in the last exon ({c.exon[0]}/{c.exon[1]})"
    if c.nmd_escape is True:
        return True, "predicted to escape NMD (annotation)"
    if c.nmd_escape is False:
        return False, ""
    if term in _CANONICAL_SPLICE and c.intron is not None:
        return False, ""
    if term in ("transcript_ablation", "feature_ablation"):
        return False, "the whole transcript is deleted"
    if c.exon is not None and c.exon[0] == c.exon[1] - 1 and term not in _CANONICAL_SPLICE:
        # The 50-nt rule: a stop in the last 50 nt of the penultimate exon escapes NMD; where in
        # the exon it lies needs cDNA coordinates the annotation does not give.
        return None, (
            f"NMD presumed: penultimate exon ({c.exon[0]}/{c.exon[1]}), its last 50 nt (where "
            "NMD is escaped) not assessed"
        )
    if c.exon is not None:
        return False, ""
    return None, "NMD assumed (exon position unknown)"


def _critical_domain(gene: PanelGene, position: int | None) -> str | None:
    """A panel domain that a stop at ``position`` removes (wholly or in part)."""
    if position is None:
        return None
    for d in gene.domains:
        if d.end >= position:
            return f"{d.label} ({d.start}–{d.end})"
    return None


def _deep_intronic(hgvsc: str | None) -> str | None:
    """``+7`` or beyond / ``−21`` or beyond from the HGVS c. offset (Walker 2023 BP7)."""
    if not hgvsc:
        return None
    m = _INTRON_OFFSET.search(hgvsc)
    if m is None:
        return None
    offset = int(m.group(2))
    if (m.group(1) == "+" and offset >= 7) or (m.group(1) == "-" and offset >= 21):
        return f"{m.group(1)}{offset}"
    return None
