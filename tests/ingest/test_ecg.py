"""ECG adapters and our measurements, on pydicom's real 12-lead recording and on broken files.

``waveform_ecg.dcm`` (bundled with pydicom) is a Mortara ELI 250 resting ECG: 12 leads, 10 s at
1000 Hz, with the cart's measurements (RR 982, PR 161, QRS 75, QT 368, QTc 370 ms; P/QRS/T axes
74/52/57°) and its fiducial points for each of the 10 beats in the Waveform Annotation Sequence.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from typer.testing import CliRunner

from cardiofabric.cli.ecg import app
from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, SourceReport, get_adapter
from cardiofabric.ingest.ecg import (
    EcgFeatures,
    EcgRecording,
    canonical_lead,
    detect_format,
    measure,
    read_dicom_ecg,
    read_edf_ecg,
    read_wfdb_ecg,
)
from cardiofabric.ingest.ecg import record as ecg_record_module
from cardiofabric.ingest.ecg.record import SIGNAL_ENCODING
from cardiofabric.ingest.pipeline import build_objects, read_source

REAL = Path(get_testdata_file("waveform_ecg.dcm"))
DEVICE = {
    "rr": 982.0,
    "pr": 161.0,
    "qrs": 75.0,
    "qt": 368.0,
    "qtc": 370.0,
    "p_axis": 74.0,
    "qrs_axis": 52.0,
    "t_axis": 57.0,
}
# The cart's per-beat fiducial point (SCP-ECG 5.7.1-3), 1-based sample positions in the file.
DEVICE_R_1BASED = [527, 1526, 2507, 3489, 4485, 5468, 6442, 7444, 8417, 9370]


@pytest.fixture(scope="module")
def real() -> EcgRecording:
    return read_dicom_ecg(REAL)


@pytest.fixture(scope="module")
def ours(real: EcgRecording) -> EcgFeatures:
    return measure(real.signal, real.sampling_rate_hz, real.leads)


@pytest.fixture(scope="module")
def record() -> tuple[ModalityRecord, SourceReport]:
    report = SourceReport(str(REAL), "dicom-ecg")
    recs = list(get_adapter("dicom-ecg").read(REAL, SourceContext(site="t", report=report)))
    assert len(recs) == 1
    return recs[0], report


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch, ours: EcgFeatures) -> None:
    """Skip our delineation (measured once above) where a test is about something else."""
    monkeypatch.setattr(ecg_record_module, "measure", lambda *_: ours)


def ctx(**options: object) -> SourceContext:
    return SourceContext(site="t", options=dict(options), report=SourceReport("x", "x"))


# --------------------------------------------------------------------------------------------
# the real recording


def test_reads_the_real_dicom_signal(real: EcgRecording) -> None:
    assert real.leads == ("I", "II", "III", "aVR", "aVL", "aVF", *(f"V{i}" for i in range(1, 7)))
    assert real.sampling_rate_hz == 1000.0
    assert real.signal.shape == (12, 10000)
    # Channel Sensitivity 1.25 µV per count: the first sample of lead I is 80 counts = 0.1 mV.
    assert real.signal[0, 0] == pytest.approx(0.1)
    assert real.patient_id == "642341"
    assert real.recorded_at == "2013-01-25T10:59:19"
    # Einthoven's law holds in the recorded leads: III = II − I (to the 1.25 µV resolution).
    assert np.max(np.abs(real.signal[2] - (real.signal[1] - real.signal[0]))) < 0.01


def test_device_measurements_read_back_exactly(real: EcgRecording) -> None:
    assert {d.feature: d.value for d in real.device} == DEVICE
    pr = next(d for d in real.device if d.feature == "pr")
    assert (pr.source_system, pr.source_code, pr.source_label) == (
        "SCPECG",
        "5.13.5-7",
        "PR Interval",
    )
    assert (pr.source_value, pr.source_unit) == ("161", "ms")
    # The ten beats (annotation groups 100–109), not the median beat's group 2.
    assert [b["r"] + 1 for b in real.device_beats] == DEVICE_R_1BASED
    first = real.device_beats[0]
    assert (first["qrs_off"] - first["qrs_on"], first["t_off"] - first["qrs_on"]) == (75, 368)
    assert real.device_statements == ["RITMO SINUSALE", "ECG NORMALE"]


def test_our_features_agree_with_the_device(ours: EcgFeatures) -> None:
    assert ours.rhythm_lead == "II"
    assert ours["heart_rate"] == pytest.approx(60000 / 982, abs=3)
    assert ours["rr"] == pytest.approx(982, abs=10)
    assert ours["pr"] == pytest.approx(161, abs=20)
    assert ours["qrs"] == pytest.approx(75, abs=15)
    assert ours["qt"] == pytest.approx(368, abs=25)
    assert ours["qtc_bazett"] == pytest.approx(370, abs=30)
    assert ours["qtc_fridericia"] == pytest.approx(370, abs=30)
    assert ours["p_axis"] == pytest.approx(74, abs=15)
    assert ours["qrs_axis"] == pytest.approx(52, abs=15)
    assert ours["t_axis"] == pytest.approx(57, abs=15)


def test_every_r_peak_is_within_20_ms_of_the_devices(ours: EcgFeatures, real: EcgRecording) -> None:
    device = np.array([b["r"] for b in real.device_beats])
    ms = 1000.0 / real.sampling_rate_hz
    assert len(ours.r_peaks) == len(device)
    for r in ours.r_peaks:
        assert np.min(np.abs(device - r)) * ms <= 20


def test_features_are_robust_to_noise(real: EcgRecording) -> None:
    rng = np.random.default_rng(7)
    t = np.arange(real.signal.shape[1]) / real.sampling_rate_hz
    noisy = (
        real.signal
        + rng.normal(0, 0.02, real.signal.shape)  # 20 µV broadband noise
        + 0.05 * np.sin(2 * np.pi * 50 * t)  # mains interference
        + 0.2 * np.sin(2 * np.pi * 0.3 * t)  # respiratory baseline wander
    )
    f = measure(noisy, real.sampling_rate_hz, real.leads)
    assert f["heart_rate"] == pytest.approx(60000 / 982, abs=3)
    assert f["pr"] == pytest.approx(161, abs=20)
    assert f["qrs"] == pytest.approx(75, abs=15)
    assert f["qtc_bazett"] == pytest.approx(370, abs=30)


# --------------------------------------------------------------------------------------------
# the modality record


def test_record_rows_ours_beside_the_devices(record: tuple[ModalityRecord, SourceReport]) -> None:
    rec, report = record
    assert (rec.local_id, rec.kind.value, rec.time) == ("642341", "ecg", "2013-01-25T10:59:19")
    assert report.read == 1 and not report.rejected
    rows = rec.content["ecg_feature"]
    device = {r["feature"]: r for r in rows if r["method"] == "device"}
    mine = {r["feature"]: r for r in rows if r["method"] == "cardiofabric"}
    assert {k: r["value"] for k, r in device.items()} == DEVICE
    assert device["qt"]["code"] == mine["qt"]["code"] == "8634-8"
    assert device["qtc"]["code"] == "8636-3"  # the file does not say the formula
    assert (mine["qtc_bazett"]["code"], mine["qtc_fridericia"]["code"]) == ("76635-2", "76634-5")
    assert (device["pr"]["source_code_system"], device["pr"]["source_code"]) == (
        "SCPECG",
        "5.13.5-7",
    )
    assert mine["heart_rate"]["unit"] == "/min" and mine["t_axis"]["unit"] == "deg"
    assert all(r["date"] == "2013-01-25T10:59:19" for r in rows)


def test_record_payloads_signal_and_deidentified_dicom(
    record: tuple[ModalityRecord, SourceReport], real: EcgRecording
) -> None:
    rec, _ = record
    by_role = {p.role: p for p in rec.payloads}
    signal = np.load(io.BytesIO(by_role["signal"].data), allow_pickle=False)
    assert signal.dtype == np.dtype("<f4") and signal.shape == (12, 10000)
    assert np.allclose(signal, real.signal, atol=1e-6)
    meta = json.loads(by_role["derived"].data)
    assert (meta["encoding-type"], meta["encoding-version"]) == SIGNAL_ENCODING
    assert meta["sampling_rate_hz"] == 1000.0 and meta["units"] == "mV"
    assert len(meta["fiducials"]["cardiofabric"]) == len(meta["fiducials"]["device"]) == 10

    kept = pydicom.dcmread(io.BytesIO(by_role["source"].data))
    original = pydicom.dcmread(REAL)
    assert kept.PatientIdentityRemoved == "YES"
    assert kept.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert (kept.PatientID, str(kept.PatientName), kept.PatientBirthDate) == ("", "", "")
    for keyword in ("InstitutionName", "AdmissionID", "PatientAge", "OtherPatientIDs"):
        assert keyword not in kept
    assert kept.StudyInstanceUID != original.StudyInstanceUID
    assert kept.SOPInstanceUID == kept.file_meta.MediaStorageSOPInstanceUID
    raw = by_role["source"].data
    for text in (b"642341", b"Galliera", b"19710123", b"13002689"):
        assert text not in raw
    # The waveform and the device's annotations are untouched.
    assert np.array_equal(kept.waveform_array(0), original.waveform_array(0))
    assert len(kept.WaveformAnnotationSequence) == len(original.WaveformAnnotationSequence)


def test_record_is_deterministic(record: tuple[ModalityRecord, SourceReport]) -> None:
    again = next(iter(get_adapter("dicom-ecg").read(REAL, ctx())))
    assert [p.data for p in again.payloads] == [p.data for p in record[0].payloads]
    assert again.content == record[0].content


@pytest.mark.usefixtures("fast")
def test_pipeline_seals_the_ecg_without_the_local_id() -> None:
    [obj] = build_objects(read_source(REAL, "dicom-ecg", site="t"), site="t", secret=b"s" * 32)
    [modality] = obj.manifest.modalities
    assert modality.kind.value == "ecg"
    assert len(modality.content["ecg_feature"]) == 18
    assert "642341" not in obj.manifest.model_dump_json()


@pytest.mark.usefixtures("fast")
def test_patient_id_from_options_wins() -> None:
    [rec] = get_adapter("dicom-ecg").read(REAL, ctx(patient_ids={"waveform_ecg.dcm": "P-9"}))
    assert rec.local_id == "P-9"
    [rec] = get_adapter("dicom-ecg").read(REAL, ctx(patient_id="P-1"))
    assert rec.local_id == "P-1"


def test_dicom_without_patient_id_is_rejected(tmp_path: Path) -> None:
    ds = pydicom.dcmread(REAL)
    ds.PatientID = ""
    path = tmp_path / "anon.dcm"
    ds.save_as(path)
    c = ctx()
    assert list(get_adapter("dicom-ecg").read(path, c)) == []
    assert c.report is not None
    [rejection] = c.report.rejected
    assert "(0010,0020) Patient ID is empty" in rejection.reason


# --------------------------------------------------------------------------------------------
# broken inputs: a clear InputError (a single file) or a rejection (in a folder)


def test_truncated_dicom(tmp_path: Path) -> None:
    path = tmp_path / "cut.dcm"
    path.write_bytes(REAL.read_bytes()[:20000])
    with pytest.raises(InputError, match="damaged or truncated"):
        list(get_adapter("dicom-ecg").read(path, ctx()))


def test_dicom_without_waveform() -> None:
    ct = Path(get_testdata_file("CT_small.dcm"))
    with pytest.raises(InputError, match=r"\(5400,0100\) Waveform Sequence"):
        list(get_adapter("dicom-ecg").read(ct, ctx()))


def test_not_dicom(tmp_path: Path) -> None:
    path = tmp_path / "notes.dcm"
    path.write_text("not an ECG")
    with pytest.raises(InputError, match="not a DICOM file"):
        read_dicom_ecg(path)


def test_edf_with_a_bad_header(tmp_path: Path) -> None:
    path = tmp_path / "bad.edf"
    path.write_bytes(b"0       " + b"garbage " * 60)
    with pytest.raises(InputError, match="not a readable EDF/EDF\\+ file") as err:
        list(get_adapter("edf").read(path, ctx()))
    assert err.value.path == str(path) and str(path) not in err.value.message


def test_wfdb_header_without_its_signal_file(tmp_path: Path) -> None:
    header = tmp_path / "r1.hea"
    header.write_text("r1 2 500 5000\nr1.dat 16 200 16 0 0 0 0 I\nr1.dat 16 200 16 0 0 0 0 II\n")
    with pytest.raises(InputError, match="signal file is missing"):
        list(get_adapter("wfdb").read(header, ctx()))
    (tmp_path / "r2.hea").write_text("this is not a header\n")
    with pytest.raises(InputError, match="not a readable WFDB record"):
        read_wfdb_ecg(tmp_path / "r2.hea")


@pytest.mark.usefixtures("fast")
def test_a_folder_reads_the_good_files_and_reports_the_bad(tmp_path: Path) -> None:
    shutil.copy(REAL, tmp_path / "good.dcm")
    (tmp_path / "cut.dcm").write_bytes(REAL.read_bytes()[:5000])
    c = ctx()
    recs = list(get_adapter("dicom-ecg").read(tmp_path, c))
    assert [r.local_id for r in recs] == ["642341"]
    assert c.report is not None and c.report.read == 2
    [rejection] = c.report.rejected
    assert rejection.record == "file cut.dcm" and "truncated" in rejection.reason
    (tmp_path / "x.edf").write_bytes(b"junk")
    c = ctx()
    assert list(get_adapter("edf").read(tmp_path, c)) == []
    assert c.report is not None and len(c.report.rejected) == 1


def test_measure_on_degenerate_signals() -> None:
    with pytest.raises(InputError, match="expected an ECG of shape"):
        measure(np.zeros((3, 5000)), 500, ["I", "II"])
    flat = measure(np.zeros((2, 5000)), 500, ["I", "II"])
    assert all(v is None for v in flat.values.values()) and flat.beats == ()
    short = measure(np.ones((2, 500)), 500, ["I", "II"])
    assert short["heart_rate"] is None


def test_lead_names_and_format_detection(tmp_path: Path) -> None:
    assert [canonical_lead(x) for x in ("Lead I (Einthoven)", "ECG II", "avf", "V6", "MLII")] == [
        "I",
        "II",
        "aVF",
        "V6",
        None,
    ]
    assert detect_format(REAL) == "dicom-ecg"
    assert detect_format(tmp_path / "r.hea") == "wfdb"
    odd = tmp_path / "x.bin"
    odd.write_bytes(b"\x00" * 300)
    with pytest.raises(InputError, match="cannot tell the ECG format"):
        detect_format(odd)
    with pytest.raises(InputError):
        read_edf_ecg(tmp_path / "missing.edf")


# --------------------------------------------------------------------------------------------
# cardiofabric ecg measure


def test_cli_measure_table_and_json() -> None:
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
    result = runner.invoke(app, ["measure", str(REAL)])
    assert result.exit_code == 0, result.output
    assert "qtc_bazett" in result.output and "76635-2" in result.output
    assert "device" in result.output and "368" in result.output
    result = runner.invoke(app, ["measure", str(REAL), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = {r["feature"]: r for r in data["features"]}
    assert data["format"] == "dicom-ecg" and data["beats"] == 10
    assert rows["qt"]["device"] == 368.0 and abs(rows["qt"]["difference"]) <= 25
    assert rows["qtc"]["ours"] is None and rows["qtc"]["device"] == 370.0
    assert "642341" not in result.stdout  # the CLI never prints the patient's id


def test_cli_errors_are_clean(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.edf"
    bad.write_bytes(b"0       nonsense")
    for target in (tmp_path / "missing.dcm", bad, Path(get_testdata_file("CT_small.dcm"))):
        result = runner.invoke(app, ["measure", str(target)])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and "error:" in result.output
