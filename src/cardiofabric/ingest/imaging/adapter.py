"""The ``dicom`` adapter: cardiac MR, CT and echo studies, with their structured reports.

A source is a folder of DICOM files (PS3.10), searched recursively, or one file. Instances are
grouped per patient (Patient ID (0010,0020), the local id) and study (Study Instance UID
(0020,000D)); each study becomes one imaging modality record holding

- ``procedure`` rows: one per imaging modality of the study, coded in SNOMED CT (cardiac MR
  241620005, echocardiography 40701008, cardiac CT 241547009; the general MR, US and CT
  procedures when nothing says the heart was imaged), the DICOM modality (CID 29) as source;
- ``imaging_measurement`` rows: the NUM content items of the study's structured reports
  (:mod:`~cardiofabric.ingest.imaging.sr`), with the imaging modality and the study digest;
- payloads: one per instance, the de-identified DICOM file (``application/dicom``; role
  ``pixels`` for images, ``derived`` for reports).

One payload per instance rather than one archive per series: an instance is DICOM's own unit
(a cine or multi-frame echo loop is already one instance), its size is what the modality made
it, a payload can be read alone, and identical instances are stored once (payloads are
content-addressed). An archive would have to be rebuilt byte-identically for every re-ingest.

Free-text descriptions (Study Description, Series Description, Protocol Name) are not copied
into the content: PS3.15 Table E.1-1 removes them because they can name people, and the
content is readable without the payload keys. Dates are copied (day precision, as the other
adapters do); the payloads have them removed or replaced by the profile.

Options: ``patient_id`` (the local id of every instance, for a per-patient export without
Patient ID) and ``uid_key`` (the secret for UID replacement; by default the site code, which
keeps re-ingest idempotent but lets whoever knows an original UID and the site code confirm
it: give each site a secret of its own).
"""

from __future__ import annotations

import io
import warnings
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, register
from cardiofabric.ingest.harmonise import coded
from cardiofabric.mmio.container import PayloadSpec
from cardiofabric.mmio.model import ModalityKind

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from cardiofabric.ingest.imaging.sr import NumericItem

__all__ = ["MEDIA_TYPE", "PROCEDURE_CODES", "DicomImagingAdapter"]

MEDIA_TYPE = "application/dicom"

#: (modality, whether the heart was imaged) → SNOMED CT procedure (code, label). Codes as in
#: PS3.16 (pydicom's concept dictionary) and the SNOMED CT International Edition.
PROCEDURE_CODES: dict[tuple[str, bool], tuple[str, str]] = {
    ("MR", True): ("241620005", "Magnetic resonance imaging of heart"),
    ("US", True): ("40701008", "Echocardiography"),
    ("CT", True): ("241547009", "Computed tomography of heart"),
    ("MR", False): ("113091000", "Magnetic resonance imaging"),
    ("US", False): ("16310003", "Diagnostic ultrasonography"),
    ("CT", False): ("77477000", "Computerized axial tomography"),
}
#: Code meanings of CID 29 "Acquisition Modality" (DCM codes equal the Modality (0008,0060)).
_MODALITY_MEANING = {"MR": "Magnetic Resonance", "US": "Ultrasound", "CT": "Computed Tomography"}

_SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."  # the SR Storage SOP Classes (PS3.4 B.5)
_DICOMDIR_CLASS = "1.2.840.10008.1.3.10"  # Media Storage Directory Storage: not an instance
_PIXEL_DATA = 0x7FE00010
# Pixel Data, Float Pixel Data, Double Float Pixel Data (PS3.3 C.7.6.3)
_PIXEL_TAGS = (_PIXEL_DATA, 0x7FE00008, 0x7FE00009)
#: Image Storage SOP Classes → modality, for reports whose evidence names their images.
_CLASS_MODALITY = {
    "1.2.840.10008.5.1.4.1.1.4": "MR",  # MR Image Storage
    "1.2.840.10008.5.1.4.1.1.4.1": "MR",  # Enhanced MR Image Storage
    "1.2.840.10008.5.1.4.1.1.2": "CT",  # CT Image Storage
    "1.2.840.10008.5.1.4.1.1.2.1": "CT",  # Enhanced CT Image Storage
    "1.2.840.10008.5.1.4.1.1.6.1": "US",  # Ultrasound Image Storage
    "1.2.840.10008.5.1.4.1.1.3.1": "US",  # Ultrasound Multi-frame Image Storage
    "1.2.840.10008.5.1.4.1.1.6.2": "US",  # Enhanced US Volume Storage
}
_HEART_SCT = "80891009"  # SCT "Heart" (CID 4031); Body Part Examined (0018,0015) "HEART"


@dataclass
class _Instance:
    """What one accepted file contributes, once de-identified."""

    local_id: str
    sop: str  # original SOP Instance UID (0008,0018), for duplicate detection only
    study: str  # de-identified Study Instance UID
    sort_key: tuple[int, str, int, str]
    modality: str
    cardiac: bool
    date: str | None
    time: str | None
    report: bool
    payload: bytes
    measurements: list[NumericItem] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    evidence: set[str] = field(default_factory=set)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _iso_date(value: Any) -> str | None:
    """DA (PS3.5 6.2, ``YYYYMMDD``) → ISO 8601; None when absent or not a valid date."""
    text = str(value or "").strip().replace(".", "")  # ACR-NEMA wrote YYYY.MM.DD
    if len(text) != 8 or not text.isdigit():
        return None
    y, m, d = int(text[:4]), int(text[4:6]), int(text[6:])
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{m:02d}-{d:02d}"


def _iso_time(value: Any) -> str | None:
    """TM (``HHMMSS.FFFFFF``, trailing parts optional) → ``HH:MM:SS``."""
    text = str(value or "").strip().split(".")[0]
    if not text.isdigit() or len(text) not in (2, 4, 6):
        return None
    text = text.ljust(6, "0")
    return f"{text[:2]}:{text[2:4]}:{text[4:]}"


def _evidence_modalities(ds: Dataset) -> set[str]:
    # SR Document General Module (PS3.3 C.17.2): Current Requested Procedure Evidence
    # Sequence (0040,A375) and Pertinent Other Evidence Sequence (0040,A385).
    found = set()
    for keyword in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
        for study in ds.get(keyword) or ():
            for series in study.get("ReferencedSeriesSequence") or ():
                for ref in series.get("ReferencedSOPSequence") or ():
                    modality = _CLASS_MODALITY.get(str(ref.get("ReferencedSOPClassUID") or ""))
                    if modality:
                        found.add(modality)
    return found


def _is_heart(ds: Dataset) -> bool:
    if str(ds.get("BodyPartExamined") or "").strip().upper() == "HEART":
        return True
    return any(
        str(item.get("CodeValue") or "") == _HEART_SCT
        for item in ds.get("AnatomicRegionSequence") or ()
    )


def _pixel_problem(ds: Dataset) -> str | None:
    """Why the Pixel Data cannot be right (truncated, damaged), or None."""
    if _PIXEL_DATA not in ds:
        return None  # Float / Double Float Pixel Data: no further check
    from pydicom.encaps import parse_basic_offsets, parse_fragments
    from pydicom.pixels.utils import get_expected_length

    value = ds[_PIXEL_DATA].value or b""
    if ds.file_meta.TransferSyntaxUID.is_encapsulated:
        # Encapsulated Pixel Data (PS3.5 A.4): a Basic Offset Table item, then fragments.
        try:
            buf = io.BytesIO(value)
            parse_basic_offsets(buf)
            fragments, _ = parse_fragments(buf)
        except (ValueError, EOFError) as exc:
            return f"encapsulated Pixel Data (7FE0,0010) is damaged ({exc})"
        return None if fragments else "encapsulated Pixel Data (7FE0,0010) has no fragments"
    try:
        expected = int(get_expected_length(ds, "bytes"))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        return f"the Image Pixel Module (PS3.3 C.7.6.3) is incomplete ({exc})"
    if len(value) < expected:
        return (
            f"Pixel Data (7FE0,0010) holds {len(value)} bytes where Rows, Columns, Samples per "
            f"Pixel, Bits Allocated and Number of Frames need {expected}: the file is truncated"
        )
    return None


def _read_instance(path: Path, ctx: SourceContext, key: bytes) -> _Instance | str | None:
    """One file: the de-identified instance, the reason to reject it, or None (a DICOMDIR)."""
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.uid import UID

    from cardiofabric.ingest.imaging.deid import deidentify, hash_uid
    from cardiofabric.ingest.imaging.sr import numeric_items

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = pydicom.dcmread(path)
        except InvalidDicomError:
            return "not a DICOM file: no 'DICM' prefix after the 128-byte preamble (PS3.10 7.1)"
        # pydicom raises many kinds of error on damaged input; each is this file's problem.
        except Exception as exc:
            return f"unreadable DICOM file ({type(exc).__name__}: {exc})"
    for w in caught:
        if "end of file" in str(w.message).lower():
            return f"the file is truncated ({w.message})"
    file_class = str(ds.file_meta.get("MediaStorageSOPClassUID") or "")
    sop_class = str(ds.get("SOPClassUID") or file_class)
    if sop_class == _DICOMDIR_CLASS:
        return None
    if not sop_class:
        return "no SOP Class UID (0008,0016): not a DICOM composite instance"
    report = sop_class.startswith(_SR_CLASS_PREFIX)
    if not report and not any(t in ds for t in _PIXEL_TAGS):
        return (
            f"DICOM without pixel data: the {UID(sop_class).name} instance has no Pixel Data "
            "(7FE0,0010) and is not a structured report"
        )
    local_id = str(ctx.options.get("patient_id") or ds.get("PatientID") or "").strip()
    if not local_id:
        return (
            "no Patient ID (0010,0020): cannot tell whose images these are "
            "(for a folder of one patient, set the source option patient_id)"
        )
    study_uid = str(ds.get("StudyInstanceUID") or "").strip()
    sop_uid = str(ds.get("SOPInstanceUID") or "").strip()
    if not study_uid or not sop_uid:
        return "no Study Instance UID (0020,000D) or SOP Instance UID (0008,0018)"
    if not report:
        if str(ds.get("BurnedInAnnotation") or "").strip().upper() == "YES":
            return (
                "Burned In Annotation (0028,0301) is YES: the pixels may show identifying text, "
                "and the Clean Pixel Data Option (PS3.15 E.3.1) is not implemented"
            )
        problem = _pixel_problem(ds)
        if problem:
            return problem
    date = next(
        filter(None, (_iso_date(ds.get(k)) for k in ("StudyDate", "SeriesDate", "ContentDate"))),
        None,
    )
    time = _iso_time(ds.get("StudyTime"))
    inst = _Instance(
        local_id=local_id,
        sop=sop_uid,
        study=hash_uid(study_uid, key),
        sort_key=(
            _int(ds.get("SeriesNumber")),
            hash_uid(str(ds.get("SeriesInstanceUID") or ""), key),
            _int(ds.get("InstanceNumber")),
            hash_uid(sop_uid, key),
        ),
        modality=str(ds.get("Modality") or "").strip().upper(),
        cardiac=_is_heart(ds),
        date=date,
        time=f"{date}T{time}" if date and time else date,
        report=report,
        payload=b"",
    )
    if report:
        inst.measurements, inst.problems = numeric_items(ds)
        inst.evidence = _evidence_modalities(ds)
    inst.payload = deidentify(ds, key)
    return inst


def _procedure_row(modality: str, cardiac: bool, date: str | None) -> dict[str, Any]:
    entry = PROCEDURE_CODES.get((modality, cardiac))
    row = coded("SNOMEDCT", *entry, "eng") if entry else coded(None, None, None, "eng")
    row.update(
        source_code_system="DCM",
        source_code=modality,
        source_label=_MODALITY_MEANING.get(modality, modality),
        source_language="eng",
        mapped=entry is not None,
        date=date,
    )
    return row


@register("dicom")
class DicomImagingAdapter:
    """Folders (or single files) of DICOM images and structured reports."""

    format = "dicom"
    version = "1"

    def read(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        try:
            import pydicom  # noqa: F401
        except ImportError:
            raise MissingDependencyError("pydicom", "ingest", "DICOM imaging ingest") from None
        if not path.exists():
            raise InputError("DICOM source not found", path=path)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not any(s.startswith(".") for s in p.relative_to(path).parts)
            )
        else:
            files = [path]
        key = str(ctx.options.get("uid_key") or ctx.site).encode("utf-8")
        accepted: list[_Instance] = []
        reasons: list[str] = []
        seen: dict[str, str] = {}
        for file in files:
            name = file.relative_to(path).as_posix() if path.is_dir() else file.name
            with warnings.catch_warnings():
                # pydicom warns (and logs to its logger) about every value that breaks its VR;
                # such files are common and still usable. Truncation is caught inside.
                warnings.simplefilter("ignore")
                try:
                    found = _read_instance(file, ctx, key)
                # Values pydicom only decodes on access can still fail here; one damaged file
                # is that file's rejection, never the end of the source.
                except Exception as exc:
                    found = f"cannot read or de-identify the instance ({type(exc).__name__}: {exc})"
            if found is None:
                continue
            ctx.count_read()
            if isinstance(found, str):
                # Messages from pydicom and the OS name the file by its path on this machine;
                # the report names it relative to the source.
                found = found.replace(str(file), name)
                ctx.reject(f"file {name}", found)
                reasons.append(f"{name}: {found}")
            elif found.sop in seen:
                reason = f"duplicate of {seen[found.sop]} (same SOP Instance UID (0008,0018))"
                ctx.reject(f"file {name}", reason)
            else:
                seen[found.sop] = name
                accepted.append(found)
                for item_path, reason in found.problems:
                    ctx.reject(f"file {name} content item {item_path}", reason)
        if path.is_dir() and not accepted:
            shown = "; ".join(reasons[:3]) + ("; ..." if len(reasons) > 3 else "")
            raise InputError(
                f"no usable DICOM image or structured report among {len(files)} files"
                + (f" ({shown})" if shown else ""),
                path=path,
                hint="point the source at a folder of DICOM files (PS3.10) of MR, CT or US "
                "images or structured reports",
            )
        yield from _records(accepted, ctx)


def _records(instances: list[_Instance], ctx: SourceContext) -> Iterator[ModalityRecord]:
    from cardiofabric.ingest.imaging.sr import CONCEPT_MAP, measurement_row

    cardiac_codes = {t.code for t in CONCEPT_MAP.values()}
    studies: dict[tuple[str, str], list[_Instance]] = defaultdict(list)
    for inst in instances:
        studies[(inst.local_id, inst.study)].append(inst)
    for (local_id, study), group in sorted(studies.items()):
        group.sort(key=lambda i: (i.report, i.sort_key))
        images = sorted({i.modality for i in group if not i.report and i.modality})
        modalities = images or sorted({m for i in group if i.report for m in i.evidence})
        date = next((i.date for i in group if i.date), None)
        rows = []
        for inst in group:
            for item in inst.measurements:
                row = measurement_row(item, ctx.language)
                row.update(
                    imaging_modality=modalities[0] if len(modalities) == 1 else None,
                    study=study,
                    date=inst.date or date,
                )
                rows.append(row)
        cardiac = any(i.cardiac for i in group) or any(
            r["mapped"] and r["code"] in cardiac_codes for r in rows
        )
        content: dict[str, list[dict[str, Any]]] = {}
        if modalities:
            content["procedure"] = [_procedure_row(m, cardiac, date) for m in modalities]
        if rows:
            content["imaging_measurement"] = rows
        yield ModalityRecord(
            local_id=local_id,
            kind=ModalityKind.IMAGING,
            media_type=MEDIA_TYPE,
            content=content,
            payloads=[
                PayloadSpec(i.payload, MEDIA_TYPE, role="derived" if i.report else "pixels")
                for i in group
            ],
            time=next((i.time for i in group if i.time), None),
        )
