"""Resting ECGs: adapters for DICOM waveforms, WFDB and EDF, and our own measurements.

Each adapter yields one ``ecg`` modality record per recording, with the signal as a payload and
``ecg_feature`` rows for our measurements (``method = "cardiofabric"``, :mod:`.features`) beside
the recorder's own (``method = "device"``). Importing this package registers the formats
``dicom-ecg``, ``wfdb`` and ``edf``; the format libraries (pydicom, wfdb, pyedflib, neurokit2)
are imported only when a file is read.
"""

from __future__ import annotations

from pathlib import Path

from cardiofabric.errors import InputError
from cardiofabric.ingest.ecg.dicom import DicomEcgAdapter, read_dicom_ecg
from cardiofabric.ingest.ecg.edf import EdfAdapter, read_edf_ecg
from cardiofabric.ingest.ecg.features import (
    FEATURES,
    OUR_FEATURES,
    STANDARD_LEADS,
    EcgFeatures,
    canonical_lead,
    measure,
)
from cardiofabric.ingest.ecg.record import EcgRecording
from cardiofabric.ingest.ecg.wfdb import WfdbAdapter, read_wfdb_ecg

__all__ = [
    "FEATURES",
    "OUR_FEATURES",
    "STANDARD_LEADS",
    "DicomEcgAdapter",
    "EcgFeatures",
    "EcgRecording",
    "EdfAdapter",
    "WfdbAdapter",
    "canonical_lead",
    "detect_format",
    "measure",
    "read_dicom_ecg",
    "read_ecg",
    "read_edf_ecg",
    "read_wfdb_ecg",
]


def detect_format(path: str | Path) -> str:
    """``dicom-ecg``, ``wfdb`` or ``edf`` from a file's extension or first bytes."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".hea" or (suffix in ("", ".dat") and p.with_suffix(".hea").is_file()):
        return "wfdb"
    if suffix in (".edf", ".rec"):
        return "edf"
    try:
        with p.open("rb") as fh:
            head = fh.read(256)
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", path=p) from None
    if head[128:132] == b"DICM" or suffix in (".dcm", ".dicom"):
        return "dicom-ecg"
    if head[:8] == b"0       ":  # EDF version field (8 ASCII characters)
        return "edf"
    raise InputError(
        "cannot tell the ECG format: expected a DICOM file, a WFDB header (.hea) or an EDF file",
        path=p,
    )


def read_ecg(path: str | Path) -> EcgRecording:
    """Read an ECG file of any supported format (see :func:`detect_format`)."""
    p = Path(path)
    fmt = detect_format(p)
    if fmt == "wfdb":
        return read_wfdb_ecg(p)
    if fmt == "edf":
        return read_edf_ecg(p)
    return read_dicom_ecg(p)
