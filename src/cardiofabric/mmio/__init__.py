"""The Multimodal Integration Object: model, SAIDs, OCA semantics, on-disk format, encryption."""

from __future__ import annotations

from cardiofabric.mmio.container import MMIO, MMIOBuilder, PayloadSpec, VerifyReport
from cardiofabric.mmio.model import (
    Consent,
    ConsentTerm,
    Manifest,
    Modality,
    ModalityKind,
    Payload,
    Provenance,
    Semantics,
)
from cardiofabric.mmio.oca import AttributeSpec, BundleSpec, build_bundle, verify_bundle
from cardiofabric.mmio.pseudonym import pseudonymise
from cardiofabric.mmio.said import digest_bytes, said_of, saidify

__all__ = [
    "MMIO",
    "AttributeSpec",
    "BundleSpec",
    "Consent",
    "ConsentTerm",
    "MMIOBuilder",
    "Manifest",
    "Modality",
    "ModalityKind",
    "Payload",
    "PayloadSpec",
    "Provenance",
    "Semantics",
    "VerifyReport",
    "build_bundle",
    "digest_bytes",
    "pseudonymise",
    "said_of",
    "saidify",
    "verify_bundle",
]
