"""How well a patient's phenotype (HPO terms) matches what is known of a gene and its diseases.

The ontology and its annotations come from ``hpo3`` (``pyhpo``), which bundles the Human
Phenotype Ontology with its gene and OMIM/Orphanet disease annotations (the HPO release is
:func:`hpo_version`). It is loaded once, lazily and under a lock, the first time a score is
asked for (about a second).

Patient terms (:func:`validate_hpo`). ``HP:0001639`` style ids; a malformed id, an id the
ontology does not know, or an obsolete id without a replacement is an :class:`InputError`
naming it. An obsolete id the ontology maps to its replacement (``replaced_by``) is swapped for
it, with a note. Terms outside *Phenotypic abnormality* (HP:0000118) — modes of inheritance,
onset, frequency, clinical modifiers — describe no phenotype to compare and are set aside, with
a note, as Exomiser's PhenIX does.

Similarity (:class:`PhenotypeScorer`). Term to term: Resnik's similarity, the information
content (IC = −log p of annotation) of the most informative common ancestor (Resnik, IJCAI
1995), IC computed over the OMIM disease annotations (``kind="omim"``, as the Phenomizer;
``"orpha"``/``"gene"`` selectable; Lin, Jiang–Conrath and hpo3's other measures selectable too).
Set to set: the best-match average (Köhler et al., Am J Hum Genet 2009;85:457, the Phenomizer;
the measure PhenIX ranks genes by, Zemojtel et al., Sci Transl Med 2014;6:252ra123): each
patient term's best match among the annotated terms, averaged, and — because one direction alone
lets a broadly annotated set match every patient (LMNA carries ~500 terms) — the same from the
annotated terms to the patient's, the two directions averaged (symmetric, as hpo3's
``funSimAvg``).

Normalisation to [0, 1]. Each direction is divided by the self-similarity of the set it starts
from (for Resnik, the mean IC of its terms): a patient term can at best match itself, so each
direction lies in [0, 1], 1 meaning every term found an exact match. The score is therefore the
share of the patient's (and the disease's) information content that the other side explains —
not a probability; it is calibrated against nothing and says nothing on its own about
significance (the Phenomizer's p-values would; they need a null distribution per disease).

Gene or disease. A gene is scored against each OMIM disease it causes (the panel's
``GeneDisease.omim`` ids) and takes the best; the gene's own HPO annotation — the union of all
its diseases' terms (MYH7's includes skeletal myopathy) — is used only when no disease set is
known, e.g. for genes off the panel. Whichever is used is named in :class:`PhenotypeMatch`.
Annotation sets and term self-similarities are cached, so thousands of genes cost little after
the first.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from cardiofabric.errors import InputError, MissingDependencyError

__all__ = [
    "IC_KINDS",
    "METHODS",
    "AnnotationSet",
    "HpoProfile",
    "PhenotypeMatch",
    "PhenotypeScorer",
    "SetScore",
    "TermMatch",
    "disease_set",
    "gene_inheritance",
    "gene_set",
    "hpo_version",
    "load_ontology",
    "validate_hpo",
]

#: Information-content sources hpo3 computes: over OMIM diseases, Orphanet diseases or genes.
IC_KINDS = ("omim", "orpha", "gene")
#: Term similarity measures hpo3 implements (``HPOTerm.similarity_score(method=...)``).
METHODS = ("resnik", "lin", "jc", "jc2", "rel", "ic", "graphic", "dist")

_PHENOTYPIC_ABNORMALITY = "HP:0000118"
_HPO_ID = re.compile(r"^HP:(\d{7})$")
_OMIM_ID = re.compile(r"^(?:OMIM:|MIM:)?(\d{6})$")

_lock = threading.Lock()
_loaded = False


def _pyhpo() -> Any:
    """The ``pyhpo`` module with its ontology loaded (once, under a lock)."""
    global _loaded
    try:
        import pyhpo  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - hpo3 is part of the genomics extra
        raise MissingDependencyError("hpo3", "genomics", "phenotype matching") from None
    if not _loaded:
        with _lock:
            if not _loaded:
                pyhpo.Ontology()
                _loaded = True
    return pyhpo


def load_ontology() -> Any:
    """The ``pyhpo.Ontology``, loaded once (thread-safe); MissingDependencyError without hpo3."""
    return _pyhpo().Ontology


def hpo_version() -> str:
    """The release of the HPO that hpo3 bundles, e.g. ``2025-11-24``."""
    return str(load_ontology().version())


# -- patient terms ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HpoProfile:
    """A patient's validated HPO terms (ids and labels, input order, no duplicates) and notes
    on what was replaced or set aside."""

    terms: tuple[str, ...]
    labels: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "terms": [
                {"id": t, "label": lab} for t, lab in zip(self.terms, self.labels, strict=True)
            ],
            "notes": list(self.notes),
            "hpo_version": hpo_version(),
        }


def _term(ontology: Any, hpo_id: str) -> Any:
    try:
        return ontology.get_hpo_object(hpo_id)
    except (RuntimeError, KeyError, ValueError):
        return None


def validate_hpo(ids: Iterable[str]) -> HpoProfile:
    """Check and normalise patient HPO ids (see the module docstring); an empty result — no
    phenotypic-abnormality term left — is an InputError too."""
    ontology = load_ontology()
    terms: list[str] = []
    labels: list[str] = []
    notes: list[str] = []
    given = 0
    for raw in ids:
        given += 1
        text = str(raw).strip()
        m = _HPO_ID.match(text.upper().replace("_", ":", 1))
        if m is None:
            raise InputError(
                f"{text!r} is not an HPO term id: expected 'HP:' and seven digits, e.g. HP:0001639",
                hint="look the term up at https://hpo.jax.org and give its id",
            )
        hpo_id = f"HP:{m.group(1)}"
        term = _term(ontology, hpo_id)
        if term is None or term.id != hpo_id:
            raise InputError(
                f"{hpo_id} is not a term of the HPO release {ontology.version()}",
                hint="check the id for a typo, or look it up at https://hpo.jax.org",
            )
        seen = {hpo_id}
        while term.is_obsolete:
            replacement = term.replaced_by
            if not replacement or replacement in seen:
                raise InputError(
                    f"{hpo_id} ({term.name}) is obsolete in HPO {ontology.version()} and names "
                    "no replacement",
                    hint="choose a current term for the same feature at https://hpo.jax.org",
                )
            seen.add(replacement)
            new = _term(ontology, replacement)
            if new is None:
                raise InputError(
                    f"{hpo_id} is obsolete and its replacement {replacement} is not in the "
                    f"HPO release {ontology.version()}",
                    hint="choose a current term at https://hpo.jax.org",
                )
            notes.append(f"{term.id} is obsolete; replaced by {new.id} ({new.name})")
            term = new
        if term.id != _PHENOTYPIC_ABNORMALITY and not term.child_of(
            ontology.get_hpo_object(_PHENOTYPIC_ABNORMALITY)
        ):
            notes.append(
                f"{term.id} ({term.name}) is not a phenotypic abnormality "
                "(an inheritance, onset or modifier term); set aside"
            )
            continue
        if term.id in terms:
            continue
        terms.append(term.id)
        labels.append(term.name)
    if not terms:
        raise InputError(
            "no phenotypic-abnormality HPO term to match"
            + (f" among the {given} given" if given else ""),
            hint="give at least one term under HP:0000118 Phenotypic abnormality, "
            "e.g. --hpo HP:0001639",
        )
    return HpoProfile(tuple(terms), tuple(labels), tuple(notes))


# -- annotation sets -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnnotationSet:
    """The phenotypic-abnormality terms annotated to a disease or a gene (hpo3 objects)."""

    kind: str  # "disease" | "gene"
    id: str  # "OMIM:192600" or the gene symbol
    name: str
    terms: tuple[Any, ...] = field(repr=False)


def _omim_number(disease: str) -> int | None:
    m = _OMIM_ID.match(disease.strip().upper())
    return int(m.group(1)) if m else None


@cache
def disease_set(disease: str) -> AnnotationSet | None:
    """The HPO annotation of an OMIM disease (``OMIM:192600``); None when hpo3 has none."""
    pyhpo = _pyhpo()
    ontology = pyhpo.Ontology
    number = _omim_number(disease)
    if number is None:
        return None

    try:
        omim = pyhpo.Omim.get(number)
    except (KeyError, RuntimeError, ValueError):
        return None
    terms = _abnormalities(ontology, omim.hpo_set())
    if not terms:
        return None
    return AnnotationSet("disease", f"OMIM:{number}", str(omim.name), terms)


@cache
def gene_set(symbol: str) -> AnnotationSet | None:
    """The HPO annotation of a gene (the union over its diseases); None when hpo3 has none."""
    pyhpo = _pyhpo()
    ontology = pyhpo.Ontology
    try:
        gene = pyhpo.Gene.get(symbol)
    except (KeyError, RuntimeError, ValueError, TypeError):
        return None
    terms = _abnormalities(ontology, gene.hpo_set())
    if not terms:
        return None
    return AnnotationSet("gene", str(gene.name), str(gene.name), terms)


def _abnormalities(ontology: Any, hpo_set: Any) -> tuple[Any, ...]:
    root = ontology.get_hpo_object(_PHENOTYPIC_ABNORMALITY)
    # remove_modifier drops inheritance/onset/modifier terms; the child_of check is a guard for
    # any other sub-ontology term an annotation might carry.
    return tuple(
        sorted(
            (t for t in hpo_set.remove_modifier() if t.child_of(root)),
            key=lambda t: t.id,
        )
    )


#: HPO mode-of-inheritance terms (under HP:0000005) → the panel's inheritance codes.
_INHERITANCE = {
    6: "AD",  # Autosomal dominant inheritance
    7: "AR",  # Autosomal recessive inheritance
    1417: "XL",  # X-linked inheritance
    1419: "XL",  # X-linked recessive inheritance
    1423: "XL",  # X-linked dominant inheritance
    32113: "SD",  # Semidominant inheritance
}


@cache
def gene_inheritance(symbol: str) -> frozenset[str]:
    """Modes of inheritance the gene's HPO annotation names (AD, AR, XL, SD); empty if none."""
    pyhpo = _pyhpo()
    try:
        gene = pyhpo.Gene.get(symbol)
    except (KeyError, RuntimeError, ValueError, TypeError):
        return frozenset()
    return frozenset(_INHERITANCE[i] for i in gene.hpo if i in _INHERITANCE)


@lru_cache(maxsize=200_000)
def _self_similarity(hpo_id: str, kind: str, method: str) -> float:
    term = load_ontology().get_hpo_object(hpo_id)
    return float(term.similarity_score(term, kind, method))


@lru_cache(maxsize=200_000)
def _ic(hpo_id: str, kind: str) -> float:
    return float(load_ontology().get_hpo_object(hpo_id).information_content[kind])


# -- scores ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TermMatch:
    """A patient term, its best match among the annotated terms, their similarity (for Resnik:
    the IC of their most informative common ancestor) and the patient term's own IC."""

    patient_term: str
    patient_label: str
    matched_term: str | None
    matched_label: str | None
    similarity: float
    ic: float

    def to_json(self) -> dict[str, Any]:
        return {
            "patient_term": self.patient_term,
            "patient_label": self.patient_label,
            "matched_term": self.matched_term,
            "matched_label": self.matched_label,
            "similarity": round(self.similarity, 4),
            "ic": round(self.ic, 4),
        }


@dataclass(frozen=True, slots=True)
class SetScore:
    """The match of the patient against one annotation set: the normalised score, both
    directions, and per patient term the best match."""

    kind: str
    id: str
    name: str
    score: float
    patient_to_set: float
    set_to_patient: float
    matches: tuple[TermMatch, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "score": round(self.score, 4),
            "patient_to_set": round(self.patient_to_set, 4),
            "set_to_patient": round(self.set_to_patient, 4),
        }


@dataclass(frozen=True, slots=True)
class PhenotypeMatch:
    """A gene's phenotype match: ``score`` in [0, 1] from the best disease (or the gene's own
    annotation, ``source == "gene"``, when no disease set is known), every set tried, and the
    term pairs that explain the best one."""

    gene: str
    score: float
    source: str  # "disease" | "gene"
    best_disease: str | None
    best_disease_name: str | None
    matches: tuple[TermMatch, ...]
    sets: tuple[SetScore, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "gene": self.gene,
            "score": round(self.score, 4),
            "source": self.source,
            "best_disease": self.best_disease,
            "best_disease_name": self.best_disease_name,
            "matches": [m.to_json() for m in self.matches],
            "sets": [s.to_json() for s in self.sets],
        }


class PhenotypeScorer:
    """Scores genes against one patient's HPO profile (see the module docstring).

    ``kind`` is the information-content source, ``method`` the term similarity measure; the
    defaults (OMIM IC, Resnik) are the Phenomizer's.
    """

    def __init__(
        self,
        profile: HpoProfile | Sequence[str],
        *,
        kind: str = "omim",
        method: str = "resnik",
    ) -> None:
        if kind not in IC_KINDS:
            raise InputError(
                f"unknown information-content kind {kind!r}",
                hint=f"use one of {', '.join(IC_KINDS)}",
            )
        if method not in METHODS:
            raise InputError(
                f"unknown similarity method {method!r}", hint=f"use one of {', '.join(METHODS)}"
            )
        self.profile = profile if isinstance(profile, HpoProfile) else validate_hpo(profile)
        self.kind = kind
        self.method = method
        ontology = load_ontology()
        self._terms = tuple(ontology.get_hpo_object(t) for t in self.profile.terms)
        self._self = sum(_self_similarity(t, kind, method) for t in self.profile.terms) / len(
            self._terms
        )
        self._cache: dict[tuple[str, str], SetScore] = {}
        self._lock = threading.Lock()

    def score_set(self, annotation: AnnotationSet) -> SetScore:
        """The symmetric, normalised best-match average against one annotation set."""
        key = (annotation.kind, annotation.id)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        targets = list(annotation.terms)
        # One row per patient term: its similarity to every annotated term (hpo3, in Rust).
        rows = [q.similarity_scores(targets, self.kind, self.method) for q in self._terms]
        # A best match no better than the root of the phenotype terms is no match.
        floor = _self_similarity(_PHENOTYPIC_ABNORMALITY, self.kind, self.method) + 1e-9
        matches: list[TermMatch] = []
        best_rows: list[float] = []
        for q, row in zip(self._terms, rows, strict=True):
            j = max(range(len(row)), key=row.__getitem__)
            best_rows.append(float(row[j]))
            matches.append(
                TermMatch(
                    q.id,
                    q.name,
                    targets[j].id if row[j] > floor else None,
                    targets[j].name if row[j] > floor else None,
                    float(row[j]),
                    _ic(q.id, self.kind),
                )
            )
        best_cols = [max(float(r[j]) for r in rows) for j in range(len(targets))]
        set_self = sum(_self_similarity(t.id, self.kind, self.method) for t in targets) / len(
            targets
        )
        forward = _ratio(sum(best_rows) / len(best_rows), self._self)
        backward = _ratio(sum(best_cols) / len(best_cols), set_self)
        score = min(1.0, max(0.0, 0.5 * (forward + backward)))
        result = SetScore(
            annotation.kind,
            annotation.id,
            annotation.name,
            score,
            forward,
            backward,
            tuple(matches),
        )
        with self._lock:
            self._cache[key] = result
        return result

    def score_gene(self, gene: str, diseases: Iterable[str] = ()) -> PhenotypeMatch | None:
        """Score ``gene`` by its best OMIM disease among ``diseases`` (``OMIM:192600`` ids);
        by its own HPO annotation when none of them has one. None when hpo3 knows neither."""
        sets = {s.id: s for s in map(disease_set, diseases) if s is not None}
        scores = [self.score_set(s) for s in sets.values()]
        source = "disease"
        if not scores:
            own = gene_set(gene)
            if own is None:
                return None
            scores = [self.score_set(own)]
            source = "gene"
        scores.sort(key=lambda s: (-s.score, s.id))
        best = scores[0]
        return PhenotypeMatch(
            gene=gene,
            score=best.score,
            source=source,
            best_disease=best.id if source == "disease" else None,
            best_disease_name=best.name if source == "disease" else None,
            matches=best.matches,
            sets=tuple(scores),
        )

    def score_genes(
        self, genes: Iterable[str], diseases: dict[str, Sequence[str]] | None = None
    ) -> dict[str, PhenotypeMatch]:
        """Score many genes; ``diseases`` maps a symbol to its OMIM ids (e.g. from the panel).
        Genes hpo3 does not know are left out of the result."""
        out: dict[str, PhenotypeMatch] = {}
        for gene in genes:
            match = self.score_gene(gene, (diseases or {}).get(gene, ()))
            if match is not None:
                out[gene] = match
        return out


def _ratio(value: float, reference: float) -> float:
    return value / reference if reference > 0 else 0.0
