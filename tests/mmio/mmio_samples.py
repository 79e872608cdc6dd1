"""Sample objects shared by the MMIO tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardiofabric.mmio.container import MMIO, MMIOBuilder, PayloadSpec
from cardiofabric.mmio.model import Consent, ConsentTerm, Provenance, Semantics
from cardiofabric.mmio.oca import AttributeSpec, BundleSpec, build_bundle
from cardiofabric.mmio.said import digest_bytes


@dataclass(frozen=True)
class Keys:
    """A Crypt4GH key pair, loaded, with the files it came from."""

    secret: bytes
    public: bytes
    secret_path: Path
    public_path: Path


PROVENANCE = Provenance(
    source_digest=digest_bytes(b"source export 2024-03-01"),
    source_system="test-his",
    adapter="test",
    adapter_version="1.0",
    time="2024-03-01T09:30:00+01:00",
)
ECG_BYTES = bytes(range(256)) * 8
NOTE_BYTES = "Befund: Sinusrhythmus, keine Auffälligkeiten.\n".encode()
GENERAL_RESEARCH = Consent(permissions=[ConsentTerm(code="DUO:0000042", label="GRU")])


def small_bundle() -> dict[str, Any]:
    return build_bundle(
        BundleSpec(
            name="Lipids",
            description="A lipid panel",
            attributes=[
                AttributeSpec(
                    name="ldl",
                    type="Numeric",
                    labels={"eng": "LDL cholesterol", "deu": "LDL-Cholesterin"},
                    unit="mmol/L",
                    code="LOINC:2089-1",
                    required=True,
                ),
                AttributeSpec(
                    name="smoker",
                    type="Text",
                    labels={"eng": "Smoker"},
                    entries={"eng": {"Y": "Yes", "N": "No"}},
                ),
            ],
        )
    )


ObjectFactory = Callable[..., MMIO]


def make_object(
    *,
    recipients: Iterable[bytes] = (),
    consent: Consent | None = GENERAL_RESEARCH,
    pseudonym: str = "pt-0123456789abcdef0123456789abcdef",
    ldl: float = 3.1,
    reverse: bool = False,
) -> MMIO:
    """Two modalities: clinical rows with an embedded OCA bundle, and an ECG with two payloads."""
    builder = MMIOBuilder(
        pseudonym=pseudonym, site="site-a", consent=consent, recipients=recipients
    )
    adds: list[Callable[[], object]] = [
        lambda: builder.add(
            kind="clinical",
            media_type="application/fhir+json",
            provenance=PROVENANCE,
            payloads=[PayloadSpec(NOTE_BYTES, "text/plain", role="note")],
            semantics=Semantics(type="Bundle", value=small_bundle()),
            content={
                "measurement": [
                    {"code_system": "LOINC", "code": "2089-1", "value": ldl, "unit": "mmol/L"}
                ]
            },
        ),
        lambda: builder.add(
            kind="ecg",
            media_type="application/dicom",
            provenance=PROVENANCE,
            payloads=[PayloadSpec(ECG_BYTES, "application/octet-stream", role="signal")],
            content={"ecg_feature": [{"feature": "heart_rate", "value": 61.0, "unit": "/min"}]},
        ),
    ]
    for add in reversed(adds) if reverse else adds:
        add()
    return builder.build()
