"""Write a patient's resting 12-lead ECG the way the site's recorder keeps it.

Formats, each written with its own library: DICOM 12-Lead ECG Waveform Storage (pydicom),
WFDB (``wfdb.wrsamp``) and EDF+ (pyedflib). Ten seconds at 500 Hz.

The signal is the Gaussian wave model of ECGSYN (McSharry et al., IEEE TBME 2003;50:289-94:
each of the P, Q, R, S and T waves a Gaussian in time around its beat's R peak), projected
onto the twelve lead vectors from one heart dipole per wave (Einthoven's triangle for the limb
leads, Goldberger's augmented leads, and unit vectors in the transverse plane for V1–V6), so
that the leads agree with each other as real ones do (III = II − I) and the electrical axes are
known. neurokit2 adds the recording's noise (``signal_distort``: Laplace noise, 50 Hz
interference) and a respiratory baseline wander to the recorded leads I, II and V1–V6; III,
aVR, aVL and aVF are then derived from I and II, as a cart derives them.

Why not ``neurokit2.ecg_simulate(method="multileads")``: its twelve leads are one ECGSYN model
scaled per lead and each rescaled to a fixed range, so they do not obey Einthoven's law and
lead II's QRS is smaller than its T wave; its ODE integration also steps over narrow waves
(baseline jumps, beat-to-beat QRS heights varying by a third). Neither our delineation nor a
device's finds the intervals on it, and its QT cannot be set. Here the wave times are set from
the patient's truth, so the written ECG has:

- the patient's heart rate (a 2 % respiratory sinus arrhythmia around it);
- the patient's PR interval and QRS duration;
- per beat, QT = QTc·√RR (Bazett) with the RR preceding the beat, so that the QTc measured on the
  written signal tracks the patient's QTc;
- P, QRS and T axes drawn per patient (QRS N(45°, 25°)), written as the device's measurements.

The timing constants (where a measured onset or end falls relative to a Gaussian's centre)
were calibrated once against :func:`cardiofabric.ingest.ecg.features.measure`.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.ingest.ecg.features import STANDARD_LEADS
from cardiofabric.pathfinder.cohort import SimPatient

__all__ = ["DURATION_S", "FORMATS", "SAMPLING_RATE_HZ", "SimulatedEcg", "simulate_ecg", "write_ecg"]

SAMPLING_RATE_HZ = 500
DURATION_S = 10.0
FORMATS = ("dicom-ecg", "wfdb", "edf")

FloatArray = npt.NDArray[np.float64]

# Calibration against our delineation (see the module docstring), for a QRS whose width
# parameter D is the QRS duration: the measured QRS onset lies _QRS_ON·D before the R peak (and
# the offset 0.64·D after it); P onset lies _K_P·σ_P before the P wave's centre and T end
# _K_T·σ_T after the T wave's centre.
_QRS_ON = 0.36
_K_P = 2.28
_K_T = 2.15
_SIGMA_P = 0.022  # s: a P wave of about 100 ms
_SIGMA_T = 0.048  # s


@dataclass(frozen=True)
class SimulatedEcg:
    """A simulated recording (``leads × samples``, mV) and the truth it was written from."""

    signal: FloatArray
    sampling_rate_hz: float
    leads: tuple[str, ...]
    r_peaks: tuple[int, ...]
    truth: dict[str, float]
    recorded_at: datetime


def _rng(patient: SimPatient, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(patient.local_id.encode())])


def _frontal(angle_deg: float, magnitude: float, z: float) -> FloatArray:
    a = math.radians(angle_deg)
    return np.array([magnitude * math.cos(a), magnitude * math.sin(a), z])


def _lead_matrix() -> FloatArray:
    """Lead vectors (x left, y inferior, z anterior) of the 12 leads, in STANDARD_LEADS order."""

    def electrode(deg: float) -> FloatArray:
        # Einthoven's equilateral triangle; 1/√3 makes lead I equal the dipole's x component.
        a = math.radians(deg)
        return np.array([math.cos(a), math.sin(a), 0.0]) / math.sqrt(3.0)

    ra, la, ll = electrode(-150.0), electrode(-30.0), electrode(90.0)
    limb = [
        la - ra,  # I
        ll - ra,  # II
        ll - la,  # III
        ra - (la + ll) / 2,  # aVR (Goldberger)
        la - (ra + ll) / 2,  # aVL
        ll - (ra + la) / 2,  # aVF
    ]
    # Precordial leads around the chest from right-anterior (V1) to left-lateral (V6).
    chest = [
        np.array([math.cos(math.radians(d)), 0.1, math.sin(math.radians(d))])
        for d in (115.0, 95.0, 75.0, 55.0, 30.0, 5.0)
    ]
    return np.array(limb + chest)


def simulate_ecg(
    patient: SimPatient,
    *,
    seed: int,
    sampling_rate_hz: int = SAMPLING_RATE_HZ,
    duration_s: float = DURATION_S,
    noise_mv: float = 0.01,
) -> SimulatedEcg:
    """The patient's 12-lead ECG (deterministic by ``seed`` and the patient's local id)."""
    rng = _rng(patient, seed)
    fs = float(sampling_rate_hz)
    n = round(duration_s * fs)
    t = np.arange(n) / fs
    rr_mean = 60.0 / patient.heart_rate
    width = patient.qrs / 1000.0
    qrs_on = -_QRS_ON * width
    pr = patient.pr / 1000.0
    qtc = patient.qtc / 1000.0
    # The P wave ends at least 30 ms before the QRS (a PR segment), narrower for a short PR.
    sigma_p = max(0.005, min(_SIGMA_P, (pr - 0.03) / (2 * _K_P)))

    # Beats: a random phase at the start, then RR with a 2 % respiratory sinus arrhythmia.
    phase = float(rng.uniform(0.0, 2 * math.pi))
    beats: list[tuple[float, float]] = []  # (R time, preceding RR)
    r_time, prev_rr = -float(rng.uniform(0.3, 1.0)) * rr_mean, rr_mean
    while r_time < duration_s + rr_mean:
        beats.append((r_time, prev_rr))
        rr = rr_mean * (1 + 0.02 * math.sin(2 * math.pi * 0.25 * r_time + phase))
        rr *= 1 + float(rng.normal(0.0, 0.003))
        r_time, prev_rr = r_time + rr, rr

    # One dipole per wave (mV): axes drawn per patient, magnitudes around textbook values.
    qrs_axis = float(np.clip(rng.normal(45.0, 25.0), -30.0, 100.0))
    p_axis = float(np.clip(rng.normal(55.0, 12.0), 0.0, 85.0))
    t_axis = float(np.clip(qrs_axis + rng.normal(0.0, 12.0), -20.0, 90.0))
    size = float(rng.uniform(0.8, 1.25))
    waves = {
        "P": (_frontal(p_axis, 0.16 * size, 0.03), sigma_p),
        "Q": (_frontal(qrs_axis + 150.0, 0.12 * size, 0.15), 0.09 * width),
        "R": (_frontal(qrs_axis, 1.4 * size, -0.35), 0.10 * width),
        "S": (_frontal(qrs_axis + 170.0, 0.25 * size, -0.6), 0.09 * width),
        "T": (_frontal(t_axis, 0.38 * size, 0.2), _SIGMA_T),
    }
    offsets = {"P": qrs_on - pr + _K_P * sigma_p, "Q": -0.3 * width, "R": 0.0, "S": 0.3 * width}
    leads = _lead_matrix()
    signal = np.zeros((len(STANDARD_LEADS), n))
    r_peaks = []
    for r, rr_prev in beats:
        qt = qtc * math.sqrt(rr_prev)  # Bazett, per beat
        for name, (vector, sigma) in waves.items():
            centre = r + (offsets[name] if name != "T" else qrs_on + qt - _K_T * _SIGMA_T)
            lo, hi = np.searchsorted(t, [centre - 5 * sigma, centre + 5 * sigma])
            if hi <= lo:
                continue
            shape = np.exp(-0.5 * ((t[lo:hi] - centre) / sigma) ** 2)
            signal[:, lo:hi] += np.outer(leads @ vector, shape)
        if 0.0 <= r < duration_s:
            r_peaks.append(round(r * fs))

    signal = _add_noise(signal, fs, rng, noise_mv)
    qrs_vec = sum((waves[w][0] * waves[w][1] for w in ("Q", "R", "S")), start=np.zeros(3))
    truth = {
        "heart_rate": patient.heart_rate,
        "rr": rr_mean * 1000.0,
        "pr": patient.pr,
        "qrs": patient.qrs,
        "qt": patient.qt,
        "qtc_bazett": patient.qtc,
        "p_axis": p_axis,
        "qrs_axis": math.degrees(math.atan2(float(qrs_vec[1]), float(qrs_vec[0]))),
        "t_axis": t_axis,
    }
    day = datetime.fromisoformat(patient.index_date)
    recorded = day.replace(hour=8 + int(rng.integers(0, 9)), minute=int(rng.integers(0, 60)))
    return SimulatedEcg(signal, fs, STANDARD_LEADS, tuple(r_peaks), truth, recorded)


def _add_noise(
    signal: FloatArray, fs: float, rng: np.random.Generator, noise_mv: float
) -> FloatArray:
    """Noise on the recorded leads I, II and V1–V6; III, aVR, aVL and aVF derived from I and II
    afterwards (Einthoven's law, Goldberger's leads), as a cart derives them."""
    if noise_mv <= 0:
        return signal
    try:
        import neurokit2 as nk  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependencyError("neurokit2", "ingest", "ECG simulation") from None
    t = np.arange(signal.shape[1]) / fs
    out = signal.copy()
    for i, lead in enumerate(STANDARD_LEADS):
        if lead in ("III", "aVR", "aVL", "aVF"):
            continue
        # Respiratory baseline wander, then neurokit2's Laplace noise and mains interference.
        wander = 0.04 * math.sin(float(rng.uniform(0, 2 * math.pi))) + 0.05 * np.sin(
            2 * math.pi * float(rng.uniform(0.15, 0.3)) * t + float(rng.uniform(0, 2 * math.pi))
        )
        out[i] = np.asarray(
            nk.signal_distort(
                signal[i] + wander,
                sampling_rate=int(fs),
                noise_shape="laplace",
                noise_amplitude=noise_mv,
                noise_frequency=[5, 10, 100],
                powerline_amplitude=noise_mv / 4,
                powerline_frequency=50,
                random_state=int(rng.integers(0, 2**31 - 1)),
                silent=True,
            ),
            dtype=np.float64,
        )
    lead_i, lead_ii = out[0], out[1]
    out[2] = lead_ii - lead_i  # III
    out[3] = -(lead_i + lead_ii) / 2  # aVR
    out[4] = lead_i - lead_ii / 2  # aVL
    out[5] = lead_ii - lead_i / 2  # aVF
    return out


def write_ecg(patient: SimPatient, directory: Path, fmt: str, *, seed: int) -> list[Path]:
    """Write the patient's ECG into ``directory`` as ``fmt``; returns the files written."""
    if fmt not in FORMATS:
        raise InputError(f"unknown ECG format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    directory.mkdir(parents=True, exist_ok=True)
    ecg = simulate_ecg(patient, seed=seed)
    if fmt == "dicom-ecg":
        return [_write_dicom(patient, ecg, directory / f"{patient.local_id}.dcm", seed=seed)]
    if fmt == "wfdb":
        return _write_wfdb(patient, ecg, directory)
    return [_write_edf(patient, ecg, directory / f"{patient.local_id}.edf")]


def _write_wfdb(patient: SimPatient, ecg: SimulatedEcg, directory: Path) -> list[Path]:
    try:
        import wfdb  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependencyError("wfdb", "ingest", "writing WFDB records") from None
    name = patient.local_id
    wfdb.wrsamp(
        name,
        fs=ecg.sampling_rate_hz,
        units=["mV"] * len(ecg.leads),
        sig_name=list(ecg.leads),
        p_signal=ecg.signal.T,
        fmt=["16"] * len(ecg.leads),
        # WFDB has no patient field: the convention is "<key>: <value>" comment lines.
        comments=[f"patient_id: {patient.local_id}", f"sex: {patient.sex}"],
        base_date=ecg.recorded_at.date(),
        base_time=ecg.recorded_at.time(),
        write_dir=str(directory),
    )
    return [directory / f"{name}.hea", directory / f"{name}.dat"]


def _write_edf(patient: SimPatient, ecg: SimulatedEcg, path: Path) -> Path:
    try:
        import pyedflib
    except ImportError:
        raise MissingDependencyError("pyedflib", "ingest", "writing EDF files") from None
    microvolts = ecg.signal * 1000.0
    headers: list[dict[str, str | int | float | None]] = []
    for lead, row in zip(ecg.leads, microvolts, strict=True):
        limit = float(math.ceil(np.max(np.abs(row)) / 100.0) * 100.0 + 100.0)
        headers.append(
            {
                # EDF+ (Kemp & Olivan 2003) standard texts: "ECG <lead>", physical dimension uV.
                "label": f"ECG {lead}",
                "dimension": "uV",
                "sample_frequency": ecg.sampling_rate_hz,
                "physical_min": -limit,
                "physical_max": limit,
                "digital_min": -32768,
                "digital_max": 32767,
                "transducer": "AgAgCl electrode",
                "prefilter": "",
            }
        )
    tmp = path.with_name(f".{path.name}.tmp")
    writer = pyedflib.EdfWriter(str(tmp), len(ecg.leads), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setSignalHeaders(headers)
        # EDF+ local patient identification: code, sex, birthdate, name (section 2.1.3.3).
        writer.setPatientCode(patient.local_id)
        writer.setSex(1 if patient.sex == "male" else 0)
        writer.setStartdatetime(ecg.recorded_at)
        writer.writeSamples(list(microvolts))
    finally:
        writer.close()
    tmp.replace(path)
    return path


def _code_item(value: str, scheme: str, meaning: str, version: str | None = None) -> Any:
    from pydicom.dataset import Dataset

    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    if version:
        item.CodingSchemeVersion = version
    item.CodeMeaning = meaning
    return item


# SCP-ECG (EN 1064) lead codes 5.6.3-9-<n>, as carts write them in Channel Source Sequence
# (003A,0208); n is the SCP-ECG lead number (1 I, 2 II, 3–8 V1–V6, 61 III, 62–64 aVR–aVF).
_SCPECG_LEADS = {
    "I": (1, "Lead I (Einthoven)"),
    "II": (2, "Lead II"),
    "III": (61, "Lead III"),
    "aVR": (62, "Lead aVR"),
    "aVL": (63, "Lead aVL"),
    "aVF": (64, "Lead aVF"),
    **{f"V{i}": (2 + i, f"Lead V{i}") for i in range(1, 7)},
}
_SENSITIVITY_UV = 1.0  # µV per stored integer


def _write_dicom(patient: SimPatient, ecg: SimulatedEcg, path: Path, *, seed: int) -> Path:
    """A DICOM 12-Lead ECG Waveform Storage object (PS3.3 A.34.3), as a cart writes it."""
    try:
        import pydicom
        from pydicom.dataset import Dataset, FileMetaDataset
        from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid
    except ImportError:
        raise MissingDependencyError("pydicom", "ingest", "writing DICOM ECGs") from None
    from cardiofabric.ingest.ecg.dicom import DEVICE_CONCEPTS, FIDUCIAL_CONCEPTS

    sop_class = UID("1.2.840.10008.5.1.4.1.1.9.1.1")  # 12-lead ECG Waveform Storage

    def uid(kind: str) -> UID:
        return generate_uid(entropy_srcs=[patient.local_id, str(seed), kind])

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid("instance")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    when = ecg.recorded_at
    date, time = when.strftime("%Y%m%d"), when.strftime("%H%M%S")
    # Patient (C.7.1.1), General Study (C.7.2.1), Series (C.7.3.1), Equipment (C.7.5.1).
    ds.PatientName = ""
    ds.PatientID = patient.local_id
    ds.PatientBirthDate = ""
    ds.PatientSex = "M" if patient.sex == "male" else "F"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid("study"), uid("series")
    ds.StudyDate, ds.StudyTime, ds.StudyID = date, time, ""
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.Modality = "ECG"
    ds.SeriesNumber = 1
    ds.Manufacturer = "CardioFabric Pathfinder (synthetic)"
    # Waveform Identification (C.10.8) and Acquisition Context (C.7.6.14, Type 2: empty).
    ds.InstanceNumber = 1
    ds.ContentDate, ds.ContentTime = date, time
    ds.AcquisitionDateTime = date + time
    ds.AcquisitionContextSequence = []
    # Waveform (C.10.9): one multiplex group, the rhythm strip, signed 16-bit samples.
    group = Dataset()
    group.MultiplexGroupTimeOffset = "0"
    group.WaveformOriginality = "ORIGINAL"
    group.NumberOfWaveformChannels = len(ecg.leads)
    group.NumberOfWaveformSamples = ecg.signal.shape[1]
    group.SamplingFrequency = str(ecg.sampling_rate_hz)
    group.MultiplexGroupLabel = "RHYTHM"
    channels = []
    for lead in ecg.leads:
        number, meaning = _SCPECG_LEADS[lead]
        ch = Dataset()
        ch.ChannelSourceSequence = [_code_item(f"5.6.3-9-{number}", "SCPECG", meaning, "1.3")]
        ch.ChannelSensitivity = str(_SENSITIVITY_UV)
        ch.ChannelSensitivityUnitsSequence = [_code_item("uV", "UCUM", "microvolt", "1.4")]
        ch.ChannelSensitivityCorrectionFactor = "1"
        ch.ChannelBaseline = "0"
        ch.ChannelSampleSkew = "0"
        ch.WaveformBitsStored = 16
        channels.append(ch)
    group.ChannelDefinitionSequence = channels
    group.WaveformBitsAllocated = 16
    group.WaveformSampleInterpretation = "SS"
    counts = np.clip(np.round(ecg.signal * 1000.0 / _SENSITIVITY_UV), -32768, 32767)
    group.WaveformData = counts.T.astype("<i2").tobytes()  # samples interleaved by channel
    ds.WaveformSequence = [group]
    # Waveform Annotation (C.10.10): the device's measurements (group 1) and, per beat, its
    # R fiducial point (groups 100, 101, …), both referencing all channels of group 1.
    notes = []
    device = {
        "rr": ecg.truth["rr"],
        "pr": ecg.truth["pr"],
        "qrs": ecg.truth["qrs"],
        "qt": ecg.truth["qt"],
        "qtc": ecg.truth["qtc_bazett"],
        "p_axis": ecg.truth["p_axis"],
        "qrs_axis": ecg.truth["qrs_axis"],
        "t_axis": ecg.truth["t_axis"],
    }
    for feature, value in device.items():
        code, meaning = DEVICE_CONCEPTS[feature]
        unit = ("deg", "degrees") if feature.endswith("axis") else ("ms", "milliseconds")
        note = Dataset()
        note.MeasurementUnitsCodeSequence = [_code_item(*unit[:1], "UCUM", unit[1], "1.4")]
        note.ConceptNameCodeSequence = [_code_item(code, "SCPECG", meaning, "1.3")]
        note.ReferencedWaveformChannels = [1, 0]
        note.AnnotationGroupNumber = 1
        note.NumericValue = str(round(value))
        notes.append(note)
    code, meaning = FIDUCIAL_CONCEPTS["r"]
    for k, r in enumerate(ecg.r_peaks):
        note = Dataset()
        note.ConceptNameCodeSequence = [_code_item(code, "SCPECG", meaning, "1.3")]
        note.ReferencedWaveformChannels = [1, 0]
        note.TemporalRangeType = "POINT"
        note.ReferencedSamplePositions = r + 1  # 1-based (C.10.10.1.2)
        note.AnnotationGroupNumber = 100 + k
        notes.append(note)
    ds.WaveformAnnotationSequence = notes
    tmp = path.with_name(f".{path.name}.tmp")
    pydicom.dcmwrite(tmp, ds, enforce_file_format=True)
    tmp.replace(path)
    return path
