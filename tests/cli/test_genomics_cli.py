"""``cardiofabric genomics``: adding and listing knowledge resources, and the gene panel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import Invoke
from typer.testing import CliRunner

from cardiofabric.cli.main import app
from cardiofabric.genomics.panel import load_panel
from cardiofabric.genomics.resources import KnowledgeBase, file_digest
from cardiofabric.pathfinder.writers.knowledge import write_knowledge


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_knowledge(tmp_path_factory.mktemp("knowledge"))


def test_add_and_list(cli: Invoke, files: dict[str, Path], tmp_path: Path) -> None:
    db = tmp_path / "kb" / "knowledge.duckdb"
    added = cli("genomics", "resource", "add", "gnomad", files["gnomad"], "--db", db, "--json")
    assert added.exit_code == 0, added.output
    info = json.loads(added.stdout)
    assert info["kind"] == "gnomad" and info["build"] == "GRCh38" and info["rows"] > 40
    assert info["digest"] == file_digest(files["gnomad"]) and info["knowledge"] == str(db)
    text = cli("genomics", "resource", "add", "cadd", files["cadd"], "--db", db)
    assert text.exit_code == 0, text.output
    assert "cadd from cadd.tsv.gz" in text.stdout and "GRCh38" in text.stdout
    listed = json.loads(cli("genomics", "resource", "list", "--db", db, "--json").stdout)
    assert listed["build"] == "GRCh38"
    assert [r["kind"] for r in listed["resources"]] == ["cadd", "gnomad"]
    table = cli("genomics", "resource", "list", "--db", db)
    assert table.exit_code == 0 and "gnomad.sites.vcf.bgz" in table.stdout
    with KnowledgeBase.open(db) as kb:
        assert {r.kind for r in kb.resources()} == {"cadd", "gnomad"}


def test_default_database_comes_from_the_environment(
    files: dict[str, Path], tmp_path: Path
) -> None:
    db = tmp_path / "env.duckdb"
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "CARDIOFABRIC_KNOWLEDGE": str(db)})
    result = runner.invoke(app, ["genomics", "resource", "add", "revel", str(files["revel"]),
                                 "--build", "GRCh38", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["knowledge"] == str(db) and db.is_file()


def test_errors_are_clear(cli: Invoke, files: dict[str, Path], tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    wrong = cli("genomics", "resource", "add", "clinvar", files["cadd"], "--db", db)
    assert wrong.exit_code == 2
    assert "found a CADD TSV" in wrong.stderr and "genomics resource add cadd" in wrong.stderr
    missing = cli("genomics", "resource", "list", "--db", tmp_path / "none.duckdb")
    assert missing.exit_code == 2 and "no knowledge base here" in missing.stderr
    bad_build = cli("genomics", "resource", "add", "revel", files["revel"], "--db", db,
                    "--build", "hg19")  # fmt: skip
    assert bad_build.exit_code == 2 and "GRCh37 or GRCh38" in bad_build.stderr


def test_panel(cli: Invoke) -> None:
    panel = load_panel()
    every = json.loads(cli("genomics", "panel", "--json").stdout)
    assert {g["symbol"] for g in every["genes"]} == set(panel.genes)
    lqts = json.loads(cli("genomics", "panel", "--condition", "lqts", "--json").stdout)
    symbols = {g["symbol"] for g in lqts["genes"]}
    assert {"KCNQ1", "KCNH2"} <= symbols and "MYH7" not in symbols
    assert all("LQTS" in g["conditions"] for g in lqts["genes"])
    kcnq1 = next(g for g in lqts["genes"] if g["symbol"] == "KCNQ1")
    assert kcnq1["mane_refseq"] == panel.genes["KCNQ1"].mane_refseq
    table = cli("genomics", "panel", "--condition", "HCM")
    assert table.exit_code == 0 and "MYBPC3" in table.stdout and "genes" in table.stdout
    bad = cli("genomics", "panel", "--condition", "flu")
    assert bad.exit_code == 2 and "unknown condition" in bad.stderr
