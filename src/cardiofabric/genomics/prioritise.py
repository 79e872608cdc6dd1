"""Rank a patient's genes by how well their variants and their diseases explain the phenotype.

The VCF is classified for one sample (:func:`~cardiofabric.genomics.classify.classify_vcf`:
ACMG/AMP criteria and points per allele the sample carries); alleles are grouped by gene, and
each gene gets a variant score, a phenotype score and their combination, in the manner of
Exomiser (Smedley et al., Nat Protoc 2015;10:2004) but built from our ACMG evidence.

Variant score (per allele, in [0, 1]) = posterior probability of pathogenicity × frequency
factor. The posterior comes from the allele's ACMG points through the Bayesian framework the
points scale was built on (Tavtigian et al., Genet Med 2018;20:1054): prior 0.10, odds of
pathogenicity 350^(points/8), so Pathogenic (≥ 10 points) is ≥ 0.99, Likely pathogenic (6–9)
0.90–0.99 and 0 points the prior. The frequency factor is Exomiser's (``FrequencyData``): 1 for
an allele absent from the population data, 1.13533 − 0.13533·e^(f) for the highest of gnomAD AF
and faf95 as a percentage f ≤ 2 %, and 0 above 2 %. It repeats what PM2/BS1/BA1 already count;
it is kept so that common alleles cannot rank whatever their points.

Inheritance (per disease of the gene, as the panel states it; off the panel, the inheritance
terms of the gene's HPO annotation; unknown counts as dominant). Dominant, X-linked,
semidominant: the best allele's score. Recessive (Exomiser's compound-heterozygote rule): a
homozygous or hemizygous allele's score, or the mean of the two best qualifying alleles (points
≥ 0: not benign) — phase is unknown from a single sample, so two alleles could be in cis, which
the explanation says. One heterozygous allele alone in a recessive gene does not explain a
recessive disease unless a second allele was missed (a copy-number or deep-intronic variant
short-read calling misses): its score is multiplied by :data:`AR_SINGLE_HET_FACTOR` = 0.1, a
judgement, not a fitted value.

Combination. Exomiser fits a logistic model of both scores on simulated exomes. Here the two
are combined as independent evidence in odds: combined odds = variant odds × the phenotype
likelihood ratio LR(s) = exp(a + b·s), where s is the phenotype score
(:mod:`~cardiofabric.genomics.phenotype`) of the disease being considered and (a, b) are
:data:`PHENOTYPE_LR` — fitted by logistic regression on a separate tuning set: simulated patients
(the Köhler 2009 noise model of ``pathfinder.spike``) of OMIM diseases with no cardiovascular
term, each scored against its own disease and against other diseases of the same HPO organ
category (``benchmarks/tune_prioritise.py`` reproduces them). The cardiac evaluation
(``benchmarks/eval_prioritise.py``) never saw them. The combined score is the combined odds as a
probability; genes are ranked on the log odds (so near-1 values keep their order). Without HPO
terms the phenotype factor is 1 and the rank is the variant score's.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cardiofabric.errors import InputError
from cardiofabric.genomics.model import Tier
from cardiofabric.genomics.phenotype import (
    HpoProfile,
    PhenotypeMatch,
    PhenotypeScorer,
    gene_inheritance,
    hpo_version,
    validate_hpo,
)

if TYPE_CHECKING:
    from cardiofabric.genomics.acmg import ClassifierOptions
    from cardiofabric.genomics.classify import ClassifiedRecord
    from cardiofabric.genomics.panel import Panel
    from cardiofabric.genomics.resources import KnowledgeBase

__all__ = [
    "AR_SINGLE_HET_FACTOR",
    "PHENOTYPE_LR",
    "PRIOR",
    "GeneResult",
    "Prioritisation",
    "ScoringOptions",
    "VariantHit",
    "frequency_factor",
    "posterior",
    "prioritise_records",
    "prioritise_vcf",
    "render_html",
]

#: Prior probability of pathogenicity of the Bayesian ACMG framework (Tavtigian 2018).
PRIOR = 0.10
#: Odds of pathogenicity of Very strong evidence (8 points) in that framework.
_ODDS_VERY_STRONG = 350.0
#: Score factor for a single heterozygous allele in a recessive gene (see the module docstring).
AR_SINGLE_HET_FACTOR = 0.1
#: (a, b) of the phenotype likelihood ratio exp(a + b·s), from benchmarks/tune_prioritise.py
#: (seed 20240611, 1,000 simulated patients of non-cardiovascular OMIM diseases, each scored
#: against its own and 4 other diseases of its organ category; balanced logistic regression).
#: LR is ~1 at s = 0.37, ~18 at s = 0.5 and ~0.06 at s = 0.25.
PHENOTYPE_LR = (-8.582, 23.376)

_RECESSIVE = "AR"
_DOMINANT_LIKE = ("AD", "XL", "SD")


def posterior(points: int, prior: float = PRIOR) -> float:
    """P(pathogenic | ACMG points) in Tavtigian's framework: odds 350^(points/8) on ``prior``."""
    odds: float = _ODDS_VERY_STRONG ** (points / 8.0)
    return odds * prior / ((odds - 1.0) * prior + 1.0)


def frequency_factor(af: float | None, faf95: float | None = None) -> float:
    """Exomiser's frequency score on the highest of AF and faf95 (fractions); 1 when absent."""
    known = [f for f in (af, faf95) if f is not None]
    if not known:
        return 1.0
    pct = 100.0 * max(known)
    if pct > 2.0:
        return 0.0
    return min(1.0, 1.13533 - 0.13533 * math.exp(pct))


@dataclass(frozen=True)
class ScoringOptions:
    """How variant and phenotype scores are made and combined (defaults: the documented ones)."""

    ic_kind: str = "omim"
    similarity: str = "resnik"
    prior: float = PRIOR
    phenotype_lr: tuple[float, float] = PHENOTYPE_LR
    ar_single_het_factor: float = AR_SINGLE_HET_FACTOR


@dataclass(frozen=True)
class VariantHit:
    """One allele of the sample in a gene, with its variant score."""

    record: ClassifiedRecord
    posterior: float
    frequency_factor: float

    @property
    def score(self) -> float:
        return self.posterior * self.frequency_factor

    @property
    def qualifying(self) -> bool:
        """Counts toward a recessive genotype: not benign and not common."""
        return self.record.classification.points >= 0 and self.frequency_factor > 0

    @property
    def label(self) -> str:
        cl = self.record.classification
        c = cl.consequence
        change = (c.hgvsp or c.hgvsc) if c else None
        return f"{cl.variant}" + (f" {_short_hgvs(change)}" if change else "")

    def to_json(self) -> dict[str, Any]:
        data = self.record.to_json()
        data["variant_score"] = round(self.score, 6)
        data["posterior"] = round(self.posterior, 6)
        data["frequency_factor"] = round(self.frequency_factor, 6)
        return data


def _short_hgvs(text: str) -> str:
    return text.split(":", 1)[1] if ":" in text else text


@dataclass(frozen=True)
class GeneResult:
    """A ranked gene: the disease and inheritance it was judged under, the scores and why."""

    rank: int
    gene: str
    disease: str | None
    condition: str | None
    inheritance: str | None
    compatible: bool
    variant_score: float
    phenotype: PhenotypeMatch | None
    combined: float
    log_odds: float
    variants: tuple[VariantHit, ...]
    explanation: tuple[str, ...]

    @property
    def phenotype_score(self) -> float | None:
        return self.phenotype.score if self.phenotype is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "gene": self.gene,
            "disease": self.disease,
            "condition": self.condition,
            "inheritance": self.inheritance,
            "inheritance_compatible": self.compatible,
            "variant_score": round(self.variant_score, 6),
            "phenotype_score": None if self.phenotype is None else round(self.phenotype.score, 6),
            "combined_score": round(self.combined, 6),
            "log_odds": round(self.log_odds, 4) if math.isfinite(self.log_odds) else None,
            "phenotype": self.phenotype.to_json() if self.phenotype is not None else None,
            "variants": [v.to_json() for v in self.variants],
            "explanation": list(self.explanation),
        }


@dataclass(frozen=True)
class Prioritisation:
    """The ranked genes of one sample (the ``top`` first) and how they were scored."""

    source: str
    sample: str | None
    hpo: HpoProfile | None
    genes: tuple[GeneResult, ...]
    genes_considered: int
    alleles: int
    options: ScoringOptions = field(default_factory=ScoringOptions)
    classification: dict[str, Any] | None = None

    def rank_of(self, gene: str) -> int | None:
        """The rank of ``gene`` among the returned genes (1-based); None if not among them."""
        for g in self.genes:
            if g.gene == gene:
                return g.rank
        return None

    def to_json(self) -> dict[str, Any]:
        o = self.options
        return {
            "source": self.source,
            "sample": self.sample,
            "hpo": self.hpo.to_json() if self.hpo is not None else None,
            "genes_considered": self.genes_considered,
            "alleles": self.alleles,
            "scoring": {
                "ic_kind": o.ic_kind,
                "similarity": o.similarity,
                "prior": o.prior,
                "phenotype_lr": list(o.phenotype_lr),
                "ar_single_het_factor": o.ar_single_het_factor,
                "hpo_version": hpo_version() if self.hpo is not None else None,
            },
            "genes": [g.to_json() for g in self.genes],
            "classification": self.classification,
        }


# -- ranking ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    disease: str | None
    condition: str | None
    inheritance: str | None
    omim: tuple[str, ...]


def _candidates(gene: str, panel: Panel | None) -> list[_Candidate]:
    pg = panel.gene(gene) if panel is not None else None
    if pg is not None and pg.diseases:
        return [
            _Candidate(d.disease, d.condition, d.inheritance, tuple(d.omim)) for d in pg.diseases
        ]
    modes = sorted(gene_inheritance(gene))
    return [_Candidate(None, None, m, ()) for m in modes] or [_Candidate(None, None, None, ())]


def _genotype_score(
    hits: Sequence[VariantHit], mode: str | None, ar_factor: float
) -> tuple[float, bool, str]:
    """The gene's variant score under ``mode``, whether the genotype fits it, and why."""
    best = hits[0]
    if mode != _RECESSIVE:
        what = {"AD": "dominant", "XL": "X-linked", "SD": "semidominant"}.get(mode or "", "")
        text = (
            f"{what} inheritance: one allele suffices"
            if what
            else "inheritance unknown: scored as dominant"
        )
        return best.score, True, text
    qualifying = [h for h in hits if h.qualifying]
    for h in qualifying:
        if h.record.zygosity in ("homozygous", "hemizygous"):
            return h.score, True, f"recessive inheritance: {h.record.zygosity} {h.label}"
    if len(qualifying) >= 2:
        a, b = qualifying[0], qualifying[1]
        return (
            (a.score + b.score) / 2,
            True,
            f"recessive inheritance: two qualifying alleles ({a.label}; {b.label}), possible "
            "compound heterozygote (phase unknown from one sample: test the parents)",
        )
    return (
        best.score * ar_factor,
        False,
        f"recessive inheritance but a single heterozygous allele: a second allele would be "
        f"needed (score × {ar_factor:g})",
    )


def _logit(p: float) -> float:
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log(p / (1.0 - p))


def _prob(log_odds: float) -> float:
    if log_odds == -math.inf:
        return 0.0
    if log_odds >= 40:
        return 1.0
    return 1.0 / (1.0 + math.exp(-log_odds))


def prioritise_records(
    records: Iterable[ClassifiedRecord],
    *,
    hpo: Sequence[str] | HpoProfile | None = None,
    panel: Panel | None = None,
    options: ScoringOptions | None = None,
    top: int | None = 20,
    source: str = "",
    sample: str | None = None,
) -> Prioritisation:
    """Rank the genes of already-classified alleles (see the module docstring)."""
    opts = options or ScoringOptions()
    if top is not None and top < 1:
        raise InputError(f"top must be at least 1, not {top}")
    profile: HpoProfile | None = None
    if isinstance(hpo, HpoProfile):
        profile = hpo
    elif hpo:
        profile = validate_hpo(hpo)
    scorer = (
        PhenotypeScorer(profile, kind=opts.ic_kind, method=opts.similarity)
        if profile is not None
        else None
    )
    by_gene: dict[str, list[VariantHit]] = {}
    alleles = 0
    for rec in records:
        alleles += 1
        cl = rec.classification
        if not cl.gene:
            continue
        k = cl.knowledge
        by_gene.setdefault(cl.gene, []).append(
            VariantHit(rec, posterior(cl.points, opts.prior), frequency_factor(k.af, k.faf95))
        )
    a, b = opts.phenotype_lr
    results: list[GeneResult] = []
    for gene, hits in by_gene.items():
        hits.sort(key=lambda h: (-h.score, h.record.classification.variant))
        best: tuple[float, float, GeneResult] | None = None
        for cand in _candidates(gene, panel):
            vscore, compatible, why = _genotype_score(
                hits, cand.inheritance, opts.ar_single_het_factor
            )
            match = scorer.score_gene(gene, cand.omim) if scorer is not None else None
            log_odds = _logit(vscore)
            if match is not None:
                log_odds += a + b * match.score
            result = GeneResult(
                rank=0,
                gene=gene,
                disease=cand.disease or (match.best_disease_name if match is not None else None),
                condition=cand.condition,
                inheritance=cand.inheritance,
                compatible=compatible,
                variant_score=vscore,
                phenotype=match,
                combined=_prob(log_odds),
                log_odds=log_odds,
                variants=tuple(hits),
                explanation=tuple(_explain(hits, why, match, cand)),
            )
            key = (log_odds, vscore)
            if best is None or key > best[:2]:
                best = (log_odds, vscore, result)
        assert best is not None
        results.append(best[2])
    results.sort(key=lambda r: (-r.log_odds, -r.variant_score, r.gene))
    ranked = tuple(GeneResult(**{**r.__dict__, "rank": i}) for i, r in enumerate(results, start=1))
    return Prioritisation(
        source=source,
        sample=sample,
        hpo=profile,
        genes=ranked[:top] if top is not None else ranked,
        genes_considered=len(ranked),
        alleles=alleles,
        options=opts,
    )


def _explain(
    hits: Sequence[VariantHit], why: str, match: PhenotypeMatch | None, cand: _Candidate
) -> list[str]:
    lines: list[str] = []
    for h in hits[:5]:
        cl = h.record.classification
        c = cl.consequence
        what = c.terms[0] if c is not None and c.terms else "no consequence"
        k = cl.knowledge
        freq = (
            "absent from the population data"
            if k.af is None and k.faf95 is None
            else f"gnomAD AF {k.af if k.af is not None else '–'}, faf95 "
            f"{k.faf95 if k.faf95 is not None else '–'}"
        )
        lines.append(
            f"{h.label} ({what}, {h.record.zygosity or 'zygosity unknown'}): {cl.tier} "
            f"({cl.points} points: {', '.join(cl.criteria) or 'no criterion'}); {freq}; "
            f"variant score {h.score:.3f}"
        )
    if len(hits) > 5:
        lines.append(f"... and {len(hits) - 5} more alleles in the gene")
    lines.append(why[0].upper() + why[1:])
    if match is not None:
        target = (
            f"{match.best_disease} {match.best_disease_name}"
            if match.best_disease
            else "the gene's own HPO annotation"
        )
        pairs = "; ".join(
            f"{m.patient_term} {m.patient_label} → "
            + (f"{m.matched_term} {m.matched_label}" if m.matched_term else "no match")
            + f" (similarity {m.similarity:.2f} of IC {m.ic:.2f})"
            for m in match.matches
        )
        lines.append(f"Phenotype score {match.score:.3f} against {target}: {pairs}")
    elif cand.disease:
        lines.append(f"Disease: {cand.disease}")
    return lines


def prioritise_vcf(
    path: Path | str,
    *,
    sample: str,
    hpo: Sequence[str] | HpoProfile | None,
    knowledge: KnowledgeBase | None = None,
    panel: Panel | None = None,
    options: ClassifierOptions | None = None,
    scoring: ScoringOptions | None = None,
    top: int | None = 20,
    progress: Callable[[int], None] | None = None,
) -> Prioritisation:
    """Classify the alleles ``sample`` carries in ``path`` and rank their genes against the
    patient's HPO terms (none: variant score only). See the module docstring."""
    from cardiofabric.genomics.classify import classify_vcf

    profile: HpoProfile | None = None
    if isinstance(hpo, HpoProfile):
        profile = hpo
    elif hpo:
        profile = validate_hpo(hpo)  # before the VCF is read: bad ids fail at once
    if panel is None:
        from cardiofabric.genomics.panel import load_panel

        panel = load_panel()
    stream = classify_vcf(
        Path(path),
        knowledge=knowledge,
        panel=panel,
        sample=sample,
        options=options,
        progress=progress,
    )
    result = prioritise_records(
        stream,
        hpo=profile,
        panel=panel,
        options=scoring,
        top=top,
        source=str(path),
        sample=sample,
    )
    return Prioritisation(
        **{**result.__dict__, "classification": stream.summary.to_json()},
    )


# -- HTML ------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.4em}table{border-collapse:collapse;width:100%;margin:1em 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;font-size:.9em}
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
.P{color:#a00;font-weight:bold}.LP{color:#c50}.VUS{color:#666}
section{border-top:1px solid #ddd;padding:.5em 0}ul{margin:.3em 0}
.note{color:#555;font-size:.85em}
"""

_TIER_CLASS = {
    Tier.PATHOGENIC: "P",
    Tier.LIKELY_PATHOGENIC: "LP",
    Tier.VUS: "VUS",
}


def _e(value: object) -> str:
    return html.escape("–" if value is None else str(value), quote=True)


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def render_html(result: Prioritisation) -> str:
    """A self-contained HTML report (inline CSS, no scripts, no external assets); every value
    taken from the data is escaped."""
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Variant prioritisation: {_e(result.sample)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Variant prioritisation of sample {_e(result.sample)}</h1>",
        f"<p>Source: {_e(result.source)}. {result.alleles} alleles carried by the sample were "
        f"classified; {result.genes_considered} genes carry at least one.</p>",
    ]
    if result.hpo is not None:
        out.append("<p>Phenotype (HPO " + _e(hpo_version()) + "):</p><ul>")
        for t, lab in zip(result.hpo.terms, result.hpo.labels, strict=True):
            out.append(f"<li>{_e(t)} {_e(lab)}</li>")
        out.append("</ul>")
        for note in result.hpo.notes:
            out.append(f'<p class="note">{_e(note)}</p>')
    else:
        out.append("<p>No HPO terms given: genes are ranked on the variant score alone.</p>")
    out.append(
        "<table><thead><tr><th>rank</th><th>gene</th><th>disease</th><th>variant</th>"
        "<th>classification</th><th>variant score</th><th>phenotype score</th>"
        "<th>combined</th></tr></thead><tbody>"
    )
    for g in result.genes:
        top_hit = g.variants[0]
        tier = top_hit.record.classification.tier
        out.append(
            f'<tr><td class="n">{g.rank}</td><td><a href="#g{g.rank}">{_e(g.gene)}</a></td>'
            f"<td>{_e(g.disease)}</td><td>{_e(top_hit.label)}</td>"
            f'<td class="{_TIER_CLASS.get(tier, "")}">{_e(tier)}</td>'
            f'<td class="n">{_f(g.variant_score)}</td>'
            f'<td class="n">{_f(g.phenotype_score)}</td>'
            f'<td class="n">{_f(g.combined, 4)}</td></tr>'
        )
    out.append("</tbody></table>")
    for g in result.genes:
        out.append(
            f'<section id="g{g.rank}"><h2>{g.rank}. {_e(g.gene)}'
            + (f" — {_e(g.disease)}" if g.disease else "")
            + "</h2>"
            f"<p>Inheritance: {_e(g.inheritance or 'unknown')}"
            + ("" if g.compatible else " (genotype does not fit)")
            + f". Variant score {_f(g.variant_score)}, phenotype score "
            f"{_f(g.phenotype_score)}, combined {_f(g.combined, 4)}.</p><ul>"
        )
        for line in g.explanation:
            out.append(f"<li>{_e(line)}</li>")
        out.append("</ul>")
        if g.phenotype is not None and g.phenotype.matches:
            out.append(
                "<table><thead><tr><th>patient term</th><th>best matching annotated term</th>"
                "<th>similarity</th><th>IC of patient term</th></tr></thead><tbody>"
            )
            for m in g.phenotype.matches:
                out.append(
                    f"<tr><td>{_e(m.patient_term)} {_e(m.patient_label)}</td>"
                    f"<td>{_e(m.matched_term)} {_e(m.matched_label) if m.matched_term else ''}"
                    f'</td><td class="n">{_f(m.similarity, 2)}</td>'
                    f'<td class="n">{_f(m.ic, 2)}</td></tr>'
                )
            out.append("</tbody></table>")
        out.append("</section>")
    o = result.options
    out.append(
        f'<p class="note">Variant score: posterior probability of pathogenicity from the '
        f"ACMG points (Tavtigian 2018, prior {o.prior:g}) × Exomiser's frequency factor. "
        f"Phenotype score: symmetric Resnik best-match average ({_e(o.similarity)}, IC from "
        f"{_e(o.ic_kind)}), normalised to [0, 1]. Combined: variant odds × exp("
        f"{o.phenotype_lr[0]:g} + {o.phenotype_lr[1]:g}·phenotype score). Research use; "
        "not a diagnostic report.</p>"
    )
    out.append("</body></html>")
    return "\n".join(out)
