"""The steward's ingest: configuration, report, strictness, idempotency, recovery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cardiofabric.cli.main import app
from cardiofabric.errors import InputError
from cardiofabric.ingest.config import load_site_config
from cardiofabric.ingest.runner import run_ingest
from cardiofabric.pathfinder.example import write_example_site
from cardiofabric.store import SiteStore

CONFIG = """
[site]
name = "example"
language = "eng"
store = "store"
secret_file = "keys/pseudonym.secret"

[[sources]]
path = "sources/patients.fhir.json"
format = "fhir-bundle"
system = "EHR"

[[sources]]
path = "sources/cohort.vcf"
format = "vcf"

[[sources]]
path = "sources/ecg-*.npy"
format = "ecg-npy"
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    write_example_site(tmp_path / "sources")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "pseudonym.secret").write_text("s" * 64 + "\n")
    cfg = tmp_path / "site.toml"
    cfg.write_text(CONFIG)
    return cfg


def test_ingest_reports_and_is_idempotent(site: Path) -> None:
    config = load_site_config(site)
    first = run_ingest(config)
    assert first.stored and first.patients == 3 and first.added == 3 and first.rejected == 0
    by_source = {s.label: s for s in first.sources}
    assert by_source["sources/ecg-*.npy"].files == 3
    fhir = by_source["sources/patients.fhir.json"]
    # 11 resources read (3 Patients, 6 Observations, 2 Conditions) make 3 clinical modalities.
    assert (fhir.read, fhir.accepted, fhir.modalities) == (11, 11, 3)
    assert fhir.coverage["http://loinc.org"] == {"mapped": 6, "total": 6}
    second = run_ingest(config)
    assert (second.added, second.unchanged, second.replaced) == (0, 3, 0)
    with SiteStore.open(config.store_path, read_only=True) as store:
        assert store.info().patients == 3
        rows = store.query("SELECT count(*) AS n FROM ecg_feature")
        assert rows[0]["n"] == 15


def test_strict_stores_nothing_when_a_record_is_rejected(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = site.parent / "sources" / "broken.fhir.json"
    bad.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": []}))
    config = load_site_config(site)
    config.sources[0].path = "sources/broken.fhir.json"

    from cardiofabric.ingest import runner

    real = runner.read_source

    def rejecting(*args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["report"].rejected.append(runner.Rejection("entry 1", "not a resource"))
        yield from real(*args, **kwargs)

    monkeypatch.setattr(runner, "read_source", rejecting)
    report = run_ingest(config, strict=True)
    assert report.rejected >= 1 and not report.stored
    assert not config.store_path.exists()


def test_a_run_killed_while_storing_is_completed_by_the_next(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_site_config(site)
    calls = {"n": 0}
    real = SiteStore.add_many

    def dying(self, objs, **kw):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, objs, **kw)

    monkeypatch.setattr(SiteStore, "add_many", dying)
    with pytest.raises(KeyboardInterrupt):
        run_ingest(config, batch_size=1)
    monkeypatch.undo()
    report = run_ingest(config)
    assert report.added + report.unchanged == 3 and report.added == 2
    with SiteStore.open(config.store_path, read_only=True) as store:
        assert len(store.pseudonyms()) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[site]\nname = 'bad name!'\n", "site.name"),
        ("[site]\nname = 'a'\nlanguage = 'english'\n", "ISO 639-3"),
        ("[site]\nname = 'a'\n[[sources]]\nformat = 'vcf'\n", "sources.0.path"),
        ("[site\nname = 'a'\n", "not valid TOML"),
        ("[site]\nname = 'a'\nunknown = 1\n", "site.unknown"),
    ],
)
def test_bad_configuration_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text(text)
    with pytest.raises(InputError, match=message):
        load_site_config(cfg)


def test_missing_secret_source_and_pattern(site: Path) -> None:
    (site.parent / "keys" / "pseudonym.secret").unlink()
    with pytest.raises(InputError, match="pseudonym secret file"):
        run_ingest(load_site_config(site))
    site.write_text(CONFIG.replace("ecg-*.npy", "nothing-*.npy"))
    (site.parent / "keys" / "pseudonym.secret").write_text("s" * 64)
    with pytest.raises(InputError, match="matches no file"):
        run_ingest(load_site_config(site))


def test_cli_ingest_json_and_table(site: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(site), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["objects"]["added"] == 3 and data["records"]["rejected"] == 0
    assert (site.parent / "store" / "last-ingest.json").exists()
    table = runner.invoke(app, ["ingest", str(site), "--no-progress"])
    assert table.exit_code == 0 and "unchanged 3" in table.stdout
    missing = runner.invoke(app, ["ingest", str(site.parent / "nope.toml")])
    assert missing.exit_code == 2 and "not found" in missing.stderr
