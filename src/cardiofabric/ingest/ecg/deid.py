"""De-identification of a DICOM object before it is kept: the PS3.15 Basic Profile.

DICOM PS3.15 Annex E, the Basic Application Level Confidentiality Profile without options
(Table E.1-1), for the attributes a waveform object carries:

- identifying attributes are emptied (Z), removed (X) or, where the ECG IODs require a value
  (Type 1: Content Date/Time, Acquisition DateTime), replaced by a dummy (D);
- instance UIDs are replaced (U) consistently, by a one-way hash of the old UID: the same
  source gives the same object, so a repeated ingest is a no-op;
- private attributes are removed; every remaining person name (PN) is emptied and every
  remaining date and time (DA, DT, TM) blanked, as the profile without the "Retain
  Longitudinal Temporal Information" option intends;
- Patient Identity Removed (0012,0062) = YES, De-identification Method (0012,0063) and its
  code (0012,0064) = (113100, DCM, "Basic Application Confidentiality Profile") are recorded.

Device interpretation statements (Unformatted Text Value (0070,0006) in the Waveform
Annotation Sequence) are kept: they are the cart's generated text, not notes about the patient.
"""

from __future__ import annotations

import copy
import hashlib
import io
from typing import Any

from cardiofabric.errors import MissingDependencyError

__all__ = ["PROFILE", "deidentify", "dicom_bytes"]

# PS3.15 Table E.1-1, the attributes a waveform object may carry: X remove, Z empty,
# D dummy value (Type 1 in the ECG IODs), U replace the UID.
PROFILE: dict[str, str] = {
    "InstanceCreatorUID": "U",
    "SOPInstanceUID": "U",
    "StudyInstanceUID": "U",
    "SeriesInstanceUID": "U",
    "FrameOfReferenceUID": "U",
    "ReferencedSOPInstanceUID": "U",
    "StudyDate": "Z",
    "StudyTime": "Z",
    "ContentDate": "D",
    "ContentTime": "D",
    "AcquisitionDateTime": "D",
    "SeriesDate": "X",
    "SeriesTime": "X",
    "AcquisitionDate": "X",
    "AcquisitionTime": "X",
    "InstanceCreationDate": "X",
    "InstanceCreationTime": "X",
    "AccessionNumber": "Z",
    "InstitutionName": "X",
    "InstitutionAddress": "X",
    "InstitutionalDepartmentName": "X",
    "ReferringPhysicianName": "Z",
    "ReferringPhysicianAddress": "X",
    "ReferringPhysicianTelephoneNumbers": "X",
    "StationName": "X",
    "StudyDescription": "X",
    "SeriesDescription": "X",
    "PhysiciansOfRecord": "X",
    "PerformingPhysicianName": "X",
    "NameOfPhysiciansReadingStudy": "X",
    "OperatorsName": "X",
    "AdmittingDiagnosesDescription": "X",
    "PatientName": "Z",
    "PatientID": "Z",
    "IssuerOfPatientID": "X",
    "PatientBirthDate": "Z",
    "PatientBirthTime": "X",
    "PatientSex": "Z",
    "OtherPatientIDs": "X",
    "OtherPatientNames": "X",
    "OtherPatientIDsSequence": "X",
    "PatientBirthName": "X",
    "PatientAge": "X",
    "PatientSize": "X",
    "PatientWeight": "X",
    "PatientAddress": "X",
    "PatientMotherBirthName": "X",
    "PatientTelephoneNumbers": "X",
    "EthnicGroup": "X",
    "AdditionalPatientHistory": "X",
    "PatientComments": "X",
    "DeviceSerialNumber": "X",
    "ProtocolName": "X",
    "StudyID": "Z",
    "ReasonForStudy": "X",
    "RequestingPhysician": "X",
    "RequestedProcedureDescription": "X",
    "ReasonForTheRequestedProcedure": "X",
    "AdmissionID": "X",
    "CurrentPatientLocation": "X",
    "PatientInstitutionResidence": "X",
    "VisitComments": "X",
    "AcquisitionContextSequence": "Z",
    "RequestAttributesSequence": "X",
    "PerformedProcedureStepStartDate": "X",
    "PerformedProcedureStepStartTime": "X",
    "PerformedProcedureStepID": "X",
    "PerformedProcedureStepDescription": "X",
    "ImageComments": "X",
}
_DUMMY = {"DA": "19000101", "TM": "000000", "DT": "19000101000000"}


def _hashed_uid(salt: str, uid: str) -> str:
    """A UUID-derived UID (PS3.5 B.2: ``2.25.`` and a 128-bit integer) hashed from the old one."""
    digest = hashlib.sha256(f"{salt}\x00{uid}".encode()).digest()[:16]
    return f"2.25.{int.from_bytes(digest, 'big')}"


def deidentify(ds: Any, *, salt: str) -> Any:
    """A de-identified copy of a DICOM dataset (see the module docstring).

    Replacement UIDs are ``2.25.`` UIDs hashed from ``salt`` and the original UID, so the same
    source and salt always give the same object (idempotent ingest).
    """
    try:
        from pydicom.dataset import Dataset
    except ImportError:
        raise MissingDependencyError("pydicom", "ingest", "de-identifying DICOM") from None
    out = copy.deepcopy(ds)  # nested sequences too: the caller's dataset stays as it was
    out.remove_private_tags()

    def clean(dataset: Any) -> None:
        for elem in list(dataset):
            keyword = elem.keyword
            action = PROFILE.get(keyword)
            if action == "X":
                del dataset[elem.tag]
                continue
            if action == "Z":
                elem.value = [] if elem.VR == "SQ" else ""
                continue
            if action == "D":
                elem.value = _DUMMY.get(elem.VR, "")
                continue
            if action == "U" and elem.value:
                elem.value = _hashed_uid(salt, str(elem.value))
                continue
            if elem.VR == "SQ":
                for item in elem.value:
                    clean(item)
            elif elem.VR in ("PN", "DA", "DT", "TM"):
                elem.value = ""  # every other name, date and time (not kept by the profile)

    clean(out)
    out.PatientIdentityRemoved = "YES"
    out.DeidentificationMethod = "DICOM PS3.15 Basic Application Level Confidentiality Profile"
    code = Dataset()
    code.CodeValue = "113100"
    code.CodingSchemeDesignator = "DCM"
    code.CodeMeaning = "Basic Application Confidentiality Profile"
    out.DeidentificationMethodCodeSequence = [code]
    if getattr(out, "file_meta", None) is not None and "SOPInstanceUID" in out:
        out.file_meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    return out


def dicom_bytes(ds: Any) -> bytes:
    """A dataset as a DICOM Part 10 file (zeroed preamble: it may hold vendor data)."""
    buf = io.BytesIO()
    ds.preamble = b"\x00" * 128
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
