"""The site store: adding, replacing, rolling back, reopening, and its errors."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cardiofabric.errors import InputError, StoreError
from cardiofabric.store import CONTENT_TABLES, SCHEMA_VERSION, SiteStore, bulk, database, schema

pytestmark = pytest.mark.usefixtures("loader")


def count(store: SiteStore, table: str, pseudonym: str | None = None) -> int:
    sql = f"SELECT count(*) AS n FROM {table}" + (" WHERE pseudonym = ?" if pseudonym else "")
    return int(store.query(sql, [pseudonym] if pseudonym else None)[0]["n"])


def totals(store: SiteStore) -> dict[str, int]:
    return {t: count(store, t) for t in [*CONTENT_TABLES, "mmio_index", "mmio_history", "consent"]}


# -- creating and adding ----------------------------------------------------------------------
def test_create_lays_out_a_directory_and_records_metadata(store: SiteStore, store_path: Path):
    assert (store_path / "store.duckdb").is_file()
    assert (store_path / "objects").is_dir()
    meta = {r["key"]: r["value"] for r in store.query("SELECT key, value FROM store_meta")}
    assert meta["encoding_type"] == "cardiofabric.store"
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    assert meta["site"] == "site-a"
    assert store.site == "site-a" and store.schema_version == SCHEMA_VERSION


def test_add_loads_every_modality_and_fills_the_link_columns(store: SiteStore, make: Any):
    obj = make.mmio("pt-0001")
    result = store.add(obj)
    assert result.status == "added"
    assert result.replaced is None
    assert result.rows == {"person": 1, "measurement": 2, "condition": 1, "ecg_feature": 2}
    assert result.path == f"objects/{obj.digest}.mmio"
    assert (store.root / result.path / "manifest.json").is_file()

    ecg_digest = next(m.digest for m in obj.modalities if m.kind == "ecg")
    rows = store.query("SELECT * FROM ecg_feature ORDER BY feature")
    assert [r["feature"] for r in rows] == ["heart_rate", "qtc_bazett"]
    assert {(r["pseudonym"], r["object_digest"], r["modality_digest"]) for r in rows} == {
        ("pt-0001", obj.digest, ecg_digest)
    }
    ldl = store.query("SELECT * FROM measurement WHERE code = '2089-1'")[0]
    # The harmonised value sits beside the source's own value, unit, code, label and language.
    assert (ldl["value"], ldl["unit"]) == (3.4, "mmol/L")
    assert (ldl["source_value"], ldl["source_unit"]) == ("131.5", "mg/dL")
    assert (ldl["source_label"], ldl["source_language"]) == ("LDL-Cholesterin", "deu")
    assert ldl["date"] == dt.datetime(2024, 3, 1, 9, 30)
    assert ldl["mapped"] is True
    onset = store.query("SELECT onset_date FROM condition")[0]["onset_date"]
    assert onset == dt.date(2010, 5, 1)
    index = store.query("SELECT * FROM mmio_index")
    assert len(index) == 1
    assert index[0]["kinds"] == ["clinical", "ecg"]
    assert index[0]["modality_digests"] == [m.digest for m in obj.modalities]
    assert index[0]["site"] == "site-a"


def test_adding_the_same_object_again_changes_nothing(store: SiteStore, make: Any):
    store.add(make.mmio("pt-0001"))
    before = totals(store)
    again = store.add(make.mmio("pt-0001"))
    assert again.status == "unchanged"
    assert again.rows == {}
    assert totals(store) == before
    assert before["measurement"] == 2 and before["mmio_history"] == 0


def test_a_new_object_replaces_exactly_the_patients_rows(store: SiteStore, make: Any):
    old = make.mmio("pt-0001")
    store.add(old)
    store.add(make.mmio("pt-0002"))
    new = make.mmio("pt-0001", modalities=[("clinical", make.clinical(ldl=2.1))])
    result = store.add(new)
    assert result.status == "replaced"
    assert result.replaced == old.digest

    assert count(store, "ecg_feature", "pt-0001") == 0  # the new object has no ECG
    assert count(store, "ecg_feature", "pt-0002") == 2  # another patient's rows stay
    values = store.query(
        "SELECT value, object_digest FROM measurement WHERE pseudonym = ? AND code = '2089-1'",
        ["pt-0001"],
    )
    assert values == [{"value": 2.1, "object_digest": new.digest}]

    history = store.history("pt-0001")
    assert [v.object_digest for v in history] == [old.digest, new.digest]
    assert history[0].replaced_by == new.digest
    assert history[0].replaced_at is not None and history[0].replaced_at >= history[0].added_at
    assert history[0].kinds == ("clinical", "ecg")
    assert history[1].replaced_at is None and history[1].kinds == ("clinical",)
    # The replaced object stays on disk: the history names it.
    assert (store.root / history[0].path / "manifest.json").is_file()
    assert store.get("pt-0001").digest == new.digest


# -- bad content: clear errors, nothing written -----------------------------------------------
def test_unknown_table_names_the_modality_and_table(store: SiteStore, make: Any):
    obj = make.mmio(modalities=[("ecg", {"ecg_features": [{"feature": "pr"}]})])
    with pytest.raises(InputError) as err:
        store.add(obj)
    text = str(err.value)
    assert "'ecg_features'" in text and f"modality ecg {obj.modalities[0].digest}" in text
    assert "ecg_feature" in (err.value.hint or "")
    assert totals(store)["mmio_index"] == 0
    assert list(store.objects_dir.iterdir()) == []


def test_unknown_column_names_modality_table_and_column(store: SiteStore, make: Any):
    bad = make.clinical()
    bad["measurement"][1]["units"] = "mmHg"
    obj = make.mmio(modalities=[("ecg", make.ecg()), ("clinical", bad)])
    with pytest.raises(InputError, match=r"table 'measurement' has no column 'units'") as err:
        store.add(obj)
    assert "modality clinical" in str(err.value) and "pt-0001" in str(err.value)
    assert all(n == 0 for n in totals(store).values())
    assert list(store.objects_dir.iterdir()) == []


def test_link_columns_in_content_are_refused(store: SiteStore, make: Any):
    obj = make.mmio(modalities=[("ecg", {"ecg_feature": [{"pseudonym": "pt-9", "feature": "pr"}]})])
    with pytest.raises(InputError, match="'pseudonym' is filled by the store"):
        store.add(obj)


def test_a_value_of_the_wrong_kind_names_its_row(store: SiteStore, make: Any):
    bad = make.ecg()
    bad["ecg_feature"][1]["value"] = "421 ms"
    with pytest.raises(InputError) as err:
        store.add(make.mmio(modalities=[("ecg", bad)]))
    assert "row 1: column ecg_feature.value expects a number, found '421 ms'" in str(err.value)
    assert totals(store)["ecg_feature"] == 0


def test_a_bad_date_in_the_second_modality_leaves_nothing_of_the_first(store: SiteStore, make: Any):
    # The date is only found unreadable inside the transaction, by DuckDB's cast.
    obj = make.mmio(
        modalities=[("ecg", make.ecg()), ("clinical", make.clinical(date="first of March"))]
    )
    assert [m.kind for m in obj.modalities] == ["clinical", "ecg"]  # the bad one is loaded last
    with pytest.raises(InputError) as err:
        store.add(obj)
    assert "column measurement.date expects an ISO 8601 date-time" in str(err.value)
    assert "'first of March'" in str(err.value) and "row 0" in str(err.value)
    assert all(n == 0 for n in totals(store).values()), totals(store)
    assert list(store.objects_dir.iterdir()) == []  # the object written for it is removed again


def test_a_failed_replacement_keeps_the_old_object(store: SiteStore, make: Any):
    old = make.mmio("pt-0001")
    store.add(old)
    before = totals(store)
    with pytest.raises(InputError):
        store.add(make.mmio("pt-0001", modalities=[("clinical", make.clinical(date="soon"))]))
    assert totals(store) == before
    assert [v.object_digest for v in store.history("pt-0001")] == [old.digest]


def test_any_failure_inside_the_transaction_rolls_it_back(
    store: SiteStore, make: Any, monkeypatch: pytest.MonkeyPatch
):
    real = bulk.RowBatch.insert

    def failing(self: bulk.RowBatch, con: duckdb.DuckDBPyConnection) -> None:
        if self.table == "measurement":
            raise RuntimeError("disk went away")
        real(self, con)

    monkeypatch.setattr(bulk.RowBatch, "insert", failing)
    with pytest.raises(RuntimeError):
        store.add(make.mmio("pt-0001"))
    assert all(n == 0 for n in totals(store).values())


def test_an_object_of_another_site_is_refused(store: SiteStore, make: Any):
    with pytest.raises(InputError, match="belongs to site 'site-b'; this store holds site"):
        store.add(make.mmio(site="site-b"))


# -- consent ------------------------------------------------------------------------------------
def test_consent_is_upserted_and_never_downgraded(store: SiteStore, make: Any):
    store.add(make.mmio("pt-0001", consent_=make.consent(("DUO:0000042",), ("DUO:0000045",))))
    row = store.query("SELECT * FROM consent")[0]
    assert (row["status"], row["version"]) == ("active", 1)
    assert (row["permissions"], row["prohibitions"]) == (["DUO:0000042"], ["DUO:0000045"])

    withdrawn = make.consent((), status="withdrawn", version=2)
    store.add(make.mmio("pt-0001", consent_=withdrawn))
    row = store.query("SELECT * FROM consent")[0]
    assert (row["status"], row["version"], row["permissions"]) == ("withdrawn", 2, [])

    # Re-ingesting an object that carries the older consent must not undo the withdrawal.
    result = store.add(make.mmio("pt-0001", consent_=make.consent(("DUO:0000006",))))
    assert result.status == "replaced"
    row = store.query("SELECT * FROM consent")[0]
    assert (row["status"], row["version"]) == ("withdrawn", 2)
    assert count(store, "consent") == 1


# -- many objects -------------------------------------------------------------------------------
def test_add_many_loads_a_cohort_in_one_go(store: SiteStore, make: Any):
    objs = [make.mmio(f"pt-{i:04d}", modalities=[("ecg", make.ecg(400 + i))]) for i in range(50)]
    results = store.add_many(objs)
    assert [r.status for r in results] == ["added"] * 50
    assert count(store, "ecg_feature") == 100
    qtc = store.query(
        "SELECT value FROM ecg_feature WHERE pseudonym = 'pt-0007' AND feature = 'qtc_bazett'"
    )
    assert qtc == [{"value": 407.0}]
    assert [r.status for r in store.add_many(objs, batch_size=7)] == ["unchanged"] * 50
    assert count(store, "ecg_feature") == 100


def test_add_many_gives_each_object_the_outcome_of_adding_it_alone(store: SiteStore, make: Any):
    a = make.mmio("pt-0001", modalities=[("ecg", make.ecg(401))])
    store.add(a)
    b = make.mmio("pt-0001", modalities=[("ecg", make.ecg(402))])
    c = make.mmio("pt-0001", modalities=[("ecg", make.ecg(403))])
    results = store.add_many([b, make.mmio("pt-0002"), c, b, b])
    assert [r.status for r in results] == ["replaced", "added", "replaced", "replaced", "unchanged"]
    assert [r.replaced for r in results] == [a.digest, None, b.digest, c.digest, None]
    assert [v.object_digest for v in store.history("pt-0001")] == [
        a.digest,
        b.digest,
        c.digest,
        b.digest,
    ]
    rows = store.query("SELECT value, object_digest FROM ecg_feature WHERE pseudonym = 'pt-0001'")
    assert sorted(r["value"] for r in rows) == [64.0, 402.0]  # b's rows, once
    assert {r["object_digest"] for r in rows} == {b.digest}


def test_add_many_commits_batches_before_a_bad_one(store: SiteStore, make: Any):
    objs = [make.mmio(f"pt-{i:04d}", modalities=[("ecg", make.ecg())]) for i in range(5)]
    objs.append(make.mmio("pt-0005", modalities=[("ecg", {"ecg_feature": [{"qt": 1}]})]))
    with pytest.raises(InputError) as err:
        store.add_many(objs, batch_size=4)
    assert "(4 objects before this batch are stored)" in str(err.value)
    assert store.pseudonyms() == [f"pt-{i:04d}" for i in range(4)]
    with pytest.raises(InputError):
        store.add_many(objs[:4], batch_size=0)


# -- opening, reopening, read-only ------------------------------------------------------------
def test_a_reopened_store_holds_what_was_added(store_path: Path, make: Any):
    obj = make.mmio("pt-0001")
    with SiteStore.create(store_path, site="site-a") as s:
        s.add(obj)
        s.add(make.mmio("pt-0002", modalities=[("ecg", make.ecg())]))
    with SiteStore.open(store_path) as s:
        assert s.site == "site-a"
        assert s.pseudonyms() == ["pt-0001", "pt-0002"]
        opened = s.get("pt-0001")
        assert opened.digest == obj.digest
        assert opened.location == store_path / "objects" / f"{obj.digest}.mmio"
        assert opened.verify().payloads_checked == 2
        assert count(s, "measurement") == 2 and count(s, "ecg_feature") == 4
        assert s.add(obj).status == "unchanged"
    with SiteStore.open(store_path / "store.duckdb") as s:  # the database file works too
        assert s.pseudonyms() == ["pt-0001", "pt-0002"]


def test_read_only_open_reads_but_refuses_to_write(store_path: Path, make: Any):
    with SiteStore.create(store_path, site="site-a") as s:
        s.add(make.mmio("pt-0001"))
    with SiteStore.open(store_path, read_only=True) as s:
        assert s.read_only
        assert s.pseudonyms() == ["pt-0001"]
        with pytest.raises(StoreError, match="opened read-only"):
            s.add(make.mmio("pt-0002"))
        # In one process DuckDB refuses to mix modes on one file: say so, do not crash.
        with pytest.raises(StoreError, match="already open in this process"):
            SiteStore.open(store_path)
    with SiteStore.open(store_path) as s:
        assert s.pseudonyms() == ["pt-0001"]


def test_a_closed_store_says_so(store: SiteStore):
    store.close()
    with pytest.raises(StoreError, match="the store is closed"):
        store.pseudonyms()
    store.close()  # closing twice is harmless


def test_another_process_writing_makes_the_store_busy(store_path: Path):
    SiteStore.create(store_path, site="site-a").close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, duckdb\n"
         f"c = duckdb.connect({str(store_path / 'store.duckdb')!r})\n"
         "print('ready', flush=True)\nsys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        for read_only in (False, True):
            with pytest.raises(StoreError, match="in use by another process") as err:
                SiteStore.open(store_path, read_only=read_only)
            assert err.value.path == str(store_path / "store.duckdb")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


# -- errors on open and create -----------------------------------------------------------------
def test_opening_a_missing_store_names_the_path_and_the_fix(tmp_path: Path):
    with pytest.raises(StoreError) as err:
        SiteStore.open(tmp_path / "nowhere")
    assert err.value.path == str(tmp_path / "nowhere")
    assert "does not exist" in err.value.message
    assert "SiteStore.create" in (err.value.hint or "")
    (tmp_path / "empty").mkdir()
    with pytest.raises(StoreError, match=r"a directory without store\.duckdb"):
        SiteStore.open(tmp_path / "empty")


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "store.duckdb").write_bytes(b"not a database at all" * 300)
    with pytest.raises(StoreError, match="found a file DuckDB cannot read"):
        SiteStore.open(tmp_path / "junk")
    (tmp_path / "other").mkdir()
    duckdb.connect(str(tmp_path / "other" / "store.duckdb")).close()
    with pytest.raises(StoreError, match="expected a CardioFabric site store"):
        SiteStore.open(tmp_path / "other")


def test_a_newer_schema_version_is_refused(store_path: Path):
    SiteStore.create(store_path, site="site-a").close()
    with duckdb.connect(str(store_path / "store.duckdb")) as con:
        con.execute("UPDATE store_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99, newer than") as err:
        SiteStore.open(store_path)
    assert "upgrade cardiofabric" in (err.value.hint or "")


def test_an_older_store_is_migrated_forward_on_a_writable_open(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
):
    SiteStore.create(store_path, site="site-a").close()
    nxt = SCHEMA_VERSION + 1
    monkeypatch.setattr(schema, "SCHEMA_VERSION", nxt)
    with pytest.raises(
        StoreError, match=f"no migration from store schema version {SCHEMA_VERSION} to {nxt}"
    ):
        SiteStore.open(store_path)

    def add_note(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("ALTER TABLE person ADD COLUMN note VARCHAR")

    monkeypatch.setitem(database.MIGRATIONS, SCHEMA_VERSION, add_note)
    with pytest.raises(StoreError, match="read-only open cannot"):
        SiteStore.open(store_path, read_only=True)
    with SiteStore.open(store_path) as s:
        assert s.schema_version == nxt
        meta = s.query("SELECT value FROM store_meta WHERE key = 'schema_version'")
        assert meta == [{"value": str(nxt)}]
        assert "note" in [r["column_name"] for r in s.query("DESCRIBE person")]


def test_a_version_1_store_gains_the_governance_and_cohort_tables(store_path: Path):
    SiteStore.create(store_path, site="site-a").close()
    with duckdb.connect(str(store_path / "store.duckdb")) as con:
        for table in schema.V2_TABLES:
            con.execute(f"DROP TABLE {table}")
        con.execute("UPDATE store_meta SET value = '1' WHERE key = 'schema_version'")
    with SiteStore.open(store_path) as s:
        assert s.query("SELECT value FROM store_meta WHERE key = 'schema_version'") == [
            {"value": "2"}
        ]
        tables = {r["name"] for r in s.query("SHOW TABLES")}
        assert set(schema.V2_TABLES) <= tables


def test_create_refuses_an_existing_store_a_busy_directory_and_a_bad_site(tmp_path: Path):
    SiteStore.create(tmp_path / "s", site="site-a").close()
    with pytest.raises(StoreError, match="a site store already exists here"):
        SiteStore.create(tmp_path / "s", site="site-a")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("x")
    with pytest.raises(StoreError, match="one with other files in it"):
        SiteStore.create(tmp_path / "busy", site="site-a")
    with pytest.raises(InputError, match="expected a site name"):
        SiteStore.create(tmp_path / "t", site="site a/b")
    assert not (tmp_path / "t").exists()


# -- reading --------------------------------------------------------------------------------------
def test_info_summarises_the_store_as_json(store: SiteStore, make: Any):
    store.add(make.mmio("pt-0001"))
    store.add(make.mmio("pt-0002", modalities=[("ecg", make.ecg())]))
    store.add(make.mmio("pt-0002", modalities=[("ecg", make.ecg(399))]))
    store.add(make.mmio("pt-0003", consent_=make.consent((), status="withdrawn", version=2)))
    info = store.info()
    data = json.loads(json.dumps(info.to_json()))
    assert data["site"] == "site-a" and data["schema_version"] == SCHEMA_VERSION
    assert data["path"] == str(store.root)
    assert (data["patients"], data["objects"], data["replaced"]) == (3, 4, 1)
    assert data["modalities"] == {"clinical": 2, "ecg": 3}
    assert data["tables"]["measurement"] == 4
    assert data["tables"]["ecg_feature"] == 6
    assert data["tables"]["variant"] == 0
    assert set(data["tables"]) == set(CONTENT_TABLES)
    assert data["consent"] == {"active": 2, "withdrawn": 1}
    assert data["size_bytes"] > 0


def test_query_by_code_and_its_errors(store: SiteStore, make: Any):
    store.add(make.mmio("pt-0001"))
    store.add(make.mmio("pt-0002", modalities=[("clinical", make.clinical(ldl=5.2))]))
    high = store.query(
        "SELECT DISTINCT pseudonym FROM measurement "
        "WHERE code_system = 'LOINC' AND code = ? AND value >= ? ORDER BY 1",
        ["2089-1", 4.9],
    )
    assert high == [{"pseudonym": "pt-0002"}]
    fh = store.query(
        "SELECT count(DISTINCT pseudonym) AS n FROM condition WHERE code = '398036000'"
    )
    assert fh == [{"n": 2}]
    with pytest.raises(InputError, match="the query failed"):
        store.query("SELECT nope FROM measurement")
    with pytest.raises(InputError, match="no patient 'pt-9999'"):
        store.get("pt-9999")
    assert store.history("pt-9999") == []


# -- the data-model document stays true ---------------------------------------------------------
DOC = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"


def test_the_data_model_names_every_table_and_column():
    text = DOC.read_text(encoding="utf-8")
    for table in CONTENT_TABLES.values():
        assert f"`{table.name}`" in text, table.name
        for column in table.names:
            assert f"`{column}`" in text, f"{table.name}.{column}"


def test_the_data_models_sql_examples_run(store: SiteStore, make: Any):
    store.add(make.mmio("pt-0001"))
    blocks = DOC.read_text(encoding="utf-8").split("```sql\n")[1:]
    assert len(blocks) >= 8
    for block in blocks:
        store.query(block.split("```")[0])


def test_add_many_checks_objects_replaced_within_the_batch(store: SiteStore, make: Any):
    bad = make.ecg()
    bad["ecg_feature"][0]["value"] = "64/min"
    first = make.mmio("pt-0001", modalities=[("ecg", bad)])
    with pytest.raises(InputError, match=r"column ecg_feature\.value expects a number"):
        store.add_many([first, make.mmio("pt-0001")])
    assert store.pseudonyms() == []
