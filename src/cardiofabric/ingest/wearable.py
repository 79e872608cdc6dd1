"""Consumer wearable exports: heart rate, steps, sleep and irregular-rhythm (AF) alerts.

A source is one export file or a directory of them (``*.csv``, ``*.csv.gz``, ``*.json``, read in
name order). Two shapes are read:

**CSV, one sample per line** (a header line; ``patient_id`` and ``unit`` columns optional)::

    patient_id,timestamp,metric,value,unit
    DE000012,2016-03-01T00:00:00,heart_rate,58,/min
    DE000012,2016-03-01T00:00:00,sleep,60,min
    DE000012,2016-03-01T09:00:00,steps,812,
    DE000012,2016-03-01T14:20:00,af_alert,1,

``metric`` is ``heart_rate`` (beats per minute at that time), ``steps`` (steps counted in the
interval starting then), ``sleep`` (minutes asleep in the interval starting then) or
``af_alert`` (one irregular-rhythm notification). Without a ``patient_id`` column the source
option ``patient_id``, or else the file's name (``DE000012.csv``), names the patient.

**JSON, a device export** (an object, or a list of them)::

    {"patient_id": "DE000012",
     "device": {"manufacturer": "...", "model": "..."},
     "heart_rate": [{"time": "2016-03-01T00:00:00", "bpm": 58}, ...],
     "steps": [{"time": "2016-03-01T09:00:00", "count": 812}, ...],
     "sleep": [{"start": "2016-03-01T23:10:00", "end": "2016-03-02T06:40:00"}, ...],
     "irregular_rhythm_notifications": [{"time": "2016-03-01T14:20:00"}, ...]}

Times are read as the device's local clock time (an offset, if given, is dropped: a day is the
wearer's day). Daily summaries become ``measurement`` rows of category ``wearable``:

- resting heart rate, LOINC 40443-4: the mean of the lowest quarter of the day's heart-rate
  samples (at least four samples), the usual proxy when a device reports no resting rate;
- mean heart rate, LOINC 8867-4: the mean of the day's samples;
- steps, LOINC 41950-7 "Number of steps in 24 hour Measured": the day's sum, in ``/d``;
- sleep duration, LOINC 93832-4, in minutes: sleep is counted on a noon-to-noon "sleep day"
  named by the morning the night ends (a segment counts for the day of its start + 12 h);

and each day with irregular-rhythm notifications an ``observation`` with their count as text
(local code ``wearable|af_alerts``: no standard code names a device's AF notification count).
The raw series, normalised to ``timestamp, metric, value, unit``, is kept as a Parquet payload.
A sample that cannot be read is rejected with its file and line (or JSON path).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, register
from cardiofabric.ingest.harmonise import coded, measurement
from cardiofabric.mmio.container import PayloadSpec
from cardiofabric.mmio.model import ModalityKind

__all__ = ["METRICS", "WearableAdapter", "daily_summaries"]

#: Metric → its unit in the normalised series.
METRICS = {"heart_rate": "/min", "steps": "1", "sleep": "min", "af_alert": "1"}
# Daily summary → (LOINC code, source label, UCUM unit).
_SUMMARIES = {
    "heart_rate:resting": ("40443-4", "resting heart rate (lowest quarter of the day)", "/min"),
    "heart_rate:mean": ("8867-4", "mean heart rate of the day", "/min"),
    "steps:sum": ("41950-7", "steps per day", "/d"),
    "sleep:sum": ("93832-4", "sleep duration per sleep day", "min"),
}
_CSV_COLUMNS = ("timestamp", "metric", "value")
_JSON_SERIES = {  # JSON list → (metric, time key, value key)
    "heart_rate": ("heart_rate", "time", "bpm"),
    "steps": ("steps", "time", "count"),
    "irregular_rhythm_notifications": ("af_alert", "time", None),
}

Sample = tuple[datetime, str, float]


@dataclass
class _Series:
    samples: list[Sample] = field(default_factory=list)
    media_type: str = "text/csv"


def _time(text: Any) -> datetime:
    if not isinstance(text, str):
        raise ValueError(f"expected an ISO 8601 time, found {text!r}")
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=None)
    except ValueError:
        raise ValueError(f"expected an ISO 8601 time, found {text!r}") from None


def _value(v: Any) -> float:
    try:
        out = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, found {v!r}") from None
    if out != out or out < 0:
        raise ValueError(f"expected a non-negative number, found {v!r}")
    return out


def _open_text(path: Path) -> str:
    try:
        data = path.read_bytes()
        if path.name.lower().endswith(".gz"):
            data = gzip.decompress(data)
        return data.decode("utf-8-sig")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the export ({exc})",
            path=path,
            hint="give UTF-8 CSV or JSON, or a complete gzip file of it",
        ) from None


def _read_csv(path: Path, ctx: SourceContext, out: dict[str, _Series]) -> None:
    reader = csv.DictReader(io.StringIO(_open_text(path)))
    header = [c.strip().lower() for c in reader.fieldnames or []]
    missing = [c for c in _CSV_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"the wearable CSV lacks the column(s) {', '.join(missing)}; expected a header "
            f"timestamp,metric,value (patient_id and unit optional), found {','.join(header)}",
            path=path,
        )
    reader.fieldnames = header
    default = str(ctx.options.get("patient_id") or path.name.split(".")[0])
    for row in reader:
        ctx.count_read()
        where = f"{path.name} line {reader.line_num}"
        try:
            metric = (row.get("metric") or "").strip().lower()
            if metric not in METRICS:
                raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(METRICS)}")
            value = _value(row.get("value")) if metric != "af_alert" else 1.0
            sample = (_time(row.get("timestamp")), metric, value)
        except ValueError as exc:
            ctx.reject(where, str(exc))
            continue
        local = (row.get("patient_id") or "").strip() or default
        out.setdefault(local, _Series()).samples.append(sample)


def _read_json(path: Path, ctx: SourceContext, out: dict[str, _Series]) -> None:
    try:
        doc = json.loads(_open_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"the wearable export is not valid JSON ({exc})", path=path) from None
    exports = doc if isinstance(doc, list) else [doc]
    if not all(isinstance(e, dict) for e in exports):
        raise InputError(
            "expected a device export object (patient_id, heart_rate, steps, sleep, "
            f"irregular_rhythm_notifications) or a list of them, found {type(doc).__name__}",
            path=path,
        )
    for k, export in enumerate(exports):
        local = str(export.get("patient_id") or ctx.options.get("patient_id") or "")
        local = local or path.name.split(".")[0]
        series = out.setdefault(local, _Series(media_type="application/json"))
        prefix = f"{path.name} [{k}]" if isinstance(doc, list) else path.name
        for key, (metric, tkey, vkey) in _JSON_SERIES.items():
            for i, item in enumerate(export.get(key) or []):
                ctx.count_read()
                try:
                    if not isinstance(item, dict):
                        raise ValueError(f"expected an object, found {item!r}")
                    value = _value(item.get(vkey)) if vkey else 1.0
                    series.samples.append((_time(item.get(tkey)), metric, value))
                except ValueError as exc:
                    ctx.reject(f"{prefix} {key}[{i}]", str(exc))
        for i, item in enumerate(export.get("sleep") or []):
            ctx.count_read()
            try:
                if not isinstance(item, dict):
                    raise ValueError(f"expected an object, found {item!r}")
                start, end = _time(item.get("start")), _time(item.get("end"))
                if end <= start:
                    raise ValueError(f"sleep ends ({end}) before it starts ({start})")
                minutes = (end - start).total_seconds() / 60
                series.samples.append((start, "sleep", minutes))
            except ValueError as exc:
                ctx.reject(f"{prefix} sleep[{i}]", str(exc))


def daily_summaries(samples: list[Sample]) -> dict[str, dict[str, float]]:
    """Day (ISO date) → summary name → value, by the rules of the module docstring."""
    hr: dict[str, list[float]] = defaultdict(list)
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for t, metric, value in samples:
        day = t.date().isoformat()
        if metric == "heart_rate":
            hr[day].append(value)
        elif metric == "steps":
            out[day]["steps:sum"] = out[day].get("steps:sum", 0.0) + value
        elif metric == "sleep":
            sleep_day = (t + timedelta(hours=12)).date().isoformat()
            out[sleep_day]["sleep:sum"] = out[sleep_day].get("sleep:sum", 0.0) + value
        else:
            out[day]["af_alerts"] = out[day].get("af_alerts", 0.0) + 1
    for day, values in hr.items():
        out[day]["heart_rate:mean"] = sum(values) / len(values)
        if len(values) >= 4:
            low = sorted(values)[: len(values) // 4]
            out[day]["heart_rate:resting"] = sum(low) / len(low)
    return {day: out[day] for day in sorted(out)}


def _parquet(samples: list[Sample]) -> bytes:
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependencyError("pyarrow", "ingest", "wearable ingest") from None
    table = pa.table(
        {
            "timestamp": pa.array([s[0] for s in samples], pa.timestamp("s")),
            "metric": [s[1] for s in samples],
            "value": pa.array([s[2] for s in samples], pa.float64()),
            "unit": [METRICS[s[1]] for s in samples],
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


@register("wearable")
class WearableAdapter:
    format = "wearable"
    version = "1"

    def read(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        if path.is_dir():
            files = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.name.lower().endswith((".csv", ".csv.gz", ".json"))
            )
            if not files:
                raise InputError(
                    "the folder holds no wearable export: expected *.csv, *.csv.gz or *.json",
                    path=path,
                )
        elif path.is_file():
            files = [path]
        else:
            raise InputError("the wearable export does not exist", path=path)
        series: dict[str, _Series] = {}
        for f in files:
            (_read_json if f.name.lower().endswith(".json") else _read_csv)(f, ctx, series)
        for local in sorted(series):
            samples = sorted(series[local].samples)
            if not samples:
                continue
            yield ModalityRecord(
                local_id=local,
                kind=ModalityKind.WEARABLE,
                media_type=series[local].media_type,
                content=self._content(samples, ctx),
                payloads=[
                    PayloadSpec(_parquet(samples), "application/vnd.apache.parquet", "signal")
                ],
                time=samples[-1][0].isoformat(),
            )

    @staticmethod
    def _content(samples: list[Sample], ctx: SourceContext) -> dict[str, list[dict[str, Any]]]:
        rows: list[dict[str, Any]] = []
        alerts: list[dict[str, Any]] = []
        cm = ctx.code_map
        for day, summary in daily_summaries(samples).items():
            for name, value in summary.items():
                if name == "af_alerts":
                    row = coded(
                        "wearable",
                        "af_alerts",
                        "irregular rhythm notifications per day",
                        "eng",
                        code_map=cm,
                    )
                    row.update(value_text=f"{value:g}", date=day)
                    alerts.append(row)
                    continue
                code, label, unit = _SUMMARIES[name]
                row = measurement("LOINC", code, label, value, unit, "eng", code_map=cm)
                row.update(
                    source_code_system="wearable", source_code=name, category="wearable", date=day
                )
                rows.append(row)
        content = {"measurement": rows}
        if alerts:
            content["observation"] = alerts
        return content
