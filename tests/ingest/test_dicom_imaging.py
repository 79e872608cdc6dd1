"""The ``dicom`` imaging adapter on pydicom's bundled real files and on Pathfinder studies.

pydicom ships real instances (MR, CT, a SonoSite echo loop in JPEG, a Siemens MR with overlays,
private tags and a patient address, an OFFIS Comprehensive SR): we read those for metadata and
de-identification, and the Pathfinder writer's studies for SR measurements with known values.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.datadict import dictionary_description
from pydicom.dataset import Dataset

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, SourceReport, get_adapter
from cardiofabric.ingest.imaging import DicomImagingAdapter
from cardiofabric.ingest.imaging.deid import hash_uid
from cardiofabric.ingest.imaging.profile import BASIC_PROFILE, Action, action_for
from cardiofabric.ingest.pipeline import build_objects, read_source
from cardiofabric.mmio.model import ModalityKind
from cardiofabric.pathfinder.cohort import SimPatient, simulate_network
from cardiofabric.pathfinder.writers.imaging import write_imaging
from cardiofabric.store import SiteStore

REAL = ("MR_small.dcm", "CT_small.dcm", "examples_ybr_color.dcm", "examples_overlay.dcm")
SITE = "site-a"


def bundled(name: str) -> Path:
    path = get_testdata_file(name, download=False)
    assert path is not None, f"pydicom no longer bundles {name}"
    return Path(str(path))


def read(path: Path, **options: Any) -> tuple[list[ModalityRecord], SourceReport]:
    report = SourceReport(str(path), "dicom")
    ctx = SourceContext(site=SITE, options=options, report=report)
    return list(DicomImagingAdapter().read(path, ctx)), report


def rows(rec: ModalityRecord, table: str) -> list[dict[str, Any]]:
    return rec.content.get(table, [])


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("real")
    for name in REAL:
        shutil.copy(bundled(name), d / name)
    return d


@pytest.fixture(scope="module")
def real(real_dir: Path) -> dict[str, ModalityRecord]:
    recs, report = read(real_dir)
    assert report.read == len(REAL) and not report.rejected
    return {r.local_id: r for r in recs}


@pytest.fixture(scope="module")
def patient() -> SimPatient:
    return simulate_network(3, seed=11)["nl-amsterdam"][0]


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory, patient: SimPatient) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pathfinder")
    for modality in ("MR", "US"):
        write_imaging(patient, root / modality, modality, seed=5)
    return {m: root / m for m in ("MR", "US")}


# -- registry and metadata ----------------------------------------------------------------


def test_registered_as_dicom() -> None:
    assert isinstance(get_adapter("dicom"), DicomImagingAdapter)


def test_one_record_per_patient_and_study_with_procedures(
    real: dict[str, ModalityRecord],
) -> None:
    assert set(real) == {"4MR1", "1CT1", "204", "021234567"}
    expected = {
        "4MR1": ("113091000", "MR", "2004-08-26"),
        "1CT1": ("77477000", "CT", "2004-01-19"),
        "204": ("16310003", "US", "2016-05-03"),  # no Body Part Examined: not called echo
        "021234567": ("113091000", "MR", "2005-11-30"),  # ABDOMEN
    }
    for local_id, (code, modality, date) in expected.items():
        rec = real[local_id]
        assert rec.kind is ModalityKind.IMAGING and rec.media_type == "application/dicom"
        (proc,) = rows(rec, "procedure")
        assert (proc["code_system"], proc["code"], proc["mapped"]) == ("SNOMEDCT", code, True)
        assert (proc["source_code_system"], proc["source_code"]) == ("DCM", modality)
        assert proc["date"] == date
        assert rec.time is not None and rec.time.startswith(date)
        assert [p.role for p in rec.payloads] == ["pixels"]  # one payload per instance
        assert "imaging_measurement" not in rec.content


def test_compressed_pixel_data_is_kept_encoded(real: dict[str, ModalityRecord]) -> None:
    original = pydicom.dcmread(bundled("examples_ybr_color.dcm"))
    out = pydicom.dcmread(io.BytesIO(real["204"].payloads[0].data))
    assert out.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID  # JPEG
    assert out.PixelData == original.PixelData
    assert (out.NumberOfFrames, out.Rows, out.Columns) == (30, 240, 320)


# -- de-identification ---------------------------------------------------------------------


def _uids_to_replace(ds: Dataset) -> set[str]:
    found: set[str] = set()
    for elem in ds.iterall():
        if elem.VR == "UI" and action_for(int(elem.tag)) is Action.UID and elem.value:
            values = elem.value if isinstance(elem.value, list) else [elem.value]
            found.update(str(v) for v in values)
    return found


IDENTIFIERS = {
    "examples_overlay.dcm": [b"Sssssss", b"021234567", b"11111111", b"Wachau", b"AKH - WIEN"],
    "MR_small.dcm": [b"CompressedSamples", b"4MR1"],
    "CT_small.dcm": [b"CompressedSamples", b"1CT1", b"ABCD1234", b"1234ABCD", b"JFK IMAGING"],
    "examples_ybr_color.dcm": [b"PLA", b"microMAXX"],
}
LOCAL_ID = {"examples_overlay.dcm": "021234567", "MR_small.dcm": "4MR1", "CT_small.dcm": "1CT1"}


@pytest.mark.parametrize("name", REAL)
def test_payloads_are_deidentified(name: str, real: dict[str, ModalityRecord]) -> None:
    original = pydicom.dcmread(bundled(name))
    data = real[LOCAL_ID.get(name, "204")].payloads[0].data
    for needle in IDENTIFIERS[name]:
        assert needle not in data, needle
    uids = _uids_to_replace(original)
    assert original.StudyInstanceUID in uids and original.SOPInstanceUID in uids
    for uid in uids:
        assert uid.encode() not in data, uid
    out = pydicom.dcmread(io.BytesIO(data))
    assert out.PatientIdentityRemoved == "YES"
    assert [c.CodeValue for c in out.DeidentificationMethodCodeSequence] == ["113100", "113104"]
    assert out.PatientName == "" and out.PatientID == "" and out.PatientBirthDate == ""
    assert not any(e.tag.is_private for e in out.iterall())
    assert not any(0x6000 <= e.tag.group <= 0x60FF for e in out)  # overlays (60xx)
    assert "SeriesDescription" not in out and "InstitutionAddress" not in out
    assert out.StudyInstanceUID == hash_uid(original.StudyInstanceUID, SITE.encode())
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert out.preamble == b"\0" * 128
    assert out.PixelData == original.PixelData  # pixels are copied, never altered


def test_references_between_instances_stay_consistent(real: dict[str, ModalityRecord]) -> None:
    # The Siemens MR references another image (Referenced Image Sequence, X/Z/U*): the UID
    # inside is replaced the same way the referenced instance's own UID would be.
    original = pydicom.dcmread(bundled("examples_overlay.dcm"))
    out = pydicom.dcmread(io.BytesIO(real["021234567"].payloads[0].data))
    ref, new = original.ReferencedImageSequence[0], out.ReferencedImageSequence[0]
    assert new.ReferencedSOPInstanceUID == hash_uid(ref.ReferencedSOPInstanceUID, SITE.encode())
    assert new.ReferencedSOPClassUID == ref.ReferencedSOPClassUID  # a well-known UID: kept


def test_reingest_is_idempotent_and_keyed(real_dir: Path) -> None:
    first, _ = read(real_dir)
    again, _ = read(real_dir)
    assert [(r.local_id, r.content, [p.data for p in r.payloads]) for r in first] == [
        (r.local_id, r.content, [p.data for p in r.payloads]) for r in again
    ]
    other, _ = read(real_dir, uid_key="another-secret")
    assert {r.payloads[0].data for r in other}.isdisjoint({r.payloads[0].data for r in first})


def test_objects_are_sealed_identically_and_load_into_the_store(
    real_dir: Path, studies: dict[str, Path], tmp_path: Path
) -> None:
    def objects() -> list[Any]:
        records = [
            *read_source(real_dir, "dicom", site=SITE),
            *read_source(studies["MR"], "dicom", site=SITE),
        ]
        return build_objects(records, site=SITE, secret="pathfinder-test-secret")

    first, second = objects(), objects()
    assert [o.digest for o in first] == [o.digest for o in second]
    with SiteStore.create(tmp_path / "store", site=SITE) as store:
        store.add_many(first)
        found = store.query(
            "SELECT code, value, unit, imaging_modality FROM imaging_measurement ORDER BY code"
        )
        procedures = store.query("SELECT code FROM procedure ORDER BY code")
    assert [r["code"] for r in found] == ["10230-1", "18087-7", "18154-5"]
    assert {r["imaging_modality"] for r in found} == {"MR"}
    assert "241620005" in {r["code"] for r in procedures}


# -- structured reports ----------------------------------------------------------------------


@pytest.mark.parametrize("modality", ["MR", "US"])
def test_sr_measurements_from_pathfinder_studies(
    modality: str, studies: dict[str, Path], patient: SimPatient
) -> None:
    (rec,) = read(studies[modality])[0]
    assert rec.local_id == patient.local_id
    assert [p.role for p in rec.payloads] == ["pixels"] * (4 if modality == "MR" else 1) + [
        "derived"
    ]
    by_code = {r["code"]: r for r in rows(rec, "imaging_measurement")}
    assert set(by_code) == {"10230-1", "18087-7", "18154-5"}
    lvef, mass, ivs = by_code["10230-1"], by_code["18087-7"], by_code["18154-5"]
    assert (lvef["value"], lvef["unit"]) == (float(f"{patient.lvef:.1f}"), "%")
    assert lvef["source_code"] == ("8811-2" if modality == "MR" else "18043-0")
    assert (lvef["source_code_system"], lvef["source_unit"]) == ("LN", "%")
    assert (mass["value"], mass["unit"]) == (float(f"{patient.lv_mass:.1f}"), "g")
    if modality == "MR":
        mm = f"{patient.max_wall_thickness:.1f}"
        assert (ivs["source_value"], ivs["source_unit"], ivs["value"]) == (mm, "mm", float(mm))
    else:  # echo reports centimetres; the harmonised value is in millimetres
        cm = f"{patient.max_wall_thickness / 10:.2f}"
        assert (ivs["source_value"], ivs["source_unit"]) == (cm, "cm")
        assert ivs["value"] == float(f"{float(cm) * 10:.12g}")  # e.g. 1.06 cm → 10.6 mm
    assert ivs["unit"] == "mm"
    for row in by_code.values():
        assert row["mapped"] is True and row["imaging_modality"] == modality
        assert row["date"] == patient.index_date
    images = pydicom.dcmread(io.BytesIO(rec.payloads[0].data))
    assert {r["study"] for r in by_code.values()} == {images.StudyInstanceUID}
    (proc,) = rows(rec, "procedure")
    assert proc["code"] == ("241620005" if modality == "MR" else "40701008")


def test_sr_payload_is_cleaned_but_keeps_its_measurements(studies: dict[str, Path]) -> None:
    (rec,) = read(studies["US"])[0]
    original = pydicom.dcmread(next((studies["US"]).rglob("SR*.dcm")))
    report = rec.payloads[-1].data
    for needle in (str(original.PatientName).split("^")[0], "Reader^Pathfinder", "Reported for"):
        assert needle.encode() not in report, needle
    out = pydicom.dcmread(io.BytesIO(report))
    numbers = [e.value for e in out.iterall() if e.keyword == "NumericValue"]
    assert len(numbers) == 3
    evidence = out.CurrentRequestedProcedureEvidenceSequence[0]
    image = pydicom.dcmread(io.BytesIO(rec.payloads[0].data))
    ref = evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert ref.ReferencedSOPInstanceUID == image.SOPInstanceUID  # same replacement


def test_sr_without_patient_id_is_rejected(tmp_path: Path) -> None:
    # OFFIS's test report has an empty Patient ID: nothing tells whose report it is.
    shutil.copy(bundled("test-SR.dcm"), tmp_path / "report.dcm")
    with pytest.raises(InputError, match=r"no Patient ID \(0010,0020\)"):
        read(tmp_path)


def test_sr_of_a_named_patient_keeps_unmapped_numbers(tmp_path: Path) -> None:
    shutil.copy(bundled("test-SR.dcm"), tmp_path / "report.dcm")
    (rec,), report = read(tmp_path, patient_id="P-7")
    assert rec.local_id == "P-7" and not report.rejected
    numbers = rows(rec, "imaging_measurement")
    assert len(numbers) == 2
    for row in numbers:
        assert (row["code_system"], row["code"], row["mapped"]) == (None, None, False)
        assert (row["source_code_system"], row["source_code"]) == ("99_OFFIS_DCMTK", "1234")
        assert (row["source_label"], row["source_value"], row["source_unit"]) == (
            "Diameter",
            "3",
            "cm",
        )
        assert row["value"] == 3.0 and row["imaging_modality"] is None
    assert "procedure" not in rec.content  # no images, no evidence: modality unknown
    data = rec.payloads[0].data
    for needle in (b"Riesmeier", b"OFFIS e.V.", b"Test^S R", b"A mass of", b"was detected"):
        assert needle not in data, needle


def test_malformed_sr_items_are_rejected_one_by_one(
    studies: dict[str, Path], tmp_path: Path
) -> None:
    ds = pydicom.dcmread(next(studies["MR"].rglob("SR*.dcm")))
    group = ds.ContentSequence[2].ContentSequence[0]  # Imaging Measurements > Measurement Group
    del group.ContentSequence[1].ConceptNameCodeSequence  # LVEF
    del group.ContentSequence[2].MeasuredValueSequence[0].NumericValue  # LV mass
    ds.save_as(tmp_path / "report.dcm")
    (rec,), report = read(tmp_path)
    assert [r["code"] for r in rows(rec, "imaging_measurement")] == ["18154-5"]
    assert {(r.record, r.reason) for r in report.rejected} == {
        (
            "file report.dcm content item 1.3.1.2",
            "NUM content item without Concept Name Code Sequence (0040,A043)",
        ),
        (
            "file report.dcm content item 1.3.1.3",
            "NUM content item without Numeric Value (0040,A30A)",
        ),
    }


# -- malformed input ------------------------------------------------------------------------


def _no_pixel_copy(tmp: Path) -> Path:
    ds = pydicom.dcmread(bundled("MR_small.dcm"))
    del ds.PixelData
    ds.SOPInstanceUID = "1.2.3.4.5.6.7"
    path = tmp / "no_pixels.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def test_broken_files_are_rejected_with_reasons(tmp_path: Path) -> None:
    mr = bundled("MR_small.dcm").read_bytes()
    echo = bundled("examples_ybr_color.dcm").read_bytes()
    (tmp_path / "good.dcm").write_bytes(mr)
    (tmp_path / "truncated.dcm").write_bytes(mr[: len(mr) // 2])
    (tmp_path / "truncated_jpeg.dcm").write_bytes(echo[: len(echo) // 2])
    (tmp_path / "notes.txt").write_text("not an image\n", encoding="utf-8")
    (tmp_path / "empty.dcm").write_bytes(b"")
    _no_pixel_copy(tmp_path)
    shutil.copy(bundled("rtplan.dcm"), tmp_path / "rtplan.dcm")
    shutil.copy(bundled("MR_truncated.dcm"), tmp_path / "pydicom_truncated.dcm")
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "again.dcm").write_bytes(mr)
    recs, report = read(tmp_path)
    assert [r.local_id for r in recs] == ["4MR1"]
    reasons = {r.record: r.reason for r in report.rejected}
    assert report.read == 9 and len(reasons) == 8
    assert "truncated" in reasons["file truncated.dcm"]
    assert "truncated" in reasons["file truncated_jpeg.dcm"]
    assert "truncated" in reasons["file pydicom_truncated.dcm"]
    assert reasons["file notes.txt"].startswith("not a DICOM file")
    assert reasons["file empty.dcm"].startswith("not a DICOM file")
    assert reasons["file no_pixels.dcm"].startswith("DICOM without pixel data")
    assert "RT Plan Storage" in reasons["file rtplan.dcm"]
    assert reasons["file later/again.dcm"].startswith("duplicate of good.dcm")
    for reason in reasons.values():
        assert str(tmp_path) not in reason  # no machine paths in the report


def test_burned_in_annotation_is_rejected(tmp_path: Path) -> None:
    ds = pydicom.dcmread(bundled("MR_small.dcm"))
    ds.BurnedInAnnotation = "YES"
    ds.save_as(tmp_path / "burned.dcm", enforce_file_format=True)
    recs, report = read(tmp_path / "burned.dcm")
    assert recs == []
    assert "Burned In Annotation (0028,0301)" in report.rejected[0].reason


def test_single_bad_file_is_a_rejection_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.dcm"
    path.write_text("hello", encoding="utf-8")
    recs, report = read(path)
    assert recs == [] and report.read == 1 and len(report.rejected) == 1


def test_folder_without_anything_usable_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    _no_pixel_copy(tmp_path)
    with pytest.raises(InputError, match="no usable DICOM") as err:
        read(tmp_path)
    assert "DICOM without pixel data" in str(err.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="among 0 files"):
        read(empty)
    with pytest.raises(InputError, match="not found"):
        read(tmp_path / "missing")


# -- the profile table -------------------------------------------------------------------


def test_profile_table_is_ps3_15_table_e1_1() -> None:
    assert len(BASIC_PROFILE) >= 450
    # Every row names its tag as PS3.6 does (pydicom's data dictionary): a typo in a tag
    # would show as a different name.
    squash = re.compile(r"[^a-z0-9]")
    for tag, rule in BASIC_PROFILE.items():
        expected = squash.sub("", dictionary_description(tag).lower())
        assert squash.sub("", rule.name.lower()) == expected, rule
    assert BASIC_PROFILE[0x00100010].standard == "Z"  # Patient's Name
    assert BASIC_PROFILE[0x0020000D].action is Action.UID  # Study Instance UID
    assert BASIC_PROFILE[0x00080080].action is Action.DUMMY  # Institution Name, X/Z/D
    assert BASIC_PROFILE[0x00081140].action is Action.CLEAN  # Referenced Image Seq., X/Z/U*
    assert action_for(0x00291010) is Action.REMOVE  # private
    assert action_for(0x60003000) is Action.REMOVE  # Overlay Data
    assert action_for(0x50000010) is Action.REMOVE  # curves
    assert action_for(0x0040A730) is Action.CLEAN  # Content Sequence, cleaned (E.3.4)
    assert action_for(0x00180015) is None  # Body Part Examined: kept
