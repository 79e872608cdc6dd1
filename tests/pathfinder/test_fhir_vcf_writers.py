"""Pathfinder writers for FHIR, VCF and the PGS scoring file, read back by the adapters."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from cardiofabric.ingest.base import SourceContext, SourceReport, get_adapter
from cardiofabric.ingest.vcf import detect_build
from cardiofabric.pathfinder.cohort import CARRIER_VARIANTS, PGS_SNPS, SITES, simulate_network
from cardiofabric.pathfinder.writers.fhir import write_fhir_bundle, write_fhir_ndjson
from cardiofabric.pathfinder.writers.pgs import PGS_ID, write_pgs_scoring_file
from cardiofabric.pathfinder.writers.vcf import GRCH38_CONTIGS, write_vcf

NL, IT = SITES[0], SITES[3]


@pytest.fixture(scope="module")
def cohort() -> list[Any]:
    patients = simulate_network(60, seed=11, sites=SITES[:1])[NL.name]
    patients[0].carriers = [CARRIER_VARIANTS[0], CARRIER_VARIANTS[4]]  # two genes
    patients[0].has_vcf = True
    return patients


def test_vcf_round_trip_recovers_carriers_and_pgs_genotypes(
    cohort: list[Any], tmp_path: Path
) -> None:
    import pysam

    vcf, tbi = write_vcf(cohort, tmp_path / "genomics" / "nl.vcf.gz", NL, seed=2)
    assert tbi.is_file() and tbi.name == "nl.vcf.gz.tbi"
    report = SourceReport(source=str(vcf), format="vcf")
    recs = list(get_adapter("vcf").read(vcf, SourceContext(site="nl", report=report)))
    assert not report.rejected
    sequenced = [p for p in cohort if p.has_vcf]
    by_id = {r.local_id: r for r in recs}
    assert set(by_id) <= {p.local_id for p in sequenced}
    for p in sequenced:
        rows = by_id[p.local_id].content["variant"] if p.local_id in by_id else []
        calls = {(v["chrom"], v["pos"], v["alt"]): v for v in rows}
        assert {v["build"] for v in rows} <= {"GRCh38"}
        for c in p.carriers:
            v = calls[(c.chrom, c.pos, c.alt)]
            assert (v["gene"], v["zygosity"], v["genotype"]) == (c.gene, "heterozygous", "0/1")
        for snp, dosage in zip(PGS_SNPS, p.pgs_dosages, strict=True):
            got = calls.get((snp.chrom, snp.pos, snp.alt))
            assert (got["genotype"] if got else "0/0") == {0: "0/0", 1: "0/1", 2: "1/1"}[dosage]
        carriers = {(c.chrom, c.pos) for c in CARRIER_VARIANTS}
        incidental = {
            (k.split("-")[0], int(k.split("-")[1]), k.split("-")[3]) for k in p.incidental
        }
        # genes only on the patient's carrier and incidental panel variants
        assert (
            not {k for k, v in calls.items() if v["gene"]}
            - {(c.chrom, c.pos, c.alt) for c in p.carriers}
            - incidental
        )
        for chrom, pos, alt in incidental:
            dosage = p.incidental[next(k for k in p.incidental if k.startswith(f"{chrom}-{pos}-"))]
            assert calls[(chrom, pos, alt)]["genotype"] == {1: "0/1", 2: "1/1"}[dosage]
        assert len(calls) > len(p.carriers)  # PGS SNPs and background variants too
        assert {(c, pos) for c, pos, _ in calls if (c, pos) in carriers} == {
            (c.chrom, c.pos) for c in p.carriers
        }
    with pysam.VariantFile(str(vcf)) as f:  # indexed, with GRCh38 contig lengths
        c = CARRIER_VARIANTS[0]
        assert [r.pos for r in f.fetch(c.chrom, c.pos - 1, c.pos)] == [c.pos]
        assert detect_build(str(f.header)) == "GRCh38"
        assert f.header.contigs["1"].length == GRCH38_CONTIGS["1"]
    again = write_vcf(cohort, tmp_path / "again" / "nl.vcf.gz", NL, seed=2)[0]
    assert gzip.decompress(again.read_bytes()) == gzip.decompress(vcf.read_bytes())


def test_pgs_scoring_file_scores_the_truth(cohort: list[Any], tmp_path: Path) -> None:
    path = write_pgs_scoring_file(tmp_path / "pgs" / "cad.txt")
    lines = path.read_text().splitlines()
    header = dict(ln[1:].split("=", 1) for ln in lines if ln.startswith("#") and "=" in ln)
    assert header["pgs_id"] == PGS_ID and header["genome_build"] == "GRCh38"
    assert header["format_version"] == "2.0" and int(header["variants_number"]) == len(PGS_SNPS)
    table = [ln.split("\t") for ln in lines if not ln.startswith("#")]
    columns = table[0]
    assert columns[:5] == [
        "chr_name",
        "chr_position",
        "effect_allele",
        "other_allele",
        "effect_weight",
    ]
    weights = {(r[0], int(r[1]), r[2]): float(r[4]) for r in table[1:]}
    assert len(weights) == len(PGS_SNPS)
    # Scoring the written VCF with the file gives each patient's score from the truth.
    vcf = write_vcf(cohort, tmp_path / "nl.vcf.gz", NL, seed=2)[0]
    recs = {r.local_id: r for r in get_adapter("vcf").read(vcf, SourceContext(site="nl"))}
    for p in cohort:
        if not p.has_vcf:
            continue
        rows = recs[p.local_id].content["variant"] if p.local_id in recs else []
        dose = {"heterozygous": 1, "homozygous": 2}
        score = sum(
            weights[(v["chrom"], v["pos"], v["alt"])] * dose[v["zygosity"]]
            for v in rows
            if (v["chrom"], v["pos"], v["alt"]) in weights
        )
        truth = sum(s.weight * d for s, d in zip(PGS_SNPS, p.pgs_dosages, strict=True))
        assert score == pytest.approx(truth)


def test_fhir_writers_are_deterministic_and_well_formed(cohort: list[Any], tmp_path: Path) -> None:
    a = write_fhir_bundle(cohort, tmp_path / "a" / "patients.json", NL, seed=4)[0]
    b = write_fhir_bundle(cohort, tmp_path / "b" / "patients.json", NL, seed=4)[0]
    c = write_fhir_bundle(cohort, tmp_path / "c" / "patients.json", NL, seed=5)[0]
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    bundle = json.loads(a.read_text())
    urls = {e["fullUrl"] for e in bundle["entry"]}
    assert all(u.startswith("urn:uuid:") for u in urls) and len(urls) == len(bundle["entry"])

    def refs(value: Any) -> list[str]:
        if isinstance(value, dict):
            own = [value["reference"]] if isinstance(value.get("reference"), str) else []
            return own + [r for v in value.values() for r in refs(v)]
        return [r for v in value for r in refs(v)] if isinstance(value, list) else []

    # Every reference resolves: to an entry's fullUrl or to a contained resource.
    assert {r for r in refs(bundle["entry"]) if not r.startswith("#")} <= urls
    text = a.read_text()
    assert "Systolische bloeddruk" in text and "µmol/l" in text and "mg/dL" not in text
    it = simulate_network(20, seed=11, sites=(IT,))[IT.name]
    files = write_fhir_ndjson(it, tmp_path / "it", IT, seed=4)
    names = {f.name for f in files}
    assert {"Patient.ndjson", "Observation.ndjson.gz", "Consent.ndjson"} <= names
    for f in files:
        raw = gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
        types = {json.loads(line)["resourceType"] for line in raw.decode().splitlines()}
        assert types == {f.name.split(".")[0]}  # one resource type per file (Bulk Data)
    conditions = (tmp_path / "it" / "Condition.ndjson").read_text()
    assert "http://hl7.org/fhir/sid/icd-10" in conditions and "snomed" not in conditions
    observations = gzip.decompress((tmp_path / "it" / "Observation.ndjson.gz").read_bytes())
    assert b"Colesterolo LDL" in observations and b"mg/dL" in observations
