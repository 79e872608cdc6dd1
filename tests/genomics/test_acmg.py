"""The ACMG/AMP criteria engine: each criterion firing and not firing at its thresholds, the
PVS1 downgrades, the rules of combination, the tiers from points, the ClinVar flag; and an
expert-concordance table of constructed cardiac scenarios.

The panel here is built in the test (its thresholds are chosen to make boundaries easy to
read; they follow the ClinGen cardiomyopathy and FH specifications in shape, not to the digit).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from cardiofabric.errors import InputError
from cardiofabric.genomics.acmg import (
    CADD_BP4,
    CADD_PP3,
    REVEL_BP4,
    REVEL_PP3,
    Classifier,
    ClassifierOptions,
    clinvar_class,
)
from cardiofabric.genomics.model import (
    Classification,
    Consequence,
    Knowledge,
    Strength,
    Tier,
    VariantKey,
)
from cardiofabric.genomics.panel import Domain, FrequencySpec, GeneDisease, Panel, PanelGene
from cardiofabric.genomics.resources import ClinvarProtein

# -- a small panel ------------------------------------------------------------------------

FREQ = {
    # BA1, BS1, PM2 on gnomAD FAF95
    "HCM": FrequencySpec("HCM", 0.001, 0.0002, 0.00004, "test: ClinGen CMP shape"),
    "DCM": FrequencySpec("DCM", 0.001, 0.0002, 0.00004, "test: ClinGen CMP shape"),
    "FH": FrequencySpec("FH", 0.005, 0.002, 0.0002, "test: ClinGen FH shape"),
    "LQTS": FrequencySpec("LQTS", 0.001, 0.0003, 0.00004, "test"),
    "CPVT": FrequencySpec("CPVT", 0.01, 0.003, 0.0001, "test"),
}


def _disease(condition: str, name: str, inheritance: str = "AD") -> GeneDisease:
    return GeneDisease(
        condition=condition,
        disease=name,
        mondo=None,
        omim=(),
        classification="Definitive",
        inheritance=inheritance,
        curation_date="2020-01-01",
        source="test",
    )


def _gene(symbol: str, diseases: tuple[GeneDisease, ...], **kw: object) -> PanelGene:
    base: dict[str, object] = dict(
        symbol=symbol,
        hgnc_id="HGNC:0",
        chrom="1",
        mane_refseq=f"NM_{symbol}.1",
        mane_ensembl=f"ENST_{symbol}.1",
        diseases=diseases,
        lof_mechanism=False,
        missense_mechanism=False,
        truncating_only=False,
        domains=(),
    )
    base.update(kw)
    return PanelGene(**base)  # type: ignore[arg-type]


GENES = {
    "MYH7": _gene(
        "MYH7",
        (_disease("HCM", "hypertrophic cardiomyopathy"), _disease("DCM", "dilated cardiomyopathy")),
        missense_mechanism=True,
        domains=(Domain(181, 937, "the head domain", "test"),),
    ),
    "MYBPC3": _gene(
        "MYBPC3",
        (_disease("HCM", "hypertrophic cardiomyopathy"),),
        lof_mechanism=True,
        domains=(Domain(1181, 1274, "the C10 domain", "test"),),
    ),
    "TTN": _gene(
        "TTN",
        (_disease("DCM", "dilated cardiomyopathy"),),
        lof_mechanism=True,
        truncating_only=True,
    ),
    "LDLR": _gene("LDLR", (_disease("FH", "familial hypercholesterolaemia"),), lof_mechanism=True),
    "KCNQ1": _gene(
        "KCNQ1",
        (_disease("LQTS", "long QT syndrome"),),
        lof_mechanism=True,
        missense_mechanism=True,
        domains=(Domain(122, 348, "the transmembrane and pore region", "test"),),
    ),
    "KCNH2": _gene(
        "KCNH2",
        (_disease("LQTS", "long QT syndrome"),),
        lof_mechanism=True,
        missense_mechanism=True,
        domains=(Domain(400, 670, "the transmembrane and pore region", "test"),),
    ),
    "TRDN": _gene(
        "TRDN",
        (_disease("CPVT", "catecholaminergic polymorphic VT", "AR"),),
        lof_mechanism=True,
    ),
}


PANEL = Panel(GENES, FREQ)
KEY = VariantKey("14", 23_424_000, "C", "T")
ABSENT = Knowledge()


def classify(
    c: Consequence | None,
    k: Knowledge = ABSENT,
    residue: tuple[ClinvarProtein, ...] = (),
    **opts: object,
) -> Classification:
    options = ClassifierOptions(**opts)  # type: ignore[arg-type]
    return Classifier(PANEL, options).classify(KEY, c, k, residue)


def missense(gene: str, pos: int, aa: str = "R/Q") -> Consequence:
    return Consequence(
        allele="T",
        terms=("missense_variant",),
        gene=gene,
        transcript=f"ENST_{gene}.1",
        hgvsc="c.1208G>A",
        hgvsp=f"p.Arg{pos}Gln",
        protein_position=pos,
        amino_acids=aa,
        exon=(5, 40),
    )


def ptc(gene: str, term: str = "stop_gained", **kw: object) -> Consequence:
    base: dict[str, object] = dict(
        allele="T",
        terms=(term,),
        gene=gene,
        transcript=f"ENST_{gene}.1",
        protein_position=300,
        exon=(5, 35),
        nmd_escape=False,
    )
    base.update(kw)
    return Consequence(**base)  # type: ignore[arg-type]


def other(gene: str, term: str, hgvsc: str = "c.100C>T") -> Consequence:
    return Consequence(
        allele="T", terms=(term,), gene=gene, transcript=f"ENST_{gene}.1", hgvsc=hgvsc
    )


def ev(cl: Classification, criterion: str) -> Strength | None:
    e = next((e for e in cl.evidence if e.criterion == criterion), None)
    return e.strength if e is not None else None


def clinvar_p(
    pos: int, alt_aa: str, *, stars: int = 2, key: VariantKey | None = None, gene: str = "MYH7"
) -> ClinvarProtein:
    return ClinvarProtein(
        key=key or VariantKey("14", 23_424_001, "G", "A"),
        gene=gene,
        protein_position=pos,
        ref_aa="Arg",
        alt_aa=alt_aa,
        hgvsp=f"p.Arg{pos}{alt_aa}",
        significance="Pathogenic",
        stars=stars,
    )


# -- PVS1 --------------------------------------------------------------------------------


def test_pvs1_very_strong_when_nmd_is_predicted() -> None:
    cl = classify(ptc("MYBPC3"))
    assert ev(cl, "PVS1") is Strength.VERY_STRONG
    assert cl.criteria == ["PVS1", "PM2_Supporting"]
    assert cl.points == 9 and cl.tier is Tier.LIKELY_PATHOGENIC
    assert "NMD predicted" in cl.evidence[0].reason


def test_no_pvs1_where_lof_is_not_a_mechanism() -> None:
    cl = classify(ptc("MYH7"))
    assert ev(cl, "PVS1") is None
    assert any("PVS1 not applied" in n and "MYH7" in n for n in cl.notes)


def test_pvs1_last_exon_downgrades_to_moderate_without_a_critical_region() -> None:
    cl = classify(ptc("MYBPC3", exon=(35, 35), protein_position=1275, nmd_escape=True))
    assert ev(cl, "PVS1") is Strength.MODERATE
    assert "last exon" in cl.evidence[0].reason


def test_pvs1_last_exon_is_strong_when_a_critical_domain_is_truncated() -> None:
    cl = classify(ptc("MYBPC3", exon=(35, 35), protein_position=1250, nmd_escape=True))
    assert ev(cl, "PVS1") is Strength.STRONG
    assert "C10" in cl.evidence[0].reason


def test_pvs1_nmd_escape_without_domain_data_is_moderate_and_says_why() -> None:
    cl = classify(ptc("LDLR", exon=(18, 18), nmd_escape=True))
    assert ev(cl, "PVS1") is Strength.MODERATE
    assert "without domain" in cl.evidence[0].reason


def test_pvs1_loftee_low_confidence_is_moderate() -> None:
    cl = classify(ptc("MYBPC3", lof="LC"))
    assert ev(cl, "PVS1") is Strength.MODERATE
    assert "LOFTEE" in cl.evidence[0].reason


def test_pvs1_start_lost_is_moderate() -> None:
    cl = classify(ptc("MYBPC3", term="start_lost", protein_position=1, nmd_escape=None))
    assert ev(cl, "PVS1") is Strength.MODERATE


def test_pvs1_canonical_splice_is_very_strong_unless_in_the_last_intron() -> None:
    donor = ptc(
        "MYBPC3",
        term="splice_donor_variant",
        exon=None,
        intron=(20, 34),
        nmd_escape=None,
        protein_position=None,
    )
    assert ev(classify(donor), "PVS1") is Strength.VERY_STRONG
    last = replace(donor, intron=(34, 34))
    cl = classify(last)
    assert ev(cl, "PVS1") is Strength.MODERATE
    assert "last intron" in cl.evidence[0].reason


def test_pp3_is_not_combined_with_pvs1() -> None:
    cl = classify(ptc("MYBPC3"), Knowledge(revel=0.99, cadd_phred=40.0))
    assert ev(cl, "PP3") is None and ev(cl, "PVS1") is Strength.VERY_STRONG


# -- PS1 / PM5 ----------------------------------------------------------------------------


def test_ps1_same_amino_acid_change_at_another_nucleotide() -> None:
    cl = classify(missense("MYH7", 403, "R/Q"), residue=(clinvar_p(403, "Gln"),))
    assert ev(cl, "PS1") is Strength.STRONG
    assert ev(cl, "PM5") is None


def test_ps1_not_from_this_variant_itself_nor_below_the_stars() -> None:
    same_key = clinvar_p(403, "Gln", key=KEY)
    assert ev(classify(missense("MYH7", 403), residue=(same_key,)), "PS1") is None
    one_star = clinvar_p(403, "Gln", stars=1)
    cl = classify(missense("MYH7", 403), residue=(one_star,))
    assert ev(cl, "PS1") is None
    assert any("below 2 review stars" in n for n in cl.notes)
    assert ev(classify(missense("MYH7", 403), residue=(one_star,), min_clinvar_stars=1), "PS1")


def test_pm5_different_missense_at_the_residue() -> None:
    cl = classify(missense("MYH7", 403, "R/Q"), residue=(clinvar_p(403, "Trp"),))
    assert ev(cl, "PM5") is Strength.MODERATE and ev(cl, "PS1") is None
    # a nonsense change at the residue is not a missense precedent
    assert ev(classify(missense("MYH7", 403), residue=(clinvar_p(403, "Ter"),)), "PM5") is None
    # another gene's residue 403 says nothing
    other_gene = clinvar_p(403, "Trp", gene="MYBPC3")
    assert ev(classify(missense("MYH7", 403), residue=(other_gene,)), "PM5") is None


def test_pm5_not_combined_with_ps1() -> None:
    residue = (clinvar_p(403, "Gln"), clinvar_p(403, "Trp", key=VariantKey("14", 1, "A", "G")))
    cl = classify(missense("MYH7", 403, "R/Q"), residue=residue)
    assert ev(cl, "PS1") is Strength.STRONG and ev(cl, "PM5") is None
    assert any("PM5 not combined" in n for n in cl.notes)


# -- PM1 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("pos", "fires"), [(180, False), (181, True), (937, True), (938, False)])
def test_pm1_at_the_domain_boundaries(pos: int, fires: bool) -> None:
    cl = classify(missense("MYH7", pos))
    assert (ev(cl, "PM1") is Strength.MODERATE) is fires


# -- frequency ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("faf", "expected"),
    [
        (None, "PM2"),
        (0.0, "PM2"),
        (0.00004, "PM2"),
        (0.0000401, None),
        (0.000199, None),
        (0.0002, "BS1"),
        (0.000999, "BS1"),
        (0.001, "BA1"),
    ],
)
def test_frequency_thresholds(faf: float | None, expected: str | None) -> None:
    k = Knowledge(faf95=faf, af=faf)
    cl = classify(other("MYH7", "5_prime_UTR_variant"), k)
    fired = {e.criterion for e in cl.evidence}
    assert fired == ({expected} if expected else set())
    if expected == "PM2":
        assert cl.criteria == ["PM2_Supporting"] and cl.points == 1
    if expected == "BA1":
        assert cl.points == -8 and cl.tier is Tier.BENIGN


def test_af_is_used_when_faf95_is_missing_and_said_so() -> None:
    cl = classify(other("MYH7", "5_prime_UTR_variant"), Knowledge(af=0.0005))
    assert ev(cl, "BS1") is Strength.STRONG and "no FAF95" in cl.evidence[0].reason


def test_ba1_stands_alone() -> None:
    cl = classify(ptc("MYBPC3"), Knowledge(faf95=0.01, revel=0.99))
    assert cl.criteria == ["BA1"] and cl.tier is Tier.BENIGN
    assert any("stand-alone" in n for n in cl.notes)


def test_frequency_from_a_site_failing_gnomad_filters_is_not_benign_evidence() -> None:
    cl = classify(other("MYH7", "5_prime_UTR_variant"), Knowledge(faf95=0.01, gnomad_filter="RF"))
    assert cl.evidence == () and any("failed gnomAD" in n for n in cl.notes)


def test_the_gene_with_several_conditions_uses_the_most_permissive_spec() -> None:
    # MYH7: HCM and DCM; TTN: DCM only — both 0.001 here; LDLR (FH) 0.005
    cl = classify(other("LDLR", "5_prime_UTR_variant"), Knowledge(faf95=0.004))
    assert ev(cl, "BS1") is Strength.STRONG and ev(cl, "BA1") is None


def test_pm2_not_assessed_without_population_data() -> None:
    cl = classify(missense("MYH7", 1500), population_data=False)
    assert ev(cl, "PM2") is None and any("no gnomAD resource" in n for n in cl.notes)


def test_bs2_dominant_one_homozygote() -> None:
    k1 = Knowledge(faf95=0.00003, nhomalt=1)
    cl = classify(missense("MYH7", 1500), k1)
    assert ev(cl, "BS2") is Strength.STRONG and "not phenotyped" in cl.evidence[-1].reason
    assert ev(classify(missense("MYH7", 1500), replace(k1, nhomalt=0)), "BS2") is None


def test_bs2_recessive_needs_two_homozygotes() -> None:
    k = Knowledge(faf95=0.0005, nhomalt=1)
    assert ev(classify(missense("TRDN", 100), k), "BS2") is None
    cl = classify(missense("TRDN", 100), replace(k, nhomalt=2))
    assert ev(cl, "BS2") is Strength.STRONG and "recessive" in cl.evidence[-1].reason


# -- PM4 / BP3 ----------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["inframe_deletion", "inframe_insertion", "stop_lost"])
def test_pm4_for_inframe_and_stop_lost(term: str) -> None:
    cl = classify(other("MYH7", term))
    assert ev(cl, "PM4") is Strength.MODERATE
    assert "repeat" in next(e for e in cl.evidence if e.criterion == "PM4").reason
    assert any("BP3 not assessed" in n for n in cl.notes)


def test_no_pm4_for_missense_or_synonymous() -> None:
    assert ev(classify(missense("MYH7", 1500)), "PM4") is None
    assert ev(classify(other("MYH7", "synonymous_variant")), "PM4") is None


# -- PP2 / BP1 ----------------------------------------------------------------------------


def test_pp2_and_bp1_follow_the_gene_mechanism() -> None:
    assert ev(classify(missense("MYH7", 1500)), "PP2") is Strength.SUPPORTING
    assert ev(classify(missense("MYBPC3", 500)), "PP2") is None
    ttn = classify(missense("TTN", 500))
    assert ev(ttn, "BP1") is Strength.SUPPORTING and ev(ttn, "PP2") is None
    assert ev(classify(ptc("TTN")), "BP1") is None  # BP1 is for missense only


# -- PP3 / BP4 ----------------------------------------------------------------------------

REVEL_CASES = [
    (0.932, "PP3", Strength.STRONG),
    (0.9319, "PP3", Strength.MODERATE),
    (0.773, "PP3", Strength.MODERATE),
    (0.7729, "PP3", Strength.SUPPORTING),
    (0.644, "PP3", Strength.SUPPORTING),
    (0.6439, None, None),
    (0.2901, None, None),
    (0.290, "BP4", Strength.SUPPORTING),
    (0.1831, "BP4", Strength.SUPPORTING),
    (0.183, "BP4", Strength.MODERATE),
    (0.016, "BP4", Strength.STRONG),
    (0.0161, "BP4", Strength.MODERATE),
    (0.003, "BP4", Strength.VERY_STRONG),
    (0.0031, "BP4", Strength.STRONG),
]


@pytest.mark.parametrize(("score", "criterion", "strength"), REVEL_CASES)
def test_revel_calibrated_thresholds(
    score: float, criterion: str | None, strength: Strength | None
) -> None:
    # residue 1500: outside the MYH7 head domain, so no PM1 cap; MYBPC3: no PP2
    cl = classify(missense("MYBPC3", 500), Knowledge(faf95=0.0001, revel=score))
    got = [(e.criterion, e.strength) for e in cl.evidence if e.criterion in ("PP3", "BP4")]
    assert got == ([(criterion, strength)] if criterion else [])


def test_revel_thresholds_are_pejaver_2022() -> None:
    assert [t for t, _ in REVEL_PP3] == [0.932, 0.773, 0.644]
    assert [t for t, _ in REVEL_BP4] == [0.003, 0.016, 0.183, 0.290]
    assert [t for t, _ in CADD_PP3] == [28.1, 25.3]
    assert [t for t, _ in CADD_BP4] == [0.15, 17.3, 22.7]


@pytest.mark.parametrize(
    ("cadd", "criterion", "strength"),
    [
        (28.1, "PP3", Strength.MODERATE),
        (28.0, "PP3", Strength.SUPPORTING),
        (25.3, "PP3", Strength.SUPPORTING),
        (25.2, None, None),
        (22.8, None, None),
        (22.7, "BP4", Strength.SUPPORTING),
        (17.3, "BP4", Strength.MODERATE),
        (0.15, "BP4", Strength.STRONG),
    ],
)
def test_cadd_when_revel_is_absent(
    cadd: float, criterion: str | None, strength: Strength | None
) -> None:
    cl = classify(missense("MYBPC3", 500), Knowledge(faf95=0.0001, cadd_phred=cadd))
    got = [(e.criterion, e.strength) for e in cl.evidence if e.criterion in ("PP3", "BP4")]
    assert got == ([(criterion, strength)] if criterion else [])
    if criterion:
        assert "CADD" in cl.evidence[-1].reason


def test_revel_wins_over_cadd() -> None:
    cl = classify(missense("MYBPC3", 500), Knowledge(faf95=0.0001, revel=0.1, cadd_phred=35.0))
    assert ev(cl, "BP4") is Strength.MODERATE and ev(cl, "PP3") is None


def test_missense_bp4_withheld_when_spliceai_predicts_splicing() -> None:
    k = Knowledge(faf95=0.0001, revel=0.1, spliceai=0.15)
    cl = classify(missense("MYBPC3", 500), k)
    assert ev(cl, "BP4") is None and any("BP4 not applied" in n for n in cl.notes)
    cl = classify(missense("MYBPC3", 500), replace(k, spliceai=0.5))
    assert ev(cl, "PP3") is Strength.SUPPORTING and "SpliceAI" in cl.evidence[-1].reason


def test_pp3_capped_with_pm1_at_strong() -> None:
    cl = classify(missense("MYH7", 403), Knowledge(revel=0.95))
    assert ev(cl, "PM1") is Strength.MODERATE
    assert ev(cl, "PP3") is Strength.MODERATE  # Strong capped: PM1 + PP3 = 4 points
    pp3 = next(e for e in cl.evidence if e.criterion == "PP3")
    assert "capped" in pp3.reason and pp3.value == 0.95
    # Moderate PP3 plus PM1 is already 4 points: untouched
    cl = classify(missense("MYH7", 403), Knowledge(revel=0.8))
    assert ev(cl, "PP3") is Strength.MODERATE and "capped" not in cl.evidence[-1].reason


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0.2, ["PM2_Supporting", "PP3"]),
        (0.19, ["PM2_Supporting"]),
        (0.1, ["PM2_Supporting", "BP4", "BP7"]),
    ],
)
def test_spliceai_for_synonymous(score: float, expected: list[str]) -> None:
    cl = classify(other("MYH7", "synonymous_variant"), Knowledge(spliceai=score))
    assert cl.criteria == expected


@pytest.mark.parametrize(
    ("hgvsc", "bp7"),
    [("c.100+7A>G", True), ("c.100+6A>G", False), ("c.101-21A>G", True), ("c.101-20A>G", False)],
)
def test_bp7_deep_intronic(hgvsc: str, bp7: bool) -> None:
    cl = classify(other("MYH7", "intron_variant", hgvsc), Knowledge(spliceai=0.01))
    assert ev(cl, "BP4") is Strength.SUPPORTING
    assert (ev(cl, "BP7") is not None) is bp7


def test_splice_region_with_spliceai_pp3() -> None:
    c = Consequence(allele="T", terms=("splice_region_variant", "intron_variant"), gene="MYH7")
    cl = classify(c, Knowledge(spliceai=0.6))
    assert ev(cl, "PP3") is Strength.SUPPORTING


def test_no_predictor_data_is_noted() -> None:
    cl = classify(missense("MYBPC3", 500))
    assert any("no REVEL, CADD or SpliceAI" in n for n in cl.notes)


# -- tiers ---------------------------------------------------------------------------------


def test_tiers_from_points() -> None:
    # PVS1 + PS1-like evidence: PVS1 (8) + PM2 (1) + ... ; build each range
    lp = classify(ptc("MYBPC3"))  # 9
    p = classify(ptc("MYBPC3"), Knowledge(), residue=())
    assert lp.tier is Tier.LIKELY_PATHOGENIC and p.points == 9
    path = classify(missense("MYH7", 403, "R/Q"), Knowledge(revel=0.95), (clinvar_p(403, "Gln"),))
    # PS1 4 + PM1 2 + PM2 1 + PP2 1 + PP3 (capped) 2 = 10
    assert path.points == 10 and path.tier is Tier.PATHOGENIC
    vus = classify(missense("MYH7", 1500))  # PM2 + PP2 = 2
    assert vus.tier is Tier.VUS
    lb = classify(missense("TTN", 500), Knowledge(faf95=0.0001, revel=0.25))  # BP1 + BP4 = -2
    assert lb.points == -2 and lb.tier is Tier.LIKELY_BENIGN
    b = classify(missense("TTN", 500), Knowledge(faf95=0.0005, revel=0.01, nhomalt=1))
    # BS1 −4, BS2 −4, BP1 −1, BP4 Strong −4 = −13
    assert b.points == -13 and b.tier is Tier.BENIGN


def test_conflicting_evidence_sums_to_the_vus_range() -> None:
    # PVS1 (8) with BS1 (−4): 4 → VUS
    cl = classify(ptc("MYBPC3"), Knowledge(faf95=0.0005))
    assert cl.criteria == ["PVS1", "BS1"] and cl.points == 4 and cl.tier is Tier.VUS


# -- ClinVar's own call -----------------------------------------------------------------------


def test_clinvar_assertions_only_on_request() -> None:
    k = Knowledge(clinvar_significance="Pathogenic/Likely_pathogenic", clinvar_stars=2)
    off = classify(missense("MYBPC3", 500), k)
    assert ev(off, "PP5") is None and any("PP5/BP6 off" in n for n in off.notes)
    on = classify(missense("MYBPC3", 500), k, clinvar_assertions=True)
    assert ev(on, "PP5") is Strength.SUPPORTING
    low = classify(missense("MYBPC3", 500), replace(k, clinvar_stars=1), clinvar_assertions=True)
    assert ev(low, "PP5") is None
    b = replace(k, clinvar_significance="Benign/Likely_benign", faf95=0.0001)
    assert ev(classify(missense("MYBPC3", 500), b, clinvar_assertions=True), "BP6")


@pytest.mark.parametrize(
    ("sig", "expected"),
    [
        ("Pathogenic", "P"),
        ("Likely_pathogenic", "P"),
        ("Pathogenic/Likely_pathogenic", "P"),
        ("Benign", "B"),
        ("Likely_benign", "B"),
        ("Conflicting_interpretations_of_pathogenicity", None),
        ("Uncertain_significance", None),
        (None, None),
    ],
)
def test_clinvar_class(sig: str | None, expected: str | None) -> None:
    assert clinvar_class(sig) == expected


# -- outside the panel -----------------------------------------------------------------------


@pytest.mark.parametrize("consequence", [None, missense("APOB", 100)])
def test_outside_the_panel_only_generic_ba1(consequence: Consequence | None) -> None:
    common = classify(consequence, Knowledge(faf95=0.05))
    assert common.criteria == ["BA1"] and common.tier is Tier.BENIGN
    assert "5 %" in common.notes[0] or "Richards" in common.evidence[0].reason
    # rare, common-ish and predicted damaging: nothing applies without a disease spec
    for k in (Knowledge(faf95=0.0499), Knowledge(), Knowledge(faf95=0.01, revel=0.99)):
        cl = classify(consequence, k)
        assert cl.evidence == () and cl.tier is Tier.VUS and cl.disease is None
    assert "not in the gene panel" in classify(missense("APOB", 1)).notes[0]


def test_options_are_checked() -> None:
    with pytest.raises(InputError, match="stars"):
        ClassifierOptions(min_clinvar_stars=5)


def test_json_carries_the_evidence_trail() -> None:
    data = classify(missense("MYH7", 403), Knowledge(revel=0.95)).to_json()
    assert data["criteria"] == ["PM1", "PM2_Supporting", "PP2", "PP3_Moderate"]
    pm2 = data["evidence"][1]
    assert pm2["value"] == "absent" and pm2["threshold"] == 0.00004 and pm2["points"] == 1
    assert isinstance(data["notes"], list)


# -- expert concordance ------------------------------------------------------------------------
#
# Constructed scenarios, not ClinVar records: each names the evidence a curator would have from
# population data, predictors, ClinVar residue data and the annotation, and the tier a ClinGen
# expert panel would reach by its specification (cardiomyopathy: Kelly et al., Genet Med
# 2018;20:351; FH: Chora et al., Genet Med 2022;24:293; SVI PVS1, PM2, PP3/BP4 and splicing
# recommendations) with the evidence named. Where the expert also holds case-level evidence that
# no database supplies (PS4, PP1, PS2), the scenario says so and the engine is expected to fall
# short: that is the limit of automation, kept visible in the concordance figure.

_OTHER_KEY = VariantKey("14", 23_400_000, "A", "G")


@dataclass(frozen=True)
class Scenario:
    name: str
    consequence: Consequence | None
    knowledge: Knowledge
    expected: Tier
    expert_criteria: str
    residue: tuple[ClinvarProtein, ...] = ()


def _nonsense(gene: str, exon: tuple[int, int], **kw: object) -> Consequence:
    return ptc(gene, exon=exon, nmd_escape=exon[0] == exon[1], **kw)


SCENARIOS = [
    Scenario(
        "MYH7 p.Arg403Gln-like: head domain, absent, REVEL 0.95, 2 P missense at the residue",
        missense("MYH7", 403, "R/Q"),
        Knowledge(revel=0.95),
        Tier.LIKELY_PATHOGENIC,
        "PM1 PM2_P PM5 PP2 PP3 (PP3+PM1 capped at 4 points)",
        (clinvar_p(403, "Trp", stars=3), clinvar_p(403, "Leu", stars=2, key=_OTHER_KEY)),
    ),
    Scenario(
        "the same with the panel's case data (PS4, PP1_Strong: not in any database)",
        missense("MYH7", 403, "R/Q"),
        Knowledge(revel=0.95),
        Tier.PATHOGENIC,
        "PS4 PP1_Strong PM1 PM2_P PM5 PP2 PP3",
        (clinvar_p(403, "Trp", stars=3),),
    ),
    Scenario(
        "MYH7 head-domain missense with PS1 (3★), REVEL 0.95, absent",
        missense("MYH7", 719, "R/W"),
        Knowledge(revel=0.95),
        Tier.PATHOGENIC,
        "PS1 PM1 PM2_P PP2 PP3_Moderate (capped)",
        (clinvar_p(719, "Trp", stars=3),),
    ),
    Scenario(
        "MYBPC3 frameshift, exon 25/35, absent",
        _nonsense("MYBPC3", (25, 35), term="frameshift_variant"),
        Knowledge(),
        Tier.LIKELY_PATHOGENIC,
        "PVS1 PM2_P",
    ),
    Scenario(
        "MYBPC3 canonical splice donor, intron 20/34, absent",
        ptc("MYBPC3", term="splice_donor_variant", exon=None, intron=(20, 34), nmd_escape=None),
        Knowledge(),
        Tier.LIKELY_PATHOGENIC,
        "PVS1 PM2_P",
    ),
    Scenario(
        "MYBPC3 nonsense in the last exon, truncating the C10 domain, absent",
        _nonsense("MYBPC3", (35, 35), protein_position=1250),
        Knowledge(),
        Tier.VUS,
        "PVS1_Strong PM2_P",
    ),
    Scenario(
        "MYBPC3 nonsense flagged low-confidence by LOFTEE, absent",
        _nonsense("MYBPC3", (10, 35), lof="LC"),
        Knowledge(),
        Tier.VUS,
        "PVS1_Moderate PM2_P",
    ),
    Scenario(
        "MYBPC3 start-loss, absent",
        ptc("MYBPC3", term="start_lost", protein_position=1, exon=(1, 35), nmd_escape=None),
        Knowledge(),
        Tier.VUS,
        "PVS1_Moderate PM2_P",
    ),
    Scenario(
        "MYH7 missense at FAF95 0.5 %",
        missense("MYH7", 1500),
        Knowledge(faf95=0.005, revel=0.7),
        Tier.BENIGN,
        "BA1",
    ),
    Scenario(
        "MYH7 rod missense at FAF95 0.03 %, REVEL 0.2",
        missense("MYH7", 1500),
        Knowledge(faf95=0.0003, revel=0.2),
        Tier.LIKELY_BENIGN,
        "BS1 BP4 PP2",
    ),
    Scenario(
        "MYH7 synonymous, absent, SpliceAI 0.02",
        other("MYH7", "synonymous_variant"),
        Knowledge(spliceai=0.02),
        Tier.LIKELY_BENIGN,
        "PM2_P BP4 BP7",
    ),
    Scenario(
        "MYH7 head-domain missense, absent, REVEL 0.5 (indeterminate)",
        missense("MYH7", 600),
        Knowledge(revel=0.5),
        Tier.VUS,
        "PM1 PM2_P PP2",
    ),
    Scenario(
        "MYH7 in-frame deletion of one residue, absent",
        other("MYH7", "inframe_deletion"),
        Knowledge(),
        Tier.VUS,
        "PM4 PM2_P",
    ),
    Scenario(
        "MYH7 intronic c.+50, FAF95 0.01 %, SpliceAI 0.01",
        other("MYH7", "intron_variant", "c.1000+50G>A"),
        Knowledge(faf95=0.0001, spliceai=0.01),
        Tier.LIKELY_BENIGN,
        "BP4 BP7",
    ),
    Scenario(
        "MYH7 splice region c.+5, absent, SpliceAI 0.6",
        Consequence(
            "T", ("splice_region_variant", "intron_variant"), gene="MYH7", hgvsc="c.1000+5G>A"
        ),
        Knowledge(spliceai=0.6),
        Tier.VUS,
        "PM2_P PP3",
    ),
    Scenario(
        "MYH7 rod missense listed Pathogenic (2★) in ClinVar, no other data (PP5 not used)",
        missense("MYH7", 1500),
        Knowledge(clinvar_significance="Pathogenic", clinvar_stars=2),
        Tier.VUS,
        "PM2_P PP2",
    ),
    Scenario(
        "MYBPC3 missense at a residue with a P missense (2★), REVEL 0.7, absent",
        missense("MYBPC3", 502, "R/Q"),
        Knowledge(revel=0.7),
        Tier.VUS,
        "PM5 PM2_P PP3",
        (clinvar_p(502, "Trp", gene="MYBPC3"),),
    ),
    Scenario(
        "MYBPC3 missense at FAF95 0.05 %, REVEL 0.4",
        missense("MYBPC3", 500),
        Knowledge(faf95=0.0005, revel=0.4),
        Tier.LIKELY_BENIGN,
        "BS1",
    ),
    Scenario(
        "TTN missense, rare, REVEL 0.1",
        missense("TTN", 20000),
        Knowledge(faf95=0.00001, revel=0.1),
        Tier.LIKELY_BENIGN,
        "PM2_P BP1 BP4_Moderate",
    ),
    Scenario(
        "TTN frameshift in a constitutive A-band exon, absent",
        _nonsense("TTN", (326, 363), term="frameshift_variant"),
        Knowledge(),
        Tier.LIKELY_PATHOGENIC,
        "PVS1 PM2_P",
    ),
    Scenario(
        "LDLR missense, absent, REVEL 0.95 (no functional data)",
        missense("LDLR", 300),
        Knowledge(revel=0.95),
        Tier.VUS,
        "PM2_P PP3_Strong",
    ),
    Scenario(
        "LDLR nonsense, exon 4/18, absent",
        _nonsense("LDLR", (4, 18)),
        Knowledge(),
        Tier.LIKELY_PATHOGENIC,
        "PVS1 PM2_P",
    ),
    Scenario(
        "LDLR missense with PS1 (3★), REVEL 0.8, absent",
        missense("LDLR", 300, "R/W"),
        Knowledge(revel=0.8),
        Tier.LIKELY_PATHOGENIC,
        "PS1 PM2_P PP3_Moderate",
        (clinvar_p(300, "Trp", stars=3, gene="LDLR"),),
    ),
    Scenario(
        "LDLR nonsense at FAF95 0.3 % (above the FH BS1)",
        _nonsense("LDLR", (4, 18)),
        Knowledge(faf95=0.003),
        Tier.VUS,
        "PVS1 BS1 (conflicting)",
    ),
    Scenario(
        "KCNQ1 pore missense, absent, REVEL 0.85",
        missense("KCNQ1", 300),
        Knowledge(revel=0.85),
        Tier.LIKELY_PATHOGENIC,
        "PM1 PM2_P PP2 PP3_Moderate",
    ),
    Scenario(
        "KCNQ1 frameshift, exon 3/16, absent",
        _nonsense("KCNQ1", (3, 16), term="frameshift_variant"),
        Knowledge(),
        Tier.LIKELY_PATHOGENIC,
        "PVS1 PM2_P",
    ),
    Scenario(
        "KCNH2 N-terminal missense, FAF95 0.002 %, REVEL 0.02",
        missense("KCNH2", 100),
        Knowledge(faf95=0.00002, revel=0.02),
        Tier.VUS,
        "PM2_P PP2 BP4_Moderate",
    ),
    Scenario(
        "TRDN (recessive) frameshift, FAF95 0.03 %, 3 gnomAD homozygotes",
        _nonsense("TRDN", (2, 20), term="frameshift_variant"),
        Knowledge(faf95=0.0003, nhomalt=3),
        Tier.VUS,
        "PVS1 BS2 (conflicting)",
    ),
    Scenario(
        "no annotation (intergenic), AF 20 %",
        None,
        Knowledge(af=0.2),
        Tier.BENIGN,
        "BA1",
    ),
]


def test_expert_concordance() -> None:
    rows = []
    agree = 0
    for s in SCENARIOS:
        cl = classify(s.consequence, s.knowledge, s.residue)
        ok = cl.tier is s.expected
        agree += ok
        rows.append(
            f"{'✓' if ok else '✗'} {s.name[:74]:74s} expert {s.expected:23s} "
            f"engine {cl.tier!s:23s} {cl.points:+3d} {' '.join(cl.criteria)}"
        )
    rate = agree / len(SCENARIOS)
    print(f"\nexpert concordance: {agree}/{len(SCENARIOS)} ({rate:.0%})")
    print("\n".join(rows))
    assert len(SCENARIOS) >= 25
    assert rate >= 0.9


def test_pvs1_reasons_for_penultimate_exon_and_unknown_exon() -> None:
    pen = classify(ptc("MYBPC3", exon=(34, 35), nmd_escape=None))
    assert ev(pen, "PVS1") is Strength.VERY_STRONG and "penultimate" in pen.evidence[0].reason
    unknown = classify(ptc("MYBPC3", exon=None, nmd_escape=None))
    assert "exon position unknown" in unknown.evidence[0].reason


def test_bs2_is_not_applied_for_a_late_onset_reduced_penetrance_condition():
    from cardiofabric.genomics.panel import load_panel

    panel = load_panel()
    assert panel.frequency_spec("TTR").bs2 is False
    assert panel.frequency_spec("MYH7").bs2 is True
    c = Consequence(
        allele="A",
        terms=("missense_variant",),
        gene="TTR",
        transcript=panel.gene("TTR").mane_refseq,
        protein_position=142,
        amino_acids="V/I",
        mane_select=panel.gene("TTR").mane_refseq,
    )
    result = Classifier(panel).classify(
        VariantKey("18", 31598821, "G", "A"), c, Knowledge(af=0.004, faf95=0.003, nhomalt=12)
    )
    assert "BS2" not in [e.criterion for e in result.evidence]
    assert any("late onset" in n for n in result.notes)
