"""``cardiofabric ecg``: measure a resting ECG file, ours beside the recorder's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from cardiofabric.cli._common import console, handle_errors, print_json

app = typer.Typer(help="Resting ECG files (DICOM waveform, WFDB, EDF).", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Resting ECG files (DICOM waveform, WFDB, EDF)."""


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if unit in ("ms", "deg") else f"{value:.1f}"


def measure_file(path: Path) -> dict[str, Any]:
    """Our measurements of an ECG file beside the device's, as JSON-ready data."""
    from cardiofabric.errors import InputError
    from cardiofabric.ingest.ecg import FEATURES, OUR_FEATURES, detect_format, measure, read_ecg

    if not path.is_file():
        raise InputError("no such file", path=path)
    fmt = detect_format(path)
    recording = read_ecg(path)
    ours = measure(recording.signal, recording.sampling_rate_hz, recording.leads)
    device = {d.feature: d.value for d in recording.device}
    names = [f for f in FEATURES if f in OUR_FEATURES or f in device]
    rows = []
    for name in names:
        code = FEATURES[name]
        mine, theirs = ours[name], device.get(name)
        rows.append(
            {
                "feature": name,
                "loinc": code.loinc,
                "label": code.label,
                "unit": code.unit,
                "ours": None if mine is None else round(mine, 1),
                "device": theirs,
                "difference": None if mine is None or theirs is None else round(mine - theirs, 1),
            }
        )
    return {
        "file": str(path),
        "format": fmt,
        "sampling_rate_hz": recording.sampling_rate_hz,
        "duration_s": round(recording.signal.shape[1] / recording.sampling_rate_hz, 3),
        "leads": list(recording.leads),
        "recorded_at": recording.recorded_at,
        "rhythm_lead": ours.rhythm_lead,
        "beats": len(ours.beats),
        "r_peaks": list(ours.r_peaks),
        "device_r_peaks": [b["r"] for b in recording.device_beats if "r" in b],
        "features": rows,
    }


@app.command("measure")
@handle_errors
def measure_cmd(
    file: Path = typer.Argument(..., help="A DICOM ECG (.dcm), WFDB header (.hea) or EDF file."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Heart rate, intervals, QTc and axes of an ECG, beside the device's own measurements."""
    data = measure_file(file)
    if json_out:
        print_json(data)
        return
    console.print(
        f"[bold]{data['file']}[/]  {data['format']}  {len(data['leads'])} leads  "
        f"{data['sampling_rate_hz']:g} Hz  {data['duration_s']:g} s  "
        f"{data['beats']} beats (R peaks on lead {data['rhythm_lead'] or '–'})",
        highlight=False,
    )
    has_device = any(r["device"] is not None for r in data["features"])
    t = Table(title="ECG measurements")
    t.add_column("feature")
    t.add_column("LOINC")
    t.add_column("ours", justify="right")
    if has_device:
        t.add_column("device", justify="right")
        t.add_column("ours − device", justify="right")
    t.add_column("unit")
    for r in data["features"]:
        cells = [r["feature"], r["loinc"], _fmt(r["ours"], r["unit"])]
        if has_device:
            cells += [_fmt(r["device"], r["unit"]), _fmt(r["difference"], r["unit"])]
        t.add_row(*cells, r["unit"])
    console.print(t)
