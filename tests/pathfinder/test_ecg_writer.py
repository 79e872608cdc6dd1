"""The Pathfinder ECG writers: each format through its adapter, and a QTc that tracks the truth."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import SourceContext, SourceReport, get_adapter
from cardiofabric.ingest.ecg import measure, read_dicom_ecg
from cardiofabric.pathfinder.cohort import SimPatient, simulate_network
from cardiofabric.pathfinder.writers.ecg import FORMATS, simulate_ecg, write_ecg


@pytest.fixture(scope="module")
def cohort() -> list[SimPatient]:
    return [p for ps in simulate_network(8, seed=3).values() for p in ps]


@pytest.fixture(scope="module")
def patient(cohort: list[SimPatient]) -> SimPatient:
    return cohort[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_writer_round_trips_through_its_adapter(
    fmt: str, patient: SimPatient, tmp_path: Path
) -> None:
    files = write_ecg(patient, tmp_path, fmt, seed=1)
    assert all(f.is_file() for f in files)
    report = SourceReport(str(files[0]), fmt)
    [rec] = get_adapter(fmt).read(files[0], SourceContext(site="t", report=report))
    assert report.read == 1 and not report.rejected
    assert rec.local_id == patient.local_id
    assert rec.time is not None and rec.time.startswith(patient.index_date)
    signal = next(p for p in rec.payloads if p.role == "signal")
    expected = simulate_ecg(patient, seed=1).signal
    stored = np.load(io.BytesIO(signal.data))
    assert stored.shape == (12, 5000)
    assert np.max(np.abs(stored - expected)) < 0.002  # 16-bit storage, ≤ 1 µV steps
    rows = rec.content["ecg_feature"]
    ours = {r["feature"]: r["value"] for r in rows if r["method"] == "cardiofabric"}
    assert ours["heart_rate"] == pytest.approx(patient.heart_rate, abs=2)
    assert ours["qtc_bazett"] == pytest.approx(patient.qtc, abs=20)
    assert ours["pr"] == pytest.approx(patient.pr, abs=25)
    device = {r["feature"]: r["value"] for r in rows if r["method"] == "device"}
    if fmt == "dicom-ecg":
        assert device["qt"] == round(patient.qt) and device["qtc"] == round(patient.qtc)
        assert device["pr"] == round(patient.pr) and device["qrs"] == round(patient.qrs)
        assert device["rr"] == round(60000 / patient.heart_rate)
    else:
        assert device == {}  # WFDB and EDF carry no device measurements


def test_dicom_is_a_12_lead_waveform_with_device_fiducials(
    patient: SimPatient, tmp_path: Path
) -> None:
    import pydicom

    [path] = write_ecg(patient, tmp_path, "dicom-ecg", seed=1)
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.9.1.1"
    assert ds.PatientID == patient.local_id and ds.Modality == "ECG"
    group = ds.WaveformSequence[0]
    assert (group.NumberOfWaveformChannels, group.SamplingFrequency) == (12, 500)
    rec = read_dicom_ecg(path)
    sim = simulate_ecg(patient, seed=1)
    assert [b["r"] for b in rec.device_beats] == list(sim.r_peaks)
    found = measure(rec.signal, rec.sampling_rate_hz, rec.leads)
    for r in found.r_peaks:  # every R peak we find is within 20 ms of the device's
        assert min(abs(r - d) for d in sim.r_peaks) * 2 <= 20


def test_writers_are_deterministic(patient: SimPatient, tmp_path: Path) -> None:
    for fmt in FORMATS:
        a = write_ecg(patient, tmp_path / "a", fmt, seed=9)
        b = write_ecg(patient, tmp_path / "b", fmt, seed=9)
        assert [f.read_bytes() for f in a] == [f.read_bytes() for f in b], fmt
    c = write_ecg(patient, tmp_path / "c", "edf", seed=10)
    assert c[0].read_bytes() != (tmp_path / "a" / c[0].name).read_bytes()


def test_simulated_leads_obey_einthoven_and_the_axes(patient: SimPatient) -> None:
    sim = simulate_ecg(patient, seed=2)  # with noise: the cart derives III and aV* from I, II
    lead_i, lead_ii, lead_iii = sim.signal[0], sim.signal[1], sim.signal[2]
    assert np.allclose(lead_iii, lead_ii - lead_i, atol=1e-9)
    assert np.allclose(sim.signal[5], lead_ii - lead_i / 2, atol=1e-9)  # aVF
    f = measure(sim.signal, sim.sampling_rate_hz, sim.leads)
    for axis in ("p_axis", "qrs_axis", "t_axis"):
        assert f[axis] == pytest.approx(sim.truth[axis], abs=10), axis


def test_unknown_format(patient: SimPatient, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown ECG format"):
        write_ecg(patient, tmp_path, "scp-ecg", seed=1)


def _qtc_agreement(patients: list[SimPatient], seed: int) -> tuple[float, float]:
    truth, measured = [], []
    for p in patients:
        sim = simulate_ecg(p, seed=seed)
        f = measure(sim.signal, sim.sampling_rate_hz, sim.leads)
        assert f["qtc_bazett"] is not None, p.local_id
        truth.append(p.qtc)
        measured.append(f["qtc_bazett"])
    r = float(np.corrcoef(truth, measured)[0, 1])
    mae = float(np.mean(np.abs(np.subtract(measured, truth))))
    return r, mae


def test_measured_qtc_tracks_the_truth(cohort: list[SimPatient]) -> None:
    # Ten patients across the QTc range of the cohort (every fourth by QTc).
    spread = sorted(cohort, key=lambda p: p.qtc)[::4][:10]
    r, mae = _qtc_agreement(spread, seed=4)
    assert r > 0.8, r
    assert mae < 10, mae


@pytest.mark.slow
def test_measured_qtc_tracks_the_truth_on_30_patients_through_the_files(
    cohort: list[SimPatient], tmp_path: Path
) -> None:
    truth, measured = [], []
    for i, p in enumerate(cohort[:30]):
        fmt = FORMATS[i % 3]
        files = write_ecg(p, tmp_path / fmt, fmt, seed=5)
        [rec] = get_adapter(fmt).read(files[0], SourceContext(site="t"))
        rows = rec.content["ecg_feature"]
        ours = {r["feature"]: r["value"] for r in rows if r["method"] == "cardiofabric"}
        truth.append(p.qtc)
        measured.append(ours["qtc_bazett"])
    r = float(np.corrcoef(truth, measured)[0, 1])
    mae = float(np.mean(np.abs(np.subtract(measured, truth))))
    assert r > 0.8, r
    assert mae < 10, mae
    assert not math.isnan(r)
