"""Write wearable exports for the patients of a site who wear a device (de-berlin).

Fourteen days from the patient's index date, hourly, one file per patient. Two vendors, in the
two shapes :mod:`cardiofabric.ingest.wearable` reads: patients in even positions export a CSV
(``<local id>.csv``, one sample per line, sleep as minutes asleep per hour), the others a JSON
device export (``<local id>.json``, sleep as one interval per night).

The model, per patient (deterministic by seed):

- heart rate: asleep, the patient's resting rate (``SimPatient.heart_rate``) + 1 ± 1.5 /min
  (so that the mean of the day's lowest quarter of samples is close to the resting rate);
  awake, that rate + 10 + 0.004 per step in the hour ± 4 /min;
- sleep: one night a day, falling asleep between 22:00 and 00:30, 6–8.5 hours;
- steps: awake hours only, Poisson with a daily mean of 9000 − 60 per year of age over 40
  (at least 2500);
- irregular-rhythm (AF) notifications: the cohort model has no atrial fibrillation, so
  notifications follow a risk score instead: each day a Poisson count with mean
  0.01 + 0.04·hypertension + 0.08·HCM + 0.05·(age ≥ 65) + 0.06·myocardial infarction.

The first CSV carries one unreadable heart-rate sample (``--``), which ingest rejects.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from cardiofabric.pathfinder.cohort import SimPatient, SiteSpec

__all__ = ["DAYS", "af_rate", "write_wearables"]

DAYS = 14


def af_rate(p: SimPatient) -> float:
    """Mean irregular-rhythm notifications per day (the model of the module docstring)."""
    return (
        0.01
        + 0.04 * p.hypertension
        + 0.08 * ("hcm" in p.conditions)
        + 0.05 * (p.age >= 65)
        + 0.06 * ("mi" in p.conditions)
    )


def _samples(p: SimPatient, rng: np.random.Generator) -> dict[str, Any]:
    """Hourly heart rate and steps, nightly sleep intervals and alert times."""
    start = datetime.combine(date.fromisoformat(p.index_date), datetime.min.time())
    daily_steps = max(2500.0, 9000.0 - 60.0 * max(0.0, p.age - 40))
    nights = []
    for d in range(-1, DAYS):
        onset = start + timedelta(days=d, hours=22, minutes=int(rng.integers(0, 150)))
        nights.append((onset, onset + timedelta(minutes=int(rng.integers(360, 511)))))
    hr, steps, alerts = [], [], []
    for h in range(DAYS * 24):
        t = start + timedelta(hours=h)
        asleep = any(a <= t < b for a, b in nights)
        n = 0 if asleep else int(rng.poisson(daily_steps / 16))
        if not asleep and n:
            steps.append((t, n))
        if asleep:
            rate = p.heart_rate + 1 + rng.normal(0, 1.5)
        else:
            rate = p.heart_rate + 10 + 0.004 * n + rng.normal(0, 4)
        hr.append((t, round(float(rate), 1)))
    for d in range(DAYS):
        for _ in range(int(rng.poisson(af_rate(p)))):
            alerts.append(start + timedelta(days=d, minutes=int(rng.integers(0, 1440))))
    first, last = start, start + timedelta(days=DAYS)
    sleep = [(max(a, first), min(b, last)) for a, b in nights if b > first and a < last]
    return {"hr": hr, "steps": steps, "sleep": sleep, "alerts": sorted(alerts)}


def _hourly_sleep(sleep: list[tuple[datetime, datetime]]) -> list[tuple[datetime, int]]:
    """Minutes asleep in each clock hour, as an hourly CSV export reports them."""
    out: dict[datetime, int] = {}
    for a, b in sleep:
        t = a
        while t < b:
            hour = t.replace(minute=0, second=0)
            nxt = min(b, hour + timedelta(hours=1))
            out[hour] = out.get(hour, 0) + round((nxt - t).total_seconds() / 60)
            t = nxt
    return sorted(out.items())


def _write_csv(p: SimPatient, s: dict[str, Any], path: Path, broken: bool) -> None:
    rows: list[tuple[datetime, str, str, str]] = []
    rows += [(t, "heart_rate", f"{v:g}", "/min") for t, v in s["hr"]]
    rows += [(t, "steps", str(n), "") for t, n in s["steps"]]
    rows += [(t, "sleep", str(m), "min") for t, m in _hourly_sleep(s["sleep"])]
    rows += [(t, "af_alert", "1", "") for t in s["alerts"]]
    rows.sort(key=lambda r: (r[0], r[1]))
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["patient_id", "timestamp", "metric", "value", "unit"])
        spoilt = next(i for i, r in enumerate(rows) if r[1] == "heart_rate" and i >= 5)
        for i, (t, metric, value, unit) in enumerate(rows):
            bad = broken and i == spoilt
            w.writerow([p.local_id, t.isoformat(), metric, "--" if bad else value, unit])


def _write_json(p: SimPatient, s: dict[str, Any], path: Path) -> None:
    doc = {
        "patient_id": p.local_id,
        "device": {"manufacturer": "Pathfinder Wearables", "model": "PW-2", "export": "1.0"},
        "heart_rate": [{"time": t.isoformat(), "bpm": v} for t, v in s["hr"]],
        "steps": [{"time": t.isoformat(), "count": n} for t, n in s["steps"]],
        "sleep": [{"start": a.isoformat(), "end": b.isoformat()} for a, b in s["sleep"]],
        "irregular_rhythm_notifications": [{"time": t.isoformat()} for t in s["alerts"]],
    }
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def write_wearables(
    patients: list[SimPatient], directory: Path, spec: SiteSpec, *, seed: int
) -> list[Path]:
    """Write 14 days of device data for each patient with ``has_wearable``; return the files."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    wearers = [p for p in patients if p.has_wearable]
    for i, p in enumerate(wearers):
        s = _samples(p, rng)
        if i % 2 == 0:
            path = directory / f"{p.local_id}.csv"
            _write_csv(p, s, path, broken=i == 0)
        else:
            path = directory / f"{p.local_id}.json"
            _write_json(p, s, path)
        written.append(path)
    return written
