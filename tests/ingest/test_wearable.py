"""Wearable exports: daily summaries recomputed from the raw files, the payload, and bad exports."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, SourceReport
from cardiofabric.ingest.pipeline import build_objects, read_source
from cardiofabric.ingest.wearable import WearableAdapter
from cardiofabric.mmio.model import ModalityKind
from cardiofabric.pathfinder.cohort import SITES, SimPatient, simulate_network
from cardiofabric.pathfinder.writers.wearable import write_wearables

DE = next(s for s in SITES if s.name == "de-berlin")


@pytest.fixture(scope="module")
def wear(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("wearables")
    patients = simulate_network(24, seed=2, sites=(DE,))[DE.name]
    files = write_wearables(patients, d, DE, seed=4)
    recs, report = read(d)
    return {"dir": d, "files": files, "patients": patients, "records": recs, "report": report}


def read(path: Path) -> tuple[dict[str, ModalityRecord], SourceReport]:
    report = SourceReport(source=str(path), format="wearable")
    ctx = SourceContext(site="de", language="deu", report=report)
    return {r.local_id: r for r in WearableAdapter().read(path, ctx)}, report


def raw(path: Path) -> list[tuple[datetime, str, float]]:
    """The samples of one export, read independently of the adapter."""
    if path.suffix == ".csv":
        rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
        return [
            (datetime.fromisoformat(r["timestamp"]), r["metric"], float(r["value"]))
            for r in rows
            if r["value"] != "--"
        ]
    doc = json.loads(path.read_text(encoding="utf-8"))
    out = [(datetime.fromisoformat(x["time"]), "heart_rate", x["bpm"]) for x in doc["heart_rate"]]
    out += [(datetime.fromisoformat(x["time"]), "steps", x["count"]) for x in doc["steps"]]
    out += [
        (datetime.fromisoformat(x["time"]), "af_alert", 1)
        for x in doc["irregular_rhythm_notifications"]
    ]
    for x in doc["sleep"]:
        a, b = datetime.fromisoformat(x["start"]), datetime.fromisoformat(x["end"])
        out.append((a, "sleep", (b - a).total_seconds() / 60))
    return out


def rows(rec: ModalityRecord, code: str) -> dict[str, float]:
    return {r["date"]: r["value"] for r in rec.content["measurement"] if r["code"] == code}


def test_one_wearable_modality_per_wearer(wear: dict[str, Any]) -> None:
    wearers = [p for p in wear["patients"] if p.has_wearable]
    assert sorted(wear["records"]) == sorted(p.local_id for p in wearers)
    assert {f.suffix for f in wear["files"]} == {".csv", ".json"}
    for rec in wear["records"].values():
        assert rec.kind is ModalityKind.WEARABLE
        assert all(r["category"] == "wearable" for r in rec.content["measurement"])


def test_daily_summaries_match_the_raw_series(wear: dict[str, Any]) -> None:
    for f in wear["files"]:
        rec = wear["records"][f.name.split(".")[0]]
        steps: Counter[str] = Counter()
        sleep: Counter[str] = Counter()
        alerts: Counter[str] = Counter()
        hr: defaultdict[str, list[float]] = defaultdict(list)
        for t, metric, v in raw(f):
            day = t.date().isoformat()
            if metric == "steps":
                steps[day] += v
            elif metric == "sleep":  # the noon-to-noon sleep day
                sleep[(t + timedelta(hours=12)).date().isoformat()] += v
            elif metric == "af_alert":
                alerts[day] += 1
            else:
                hr[day].append(v)
        assert rows(rec, "41950-7") == dict(steps)
        assert rows(rec, "93832-4") == pytest.approx(dict(sleep))
        assert rows(rec, "8867-4") == pytest.approx({d: sum(v) / len(v) for d, v in hr.items()})
        seen = {r["date"]: int(r["value_text"]) for r in rec.content.get("observation", [])}
        assert seen == dict(alerts)


def test_resting_heart_rate_recovers_the_truth(wear: dict[str, Any]) -> None:
    truth: dict[str, SimPatient] = {p.local_id: p for p in wear["patients"]}
    for pid, rec in wear["records"].items():
        resting = list(rows(rec, "40443-4").values())
        assert len(resting) >= 14
        assert sum(resting) / len(resting) == pytest.approx(truth[pid].heart_rate, abs=2.5)


def test_the_broken_sample_is_rejected_with_its_line(wear: dict[str, Any]) -> None:
    (rej,) = wear["report"].rejected
    first = wear["files"][0]
    line = int(rej.record.rsplit(" ", 1)[1])
    assert rej.record.startswith(f"{first.name} line ") and "'--'" in rej.reason
    assert ",heart_rate,--," in first.read_text(encoding="utf-8").splitlines()[line - 1]


def test_the_raw_series_is_kept_as_parquet(wear: dict[str, Any]) -> None:
    f = next(f for f in wear["files"] if f.suffix == ".json")
    rec = wear["records"][f.stem]
    (payload,) = rec.payloads
    assert payload.media_type == "application/vnd.apache.parquet" and payload.role == "signal"
    table = pq.read_table(io.BytesIO(payload.data))
    assert table.column_names == ["timestamp", "metric", "value", "unit"]
    assert table.num_rows == len(raw(f))
    assert f.stem.encode() not in payload.data


def test_objects_seal_and_store(wear: dict[str, Any], tmp_path: Path) -> None:
    from cardiofabric.store import SiteStore

    records = list(read_source(wear["dir"], "wearable", site="de-berlin", language="deu"))
    objects = build_objects(records, site="de-berlin", secret="k" * 32)
    with SiteStore.create(tmp_path / "store", site="de-berlin") as store:
        store.add_many(objects)
        (row,) = store.query(
            "SELECT count(DISTINCT pseudonym) AS n FROM measurement "
            "WHERE category = 'wearable' AND code = '41950-7'"
        )
        assert row["n"] == len(wear["records"])


def test_offsets_are_dropped_and_bad_samples_rejected(tmp_path: Path) -> None:
    f = tmp_path / "P1.csv"
    f.write_text(
        "timestamp,metric,value\n"
        "2020-01-01T10:00:00+01:00,steps,100\n"
        "2020-01-01T23:30:00-05:00,steps,50\n"
        "2020-01-01T11:00:00,calories,3\n"
        "yesterday,steps,1\n",
        encoding="utf-8",
    )
    recs, report = read(f)
    assert rows(recs["P1"], "41950-7") == {"2020-01-01": 150.0}
    assert [r.record for r in report.rejected] == ["P1.csv line 4", "P1.csv line 5"]
    assert "unknown metric 'calories'" in report.rejected[0].reason
    j = tmp_path / "export.json"
    j.write_text(
        json.dumps(
            [
                {
                    "patient_id": "P2",
                    "steps": [{"time": "2020-01-01T08:00:00", "count": -3}],
                    "sleep": [{"start": "2020-01-02T07:00:00", "end": "2020-01-01T23:00:00"}],
                }
            ]
        ),
        encoding="utf-8",
    )
    recs, report = read(j)
    assert recs == {}
    assert [r.record for r in report.rejected] == [
        "export.json [0] steps[0]",
        "export.json [0] sleep[0]",
    ]


def test_malformed_exports_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no wearable export"):
        read(tmp_path)
    f = tmp_path / "P1.csv"
    f.write_text("time,kind,value\n2020-01-01T10:00:00,steps,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"lacks the column\(s\) timestamp, metric; expected"):
        read(f)
    j = tmp_path / "P2.json"
    j.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON") as err:
        read(j)
    assert err.value.path == str(j)
    j.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError, match="expected a device export object"):
        read(j)
    g = tmp_path / "P3.csv.gz"
    g.write_bytes(b"\x1f\x8b\x08\x00truncated")
    with pytest.raises(InputError, match="cannot read the export"):
        read(g)
