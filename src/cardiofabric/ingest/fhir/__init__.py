"""HL7 FHIR R4 sources, read with ``fhir.resources`` (R4B models) one resource at a time.

Two adapters share one reader (:mod:`.collect`): ``fhir-bundle`` (a Bundle JSON file) and
``fhir-ndjson`` (a Bulk Data export). They read Patient, Condition, Observation (labs, vital
signs with the blood pressure panel's components, ECG and echo measurements, smoking status),
MedicationStatement/Request/Administration with their Medication, Procedure,
FamilyMemberHistory, ImagingStudy, Consent (as GA4GH DUO terms, see :mod:`.consent`) and
ResearchSubject (the cohort entry, ``person.index_date``; see :mod:`.collect`).
Importing this package registers both adapters.
"""

from __future__ import annotations

from cardiofabric.ingest.consent import GENOMICS_PROHIBITION, consent_of
from cardiofabric.ingest.fhir.bundle import FhirBundleAdapter
from cardiofabric.ingest.fhir.collect import PatientCollector, deidentify
from cardiofabric.ingest.fhir.consent import read_consent
from cardiofabric.ingest.fhir.ndjson import FhirNdjsonAdapter
from cardiofabric.ingest.fhir.rows import study_digest

__all__ = [
    "GENOMICS_PROHIBITION",
    "FhirBundleAdapter",
    "FhirNdjsonAdapter",
    "PatientCollector",
    "consent_of",
    "deidentify",
    "read_consent",
    "study_digest",
]
