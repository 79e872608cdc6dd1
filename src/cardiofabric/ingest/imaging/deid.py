"""De-identify one DICOM instance with the profile table and write it as a DICOM file.

The actions of :mod:`~cardiofabric.ingest.imaging.profile` are applied to every attribute,
inside sequences too (PS3.15 E.1.1 applies the profile recursively to sequence items). UIDs
are replaced by UUID-derived UIDs (``2.25.<integer>``, PS3.5 B.2) computed as a keyed
HMAC-SHA-256 of the original UID: the same original always gives the same replacement, so
references between instances stay consistent (an SR's evidence still points at its images)
and ingesting the same files again gives the same bytes. Without the key the original UID
cannot be confirmed from the replacement.

The instance is written as a DICOM file (PS3.10) in its original transfer syntax: pixel data
are copied, never decoded, so compressed images need no codec. The preamble is zeroed (PS3.10
7.1 lets it carry application data) and the File Meta Information is rebuilt.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import uuid
from typing import Any

from pydicom import dcmwrite
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.uid import UID

from cardiofabric.ingest.imaging.profile import (
    METHOD_CODES,
    METHOD_DESCRIPTION,
    Action,
    action_for,
)

__all__ = ["IMPLEMENTATION_CLASS_UID", "deidentify", "hash_uid"]

#: Implementation Class UID (0002,0012) of the files we write: a name-based UUID UID (PS3.5
#: B.2), fixed so that the bytes do not depend on the pydicom version.
IMPLEMENTATION_CLASS_UID = (
    f"2.25.{uuid.uuid5(uuid.NAMESPACE_DNS, 'dicom-deid.ingest.cardiofabric').int}"
)
_IMPLEMENTATION_VERSION = "CARDIOFABRIC_1"  # (0002,0013) SH, at most 16 characters

_DUMMY_TEXT = "ANONYMOUS"
#: Dummy values ("D", PS3.15 E.1.1) that are valid for their VR (PS3.5 6.2).
_DUMMY_BY_VR: dict[str, Any] = {
    "DA": "19000101",
    "TM": "000000",
    "DT": "19000101000000",
    "AS": "000Y",
    "IS": "0",
    "DS": "0",
    "US": 0,
    "SS": 0,
    "UL": 0,
    "SL": 0,
    "UV": 0,
    "SV": 0,
    "FL": 0.0,
    "FD": 0.0,
    "AT": 0,
}
_TEXT_VRS = {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"}


def hash_uid(uid: str, key: bytes) -> str:
    """The replacement of ``uid``: ``2.25.`` + a UUID made from HMAC-SHA-256(key, uid)."""
    digest = hmac.new(key, uid.strip("\0 ").encode("ascii", "replace"), hashlib.sha256).digest()
    return f"2.25.{uuid.UUID(bytes=digest[:16], version=4).int}"


def _replace_uids(elem: DataElement, key: bytes) -> None:
    value = elem.value
    if isinstance(value, MultiValue | list):
        elem.value = [hash_uid(str(v), key) for v in value if str(v)]
    elif value:
        elem.value = hash_uid(str(value), key)


def _dummy(elem: DataElement, key: bytes) -> None:
    vr = str(elem.VR)
    if vr == "UI":
        _replace_uids(elem, key)
    elif vr in _DUMMY_BY_VR:
        elem.value = _DUMMY_BY_VR[vr]
    elif vr in _TEXT_VRS:
        elem.value = _DUMMY_TEXT
    else:  # OB, OW, UN, ...: no meaningful dummy, an empty value is valid
        elem.value = elem.empty_value


def _apply(ds: Dataset, key: bytes) -> None:
    for elem in list(ds):  # a copy: elements are deleted while walking
        action = action_for(int(elem.tag))
        is_sequence = elem.VR == "SQ"
        if action is None or action is Action.KEEP:
            if is_sequence:
                for item in elem.value:
                    _apply(item, key)
        elif action is Action.REMOVE:
            del ds[elem.tag]
        elif action is Action.ZERO:
            elem.value = elem.empty_value
        elif is_sequence:
            # D, U* and C on a sequence: keep it and de-identify its items, which makes them
            # dummies of the same structure and keeps UID references consistent.
            for item in elem.value:
                _apply(item, key)
        elif action is Action.UID:
            _replace_uids(elem, key)
        else:  # DUMMY, or CLEAN on a single value
            _dummy(elem, key)


def deidentify(ds: Dataset, key: bytes) -> bytes:
    """De-identify ``ds`` in place and return it as DICOM file bytes (PS3.10).

    Adds Patient Identity Removed (0012,0062) = YES, De-identification Method (0012,0063) and
    De-identification Method Code Sequence (0012,0064) (PS3.3 C.7.1.1, CID 7050).
    """
    transfer_syntax = ds.file_meta.TransferSyntaxUID
    _apply(ds, key)
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = list(METHOD_DESCRIPTION)
    codes = []
    for value, scheme, meaning in METHOD_CODES:
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = scheme
        item.CodeMeaning = meaning
        codes.append(item)
    ds.DeidentificationMethodCodeSequence = codes
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID  # already replaced above
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = _IMPLEMENTATION_VERSION
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    buf = io.BytesIO()
    dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()
