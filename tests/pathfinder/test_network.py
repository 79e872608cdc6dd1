"""The five-site Pathfinder network end to end: generate, ingest, and find the truth again.

Every site keeps its data differently (FHIR bundle / OMOP / research CSV / FHIR NDJSON / OMOP
plus wearables; DICOM, WFDB and EDF ECGs; MR or echo with SR; VCF). After ingest, each
patient's harmonised rows in the site store must agree with the ground truth the files were
written from — through pseudonyms, unit conversions, local codes and languages.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cardiofabric.cli.main import app
from cardiofabric.ingest.config import load_site_config
from cardiofabric.ingest.runner import FilePool, run_ingest
from cardiofabric.mmio.pseudonym import pseudonymise
from cardiofabric.pathfinder.cohort import CARRIER_VARIANTS
from cardiofabric.pathfinder.generate import generate_network
from cardiofabric.pathfinder.writers.fhir import CONSENT_TERMS
from cardiofabric.store import SiteStore, allele_counts, genotyped_individuals, profile_key
from cardiofabric.store.alleles import Stratum, counts_are_current
from cardiofabric.vocab.duo import resolve
from cardiofabric.vocab.study import MACE, NO, YES

PATIENTS = 8


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pathfinder") / "net"
    generate_network(root, sites=5, patients=PATIENTS, seed=11)
    with FilePool(workers=1) as pool:
        for site in tomllib.loads((root / "network.toml").read_text())["sites"]:
            report = run_ingest(load_site_config(root / site["config"]), pool=pool)
            assert report.stored and report.patients == PATIENTS
    return root


def _truth(root: Path) -> list[dict[str, str]]:
    with (root / "truth" / "patients.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _store_rows(root: Path, site: str, sql: str) -> list[dict[str, Any]]:
    config = load_site_config(root / site / "site.toml")
    with SiteStore.open(config.store_path, read_only=True) as store:
        return store.query(sql)


def _pseudonyms(root: Path, site: str) -> dict[str, str]:
    config = load_site_config(root / site / "site.toml")
    secret = config.secret()
    return {
        row["local_id"]: pseudonymise(row["local_id"], secret)
        for row in _truth(root)
        if row["site"] == site
    }


def test_network_files_and_truth(network: Path) -> None:
    net = tomllib.loads((network / "network.toml").read_text())
    assert [s["name"] for s in net["sites"]] == [
        "nl-amsterdam",
        "se-uppsala",
        "fi-helsinki",
        "it-milano",
        "de-berlin",
    ]
    assert len({s["node_port"] for s in net["sites"]}) == 5
    model = json.loads((network / "truth" / "model.json").read_text())
    assert model["hazard_ratios"]["current_smoker"] == pytest.approx(1.80)
    assert len(_truth(network)) == 5 * PATIENTS
    assert (network / "pgs" / "cad_pgs.txt").read_text().startswith("#")


def test_generation_is_deterministic(network: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_network(again, sites=5, patients=PATIENTS, seed=11)
    assert (again / "truth" / "patients.csv").read_bytes() == (
        network / "truth" / "patients.csv"
    ).read_bytes()
    assert (again / "nl-amsterdam" / "sources" / "fhir" / "patients.json").read_bytes() == (
        network / "nl-amsterdam" / "sources" / "fhir" / "patients.json"
    ).read_bytes()


@pytest.mark.parametrize(
    "site", ["nl-amsterdam", "se-uppsala", "fi-helsinki", "it-milano", "de-berlin"]
)
def test_every_site_agrees_with_the_truth(network: Path, site: str) -> None:
    ids = _pseudonyms(network, site)
    truth = {r["local_id"]: r for r in _truth(network) if r["site"] == site}
    index = {r["pseudonym"] for r in _store_rows(network, site, "SELECT pseudonym FROM mmio_index")}
    assert index == set(ids.values())  # every patient, under the site's pseudonym only

    people = {r["pseudonym"]: r for r in _store_rows(network, site, "SELECT * FROM person")}
    ldl = {
        r["pseudonym"]: r["value"]
        for r in _store_rows(
            network,
            site,
            "SELECT pseudonym, value FROM measurement WHERE code = '2089-1' AND unit = 'mmol/L'",
        )
    }
    qtc = {
        r["pseudonym"]: r["value"]
        for r in _store_rows(
            network,
            site,
            "SELECT pseudonym, value FROM ecg_feature "
            "WHERE feature = 'qtc_bazett' AND method = 'cardiofabric'",
        )
    }
    lvef = {
        r["pseudonym"]: r["value"]
        for r in _store_rows(
            network, site, "SELECT pseudonym, value FROM imaging_measurement WHERE code = '10230-1'"
        )
    }
    variants = _store_rows(network, site, "SELECT pseudonym, chrom, pos, ref, alt FROM variant")
    consent = {r["pseudonym"]: r for r in _store_rows(network, site, "SELECT * FROM consent")}
    outcomes: dict[str, list[dict[str, Any]]] = {}
    for r in _store_rows(
        network,
        site,
        "SELECT pseudonym, value_code_system, value_code, date FROM observation "
        f"WHERE code_system = '{MACE[0]}' AND code = '{MACE[1]}' AND mapped",
    ):
        outcomes.setdefault(r["pseudonym"], []).append(r)
    for local, row in truth.items():
        p = ids[local]
        assert people[p]["sex"] == row["sex"]
        assert people[p]["birth_year"] == int(row["birth_year"])
        if p in ldl:  # LDL in whatever unit the site keeps, harmonised to mmol/L
            assert ldl[p] == pytest.approx(float(row["ldl"]), abs=0.02)
        if row["has_ecg"] == "True":
            assert qtc[p] == pytest.approx(float(row["qtc"]), abs=20)
        if row["has_imaging"] == "True":
            assert lvef[p] == pytest.approx(float(row["lvef"]), abs=0.1)
        carried = {tuple(v.split("-")) for v in row["carrier_variants"].split(";") if v}
        carried |= {tuple(v.split("-")) for v in row["incidental_variants"].split(";") if v}
        mine = {
            (v["chrom"], str(v["pos"]), v["ref"], v["alt"]) for v in variants if v["pseudonym"] == p
        }
        if row["has_vcf"] == "True":
            assert carried <= mine
        else:
            assert not mine
        expected_status = "withdrawn" if row["consent"] == "withdrawn" else "active"
        assert consent[p]["status"] == expected_status
        # The DUO terms themselves, whichever way the site recorded them (FHIR Consent, OMOP
        # observation rows, extract columns).
        want = CONSENT_TERMS[row["consent"]]
        assert sorted(consent[p]["permissions"]) == sorted(resolve(t).code for t in want[0])
        assert sorted(consent[p]["prohibitions"]) == sorted(resolve(t).code for t in want[1])
        # Time to event for survival analysis: the index date and one harmonised outcome row,
        # dated at the event or the end of follow-up (whole days from time_years x 365.25).
        index_date = dt.date.fromisoformat(row["index_date"])
        assert people[p]["index_date"] == index_date
        (outcome,) = outcomes[p]
        assert outcome["value_code_system"] == "SNOMEDCT"
        assert outcome["value_code"] == (YES if row["event"] == "True" else NO)
        days = (outcome["date"].date() - index_date).days
        assert abs(days - float(row["time_years"]) * 365.25) <= 2
    assert set(outcomes) == set(ids.values())
    assert ldl, "no LDL harmonised at this site"


@pytest.mark.parametrize(
    "site", ["nl-amsterdam", "se-uppsala", "fi-helsinki", "it-milano", "de-berlin"]
)
def test_allele_counts_agree_with_the_truth(network: Path, site: str) -> None:
    """Every carrier variant's AC/AN at the site, overall, per sex and per consent profile,
    counted from the truth file (carriers are heterozygous; all carrier genes are autosomal)."""
    genotyped = [r for r in _truth(network) if r["site"] == site and r["has_vcf"] == "True"]

    def profile(row: dict[str, str]) -> str:
        permits, denies = CONSENT_TERMS[row["consent"]]
        status = "withdrawn" if row["consent"] == "withdrawn" else "active"
        codes = [resolve(t).code for t in permits], [resolve(t).code for t in denies]
        return profile_key(status, *codes)

    config = load_site_config(network / site / "site.toml")
    with SiteStore.open(config.store_path, read_only=True) as store:
        con = store.connection
        assert counts_are_current(con)  # the ingest run rebuilt them
        assert genotyped_individuals(con) == (
            {("GRCh38", None): len(genotyped)} if genotyped else {}
        )
        for c in CARRIER_VARIANTS:
            key = f"{c.chrom}-{c.pos}-{c.ref}-{c.alt}"
            carriers = [r for r in genotyped if key in r["carrier_variants"].split(";")]
            got = allele_counts(con, chrom=c.chrom, start=c.pos, ref=c.ref, alt=c.alt)
            if not carriers:
                assert got == []
                continue
            (row,) = got
            n = len(carriers)
            assert (row.ac, row.het, row.hom, row.hemi, row.carriers) == (n, n, 0, 0, n)
            assert (row.an, row.gene) == (2 * len(genotyped), c.gene)
            strata_of: tuple[tuple[Stratum, str | None], ...] = (("sex", "sex"), ("profile", None))
            for by, attr in strata_of:
                strata = allele_counts(con, chrom=c.chrom, start=c.pos, by=by)

                def stratum(r: dict[str, str], attr: str | None = attr) -> str:
                    return r[attr] if attr else profile(r)

                want = {
                    s: (
                        sum(stratum(r) == s for r in carriers),
                        2 * sum(stratum(r) == s for r in genotyped),
                    )
                    for s in {stratum(r) for r in genotyped}
                }
                assert {x.stratum: (x.ac, x.an) for x in strata} == want
        # Every record of the site's VCF (carrier, PGS, incidental and background sites),
        # decoded by pysam (htslib) independently of the ingest's cyvcf2. The expected counts
        # follow the ploidy rule of store.alleles: on chrX a man is one allele (hemizygous),
        # on chrY only men count. The gene, read by the ingest from the VEP CSQ through the
        # transcript pick, is the one the writer put in INFO/GENE (None for intergenic sites).
        sex = {r["local_id"]: r["sex"] for r in genotyped}
        expected: dict[tuple[str, int, str, str], tuple[int, int, int, int, Any]] = {}
        for path in sorted((network / site / "sources" / "genomics").glob("*.vcf.gz")):
            pysam = pytest.importorskip("pysam")
            with pysam.VariantFile(str(path)) as vcf:
                for rec in vcf:
                    ac = het = hom = an = 0
                    for sample, call in rec.samples.items():
                        dose = tuple(call["GT"]).count(1)
                        ploidy = {"X": 1 if sex[sample] == "male" else 2}.get(rec.chrom, 2)
                        if rec.chrom == "Y":
                            ploidy = 1 if sex[sample] == "male" else 0
                        an += ploidy
                        if dose and ploidy == 1:
                            ac += 1
                        elif dose and ploidy == 2:
                            ac, het, hom = ac + dose, het + (dose == 1), hom + (dose == 2)
                    if ac:
                        gene = rec.info.get("GENE")
                        locus = (rec.chrom, rec.pos, rec.ref, rec.alts[0])
                        expected[locus] = (ac, het, hom, an, gene)
        got_all = {
            (r.chrom, r.pos, r.ref, r.alt): (r.ac, r.het, r.hom, r.an, r.gene)
            for r in allele_counts(con, limit=None)
        }
        assert got_all == expected
        assert bool(expected) == bool(genotyped)


def test_second_ingest_changes_nothing(network: Path) -> None:
    report = run_ingest(load_site_config(network / "fi-helsinki" / "site.toml"), workers=1)
    assert (report.added, report.replaced, report.unchanged) == (0, 0, PATIENTS)


def test_cli_generate_refuses_a_used_folder_and_bad_counts(network: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    used = runner.invoke(app, ["pathfinder", "generate", "--out", str(network)])
    assert used.exit_code == 2 and "not empty" in used.stderr
    bad = runner.invoke(
        app, ["pathfinder", "generate", "--out", str(tmp_path / "x"), "--sites", "9"]
    )
    assert bad.exit_code == 2 and "--sites" in bad.stderr
    none = runner.invoke(app, ["pathfinder", "ingest", str(tmp_path)])
    assert none.exit_code == 2 and "network.toml" in none.stderr


def test_demo_reuses_the_network_and_reports_every_site(network: Path) -> None:
    result = CliRunner().invoke(
        app, ["pathfinder", "demo", "--out", str(network), "--json", "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["sites"]) == 5 and data["sites"][0]["site"] == "nl-amsterdam"
    for s in data["sites"]:
        assert s["patients"] == PATIENTS and s["added"] == 0 and s["unchanged"] == PATIENTS
        assert s["verified_objects"] == min(5, PATIENTS)
        assert s["modalities"]["clinical"] == PATIENTS
        # the site's knowledge base holds the network's five resources (added once)
        assert [k["kind"] for k in s["knowledge"]] == ["gnomad", "clinvar", "revel", "cadd",
                                                       "spliceai"]  # fmt: skip
        assert all(k["rows"] > 0 and k["skipped"] == 0 for k in s["knowledge"])
        assert (network / s["site"] / "knowledge.duckdb").is_file()
    again = CliRunner().invoke(app, ["pathfinder", "ingest", str(network), "--json"])
    assert again.exit_code == 0, again.output
    for s in json.loads(again.stdout)["sites"]:
        assert {k["action"] for k in s["knowledge"]} == {"unchanged"}
    assert Path(data["exports"][0]).exists()
