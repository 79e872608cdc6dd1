"""Write a patient's cardiac imaging study as a site's PACS exports it: DICOM images and an SR.

Two studies, each written with pydicom's own dataset and file writer:

- ``MR``: a cine-like short-axis stack, four slices of 64×64 ``uint16`` (MR Image Storage,
  1.2.840.10008.5.1.4.1.1.4), one instance per slice from base to apex;
- ``US``: an echocardiography loop, three frames of 64×64 ``uint8`` in one instance (Ultrasound
  Multi-frame Image Storage, 1.2.840.10008.5.1.4.1.1.3.1), the ventricle contracting by the
  patient's ejection fraction;

plus a Comprehensive SR (1.2.840.10008.5.1.4.1.1.88.33) in the same study, structured as an
Imaging Measurement Report (PS3.16 TID 1500: a Measurement Group on the left ventricle) with
three NUM items from the patient's truth, rounded as a reader reports them:

| quantity | MR concept | US concept | unit (UCUM) |
|---|---|---|---|
| LV ejection fraction | LN 8811-2 "by MR" | LN 18043-0 "by US" | % |
| LV mass | LN 18087-7 | LN 18087-7, method DCM 125222 (truncated ellipse) | g |
| max LV wall thickness, as the septum in diastole | LN 18154-5 | LN 18154-5 | mm (MR), cm (US) |

The maximal wall thickness of the truth is written as the interventricular septum in diastole,
where hypertrophic cardiomyopathy usually has it; echo reports it in centimetres, as echo
machines do. Each file carries the identifiers a real export has (Patient ID = the local id, a
made-up name, birth date, institution, a reader's name in the report), which the ingest's
de-identification must remove. UIDs come from the seed, so the same seed writes the same bytes.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.pathfinder.cohort import SimPatient

__all__ = ["MODALITIES", "SR_MEASUREMENTS", "write_imaging"]

MODALITIES = ("MR", "US")

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
US_MULTIFRAME_STORAGE = "1.2.840.10008.5.1.4.1.1.3.1"
COMPREHENSIVE_SR_STORAGE = "1.2.840.10008.5.1.4.1.1.88.33"

_FAMILY = ("Jansen", "Lindqvist", "Virtanen", "Rossi", "Schmidt", "Bakker", "Nieminen", "Bianchi")
_GIVEN = ("Anna", "Erik", "Sofia", "Lars", "Giulia", "Jonas", "Aino", "Marco")

Code = tuple[str, str, str]  # (code value, coding scheme designator, code meaning)

#: Per modality: (quantity, concept, UCUM unit, decimals, scale from the truth's unit,
#: measurement method or None). Concepts from PS3.16 (CIDs 3833, 12201-12203, 12227).
SR_MEASUREMENTS: dict[str, tuple[tuple[str, Code, Code, int, float, Code | None], ...]] = {
    "MR": (
        (
            "lvef",
            ("8811-2", "LN", "Left ventricular ejection fraction by MR"),
            ("%", "UCUM", "percent"),
            1,
            1.0,
            None,
        ),
        ("lv_mass", ("18087-7", "LN", "Left Ventricle Mass"), ("g", "UCUM", "gram"), 1, 1.0, None),
        (
            "max_wall_thickness",
            ("18154-5", "LN", "Interventricular Septum Diastolic Thickness"),
            ("mm", "UCUM", "millimeter"),
            1,
            1.0,
            None,
        ),
    ),
    "US": (
        (
            "lvef",
            ("18043-0", "LN", "Left Ventricular Ejection Fraction by US"),
            ("%", "UCUM", "percent"),
            1,
            1.0,
            None,
        ),
        (
            "lv_mass",
            ("18087-7", "LN", "Left Ventricle Mass"),
            ("g", "UCUM", "gram"),
            1,
            1.0,
            ("125222", "DCM", "Left Ventricle Mass by Truncated Ellipse"),
        ),
        (
            "max_wall_thickness",
            ("18154-5", "LN", "Interventricular Septum Diastolic Thickness"),
            ("cm", "UCUM", "centimeter"),
            2,
            0.1,
            None,
        ),
    ),
}

_PROCEDURE: dict[str, Code] = {
    "MR": ("241620005", "SCT", "Magnetic resonance imaging of heart"),
    "US": ("40701008", "SCT", "Echocardiography"),
}
_FINDING_SITE: Code = ("363698007", "SCT", "Finding Site")
_LEFT_VENTRICLE: Code = ("87878005", "SCT", "Left ventricle")
_MEASUREMENT_METHOD: Code = ("370129005", "SCT", "Measurement Method")

_SIZE = 64
_PIXEL_MM = 1.5625  # 100 mm field of view over 64 pixels


def _code(ds_class: Any, code: Code) -> Any:
    item = ds_class()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code
    return item


def _ring(radius_mm: float, wall_mm: float, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """A short-axis view: bright blood pool, darker myocardial ring, noisy background."""
    y, x = np.mgrid[:_SIZE, :_SIZE]
    r = np.hypot(x - _SIZE / 2 + 0.5, y - _SIZE / 2 + 0.5) * _PIXEL_MM
    img = rng.normal(0.08, 0.02, (_SIZE, _SIZE))
    img[r < radius_mm + wall_mm] = 0.35  # myocardium
    img[r < radius_mm] = 0.9  # blood pool
    return np.clip(img + rng.normal(0.0, 0.02, img.shape), 0.0, 1.0)


def _base(ds_class: Any, patient: SimPatient, uids: dict[str, str], seed: int) -> Any:
    """Patient, General Study and General Equipment modules (PS3.3 C.7.1.1, C.7.2.1, C.7.5.1)."""
    rng = np.random.default_rng([seed, 7])
    ds = ds_class()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = f"{_FAMILY[int(rng.integers(len(_FAMILY)))]}^{_GIVEN[int(rng.integers(8))]}"
    ds.PatientID = patient.local_id
    born = date(patient.birth_year, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
    ds.PatientBirthDate = born.strftime("%Y%m%d")
    ds.PatientSex = "M" if patient.sex == "male" else "F"
    study_date = patient.index_date.replace("-", "")
    ds.StudyInstanceUID = uids["study"]
    ds.StudyDate = study_date
    ds.StudyTime = "093000"
    ds.ReferringPhysicianName = "Referrer^Pathfinder"
    ds.StudyID = "1"
    ds.AccessionNumber = f"{int(rng.integers(10**7, 10**8))}"
    ds.InstitutionName = f"Pathfinder {patient.site}"
    ds.Manufacturer = "CardioFabric Pathfinder (synthetic)"
    ds.ContentDate = study_date
    ds.ContentTime = "093000"
    return ds


def _file_meta(meta_class: Any, sop_class: str, sop_instance: str) -> Any:
    from pydicom.uid import ExplicitVRLittleEndian

    meta = meta_class()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def _images(patient: SimPatient, modality: str, uids: dict[str, str], seed: int) -> list[Any]:
    from pydicom.dataset import Dataset, FileMetaDataset

    rng = np.random.default_rng([seed, 11])
    wall = max(patient.max_wall_thickness, 4.0)
    out = []
    if modality == "MR":
        for i in range(4):  # base to apex: the cavity narrows
            ds = _base(Dataset, patient, uids, seed)
            ds.SOPClassUID = MR_IMAGE_STORAGE
            ds.SOPInstanceUID = uids[f"image{i}"]
            ds.file_meta = _file_meta(FileMetaDataset, MR_IMAGE_STORAGE, uids[f"image{i}"])
            ds.Modality = "MR"
            ds.SeriesInstanceUID = uids["series"]
            ds.SeriesNumber = 1
            ds.SeriesDescription = "SAX cine"
            ds.BodyPartExamined = "HEART"
            ds.PatientPosition = "HFS"
            ds.FrameOfReferenceUID = uids["frame"]
            ds.PositionReferenceIndicator = ""
            ds.InstanceNumber = i + 1
            ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
            ds.ScanningSequence = "GR"
            ds.SequenceVariant = "SS"
            ds.ScanOptions = ""
            ds.MRAcquisitionType = "2D"
            ds.RepetitionTime = "3.2"
            ds.EchoTime = "1.4"
            ds.EchoTrainLength = 1
            ds.MagneticFieldStrength = "1.5"
            ds.SliceThickness = "8"
            ds.PixelSpacing = [str(_PIXEL_MM), str(_PIXEL_MM)]
            ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
            ds.ImagePositionPatient = ["-50", "-50", str(8 * i)]
            ds.SliceLocation = str(8 * i)
            pixels = (_ring(22.0 - 4.0 * i, wall, rng) * 4000).astype(np.uint16)
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.Rows = ds.Columns = _SIZE
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
            ds.PixelData = pixels.tobytes()
            out.append(ds)
        return out
    ds = _base(Dataset, patient, uids, seed)
    ds.SOPClassUID = US_MULTIFRAME_STORAGE
    ds.SOPInstanceUID = uids["image0"]
    ds.file_meta = _file_meta(FileMetaDataset, US_MULTIFRAME_STORAGE, uids["image0"])
    ds.Modality = "US"
    ds.SeriesInstanceUID = uids["series"]
    ds.SeriesNumber = 1
    ds.SeriesDescription = "PLAX loop"
    ds.BodyPartExamined = "HEART"
    ds.InstanceNumber = 1
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.HeartRate = round(patient.heart_rate)
    # Cine and Multi-frame Modules (PS3.3 C.7.6.5, C.7.6.6): frames advance by Frame Time.
    ds.NumberOfFrames = 3
    ds.FrameTime = "33.3"
    ds.FrameIncrementPointer = 0x00181063
    # End-diastole, mid-systole, end-systole: the cavity area shrinks by the EF.
    ed_radius = 24.0
    es_radius = ed_radius * float(np.sqrt(1.0 - patient.lvef / 100.0))
    radii = (ed_radius, (ed_radius + es_radius) / 2, es_radius)
    frames = np.stack([(_ring(r, wall, rng) * 255).astype(np.uint8) for r in radii])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = _SIZE
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = frames.tobytes()
    return [ds]


def _item(ds_class: Any, relation: str, value_type: str, name: Code) -> Any:
    item = ds_class()
    item.RelationshipType = relation
    item.ValueType = value_type
    item.ConceptNameCodeSequence = [_code(ds_class, name)]
    return item


def _report(
    patient: SimPatient, modality: str, uids: dict[str, str], images: list[Any], seed: int
) -> Any:
    """The Comprehensive SR (PS3.3 A.35.3): SR Document General and Content Modules."""
    from pydicom.dataset import Dataset, FileMetaDataset

    ds = _base(Dataset, patient, uids, seed)
    ds.SOPClassUID = COMPREHENSIVE_SR_STORAGE
    ds.SOPInstanceUID = uids["report"]
    ds.file_meta = _file_meta(FileMetaDataset, COMPREHENSIVE_SR_STORAGE, uids["report"])
    ds.Modality = "SR"
    ds.SeriesInstanceUID = uids["report_series"]
    ds.SeriesNumber = 99
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.InstanceNumber = 1
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.PerformedProcedureCodeSequence = [_code(Dataset, _PROCEDURE[modality])]
    refs = []
    for img in images:
        ref = Dataset()
        ref.ReferencedSOPClassUID = img.SOPClassUID
        ref.ReferencedSOPInstanceUID = img.SOPInstanceUID
        refs.append(ref)
    series = Dataset()
    series.SeriesInstanceUID = uids["series"]
    series.ReferencedSOPSequence = refs
    evidence = Dataset()
    evidence.StudyInstanceUID = uids["study"]
    evidence.ReferencedSeriesSequence = [series]
    ds.CurrentRequestedProcedureEvidenceSequence = [evidence]
    # Root content item: Imaging Measurement Report (TID 1500).
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = [_code(Dataset, ("126000", "DCM", "Imaging Measurement Report"))]
    ds.ContinuityOfContent = "SEPARATE"
    template = Dataset()
    template.MappingResource = "DCMR"
    template.TemplateIdentifier = "1500"
    ds.ContentTemplateSequence = [template]
    observer = _item(Dataset, "HAS OBS CONTEXT", "PNAME", ("121008", "DCM", "Person Observer Name"))
    observer.PersonName = "Reader^Pathfinder"
    procedure = _item(Dataset, "HAS CONCEPT MOD", "CODE", ("121058", "DCM", "Procedure reported"))
    procedure.ConceptCodeSequence = [_code(Dataset, _PROCEDURE[modality])]
    group = _item(Dataset, "CONTAINS", "CONTAINER", ("125007", "DCM", "Measurement Group"))
    group.ContinuityOfContent = "SEPARATE"
    site = _item(Dataset, "HAS CONCEPT MOD", "CODE", _FINDING_SITE)
    site.ConceptCodeSequence = [_code(Dataset, _LEFT_VENTRICLE)]
    children = [site]
    for attr, concept, unit, decimals, scale, method in SR_MEASUREMENTS[modality]:
        num = _item(Dataset, "CONTAINS", "NUM", concept)
        mv = Dataset()
        mv.MeasurementUnitsCodeSequence = [_code(Dataset, unit)]
        mv.NumericValue = f"{getattr(patient, attr) * scale:.{decimals}f}"
        num.MeasuredValueSequence = [mv]
        if method is not None:
            mod = _item(Dataset, "HAS CONCEPT MOD", "CODE", _MEASUREMENT_METHOD)
            mod.ConceptCodeSequence = [_code(Dataset, method)]
            num.ContentSequence = [mod]
        children.append(num)
    group.ContentSequence = children
    measurements = _item(
        Dataset, "CONTAINS", "CONTAINER", ("126010", "DCM", "Imaging Measurements")
    )
    measurements.ContinuityOfContent = "SEPARATE"
    measurements.ContentSequence = [group]
    comment = _item(Dataset, "CONTAINS", "TEXT", ("121106", "DCM", "Comment"))
    family, given = str(ds.PatientName).split("^")
    comment.TextValue = f"Reported for {given} {family}, born {ds.PatientBirthDate}."
    ds.ContentSequence = [observer, procedure, measurements, comment]
    return ds


def write_imaging(patient: SimPatient, directory: Path, modality: str, *, seed: int) -> list[Path]:
    """Write the patient's study under ``directory/<local id>/``; return the files written.

    ``modality`` is the site's imaging modality, ``MR`` or ``US``. The same patient and seed
    write the same bytes.
    """
    if modality not in MODALITIES:
        raise InputError(
            f"no imaging writer for modality {modality!r}",
            hint=f"use one of: {', '.join(MODALITIES)}",
        )
    try:
        from pydicom import dcmwrite
        from pydicom.uid import generate_uid
    except ImportError:
        raise MissingDependencyError("pydicom", "ingest", "writing DICOM imaging") from None
    names = (
        "study",
        "series",
        "frame",
        "report",
        "report_series",
        *(f"image{i}" for i in range(4)),
    )
    uids = {n: str(generate_uid(entropy_srcs=[str(seed), patient.local_id, n])) for n in names}
    images = _images(patient, modality, uids, seed)
    report = _report(patient, modality, uids, images, seed)
    out = directory / patient.local_id
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, ds in enumerate(images, 1):
        path = out / f"{modality}{i:04d}.dcm"
        dcmwrite(path, ds, enforce_file_format=True)
        written.append(path)
    path = out / "SR0001.dcm"
    dcmwrite(path, report, enforce_file_format=True)
    written.append(path)
    return written
