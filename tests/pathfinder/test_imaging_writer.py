"""The Pathfinder imaging writer: valid DICOM studies, written from the truth, by seed."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from cardiofabric.errors import InputError
from cardiofabric.pathfinder.cohort import SimPatient, simulate_network
from cardiofabric.pathfinder.writers.imaging import SR_MEASUREMENTS, write_imaging

MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
US_MULTIFRAME_STORAGE = "1.2.840.10008.5.1.4.1.1.3.1"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"


@pytest.fixture(scope="module")
def patient() -> SimPatient:
    return simulate_network(2, seed=4)["se-uppsala"][1]


def load(paths: list[Path]) -> list[Dataset]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a writer mistake often shows as a pydicom warning
        return [pydicom.dcmread(p) for p in paths]


def numbers(report: Dataset) -> dict[str, tuple[str, str]]:
    """Concept code → (Numeric Value, UCUM unit) of every NUM item in the report."""
    found = {}
    for item in report.iterall():
        if item.keyword == "ContentSequence":
            for ci in item.value:
                if ci.get("ValueType") == "NUM":
                    mv = ci.MeasuredValueSequence[0]
                    unit = mv.MeasurementUnitsCodeSequence[0]
                    assert unit.CodingSchemeDesignator == "UCUM"
                    code = ci.ConceptNameCodeSequence[0].CodeValue
                    found[code] = (str(mv.NumericValue), unit.CodeValue)
    return found


def test_mr_study(tmp_path: Path, patient: SimPatient) -> None:
    paths = write_imaging(patient, tmp_path, "MR", seed=3)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        *(f"{patient.local_id}/MR000{i}.dcm" for i in range(1, 5)),
        f"{patient.local_id}/SR0001.dcm",
    ]
    *images, report = load(paths)
    for i, ds in enumerate(images, 1):
        assert ds.SOPClassUID == ds.file_meta.MediaStorageSOPClassUID == MR_STORAGE
        assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        assert (ds.Modality, ds.BodyPartExamined, ds.InstanceNumber) == ("MR", "HEART", i)
        assert ds.PatientID == patient.local_id and "^" in str(ds.PatientName)
        assert ds.PatientBirthDate.startswith(str(patient.birth_year))
        assert ds.StudyDate == patient.index_date.replace("-", "")
        pixels = ds.pixel_array
        assert pixels.shape == (64, 64) and pixels.dtype == np.uint16
        assert 0 < int(pixels.max()) < 2**12  # Bits Stored 12
    assert len({ds.SOPInstanceUID for ds in images}) == 4
    assert len({ds.SeriesInstanceUID for ds in images}) == 1
    assert report.StudyInstanceUID == images[0].StudyInstanceUID
    assert (report.SOPClassUID, report.Modality) == (COMPREHENSIVE_SR, "SR")
    refs = report.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert [r.ReferencedSOPInstanceUID for r in refs.ReferencedSOPSequence] == [
        ds.SOPInstanceUID for ds in images
    ]
    assert numbers(report) == {
        "8811-2": (f"{patient.lvef:.1f}", "%"),
        "18087-7": (f"{patient.lv_mass:.1f}", "g"),
        "18154-5": (f"{patient.max_wall_thickness:.1f}", "mm"),
    }


def test_echo_study(tmp_path: Path, patient: SimPatient) -> None:
    image, report = load(write_imaging(patient, tmp_path, "US", seed=3))
    assert image.SOPClassUID == US_MULTIFRAME_STORAGE and image.Modality == "US"
    frames = image.pixel_array
    assert frames.shape == (3, 64, 64) and frames.dtype == np.uint8
    assert (image.NumberOfFrames, image.FrameIncrementPointer) == (3, 0x00181063)
    # End-diastole to end-systole: the bright cavity shrinks by the ejection fraction.
    cavity = [(f > 200).sum() for f in frames]
    assert cavity[0] > cavity[1] > cavity[2]
    assert cavity[2] / cavity[0] == pytest.approx(1 - patient.lvef / 100, abs=0.1)
    assert numbers(report) == {
        "18043-0": (f"{patient.lvef:.1f}", "%"),
        "18087-7": (f"{patient.lv_mass:.1f}", "g"),
        "18154-5": (f"{patient.max_wall_thickness / 10:.2f}", "cm"),
    }
    methods = [e.value[0].CodeValue for e in report.iterall() if e.keyword == "ConceptCodeSequence"]
    assert "125222" in methods  # LV mass by truncated ellipse (CID 12227)


def test_same_seed_same_bytes_other_seed_other_uids(tmp_path: Path, patient: SimPatient) -> None:
    a = write_imaging(patient, tmp_path / "a", "MR", seed=9)
    b = write_imaging(patient, tmp_path / "b", "MR", seed=9)
    c = write_imaging(patient, tmp_path / "c", "MR", seed=10)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert load(a)[0].StudyInstanceUID != load(c)[0].StudyInstanceUID


def test_concepts_are_those_of_ps3_16() -> None:
    from pydicom.sr._concepts_dict import concepts

    for rows in SR_MEASUREMENTS.values():
        for _, (code, scheme, meaning), *_rest in rows:
            known = {m for entry in concepts[scheme].values() for c, (m, _) in entry.items()}
            assert meaning in known, (code, meaning)


def test_unknown_modality(tmp_path: Path, patient: SimPatient) -> None:
    with pytest.raises(InputError, match="no imaging writer"):
        write_imaging(patient, tmp_path, "CT", seed=1)
