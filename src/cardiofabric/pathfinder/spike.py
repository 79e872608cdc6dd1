"""Spike-in evaluation of variant prioritisation on real background genotypes.

Each case is one patient: a real sample's non-reference calls from a public VCF, plus "decoy"
rare variants of other cardiac conditions (the incidental findings a cardiac exome carries),
plus one known pathogenic variant of the condition under test (the target), written as a
single-sample VCF with VEP ``CSQ``. The case is classified against a knowledge database built
from the Pathfinder catalogue's resources (gnomAD, ClinVar, REVEL, CADD, SpliceAI files of
:mod:`cardiofabric.pathfinder.writers.knowledge`, added with ``KnowledgeBase.add``) and ranked
three times by :func:`~cardiofabric.genomics.prioritise.prioritise_records`: with a matching
phenotype, with none, and with the phenotype of another cardiac condition. The figure is where
the target's gene lands.

What goes in:

- Background: the sample's calls carrying an ALT allele (genotype as called), with the file's
  ``INFO/AF`` written into the case VCF where the file has one. Files without samples (a sites-only
  file such as GoNL's genotype-count release) are skipped and reported. The background files are
  GRCh37 and are placed, coordinates unchanged, on the GRCh38 contigs the catalogue uses: they
  count as realistic call load (numbers, genotypes, multi-allelic sites), not as biology. They get
  VEP's ``intergenic_variant`` CSQ, so the chain classifies them on frequency alone and they never
  reach a gene; their AF is not put into the knowledge database (only the catalogue's gnomAD is).
- Decoys: 1–2 pathogenic or likely pathogenic catalogue variants and 2–4 rare uncertain ones
  (missense, in-frame, splice-region) in genes none of whose panel conditions is the target's,
  plus the catalogue's common benign variants at Hardy–Weinberg genotypes of their gnomAD
  frequency. P/LP decoys are what make the task hard without a phenotype: a secondary finding
  classifies as strongly as the target.
- Target: a catalogue variant with a condition (pathogenic missense, truncating, canonical
  splice), heterozygous.
- Phenotypes: :func:`simulate_profile` (Köhler 2009) from the HPO annotation of the target
  disease's OMIM entry in the panel; the non-matching profile the same from a disease of another
  panel condition.

What it does not show: the catalogue (a few dozen variants, synthetic resource values) annotates
every spiked variant itself, so annotation and knowledge are perfect here; real exomes carry
hundreds of rare coding variants in thousands of genes, not a handful in panel genes; the same
few targets recur across cases (variety comes from backgrounds, decoys and profiles); and the
phenotypes are simulated from the very annotations they are scored against.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.genomics.model import normalise_contig
from cardiofabric.genomics.phenotype import disease_set, load_ontology

if TYPE_CHECKING:
    from cardiofabric.genomics.classify import ClassifiedRecord
    from cardiofabric.genomics.panel import Panel
    from cardiofabric.pathfinder.knowledge import KnownVariant

__all__ = [
    "IMPRECISION",
    "MODES",
    "NOISE_SHARE",
    "PROFILE_TERMS",
    "BackgroundCall",
    "CaseResult",
    "HarnessResult",
    "SpikeCase",
    "make_cases",
    "read_background",
    "run_harness",
    "simulate_profile",
    "write_case_vcf",
]

#: The three phenotype settings every case is ranked under.
MODES = ("matching", "none", "other")
_TARGET_CATEGORIES = frozenset({"pathogenic_missense", "truncating", "splice"})
_VUS_CATEGORIES = frozenset({"vus_missense", "inframe", "splice_region"})


# -- background ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BackgroundCall:
    """One ALT allele a background sample carries, as called, with the file's INFO/AF."""

    chrom: str
    pos: int
    ref: str
    alt: str
    genotype: str
    af: float | None


def read_background(path: Path) -> dict[str, list[BackgroundCall]]:
    """Per sample, the non-reference calls of a VCF (every ALT split out); {} when the file
    has no samples."""
    try:
        import cyvcf2
    except ImportError:  # pragma: no cover - part of the genomics extra
        raise MissingDependencyError("cyvcf2", "genomics", "reading background VCFs") from None
    if not Path(path).is_file():
        raise InputError("no such background VCF", path=path)
    vcf = cyvcf2.VCF(str(path))
    samples = list(vcf.samples)
    out: dict[str, list[BackgroundCall]] = {s: [] for s in samples}
    if not samples:
        vcf.close()
        return {}
    for rec in vcf:
        alts = [a for a in rec.ALT if a and a[0] not in "<*." and "[" not in a and "]" not in a]
        if not alts or len(alts) != len(rec.ALT):
            continue
        try:
            raw_af = rec.INFO.get("AF")
        except KeyError:
            raw_af = None
        afs = list(raw_af) if isinstance(raw_af, tuple) else [raw_af] * len(alts)
        for i, gt in enumerate(rec.genotypes):
            alleles = [a for a in gt[:-1] if a is not None]
            for j, alt in enumerate(alts, start=1):
                if j in alleles:
                    text = ("|" if gt[-1] else "/").join(
                        "." if a < 0 else ("1" if a == j else "0") for a in alleles
                    )
                    af = afs[j - 1] if j - 1 < len(afs) else None
                    out[samples[i]].append(
                        BackgroundCall(
                            normalise_contig(rec.CHROM),
                            rec.POS,
                            rec.REF,
                            alt,
                            text,
                            float(af) if isinstance(af, (int, float)) and af >= 0 else None,
                        )
                    )
    vcf.close()
    return {s: calls for s, calls in out.items() if calls}


# -- cases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpikeCase:
    """One simulated patient (see the module docstring)."""

    case_id: str
    background: str  # file name of the background VCF
    sample: str
    target: KnownVariant
    condition: str  # the panel's condition code, e.g. HCM
    disease: str  # OMIM id the matching profile was drawn from
    decoys: tuple[tuple[KnownVariant, int], ...]  # (variant, ALT copies)
    matching: tuple[str, ...]
    other: tuple[str, ...]
    other_condition: str


def _panel_condition(panel: Panel, gene: str, condition: str) -> tuple[str, tuple[str, ...]]:
    pg = panel.gene(gene)
    if pg is None:
        raise InputError(f"catalogue gene {gene} is not in the panel")
    for d in pg.diseases:
        if d.condition.lower() == condition.lower():
            return d.condition, tuple(d.omim)
    raise InputError(f"the panel gives {gene} no disease of condition {condition}")


def _annotated(omim: Sequence[str]) -> tuple[str, list[str]] | None:
    for o in omim:
        s = disease_set(o)
        if s is not None:
            return s.id, [t.id for t in s.terms]
    return None


def _other_gene(panel: Panel, v: KnownVariant, condition: str) -> bool:
    """Whether ``v`` lies in a panel gene none of whose conditions is ``condition``."""
    pg = panel.gene(v.gene)
    return pg is not None and condition not in pg.conditions


def make_cases(
    n: int,
    *,
    backgrounds: dict[str, dict[str, list[BackgroundCall]]],
    panel: Panel,
    seed: int,
) -> list[SpikeCase]:
    """``n`` cases drawn with ``random.Random(seed)``: target, background, decoys, profiles."""
    from cardiofabric.pathfinder.knowledge import CATALOGUE

    if not backgrounds:
        raise InputError(
            "no background sample to spike into",
            hint="give at least one VCF with genotype columns",
        )
    rng = random.Random(seed)
    targets = [v for v in CATALOGUE if v.condition and v.category in _TARGET_CATEGORIES]
    # Every panel condition's diseases with an HPO annotation, for the non-matching profiles.
    by_condition: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    for gene in sorted(panel.genes):
        for d in panel.genes[gene].diseases:
            found = _annotated(d.omim)
            if found is not None:
                by_condition[d.condition].append(found)
    sources = [(f, s) for f in sorted(backgrounds) for s in sorted(backgrounds[f])]
    cases: list[SpikeCase] = []
    for i in range(n):
        target = targets[i % len(targets)] if i < len(targets) else rng.choice(targets)
        condition, omim = _panel_condition(panel, target.gene, target.condition or "")
        found = _annotated(omim)
        if found is None:
            raise InputError(f"no HPO annotation for {target.gene}'s {condition} disease {omim}")
        disease, terms = found

        strong = [v for v in targets if _other_gene(panel, v, condition)]
        weak = [
            v
            for v in CATALOGUE
            if v.category in _VUS_CATEGORIES and _other_gene(panel, v, condition)
        ]
        picked = rng.sample(strong, min(len(strong), rng.randint(1, 2)))
        picked += rng.sample(weak, min(len(weak), rng.randint(2, 4)))
        decoys = [(v, 1) for v in picked]
        for v in CATALOGUE:
            af = v.gnomad_af or 0.0
            if v.category == "benign_common" or (v.category == "synonymous" and af >= 0.01):
                copies = sum(rng.random() < af for _ in range(2))
                if copies:
                    decoys.append((v, copies))
        other_condition = rng.choice(sorted(c for c in by_condition if c != condition))
        _, other_terms = rng.choice(by_condition[other_condition])
        file, sample = rng.choice(sources)
        cases.append(
            SpikeCase(
                case_id=f"case{i + 1:04d}",
                background=file,
                sample=sample,
                target=target,
                condition=condition,
                disease=disease,
                decoys=tuple(decoys),
                matching=tuple(simulate_profile(terms, rng)),
                other=tuple(simulate_profile(other_terms, rng)),
                other_condition=other_condition,
            )
        )
    return cases


def write_case_vcf(case: SpikeCase, calls: Sequence[BackgroundCall], path: Path) -> None:
    """The case as a single-sample GRCh38 VCF with VEP CSQ (background: intergenic)."""
    from cardiofabric.pathfinder.knowledge import csq_for, csq_header, intergenic_csq
    from cardiofabric.pathfinder.writers.vcf import GRCH38_CONTIGS

    order = {c: i for i, c in enumerate(GRCH38_CONTIGS)}
    rows: dict[tuple[int, int], str] = {}
    spiked = [(case.target, 1), *case.decoys]
    for v, copies in spiked:
        k = v.key
        gt = "1/1" if copies == 2 else "0/1"
        rows[(order[k.chrom], k.pos)] = (
            f"{k.chrom}\t{k.pos}\t.\t{k.ref}\t{k.alt}\t50\tPASS\tCSQ={csq_for(v)}\tGT\t{gt}"
        )
    for c in calls:
        if c.chrom not in order or c.pos > GRCH38_CONTIGS[c.chrom]:
            continue
        site = (order[c.chrom], c.pos)
        if site in rows:  # a spiked variant takes the site
            continue
        info = f"AF={c.af:.6g};" if c.af is not None else ""
        rows[site] = (
            f"{c.chrom}\t{c.pos}\t.\t{c.ref}\t{c.alt}\t50\tPASS\t"
            f"{info}CSQ={intergenic_csq(c.ref, c.alt)}\tGT\t{c.genotype}"
        )
    header = [
        "##fileformat=VCFv4.2",
        "##reference=GRCh38",
        *(f"##contig=<ID={c},length={n}>" for c, n in GRCH38_CONTIGS.items()),
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency in the background '
        'file the call comes from">',
        csq_header(),
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        f"##cardiofabric_spike=<case={case.case_id},background={case.background}>",
        f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{case.sample}",
    ]
    body = [rows[k] for k in sorted(rows)]
    path.write_text("\n".join(header + body) + "\n", encoding="utf-8")


# -- running ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseResult:
    """Where the target's gene ranked under each phenotype setting (None: not ranked)."""

    case_id: str
    gene: str
    condition: str
    background: str
    genes: int
    ranks: dict[str, int | None]

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "gene": self.gene,
            "condition": self.condition,
            "background": self.background,
            "genes_ranked": self.genes,
            "ranks": dict(self.ranks),
        }


def _rate(ranks: Sequence[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


@dataclass
class HarnessResult:
    """Top-1 / top-5 rates per phenotype setting, overall and per condition."""

    seed: int
    cases: list[CaseResult]
    backgrounds: dict[str, int]  # file name → samples usable
    skipped_backgrounds: dict[str, str] = field(default_factory=dict)

    def rates(self, mode: str, condition: str | None = None) -> tuple[float, float]:
        ranks = [c.ranks[mode] for c in self.cases if condition in (None, c.condition)]
        return _rate(ranks, 1), _rate(ranks, 5)

    def to_json(self) -> dict[str, Any]:
        conditions = sorted({c.condition for c in self.cases})
        return {
            "seed": self.seed,
            "cases": len(self.cases),
            "backgrounds": self.backgrounds,
            "skipped_backgrounds": self.skipped_backgrounds,
            "mean_genes_ranked": round(sum(c.genes for c in self.cases) / len(self.cases), 2)
            if self.cases
            else 0,
            "overall": {
                m: dict(zip(("top1", "top5"), map(_r4, self.rates(m)), strict=True)) for m in MODES
            },
            "per_condition": {
                cond: {
                    "cases": sum(1 for c in self.cases if c.condition == cond),
                    **{
                        m: dict(zip(("top1", "top5"), map(_r4, self.rates(m, cond)), strict=True))
                        for m in MODES
                    },
                }
                for cond in conditions
            },
            "per_case": [c.to_json() for c in self.cases],
        }

    def table(self) -> str:
        """A Markdown table of the rates (overall first, then per condition)."""
        lines = [
            "| condition | cases | top-1 matching | top-5 matching | top-1 none | top-5 none "
            "| top-1 other | top-5 other |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        counts = Counter(c.condition for c in self.cases)
        for cond in [None, *sorted(counts)]:
            cells = [cond or "**all**", str(len(self.cases) if cond is None else counts[cond])]
            for m in MODES:
                t1, t5 = self.rates(m, cond)
                cells += [f"{t1:.1%}", f"{t5:.1%}"]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _r4(x: float) -> float:
    return round(x, 4)


def run_harness(
    n: int,
    *,
    backgrounds: Sequence[Path],
    workdir: Path,
    seed: int = 7,
    keep_vcfs: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> HarnessResult:
    """Build the knowledge database, make ``n`` cases, classify and rank each (3 settings)."""
    from cardiofabric.genomics.classify import classify_vcf
    from cardiofabric.genomics.panel import load_panel
    from cardiofabric.genomics.prioritise import prioritise_records
    from cardiofabric.genomics.resources import KnowledgeBase
    from cardiofabric.pathfinder.writers.knowledge import write_knowledge

    if n < 1:
        raise InputError(f"the harness needs at least one case, not {n}")
    workdir.mkdir(parents=True, exist_ok=True)
    loaded: dict[str, dict[str, list[BackgroundCall]]] = {}
    skipped: dict[str, str] = {}
    for path in backgrounds:
        samples = read_background(Path(path))
        if samples:
            loaded[Path(path).name] = samples
        else:
            skipped[Path(path).name] = "no sample with a non-reference genotype (sites only?)"
    panel = load_panel()
    cases = make_cases(n, backgrounds=loaded, panel=panel, seed=seed)
    files = write_knowledge(workdir / "knowledge")
    db = workdir / "knowledge.duckdb"
    db.unlink(missing_ok=True)
    with KnowledgeBase.open(db, read_only=False, create=True) as kb:
        for kind, file in files.items():
            kb.add(kind, file)
    results: list[CaseResult] = []
    with KnowledgeBase.open(db, read_only=True) as kb:
        for done, case in enumerate(cases, start=1):
            vcf = workdir / f"{case.case_id}.vcf"
            write_case_vcf(case, loaded[case.background][case.sample], vcf)
            records: list[ClassifiedRecord] = list(
                classify_vcf(vcf, knowledge=kb, panel=panel, sample=case.sample)
            )
            if not keep_vcfs:
                vcf.unlink()
            ranks: dict[str, int | None] = {}
            genes = 0
            for mode, hpo in (("matching", case.matching), ("none", ()), ("other", case.other)):
                ranked = prioritise_records(records, hpo=list(hpo) or None, panel=panel, top=None)
                ranks[mode] = ranked.rank_of(case.target.gene)
                genes = ranked.genes_considered
            results.append(
                CaseResult(
                    case.case_id, case.target.gene, case.condition, case.background, genes, ranks
                )
            )
            if progress is not None:
                progress(done, len(cases))
    return HarnessResult(
        seed=seed,
        cases=results,
        backgrounds={f: len(s) for f, s in loaded.items()},
        skipped_backgrounds=skipped,
    )


# -- patient phenotypes (Köhler et al. 2009 simulation) ---------------------------------------

#: Simulation of a patient's HPO profile from a disease's annotation, after Köhler et al.
#: (Am J Hum Genet 2009;85:457): a few annotated terms, some made less precise (replaced by an
#: ancestor), plus unrelated random terms ("noise"). Köhler used half as many noise terms as
#: query terms; imprecision moved each term to an ancestor.
PROFILE_TERMS = (3, 6)
IMPRECISION = 0.5
NOISE_SHARE = 0.5


def _noise_pool() -> tuple[str, ...]:
    """Every current phenotypic-abnormality term: the pool noise terms are drawn from."""
    global _POOL
    if _POOL is None:
        ontology = load_ontology()
        root = ontology.get_hpo_object(_ROOT)
        _POOL = tuple(
            sorted(
                t.id for t in ontology if not t.is_obsolete and t.id != _ROOT and t.child_of(root)
            )
        )
    return _POOL


_POOL: tuple[str, ...] | None = None
_ROOT = "HP:0000118"


def _ancestor(term_id: str, rng: random.Random) -> str:
    """A parent or grandparent of the term, never the root nor an organ-system term."""
    ontology = load_ontology()
    term = ontology.get_hpo_object(term_id)
    for _ in range(rng.choice((1, 2))):
        parents = [
            p for p in term.parents if p.id != _ROOT and _ROOT not in {q.id for q in p.parents}
        ]
        if not parents:
            break
        term = rng.choice(sorted(parents, key=lambda p: p.id))
    return str(term.id)


def simulate_profile(
    annotation: Sequence[str],
    rng: random.Random,
    *,
    terms: tuple[int, int] = PROFILE_TERMS,
    imprecision: float = IMPRECISION,
    noise: float = NOISE_SHARE,
) -> list[str]:
    """A simulated patient's HPO ids from a disease's annotated ``annotation`` ids."""
    if not annotation:
        raise InputError("a disease without annotated HPO terms cannot give a profile")
    k = min(len(annotation), rng.randint(*terms))
    chosen = rng.sample(sorted(annotation), k)
    out = [_ancestor(t, rng) if rng.random() < imprecision else t for t in chosen]
    pool = _noise_pool()
    out += [rng.choice(pool) for _ in range(max(1, round(noise * k)))]
    return list(dict.fromkeys(out))
