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
import random
import socket
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cardiofabric.cli.main import app
from cardiofabric.genomics.panel import load_panel
from cardiofabric.governance.audit import verify as verify_audit
from cardiofabric.governance.contracts import NETWORK_AUDIENCE, TrustStore, load_private_key
from cardiofabric.governance.policy import SitePolicy
from cardiofabric.ingest.config import load_site_config
from cardiofabric.ingest.runner import FilePool, run_ingest
from cardiofabric.mmio.pseudonym import pseudonymise
from cardiofabric.node.config import load_node_settings
from cardiofabric.pathfinder.cohort import CARRIER_VARIANTS
from cardiofabric.pathfinder.generate import generate_network
from cardiofabric.pathfinder.writers.fhir import CONSENT_TERMS
from cardiofabric.store import SiteStore, allele_counts, genotyped_individuals, profile_key
from cardiofabric.store.alleles import Stratum, counts_are_current
from cardiofabric.vocab.duo import resolve
from cardiofabric.vocab.study import MACE, NO, YES

PATIENTS = 8
SITES = ["nl-amsterdam", "se-uppsala", "fi-helsinki", "it-milano", "de-berlin"]


def _free_port_base(n: int = 5) -> int:
    """A base of ``n`` consecutive free ports (the demo's nodes listen there, not on 8701+,
    which a developer's own demo may hold)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 60000)
        try:
            for port in range(base, base + n):
                with socket.socket() as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free ports")  # pragma: no cover


@pytest.fixture(scope="module")
def port_base() -> int:
    return _free_port_base()


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory, port_base: int) -> Path:
    root = tmp_path_factory.mktemp("pathfinder") / "net"
    generate_network(root, sites=5, patients=PATIENTS, seed=11, node_port_base=port_base)
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
    # The data access committee's signing key: Ed25519, private to its owner; every site
    # trusts its public key and signs patient tokens with its own node key.
    dac = network / "dac"
    assert stat.S_IMODE((dac / "dac.key").stat().st_mode) == 0o600
    load_private_key(dac / "dac.key")
    for entry in net["sites"]:
        config = load_site_config(network / entry["config"])
        keys = network / entry["name"] / "keys"
        assert (keys / "dac.pub").read_bytes() == (dac / "dac.pub").read_bytes()
        assert stat.S_IMODE((keys / "node.key").stat().st_mode) == 0o600
        settings = load_node_settings(network / entry["config"])
        assert (settings.host, settings.port) == ("127.0.0.1", entry["node_port"])
        assert settings.issuers == {"pathfinder-dac": keys / "dac.pub",
                                    entry["name"]: keys / "node.pub"}  # fmt: skip
        assert settings.catalog.contact and "example" in settings.catalog.contact
        policy = SitePolicy.from_mapping(config.policy)
        assert policy.min_cell_count == 5 and policy.country == entry["country"]
    model = json.loads((network / "truth" / "model.json").read_text())
    assert model["hazard_ratios"]["current_smoker"] == pytest.approx(1.80)
    assert len(_truth(network)) == 5 * PATIENTS
    assert (network / "pgs" / "cad_pgs.txt").read_text().startswith("#")


def test_generation_is_deterministic(network: Path, tmp_path: Path, port_base: int) -> None:
    again = tmp_path / "again"
    generate_network(again, sites=5, patients=PATIENTS, seed=11, node_port_base=port_base)
    for same in (
        "truth/patients.csv",
        "network.toml",
        "nl-amsterdam/sources/fhir/patients.json",
        *(f"{site}/site.toml" for site in SITES),
        *(f"{site}/keys/site.pub" for site in SITES),
    ):
        assert (again / same).read_bytes() == (network / same).read_bytes(), same
    # ... except the Ed25519 signing keys: drawn at random, never derived from the seed.
    for key in ("dac/dac.pub", "nl-amsterdam/keys/node.pub"):
        assert (again / key).read_bytes() != (network / key).read_bytes()


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


def _store_state(root: Path) -> dict[str, dict[str, Any]]:
    """Per site: the audit log's length and every other table's content digest."""
    state: dict[str, dict[str, Any]] = {}
    for site in SITES:
        config = load_site_config(root / site / "site.toml")
        with SiteStore.open(config.store_path, read_only=True) as store:
            con = store.connection
            tables = [
                r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
            ]
            state[site] = {
                t: con.execute(f'SELECT count(*), sum(hash(t)) FROM "{t}" AS t').fetchone()
                for t in tables
                if t not in ("audit_log", "privacy_budget")
            }
            state[site]["audit"] = verify_audit(con)
    return state


@pytest.fixture(scope="module")
def demo(network: Path) -> dict[str, Any]:
    """The demo run once over the ingested network (nodes and all), with the stores' state
    before and after it."""
    before = _store_state(network)
    result = CliRunner().invoke(
        app, ["pathfinder", "demo", "--out", str(network), "--json", "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    return {"data": json.loads(result.stdout), "before": before, "after": _store_state(network)}


def test_demo_reuses_the_network_and_reports_every_site(
    network: Path, demo: dict[str, Any]
) -> None:
    data = demo["data"]
    assert [s["site"] for s in data["sites"]] == SITES
    panel = set(load_panel().genes)
    genotyped = 0
    for s in data["sites"]:
        assert s["patients"] == PATIENTS and s["added"] == 0 and s["unchanged"] == PATIENTS
        assert s["verified_objects"] == min(5, PATIENTS)
        assert s["modalities"]["clinical"] == PATIENTS
        # the site's knowledge base holds the network's five resources (added once)
        assert [k["kind"] for k in s["knowledge"]] == ["gnomad", "clinvar", "revel", "cadd",
                                                       "spliceai"]  # fmt: skip
        assert all(k["rows"] > 0 and k["skipped"] == 0 for k in s["knowledge"])
        assert (network / s["site"] / "knowledge.duckdb").is_file()
        # every allele of the site's VCF classified; P/LP genes are panel genes, named only
        g = s["genomics"]
        assert sum(g["by_tier"].values()) == g["alleles"] and g["skipped"] == 0
        assert bool(g["vcfs"]) == bool(s["modalities"].get("genomic"))
        assert set(g["pathogenic_genes"]) <= panel
        assert bool(g["pathogenic_genes"]) == bool(g["by_tier"]["P"] + g["by_tier"]["LP"])
        genotyped += g["alleles"] > 0
        # one audit entry per answer (three questions, anonymous and under the contract)
        was = demo["before"][s["site"]]["audit"]
        assert was.ok and s["audit"]["ok"] and s["audit"]["entries"] == was.entries + 6
    assert genotyped >= 3
    assert Path(data["exports"][0]).exists()
    # The nodes are stopped (the stores open again) and only the audit log and the demo
    # researcher's privacy budget changed.
    for site in SITES:
        assert {k: v for k, v in demo["after"][site].items() if k != "audit"} == {
            k: v for k, v in demo["before"][site].items() if k != "audit"
        }


def test_demo_asks_every_node_through_the_gate(network: Path, demo: dict[str, Any]) -> None:
    nodes = demo["data"]["nodes"]
    contract = Path(nodes["contract"])
    assert stat.S_IMODE(contract.stat().st_mode) == 0o600
    trust = TrustStore(
        {"pathfinder-dac": network / "dac" / "dac.pub"}, audience=[SITES[0], NETWORK_AUDIENCE]
    )
    granted = trust.verify(contract.read_text().strip())
    assert granted.subject == nodes["researcher"] and granted.actions == ("discover-count",)
    assert granted.purpose is not None and granted.purpose.codes == ("DUO:0000006",)
    assert set(granted.datasets) == set(SITES)
    assert [a["site"] for a in nodes["sites"]] == SITES
    names = [q["name"] for q in nodes["queries"]]
    for site in nodes["sites"]:
        assert set(site["answers"]) == set(names)
        for name in names:
            anon, con = site["answers"][name]["anonymous"], site["answers"][name]["contract"]
            # anonymous: a boolean only, never a number
            assert anon["status"] == 200 and isinstance(anon["exists"], bool)
            assert anon["returnedGranularity"] == "boolean" and anon["count"] is None
            # the contract: a noised count of 5 or more, "fewer than 5", or none (0)
            assert con["status"] == 200 and con["noise"]["epsilon"] == 0.5, con
            if con["suppressed_below"] is not None:
                assert con["suppressed_below"] == 5 and con["count"] is None
                assert con["exists"] is True and con["returnedGranularity"] == "boolean"
            else:
                assert con["returnedGranularity"] == "count"
                assert con["count"] == 0 or con["count"] >= 5, con
                assert con["exists"] is (con["count"] > 0)


def test_demo_prints_the_new_steps(
    demo: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from cardiofabric.cli.pathfinder import _print_audit, _print_discovery, _print_genomics

    data = demo["data"]
    _print_genomics(data["sites"])
    _print_discovery(data["nodes"])
    _print_audit(data["sites"])
    out = capsys.readouterr().out
    assert "Variant classification" in out and "demo-researcher" in out
    assert out.count("returnedGranularity") == len(data["nodes"]["queries"])
    for site in SITES:
        assert f"audit {site}: chain intact" in out
    assert "pt-" not in out  # no pseudonyms, let alone source ids


def test_demo_again_without_nodes_changes_nothing(network: Path, demo: dict[str, Any]) -> None:
    result = CliRunner().invoke(
        app, ["pathfinder", "demo", "--out", str(network), "--no-nodes", "--json", "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["nodes"] is None
    for s, first in zip(data["sites"], demo["data"]["sites"], strict=True):
        assert {k["action"] for k in s["knowledge"]} == {"unchanged"}
        assert s["genomics"] == first["genomics"]  # the same files, the same calls
        assert s["audit"] == first["audit"]
    assert _store_state(network) == demo["after"]
