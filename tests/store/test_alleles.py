"""The cohort view of variants: consent profiles, allele counts and genotyped patients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from cardiofabric.cli.main import app
from cardiofabric.errors import InputError, StoreError
from cardiofabric.store import (
    SiteStore,
    allele_counts,
    genotyped_individuals,
    profile_key,
    refresh_allele_counts,
    schema,
)
from cardiofabric.store.alleles import counts_are_current

GRU = ("DUO:0000042",)
HMB = ("DUO:0000006",)
NO_GENOMICS = ("DUO:0000016",)


def call(
    chrom: str, pos: int, ref: str, alt: str, gt: str = "0/1", *, gene: str | None = None, **kw: Any
) -> dict[str, Any]:
    zygosity = {"0/1": "heterozygous", "1/1": "homozygous", "1": "hemizygous"}.get(gt)
    row = {
        "build": "GRCh38",
        "chrom": chrom,
        "pos": pos,
        "ref": ref,
        "alt": alt,
        "genotype": gt,
        "zygosity": zygosity,
        "gene": gene,
    }
    return row | kw


def patient(
    make: Any,
    pseudonym: str,
    calls: list[dict[str, Any]] | None,
    *,
    sex: str | None = "female",
    ancestry: str | None = None,
    permissions: tuple[str, ...] = GRU,
    prohibitions: tuple[str, ...] = (),
    status: str = "active",
    version: int = 1,
) -> Any:
    clinical = make.clinical()
    clinical["person"][0].update(sex=sex, ancestry=ancestry)
    modalities: list[tuple[str, Any]] = [("clinical", clinical)]
    if calls is not None:
        modalities.append(("genomic", {"variant": calls}))
    consent = make.consent(permissions, prohibitions, status=status, version=version)
    return make.mmio(pseudonym, modalities=modalities, consent_=consent)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[SiteStore]:
    with SiteStore.create(tmp_path / "store", site="site-a") as s:
        yield s


def by_key(rows: list[Any]) -> dict[tuple[Any, ...], Any]:
    return {(r.chrom, r.pos, r.ref, r.alt, r.stratum): r for r in rows}


# -- profile keys ------------------------------------------------------------------------------
def test_profile_key_is_sorted_deduplicated_and_readable() -> None:
    a = profile_key("active", ["DUO:0000042", "DUO:0000006", "DUO:0000042"], ["DUO:0000016"])
    b = profile_key("active", ("DUO:0000006", "DUO:0000042"), {"DUO:0000016"})
    assert a == b == "active|DUO:0000006|DUO:0000042|!DUO:0000016"
    assert profile_key("unknown", [], []) == "unknown"
    assert profile_key("withdrawn", GRU, []) != profile_key("active", GRU, [])
    assert profile_key("active", [], GRU) != profile_key("active", GRU, [])


def test_the_sql_profile_agrees_with_profile_key(site: SiteStore, make: Any) -> None:
    consents = [
        ("active", ["DUO:0000042"], []),
        ("active", ["DUO:0000007", "DUO:0000006", "DUO:0000007"], ["DUO:0000016"]),
        ("withdrawn", [], ["DUO:0000019", "DUO:0000016"]),
        ("active", [], []),
        # Written by hand (governance may store anything): still the same key both ways.
        ("active", ["é|x", "Z", "a"], ["'; DROP TABLE variant; --"]),
    ]
    for i, (status, perms, prohibs) in enumerate(consents):
        site.add(patient(make, f"p{i}", [call("1", 100, "A", "G")]))
        site.connection.execute(
            "UPDATE consent SET status = ?, permissions = ?, prohibitions = ? WHERE pseudonym = ?",
            [status, perms, prohibs, f"p{i}"],
        )
    site.refresh_allele_counts()
    stored = {r["profile"] for r in site.query("SELECT profile FROM consent_profile")}
    assert stored == {profile_key(s, p, q) for s, p, q in consents}
    assert site.query("SELECT count(*) AS n FROM variant")[0]["n"] == 5


# -- counts --------------------------------------------------------------------------------------
@pytest.fixture
def cohort(site: SiteStore, make: Any) -> SiteStore:
    """Five patients: two women, two men, one of unknown sex; calls on 1, X, Y and MT."""
    site.add_many(
        [
            patient(
                make,
                "f1",
                [
                    call("1", 1000, "A", "G", "0/1", gene="MYBPC3"),
                    call("X", 5000, "C", "T", "0/1"),
                    call("Y", 9000, "G", "A", "0/1"),  # a call on Y in a woman: not counted
                    call("MT", 7000, "T", "C", "1/1"),
                ],
                sex="female",
                ancestry="EUR",
            ),
            patient(
                make,
                "f2",
                [call("1", 1000, "A", "G", "1/1"), call("X", 5000, "C", "T", "1/1")],
                sex="female",
                ancestry="AFR",
            ),
            patient(
                make,
                "m1",
                # Hemizygous X as a haploid call, and Y.
                [call("chrX", 5000, "C", "T", "1"), call("Y", 9000, "G", "A", "1")],
                sex="male",
                ancestry="EUR",
            ),
            patient(
                make,
                "m2",
                # A diploid 1/1 call on a male X is still one allele (gnomAD counts it so).
                [call("X", 5000, "C", "T", "1/1"), call("1", 1000, "A", "G", "0/1")],
                sex="male",
                ancestry=None,
            ),
            patient(make, "u1", [call("1", 2000, "G", "GA", "0/1")], sex=None, ancestry="EUR"),
        ]
    )
    site.refresh_allele_counts()
    return site


def test_autosomal_counts(cohort: SiteStore) -> None:
    (r,) = allele_counts(cohort.connection, chrom="1", start=1000)
    assert (r.gene, r.stratum) == ("MYBPC3", None)  # the gene one row named, for every row
    assert (r.ac, r.an, r.het, r.hom, r.hemi, r.carriers) == (4, 10, 2, 1, 0, 3)
    assert r.af == pytest.approx(0.4)


def test_chrx_counts_males_once_and_chry_counts_males_only(cohort: SiteStore) -> None:
    (x,) = allele_counts(cohort.connection, chrom="X", start=5000)
    # AN = 2 x (2 women + 1 of unknown sex) + 1 x 2 men; AC = 1 + 2 (women) + 1 + 1 (men).
    assert (x.an, x.ac, x.het, x.hom, x.hemi, x.carriers) == (8, 5, 1, 1, 2, 4)
    (y,) = allele_counts(cohort.connection, chrom="Y")
    assert (y.an, y.ac, y.hemi, y.carriers) == (2, 1, 1, 1)
    (mt,) = allele_counts(cohort.connection, chrom="chrM")
    assert (mt.chrom, mt.an, mt.ac, mt.hemi) == ("MT", 5, 1, 1)


def test_stratified_by_sex_and_ancestry(cohort: SiteStore) -> None:
    con = cohort.connection
    x = by_key(allele_counts(con, chrom="X", by="sex"))
    assert (x["X", 5000, "C", "T", "male"].ac, x["X", 5000, "C", "T", "male"].an) == (2, 2)
    assert (x["X", 5000, "C", "T", "female"].ac, x["X", 5000, "C", "T", "female"].an) == (3, 4)
    unknown = x["X", 5000, "C", "T", "unknown"]
    assert (unknown.ac, unknown.an, unknown.af) == (0, 2, 0.0)  # zero-count strata included
    assert sum(r.ac for r in x.values()) == 5
    # chrY: only men have alleles there, so theirs is the only stratum.
    assert {r.stratum for r in allele_counts(con, chrom="Y", by="sex")} == {"male"}
    anc = by_key(allele_counts(con, chrom="1", start=1000, by="ancestry"))
    assert {k[-1]: (r.ac, r.an) for k, r in anc.items()} == {
        "AFR": (2, 2),
        "EUR": (1, 6),
        "unknown": (1, 2),
    }
    assert genotyped_individuals(con, by="sex") == {
        ("GRCh38", "female"): 2,
        ("GRCh38", "male"): 2,
        ("GRCh38", "unknown"): 1,
    }
    assert genotyped_individuals(con) == {("GRCh38", None): 5}


def test_queries_by_region_gene_type_and_pages(cohort: SiteStore) -> None:
    con = cohort.connection
    # The insertion G>GA at 2000 spans 2000..2000; a range ending there overlaps it.
    assert [r.pos for r in allele_counts(con, chrom="1", start=1500, end=2000)] == [2000]
    assert [r.pos for r in allele_counts(con, chrom="1", start=1, end=1_000_000)] == [1000, 2000]
    assert [r.pos for r in allele_counts(con, gene="mybpc3")] == [1000]
    assert [r.pos for r in allele_counts(con, variant_type="INDEL")] == [2000]
    assert [r.pos for r in allele_counts(con, variant_type="ins")] == [2000]
    assert len(allele_counts(con, variant_type="SNV")) == 4
    assert [r.alt for r in allele_counts(con, chrom="1", ref="a", alt="g")] == ["G"]
    assert allele_counts(con, build="hg38", chrom="1", start=1000)[0].build == "GRCh38"
    assert allele_counts(con, build="GRCh37") == []
    everything = allele_counts(con)
    assert [(r.chrom, r.pos) for r in everything] == [
        ("1", 1000),
        ("1", 2000),
        ("MT", 7000),
        ("X", 5000),
        ("Y", 9000),
    ]
    assert allele_counts(con, limit=2, skip=1) == everything[1:3]


def test_bad_query_values_are_clear_errors(cohort: SiteStore) -> None:
    con = cohort.connection
    with pytest.raises(InputError, match="variant type of SNP, MNP"):
        allele_counts(con, variant_type="SNPS")
    with pytest.raises(InputError, match="start with the end"):
        allele_counts(con, chrom="1", end=10)
    with pytest.raises(InputError, match="end >= start"):
        allele_counts(con, chrom="1", start=10, end=5)
    with pytest.raises(InputError, match="stratify by one of sex, ancestry"):
        allele_counts(con, by="age")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="a collection of consent profile keys"):
        allele_counts(con, profiles="active|DUO:0000042")
    with pytest.raises(InputError, match="integer limit"):
        allele_counts(con, limit="10")  # type: ignore[arg-type]


def test_values_are_parameters_never_sql(cohort: SiteStore) -> None:
    con = cohort.connection
    evil = [
        "1' OR '1'='1",
        "1; DROP TABLE allele_count; --",
        "x') UNION SELECT * FROM consent --",
    ]
    for text in evil:
        assert allele_counts(con, chrom=text) == []
        assert allele_counts(con, gene=text, ref=text, alt=text, build=text) == []
        assert allele_counts(con, profiles=[text]) == []
        assert genotyped_individuals(con, [text]) == {}
    assert len(allele_counts(con)) == 5
    assert cohort.query("SELECT count(*) AS n FROM allele_count")[0]["n"] > 0


# -- consent ------------------------------------------------------------------------------------
def test_profiles_sum_only_what_is_allowed(site: SiteStore, make: Any) -> None:
    v = [call("11", 47332274, "C", "T", "0/1", gene="MYBPC3")]
    site.add_many(
        [
            patient(make, "gru", v, permissions=GRU),
            patient(make, "hmb", v, permissions=HMB, sex="male"),
            patient(make, "nogen", v, permissions=GRU, prohibitions=NO_GENOMICS),
            patient(make, "gone", v, permissions=GRU, status="withdrawn"),
            patient(make, "clinical-only", None, permissions=GRU),
        ]
    )
    site.refresh_allele_counts()
    con = site.connection
    profiles = {r["profile"]: r for r in site.query("SELECT * FROM consent_profile")}
    gru, gone = profile_key("active", GRU, ()), profile_key("withdrawn", GRU, ())
    nogen = profile_key("active", GRU, NO_GENOMICS)
    assert set(profiles) == {gru, profile_key("active", HMB, ()), nogen, gone}
    assert profiles[gone]["status"] == "withdrawn"
    assert profiles[nogen]["prohibitions"] == list(NO_GENOMICS)

    def one(allowed: list[str] | None) -> tuple[int, int]:
        rows = allele_counts(con, chrom="11", profiles=allowed)
        return (rows[0].ac, rows[0].an) if rows else (0, 0)

    # The withdrawn patient is counted under their own profile, which a gate leaves out.
    assert one(None) == (4, 8)
    assert one([p for p in profiles if profiles[p]["status"] == "active"]) == (3, 6)
    assert one([gru]) == (1, 2)  # the clinical-only patient is in no genotyped count
    assert one([]) == (0, 0)  # deny by default: nothing allowed, nothing counted
    assert genotyped_individuals(con, [gru, gone]) == {("GRCh38", None): 2}
    by_profile = {r.stratum: r.ac for r in allele_counts(con, by="profile")}
    assert by_profile == {p: 1 for p in profiles}


def test_a_patient_without_consent_has_the_unknown_profile(site: SiteStore, make: Any) -> None:
    site.add(patient(make, "p1", [call("2", 10, "A", "T")]))
    site.connection.execute("DELETE FROM consent")
    site.refresh_allele_counts()
    assert site.query("SELECT * FROM consent_profile") == [
        {"profile": "unknown", "status": "unknown", "permissions": [], "prohibitions": []}
    ]
    assert allele_counts(site.connection, profiles=["unknown"])[0].ac == 1


def test_sex_missing_unknown_or_conflicting_counts_as_unknown(site: SiteStore, make: Any) -> None:
    x = [call("X", 100, "A", "G", "0/1")]
    second_person = {"person": [{"sex": "female"}]}  # a second source disagreeing
    conflicted = make.mmio(
        "both",
        modalities=[
            ("clinical", make.clinical()),  # female ...
            ("clinical", {"person": [{"sex": "male"}]}),  # ... and male
            ("genomic", {"variant": x}),
        ],
    )
    agreed = make.mmio(
        "agreed",
        modalities=[
            ("clinical", make.clinical()),
            ("clinical", second_person),
            ("genomic", {"variant": x}),
        ],
    )
    site.add_many([conflicted, agreed, patient(make, "said-unknown", x, sex="unknown")])
    site.refresh_allele_counts()
    assert genotyped_individuals(site.connection, by="sex") == {
        ("GRCh38", "female"): 1,
        ("GRCh38", "unknown"): 2,
    }


def test_a_patient_called_twice_counts_once(site: SiteStore, make: Any) -> None:
    m = make.mmio(
        "p1",
        modalities=[
            ("clinical", make.clinical()),
            ("genomic", {"variant": [call("3", 50, "C", "G", "0/1")]}),  # an exome
            ("genomic", {"variant": [call("3", 50, "C", "G", "1/1", gene="GENE3")]}),  # a genome
        ],
    )
    site.add(m)
    site.refresh_allele_counts()
    (r,) = allele_counts(site.connection)
    assert (r.ac, r.an, r.hom, r.het, r.carriers, r.gene) == (2, 2, 1, 0, 1, "GENE3")


# -- refreshing ---------------------------------------------------------------------------------
def test_refresh_is_idempotent_and_tracks_changes(site: SiteStore, make: Any) -> None:
    con = site.connection
    assert not counts_are_current(con)
    site.add(patient(make, "p1", [call("1", 10, "A", "G")]))
    first = site.refresh_allele_counts()
    assert first is not None and (first.rows, first.variants, first.genotyped) == (1, 1, 1)
    snapshot = site.query("SELECT * FROM allele_count"), site.query("SELECT * FROM genotyped")
    assert counts_are_current(con)
    assert site.refresh_allele_counts(only_if_stale=True) is None
    site.refresh_allele_counts()
    assert (site.query("SELECT * FROM allele_count"), site.query("SELECT * FROM genotyped")) == (
        snapshot
    )
    # The patient's object is replaced: other variant rows, so the counts are stale.
    site.add(patient(make, "p1", [call("1", 20, "C", "T", "1/1")]))
    assert not counts_are_current(con)
    again = site.refresh_allele_counts(only_if_stale=True)
    assert again is not None
    assert [(r.pos, r.ac) for r in allele_counts(con)] == [(20, 2)]
    # A consent change alone (a withdrawal, written as governance writes it) also is a change.
    con.execute("UPDATE consent SET status = 'withdrawn', version = version + 1")
    assert not counts_are_current(con)
    site.refresh_allele_counts()
    assert site.query("SELECT status FROM consent_profile") == [{"status": "withdrawn"}]


def test_refresh_joins_the_callers_transaction(site: SiteStore, make: Any) -> None:
    site.add(patient(make, "p1", [call("1", 10, "A", "G")]))
    con = site.connection
    con.begin()
    refresh_allele_counts(con)
    assert site.query("SELECT count(*) AS n FROM allele_count") == [{"n": 1}]
    con.rollback()  # the caller's rollback takes the counts back with its own change
    assert site.query("SELECT count(*) AS n FROM allele_count") == [{"n": 0}]
    assert not counts_are_current(con)


def test_a_read_only_store_cannot_refresh(site: SiteStore) -> None:
    root = site.root
    site.close()
    with SiteStore.open(root, read_only=True) as ro, pytest.raises(StoreError, match="read-only"):
        ro.refresh_allele_counts()


def test_migrating_a_version_1_store_fills_the_counts(site: SiteStore, make: Any) -> None:
    site.add(patient(make, "p1", [call("1", 10, "A", "G", "1/1")]))
    root = site.root
    site.close()
    with duckdb.connect(str(root / "store.duckdb")) as con:
        for table in schema.V2_TABLES:
            con.execute(f"DROP TABLE {table}")
        con.execute("UPDATE store_meta SET value = '1' WHERE key = 'schema_version'")
    with SiteStore.open(root) as s:
        assert [(r.ac, r.an) for r in allele_counts(s.connection)] == [(2, 2)]
        assert counts_are_current(s.connection)


# -- command line ------------------------------------------------------------------------------
def test_cli_refresh_and_alleles(cohort: SiteStore) -> None:
    root = cohort.root
    cohort.close()
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
    done = runner.invoke(app, ["store", "refresh", str(root), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["variants"] == 5
    got = runner.invoke(app, ["store", "alleles", str(root), "--chrom", "X", "--json"])
    assert got.exit_code == 0, got.output
    data = json.loads(got.stdout)
    assert data["current"] is True
    assert [(r["chrom"], r["ac"], r["an"]) for r in data["alleles"]] == [("X", 5, 8)]
    table = runner.invoke(app, ["store", "alleles", str(root), "--gene", "MYBPC3", "--by", "sex"])
    assert table.exit_code == 0, table.output
    assert "1:1000 A>G" in table.stdout and "female" in table.stdout
    profiles = runner.invoke(app, ["store", "alleles", str(root), "--by-profile", "--json"])
    assert {r["stratum"] for r in json.loads(profiles.stdout)["alleles"]} == {
        profile_key("active", GRU, ())
    }
    bad = runner.invoke(app, ["store", "alleles", str(root), "--by", "age"])
    assert bad.exit_code == 2 and "--by sex" in bad.stderr
    both = runner.invoke(app, ["store", "alleles", str(root), "--by", "sex", "--by-profile"])
    assert both.exit_code == 2 and "one stratification" in both.stderr
    with duckdb.connect(str(root / "store.duckdb")) as con:
        con.execute("UPDATE consent SET version = version + 1")
    stale = runner.invoke(app, ["store", "alleles", str(root)])
    assert stale.exit_code == 0 and "cardiofabric store refresh" in stale.stdout


def test_variant_types_as_beacon_names_them() -> None:
    con = duckdb.connect()
    con.execute(schema.ddl())
    alts = {
        "G": "SNP",
        "GT": "MNP",
        "AT": "INS",
        "<DEL>": "DEL",
        "<DUP:TANDEM>": "DUP",
        "<INV>": "INV",
        "G]17:198982]": "BND",
    }
    for i, alt in enumerate(alts):
        ref = "AC" if alt == "GT" else "A"
        con.execute(
            "INSERT INTO allele_count VALUES ('GRCh38', '1', ?, ?, ?, NULL, 'p', 'female', "
            "'unknown', 1, 1, 0, 0, 1)",
            [100 + i, ref, alt],
        )
    con.execute(
        "INSERT INTO allele_count VALUES ('GRCh38', '1', 99, 'AT', 'A', NULL, 'p', "
        "'female', 'unknown', 1, 1, 0, 0, 1)"
    )
    con.execute("INSERT INTO genotyped VALUES ('GRCh38', 'p', 'female', 'unknown', 4)")

    def of(vt: str) -> set[str]:
        return {r.alt for r in allele_counts(con, variant_type=vt)}

    assert of("SNP") == {"G"} and of("MNP") == {"GT"}
    assert of("DEL") == {"<DEL>", "A"} and of("INS") == {"AT"} and of("INDEL") == {"AT", "A"}
    assert of("CNV") == {"<DEL>", "<DUP:TANDEM>"} and of("INV") == {"<INV>"}
    assert of("BND") == {"G]17:198982]"}
    assert of("SV") == {"<DEL>", "<DUP:TANDEM>", "<INV>", "G]17:198982]"}
    assert {r.an for r in allele_counts(con)} == {8}
