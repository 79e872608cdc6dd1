"""DICOM imaging: cardiac MR, CT and echo studies and their structured reports.

- :mod:`.adapter` — the ``dicom`` ingest adapter (studies → imaging modality records);
- :mod:`.profile` — the de-identification profile, PS3.15 Annex E Table E.1-1 as a table;
- :mod:`.deid` — applies the profile to an instance and writes it as a DICOM file;
- :mod:`.sr` — NUM measurements of structured reports as harmonised rows.

Only the adapter is imported here: the other modules import pydicom at import time, and the
adapter registry must load without it (a missing pydicom is reported when a DICOM source is
read, naming the extra to install).
"""

from __future__ import annotations

from cardiofabric.ingest.imaging.adapter import MEDIA_TYPE, PROCEDURE_CODES, DicomImagingAdapter

__all__ = ["MEDIA_TYPE", "PROCEDURE_CODES", "DicomImagingAdapter"]
