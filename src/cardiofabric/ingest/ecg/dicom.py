"""DICOM ECG waveforms (12-Lead ECG, General ECG, Ambulatory ECG Waveform Storage).

Read with pydicom; references are to DICOM PS3.3 (2024 editions):

- **Signal**: the Waveform Sequence (5400,0100) holds one or more multiplex groups
  (C.10.9). We take the longest group that is not a median/representative beat (the rhythm
  strip), decoded by ``Dataset.waveform_array`` which applies Channel Sensitivity (003A,0210),
  its Correction Factor (003A,0212) and Channel Baseline (003A,0213); the unit is that of
  Channel Sensitivity Units Sequence (003A,0211) (UCUM ``uV`` in practice; assumed when absent).
  Lead names come from the Channel Source Sequence (003A,0208) code meaning ("Lead I
  (Einthoven)"), else Channel Label (003A,0203).
- **The device's measurements**: Waveform Annotation Sequence (0040,B020) items (C.10.10) with
  a Concept Name Code Sequence (0040,A043), a Numeric Value (0040,A30A) and Measurement Units
  Code Sequence (0040,08EA). Concepts are recognised by SCP-ECG code (EN 1064, the coding scheme
  carts use, e.g. ``5.13.5-7`` PR Interval) or, for other schemes, by their meaning.
- **The device's fiducial points**: annotations with Referenced Sample Positions (0040,A132)
  (1-based, C.10.10.1.2), grouped per beat by Annotation Group Number (0040,A180). Carts also
  annotate their median beat in a group of its own; the beats are the longest run of
  consecutive group numbers (e.g. Mortara: group 2 is the median beat, 100… the beats).
- **Patient**: Patient ID (0010,0020). **Time**: Acquisition DateTime (0008,002A), else
  Content Date/Time (0008,0023)/(0008,0033), else Study Date/Time.

The file itself is kept as a payload after de-identification (:mod:`.deid`, the Basic
Application Level Confidentiality Profile of DICOM PS3.15 Annex E).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, register
from cardiofabric.ingest.ecg.deid import deidentify, dicom_bytes
from cardiofabric.ingest.ecg.features import canonical_lead
from cardiofabric.ingest.ecg.record import (
    DeviceMeasurement,
    EcgRecording,
    ecg_record,
    local_id_or_reject,
    read_each,
    to_millivolts,
)
from cardiofabric.mmio.container import PayloadSpec

__all__ = [
    "DEVICE_CONCEPTS",
    "ECG_SOP_CLASSES",
    "FIDUCIAL_CONCEPTS",
    "DicomEcgAdapter",
    "read_dicom_ecg",
]

#: Waveform SOP classes holding ECGs (PS3.4 Annex B.5).
ECG_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.9.1.1": "12-lead ECG Waveform Storage",
    "1.2.840.10008.5.1.4.1.1.9.1.2": "General ECG Waveform Storage",
    "1.2.840.10008.5.1.4.1.1.9.1.3": "Ambulatory ECG Waveform Storage",
    "1.2.840.10008.5.1.4.1.1.9.1.4": "General 32-bit ECG Waveform Storage",
}

#: Feature → the SCP-ECG (EN 1064) concept carts use for the device's global measurement.
DEVICE_CONCEPTS: dict[str, tuple[str, str]] = {
    "rr": ("5.10.2.1-3", "RR Interval"),
    "pr": ("5.13.5-7", "PR Interval"),
    "qrs": ("5.13.5-9", "QRS Duration"),
    "qt": ("5.13.5-11", "QT Interval"),
    "qtc": ("5.10.2.5-5", "QTc Interval"),
    "p_axis": ("5.10.3-11", "P Axis"),
    "qrs_axis": ("5.10.3-13", "QRS Axis"),
    "t_axis": ("5.10.3-15", "T Axis"),
}

#: Fiducial point name → SCP-ECG concept ("Fiducial Point" is the beat's QRS reference point).
FIDUCIAL_CONCEPTS: dict[str, tuple[str, str]] = {
    "p_on": ("5.10.3-1", "P Onset"),
    "p_off": ("5.10.3-2", "P Offset"),
    "qrs_on": ("5.10.3-3", "QRS Onset"),
    "r": ("5.7.1-3", "Fiducial Point"),
    "qrs_off": ("5.10.3-4", "QRS Offset"),
    "t_off": ("5.10.3-5", "T Offset"),
}

_BY_CODE = {code: name for name, (code, _) in DEVICE_CONCEPTS.items()}
_FIDUCIAL_BY_CODE = {code: name for name, (code, _) in FIDUCIAL_CONCEPTS.items()}
# Other coding schemes (MDC, vendor codes): recognised by the concept's meaning.
_BY_MEANING = {
    "rrinterval": "rr",
    "printerval": "pr",
    "qrsduration": "qrs",
    "qtinterval": "qt",
    "qtcinterval": "qtc",
    "qtc": "qtc",
    "qtcbazett": "qtc_bazett",
    "qtcfridericia": "qtc_fridericia",
    "paxis": "p_axis",
    "qrsaxis": "qrs_axis",
    "taxis": "t_axis",
    "heartrate": "heart_rate",
    "ventricularrate": "heart_rate",
    "ventricularheartrate": "heart_rate",
}
_FIDUCIAL_BY_MEANING = {
    re.sub(r"[^a-z]", "", meaning.lower()): name for name, (_, meaning) in FIDUCIAL_CONCEPTS.items()
}
# Unit spellings → (canonical unit, factor).
_UNITS = {
    "ms": ("ms", 1.0),
    "s": ("ms", 1000.0),
    "deg": ("deg", 1.0),
    "°": ("deg", 1.0),
    "/min": ("/min", 1.0),
    "bpm": ("/min", 1.0),
    "{beats}/min": ("/min", 1.0),
    "{h.b.}/min": ("/min", 1.0),
}
_MEDIAN_LABELS = ("MEDIAN", "REPRESENTATIVE", "AVERAGE")


def _pydicom() -> Any:
    try:
        import pydicom
    except ImportError:
        raise MissingDependencyError("pydicom", "ingest", "reading DICOM ECG waveforms") from None
    return pydicom


def _meaning_key(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _concept(
    scheme: str | None,
    code: str | None,
    meaning: str | None,
    by_code: dict[str, str],
    by_meaning: dict[str, str],
) -> str | None:
    """Our name for a coded concept: by SCP-ECG code, else by its meaning."""
    if scheme == "SCPECG" and code in by_code:
        return by_code[code]
    return by_meaning.get(_meaning_key(meaning or ""))


def _iso(date: str | None, time: str | None = None) -> str | None:
    """ISO 8601 from DICOM DA/TM or DT text (fraction and UTC offset not applied)."""
    d = re.sub(r"\D", "", date or "")
    if len(d) < 8:
        return None
    t = re.sub(r"\D", "", (time or "") if len(d) == 8 else d[8:])[:6].ljust(6, "0")
    return f"{d[:4]}-{d[4:6]}-{d[6:8]}T{t[:2]}:{t[2:4]}:{t[4:6]}"


def _recorded_at(ds: Any) -> str | None:
    dt = str(ds.get("AcquisitionDateTime", "") or "")
    if dt:
        return _iso(dt.split(".")[0].split("+")[0].split("-")[0])
    for d, t in (("ContentDate", "ContentTime"), ("StudyDate", "StudyTime")):
        value = _iso(str(ds.get(d, "") or ""), str(ds.get(t, "") or ""))
        if value:
            return value
    return None


def _pick_group(ds: Any) -> int:
    """The rhythm strip: the longest multiplex group not labelled as a median beat."""
    best, best_len = -1, -1.0
    for i, group in enumerate(ds.WaveformSequence):
        label = str(group.get("MultiplexGroupLabel", "") or "").upper()
        fs = float(group.get("SamplingFrequency", 0) or 0)
        n = int(group.get("NumberOfWaveformSamples", 0) or 0)
        duration = n / fs if fs > 0 else 0.0
        if any(word in label for word in _MEDIAN_LABELS):
            duration /= 1000.0  # only if nothing else is there
        if duration > best_len:
            best, best_len = i, duration
    return best


def _code(item: Any) -> tuple[str | None, str | None, str | None]:
    seq = item.get("ConceptNameCodeSequence")
    if not seq:
        return None, None, None
    c = seq[0]
    return (
        str(c.get("CodingSchemeDesignator", "") or "") or None,
        str(c.get("CodeValue", "") or "") or None,
        str(c.get("CodeMeaning", "") or "") or None,
    )


def _annotations(
    ds: Any, group_number: int
) -> tuple[list[DeviceMeasurement], list[dict[str, int]], list[str]]:
    measurements: list[DeviceMeasurement] = []
    points: dict[int, dict[str, int]] = {}
    statements: list[str] = []
    for item in ds.get("WaveformAnnotationSequence", []) or []:
        channels = list(item.get("ReferencedWaveformChannels", []) or [])
        if channels and int(channels[0]) != group_number:
            continue
        text = item.get("UnformattedTextValue")
        if text:
            statements.append(str(text))
            continue
        scheme, code, meaning = _code(item)
        if item.get("NumericValue") is not None:
            feature = _concept(scheme, code, meaning, _BY_CODE, _BY_MEANING)
            units = item.get("MeasurementUnitsCodeSequence")
            unit = str(units[0].get("CodeValue", "")) if units else None
            canonical = _UNITS.get((unit or "").strip().lower())
            if feature is None or canonical is None:
                continue  # a measurement we do not harmonise (e.g. the PP interval)
            raw = str(item.NumericValue)
            try:
                value = float(raw) * canonical[1]
            except ValueError:
                continue
            measurements.append(DeviceMeasurement(feature, value, raw, unit, scheme, code, meaning))
        elif item.get("ReferencedSamplePositions") is not None:
            name = _concept(scheme, code, meaning, _FIDUCIAL_BY_CODE, _FIDUCIAL_BY_MEANING)
            if name is None:
                continue
            positions = item.ReferencedSamplePositions
            first = positions if isinstance(positions, int) else positions[0]
            group = int(item.get("AnnotationGroupNumber", 0) or 0)
            # Referenced Sample Positions count from 1 (PS3.3 C.10.10.1.2); ours from 0.
            points.setdefault(group, {})[name] = int(first) - 1
    return measurements, _beats(points), statements


def _beats(points: dict[int, dict[str, int]]) -> list[dict[str, int]]:
    """Per-beat fiducials: the longest run of consecutive annotation groups with an R point."""
    groups = sorted(g for g, p in points.items() if "r" in p)
    if not groups:
        return []
    runs: list[list[int]] = [[groups[0]]]
    for g in groups[1:]:
        if g == runs[-1][-1] + 1:
            runs[-1].append(g)
        else:
            runs.append([g])
    longest = max(runs, key=len)
    if len(longest) == 1 and len(groups) > 1:
        longest = groups
    return [points[g] for g in longest]


def _read(path: Path) -> tuple[EcgRecording, Any]:
    pydicom = _pydicom()
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError:
        raise InputError(
            "not a DICOM file (no 'DICM' prefix after the 128-byte preamble)",
            path=path,
            hint="export the ECG as a DICOM Part 10 file (12-lead ECG Waveform Storage)",
        ) from None
    except (OSError, EOFError, ValueError, KeyError) as exc:
        raise InputError(
            f"the DICOM file is damaged or truncated ({exc})",
            path=path,
            hint="export the ECG from the ECG management system again",
        ) from None
    sop = str(ds.get("SOPClassUID", ""))
    if "WaveformSequence" not in ds or not ds.WaveformSequence:
        raise InputError(
            f"no (5400,0100) Waveform Sequence: expected a DICOM ECG waveform, found "
            f"{ECG_SOP_CLASSES.get(sop, 'SOP class ' + (sop or 'unknown'))}",
            path=path,
            hint="give a 12-lead ECG Waveform Storage object (1.2.840.10008.5.1.4.1.1.9.1.1)",
        )
    index = _pick_group(ds)
    group = ds.WaveformSequence[index]
    try:
        samples = np.asarray(ds.waveform_array(index), dtype=np.float64)  # samples × channels
        channels = list(group.ChannelDefinitionSequence)
        fs = float(group.SamplingFrequency)
    except Exception as exc:  # pydicom raises several kinds on inconsistent waveform data
        raise InputError(
            f"the (5400,0100) Waveform Sequence item {index + 1} cannot be decoded "
            f"({type(exc).__name__}: {exc})",
            path=path,
        ) from None
    leads, factors = [], []
    for n, ch in enumerate(channels, start=1):
        source = ch.get("ChannelSourceSequence")
        label = str(source[0].get("CodeMeaning", "")) if source else ""
        label = label or str(ch.get("ChannelLabel", "") or "") or f"channel {n}"
        leads.append(canonical_lead(label) or label)
        units = ch.get("ChannelSensitivityUnitsSequence")
        unit = str(units[0].get("CodeValue", "")) if units else "uV"
        factor = to_millivolts(unit)
        if factor is None:
            raise InputError(
                f"channel {n} ({label}): unexpected (003A,0211) Channel Sensitivity Units "
                f"{unit!r}; expected a voltage (uV, mV)",
                path=path,
            )
        factors.append(factor)
    if samples.ndim != 2 or samples.shape[1] != len(leads):
        raise InputError(
            f"waveform data of shape {samples.shape} does not match {len(leads)} channels",
            path=path,
        )
    measurements, beats, statements = _annotations(ds, index + 1)
    recording = EcgRecording(
        signal=samples.T * np.asarray(factors)[:, None],
        sampling_rate_hz=fs,
        leads=tuple(leads),
        source_format="dicom-ecg",
        patient_id=str(ds.get("PatientID", "") or "") or None,
        recorded_at=_recorded_at(ds),
        device=measurements,
        device_beats=beats,
        device_statements=statements,
    )
    return recording, ds


def read_dicom_ecg(path: Path) -> EcgRecording:
    """The ECG of a DICOM waveform file, with the device's measurements and fiducials."""
    return _read(Path(path))[0]


@register("dicom-ecg")
class DicomEcgAdapter:
    """DICOM ECG waveform files (one record each), or a folder of them."""

    format = "dicom-ecg"
    version = "1"

    def read(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        suffixes = (".dcm", ".dicom", "")  # DICOM files often have no extension
        yield from read_each(path, suffixes, ctx, lambda p: self._one(p, ctx), "DICOM ECG")

    def _one(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        recording, ds = _read(path)
        local_id = local_id_or_reject(
            path, ctx, recording.patient_id, "(0010,0020) Patient ID is empty"
        )
        if local_id is None:
            return
        kept = dicom_bytes(deidentify(ds, salt=f"{ctx.site}:{local_id}"))
        yield ecg_record(
            recording,
            local_id,
            media_type="application/dicom",
            extra_payloads=[PayloadSpec(kept, "application/dicom", role="source")],
        )
