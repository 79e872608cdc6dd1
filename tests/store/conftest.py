"""Shared fixtures for the site-store tests: objects built with the real MMIO builder."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardiofabric.mmio import MMIO, Consent, ConsentTerm, MMIOBuilder, PayloadSpec, Provenance
from cardiofabric.mmio.said import digest_bytes
from cardiofabric.store import SiteStore, bulk

SITE = "site-a"
Content = dict[str, list[dict[str, Any]]]


def clinical(ldl: float = 3.4, *, date: str = "2024-03-01T09:30:00") -> Content:
    """A clinical modality's rows: one person, two measurements, one condition."""
    return {
        "person": [{"sex": "female", "source_sex": "F", "birth_year": 1968}],
        "measurement": [
            {
                "code_system": "LOINC",
                "code": "2089-1",
                "label": "Cholesterol in LDL [Mass/volume] in Serum or Plasma",
                "source_code_system": "http://loinc.org",
                "source_code": "2089-1",
                "source_label": "LDL-Cholesterin",
                "source_language": "deu",
                "mapped": True,
                "value": ldl,
                "unit": "mmol/L",
                "source_value": str(round(ldl * 38.67, 1)),
                "source_unit": "mg/dL",
                "category": "laboratory",
                "date": date,
            },
            {
                "code_system": "LOINC",
                "code": "8480-6",
                "label": "Systolic blood pressure",
                "source_code": "SBP",
                "mapped": True,
                "value": 138,
                "unit": "mm[Hg]",
                "source_value": "138",
                "source_unit": "mmHg",
                "category": "vital-signs",
                "date": "2024-03-01T09:10:00",
            },
        ],
        "condition": [
            {
                "code_system": "SNOMEDCT",
                "code": "398036000",
                "label": "Familial hypercholesterolemia",
                "source_code_system": "http://hl7.org/fhir/sid/icd-10",
                "source_code": "E78.01",
                "source_label": "Familiäre Hypercholesterinämie",
                "source_language": "deu",
                "mapped": True,
                "onset_date": "2010-05-01",
                "status": "active",
            }
        ],
    }


def ecg(qtc: float = 421.0) -> Content:
    return {
        "ecg_feature": [
            {"feature": "heart_rate", "value": 64.0, "unit": "/min", "method": "cardiofabric"},
            {"feature": "qtc_bazett", "value": qtc, "unit": "ms", "method": "cardiofabric"},
        ]
    }


def consent(
    permissions: tuple[str, ...] = ("DUO:0000042",),
    prohibitions: tuple[str, ...] = (),
    *,
    status: str = "active",
    version: int = 1,
) -> Consent:
    return Consent.model_validate(
        {
            "permissions": [ConsentTerm(code=c) for c in permissions],
            "prohibitions": [ConsentTerm(code=c) for c in prohibitions],
            "status": status,
            "version": version,
        }
    )


def make_mmio(
    pseudonym: str = "pt-0001",
    *,
    modalities: list[tuple[str, Content]] | None = None,
    consent_: Consent | None = None,
    site: str = SITE,
) -> MMIO:
    """An object with a clinical and an ECG modality unless ``modalities`` says otherwise."""
    b = MMIOBuilder(pseudonym=pseudonym, site=site, consent=consent_ or consent())
    for i, (kind, content) in enumerate(modalities or [("clinical", clinical()), ("ecg", ecg())]):
        source = f"{pseudonym}-{kind}-{i}".encode()
        b.add(
            kind=kind,
            media_type="application/json",
            provenance=Provenance(
                source_digest=digest_bytes(source),
                source_system="test-ehr",
                adapter="test",
                adapter_version="1",
                time="2024-03-01T10:00:00Z",
            ),
            payloads=[PayloadSpec(source, "application/octet-stream")],
            content=content,
        )
    return b.build()


class Make:
    """What tests build objects with (a fixture, as test modules cannot import a conftest)."""

    site = SITE
    mmio = staticmethod(make_mmio)
    clinical = staticmethod(clinical)
    ecg = staticmethod(ecg)
    consent = staticmethod(consent)


@pytest.fixture
def make() -> type[Make]:
    return Make


@pytest.fixture(params=["arrow", "lists"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test through both load paths: Arrow (when installed) and list parameters."""
    if request.param == "arrow" and importlib.util.find_spec("pyarrow") is None:
        pytest.skip("pyarrow is not installed")
    if request.param == "lists":
        monkeypatch.setattr(bulk, "_arrow", lambda: None)
    return str(request.param)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(store_path: Path, loader: str) -> Iterator[SiteStore]:
    with SiteStore.create(store_path, site=SITE) as s:
        yield s
