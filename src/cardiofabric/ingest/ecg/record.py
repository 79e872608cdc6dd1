"""What the ECG adapters share: the recording as read, its patient, payloads and rows.

Every ECG adapter (DICOM waveform, WFDB, EDF) reads its file into an :class:`EcgRecording`
(leads × samples in millivolts, sampling rate, lead names, the recorder's own measurements) and
turns it into one ``ecg`` modality record the same way:

- **payloads**: the signal as a little-endian float32 ``.npy`` array (leads × samples, mV;
  role ``signal``) and a small JSON description of it (role ``derived``: encoding type and
  version, sampling rate, lead names, units, the fiducial points per beat, ours and the
  device's). A DICOM source also keeps the file itself after de-identification (see
  :mod:`.deid`); WFDB and EDF headers hold names and dates in free text, so only the signal
  is kept from them.
- **rows** (``ecg_feature``): our measurements (``method = "cardiofabric"``, see
  :mod:`.features`) and the device's (``method = "device"``), coded with LOINC (the table in
  :mod:`.features`); device rows keep the file's own code, label, value and unit beside them.

The patient's local id, in order of precedence:

1. ``options["patient_ids"]``: a mapping from the file name (``p1.edf``) or record name (``p1``)
   to the local id, for sites whose files do not carry a usable id;
2. ``options["patient_id"]``: one id for every record of the source;
3. the file's own: DICOM (0010,0020) Patient ID, the EDF+ patient code, a WFDB header comment
   ``patient_id: <id>``.

A record without one is rejected (reported), never guessed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext
from cardiofabric.ingest.ecg.features import FEATURES, OUR_FEATURES, EcgFeatures, measure
from cardiofabric.ingest.harmonise import measurement
from cardiofabric.mmio.container import PayloadSpec
from cardiofabric.mmio.model import ModalityKind

__all__ = [
    "SIGNAL_ENCODING",
    "DeviceMeasurement",
    "EcgRecording",
    "ecg_record",
    "feature_rows",
    "read_each",
    "resolve_local_id",
    "to_millivolts",
]

#: The ``encoding-type`` / ``encoding-version`` of the JSON that describes a signal payload.
SIGNAL_ENCODING = ("cardiofabric.ecg-signal", "1")

FloatArray = npt.NDArray[np.float64]

_MV_PER_UNIT = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3, "nv": 1e-6}


def to_millivolts(unit: str | None) -> float | None:
    """Factor from a voltage unit (UCUM ``uV``, ``mV``, ``V``; EDF's ``uV``) to mV."""
    return _MV_PER_UNIT.get((unit or "").strip().lower())


@dataclass(frozen=True)
class DeviceMeasurement:
    """A measurement the recorder made and stored in the file, as the file says it."""

    feature: str  # a key of features.FEATURES
    value: float  # in the feature's unit (ms, deg, /min)
    source_value: str
    source_unit: str | None
    source_system: str | None = None  # e.g. SCPECG
    source_code: str | None = None
    source_label: str | None = None


@dataclass
class EcgRecording:
    """One ECG as read from a file, before it becomes a modality record."""

    signal: FloatArray  # leads × samples, mV
    sampling_rate_hz: float
    leads: tuple[str, ...]
    source_format: str
    patient_id: str | None = None  # as the file gives it
    recorded_at: str | None = None  # ISO 8601, the recording's own time
    device: list[DeviceMeasurement] = field(default_factory=list)
    device_beats: list[dict[str, int]] = field(default_factory=list)
    device_statements: list[str] = field(default_factory=list)


def resolve_local_id(path: Path, ctx: SourceContext, from_file: str | None) -> str | None:
    """The patient's local id (see the module docstring for the order)."""
    mapping = ctx.options.get("patient_ids")
    if isinstance(mapping, dict):
        for key in (path.name, path.stem):
            if key in mapping and str(mapping[key]).strip():
                return str(mapping[key]).strip()
    given = ctx.options.get("patient_id")
    if given is not None and str(given).strip():
        return str(given).strip()
    if from_file and from_file.strip():
        return from_file.strip()
    return None


def local_id_or_reject(
    path: Path, ctx: SourceContext, from_file: str | None, missing: str
) -> str | None:
    """The local id, or ``None`` after rejecting the file; ``missing`` says what the file lacked."""
    local_id = resolve_local_id(path, ctx, from_file)
    if local_id is None:
        ctx.reject(
            f"file {path.name}",
            f"no patient id: {missing} and no patient_id or patient_ids option names one",
        )
    return local_id


def feature_rows(recording: EcgRecording, ours: EcgFeatures) -> list[dict[str, Any]]:
    """``ecg_feature`` rows: ours, then the device's, in the order of the LOINC table."""
    rows = []
    for name in OUR_FEATURES:
        value = ours[name]
        if value is None:
            continue
        code = FEATURES[name]
        row = measurement("LOINC", code.loinc, code.label, round(value, 1), code.unit, "eng")
        row.update(feature=name, method="cardiofabric", date=recording.recorded_at)
        rows.append(row)
    for dev in recording.device:
        code = FEATURES[dev.feature]
        row = measurement("LOINC", code.loinc, code.label, dev.value, code.unit, "eng")
        # Keep the file's own coding beside the harmonised one.
        row.update(
            source_code_system=dev.source_system,
            source_code=dev.source_code,
            source_label=dev.source_label,
            source_value=dev.source_value,
            source_unit=dev.source_unit,
            feature=dev.feature,
            method="device",
            date=recording.recorded_at,
        )
        rows.append(row)
    return rows


def _signal_payloads(recording: EcgRecording, ours: EcgFeatures) -> list[PayloadSpec]:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(recording.signal, dtype="<f4"), allow_pickle=False)
    description = {
        "encoding-type": SIGNAL_ENCODING[0],
        "encoding-version": SIGNAL_ENCODING[1],
        "source_format": recording.source_format,
        "sampling_rate_hz": recording.sampling_rate_hz,
        "leads": list(recording.leads),
        "units": "mV",
        "array": {"dtype": "<f4", "shape": list(recording.signal.shape), "axes": "leads,samples"},
        "fiducials": {
            "cardiofabric": [b.as_dict() for b in ours.beats],
            "device": recording.device_beats,
        },
        "device_statements": recording.device_statements,
    }
    text = json.dumps(description, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return [
        PayloadSpec(buf.getvalue(), "application/x-npy", role="signal"),
        PayloadSpec(text.encode("utf-8"), "application/json", role="derived"),
    ]


def ecg_record(
    recording: EcgRecording,
    local_id: str,
    *,
    media_type: str,
    extra_payloads: Sequence[PayloadSpec] = (),
    features: EcgFeatures | None = None,
) -> ModalityRecord:
    """The ``ecg`` modality record of a recording: payloads and ``ecg_feature`` rows."""
    ours = features or measure(recording.signal, recording.sampling_rate_hz, recording.leads)
    return ModalityRecord(
        local_id=local_id,
        kind=ModalityKind.ECG,
        media_type=media_type,
        content={"ecg_feature": feature_rows(recording, ours)},
        payloads=[*extra_payloads, *_signal_payloads(recording, ours)],
        time=recording.recorded_at,
    )


def read_each(
    path: Path,
    suffixes: tuple[str, ...],
    ctx: SourceContext,
    read_one: Callable[[Path], Iterator[ModalityRecord]],
    what: str,
) -> Iterator[ModalityRecord]:
    """Read one file, or every file with one of ``suffixes`` under a folder.

    Each file is one record (counted as read). A single file that cannot be read raises
    :class:`InputError` (the whole source is unreadable); in a folder, such a file is reported
    as a rejection and the others are read.
    """
    if not path.exists():
        raise InputError(f"no such {what} file or folder", path=path)
    if not path.is_dir():
        ctx.count_read()
        yield from read_one(path)
        return
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise InputError(
            f"the folder holds no {what} files ({', '.join(suffixes)})",
            path=path,
            hint=f"point the source at a {what} file or a folder of them",
        )
    for file in files:
        ctx.count_read()
        try:
            yield from read_one(file)
        except InputError as exc:
            ctx.reject(f"file {file.relative_to(path).as_posix()}", exc.message)
