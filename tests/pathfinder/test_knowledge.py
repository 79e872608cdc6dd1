"""The Pathfinder variant catalogue, its VEP CSQ, the site VCFs' annotation and the install."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardiofabric.genomics.annotation import AnnotationReader, pick
from cardiofabric.genomics.panel import load_panel
from cardiofabric.pathfinder.cohort import CARRIER_VARIANTS, SITES, simulate_network
from cardiofabric.pathfinder.knowledge import (
    CATALOGUE,
    GENES,
    SEEDED_CATEGORIES,
    by_key,
    csq_for,
    csq_header,
    install_site_knowledge,
)
from cardiofabric.pathfinder.writers.knowledge import RESOURCE_FILES, write_knowledge
from cardiofabric.pathfinder.writers.vcf import write_vcf

cyvcf2 = pytest.importorskip("cyvcf2")


def test_catalogue_covers_every_kind_and_the_carriers() -> None:
    kinds = {v.category for v in CATALOGUE}
    assert {"pathogenic_missense", "truncating", "splice", "benign_common", "synonymous",
            "vus_missense", "inframe", "splice_region"} <= kinds  # fmt: skip
    keys = by_key()
    for c in CARRIER_VARIANTS:
        v = keys[next(k for k in keys if (k.chrom, k.pos, k.alt) == (c.chrom, c.pos, c.alt))]
        assert v.gene == c.gene and v.hgvsp == c.hgvs_p and v.clinvar_significance
        assert not v.seeded
    assert all(v.seeded == (v.category in SEEDED_CATEGORIES) for v in CATALOGUE)
    assert not any(v.seeded and v.clinvar_significance in ("Pathogenic", "Likely_pathogenic")
                   for v in CATALOGUE)  # fmt: skip


def test_catalogue_transcripts_are_the_panels() -> None:
    panel = load_panel()
    for symbol, gene in GENES.items():
        pg = panel.gene(symbol)
        assert pg is not None, symbol
        assert (gene.mane_refseq, gene.mane_ensembl, gene.hgnc_id) == (
            pg.mane_refseq,
            pg.mane_ensembl,
            pg.hgnc_id,
        )
    for v in CATALOGUE:
        assert panel.gene(v.gene).chrom == v.key.chrom  # type: ignore[union-attr]


def test_csq_reads_back_as_the_catalogue_says() -> None:
    reader = AnnotationReader.from_header(csq_header())
    assert reader is not None and reader.source == "VEP"
    for v in CATALOGUE:
        (c,) = reader.parse(csq_for(v))
        chosen = pick([c], v.key.alt, v.key.ref)
        assert chosen is c, v.key  # VEP's allele spelling matches the VCF allele
        assert c.gene == v.gene and c.transcript == v.transcript
        assert c.mane_select == v.mane_select and c.terms == v.terms
        assert c.hgvsp == (v.hgvsp or None) and c.protein_position == v.protein_position
        assert c.exon == v.exon and c.intron == v.intron
        if v.category.endswith("missense"):
            assert c.amino_acids == v.amino_acids and c.ref_aa and c.alt_aa


def test_site_vcf_carries_csq_and_the_incidental_variants(tmp_path: Path) -> None:
    patients = simulate_network(30, seed=4, sites=SITES[:1])[SITES[0].name]
    vcf, _ = write_vcf(patients, tmp_path / "site.vcf.gz", SITES[0], seed=4, n_background=10)
    sequenced = [p for p in patients if p.has_vcf]
    f = cyvcf2.VCF(str(vcf))
    reader = AnnotationReader.from_vcf(f)
    assert reader is not None and "MANE_SELECT" in reader.fields
    catalogue = by_key()
    carried: dict[str, dict[str, str]] = {}
    for rec in f:
        c = pick(reader.parse_variant(rec), rec.ALT[0], rec.REF)
        assert c is not None
        key = f"{rec.CHROM}-{rec.POS}-{rec.REF}-{rec.ALT[0]}"
        known = next((v for k, v in catalogue.items() if str(k) == key), None)
        if known is None:  # score SNPs and background: intergenic, no gene
            assert c.terms == ("intergenic_variant",) and rec.INFO.get("GENE") is None
            continue
        assert c.gene == known.gene == rec.INFO.get("GENE") and c.hgvsp == known.hgvsp
        gts = ["/".join(map(str, g[:2])) for g in rec.genotypes]
        carried[key] = {s: g for s, g in zip(f.samples, gts, strict=True) if g != "0/0"}
    want: dict[str, dict[str, str]] = {}
    for p in sequenced:
        for k, dosage in p.incidental.items():
            want.setdefault(k, {})[p.local_id] = "0/1" if dosage == 1 else "1/1"
        for c in p.carriers:
            want.setdefault(f"{c.chrom}-{c.pos}-{c.ref}-{c.alt}", {})[p.local_id] = "0/1"
    assert carried == want
    rare = {str(v.key) for v in CATALOGUE if v.seeded and (v.gnomad_af or 0) < 0.01}
    assert rare & set(carried)  # every site's VCF has a rare uncertain variant


def test_install_is_idempotent(tmp_path: Path) -> None:
    folder = tmp_path / "knowledge"
    files = write_knowledge(folder)
    assert {k: p.name for k, p in files.items()} == RESOURCE_FILES
    assert (folder / "gnomad.sites.vcf.bgz.tbi").is_file()
    db = tmp_path / "site" / "knowledge.duckdb"
    first = install_site_knowledge(folder, db)
    assert [e["action"] for e in first] == ["added"] * 5
    again = install_site_knowledge(folder, db)
    assert [e["action"] for e in again] == ["unchanged"] * 5
    assert [e["rows"] for e in again] == [e["rows"] for e in first]
    # written again, byte for byte: still nothing to do
    write_knowledge(folder)
    assert [e["action"] for e in install_site_knowledge(folder, db)] == ["unchanged"] * 5
