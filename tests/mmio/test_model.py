"""The manifest model: sealing, content as JSON, DUO consent terms, validation errors."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from mmio_samples import PROVENANCE
from pydantic import ValidationError

from cardiofabric.errors import InputError, ObjectFormatError
from cardiofabric.mmio.model import (
    ENCODING_TYPE,
    ENCODING_VERSION,
    Consent,
    ConsentTerm,
    Manifest,
    Modality,
    ModalityKind,
    Payload,
    parse_manifest,
    recompute_digest,
)
from cardiofabric.mmio.said import digest_bytes, is_said, said_of


def _modality(**kw: Any) -> Modality:
    return Modality.create(
        kind=kw.pop("kind", "clinical"),
        media_type="application/json",
        provenance=PROVENANCE,
        **kw,
    )


def test_modality_is_sealed_over_its_json() -> None:
    mod = _modality(content={"condition": [{"code_system": "ICD-10", "code": "I48.0"}]})
    assert is_said(mod.digest)
    dumped = mod.model_dump(mode="json")
    assert next(iter(dumped)) == "digest"
    assert said_of(dumped) == mod.digest == recompute_digest(dumped)


def test_modality_content_is_stored_as_json() -> None:
    mod = _modality(
        content={
            "measurement": [
                {"date": dt.datetime(2024, 3, 1, 9, 30), "value": math.nan, "pair": (1, 2)}
            ],
            "person": [{"death_date": dt.date(2020, 1, 31)}],
        }
    )
    assert mod.content == {
        "measurement": [{"date": "2024-03-01T09:30:00", "value": None, "pair": [1, 2]}],
        "person": [{"death_date": "2020-01-31"}],
    }
    # The SAID is over exactly what is kept (and so what a reader on disk will see).
    assert said_of(mod.model_dump(mode="json")) == mod.digest


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"measurement": [{"value": math.inf}]}, "inf"),
        ({"measurement": [{"codes": {"I10", "I48"}}]}, "set"),
        ({"measurement": "not rows"}, "must be JSON"),
        ({"measurement": [["not", "a", "row"]]}, "must be JSON"),
        ({"measurement": [{"obj": object()}]}, "must be JSON"),
    ],
)
def test_content_that_cannot_be_sealed(content: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        _modality(content=content)


def test_modality_kind() -> None:
    assert _modality(kind=ModalityKind.ECG).kind is ModalityKind.ECG
    with pytest.raises(InputError, match="expected one of clinical, genomic"):
        _modality(kind="EEG")


def test_manifest_create_orders_modalities_and_seals() -> None:
    a = _modality(kind="wearable")
    b = _modality(kind="clinical", content={"person": [{"sex": "female"}]})
    m1 = Manifest.create(pseudonym="pt-1", site="s", consent=Consent(), modalities=[a, b])
    m2 = Manifest.create(pseudonym="pt-1", site="s", consent=Consent(), modalities=[b, a])
    assert m1 == m2
    assert [m.kind.value for m in m1.modalities] == ["clinical", "wearable"]
    raw = m1.to_json()
    assert (raw["encoding-type"], raw["encoding-version"]) == (ENCODING_TYPE, ENCODING_VERSION)
    assert said_of(raw) == m1.digest
    assert parse_manifest(raw) == m1
    assert m1.kinds == ["clinical", "wearable"]
    assert m1.modality("wearable") == [a]


def test_manifest_digest_covers_the_encoding_version() -> None:
    m = Manifest.create(pseudonym="pt-1", site="s", consent=Consent(), modalities=[])
    raw = m.to_json()
    raw["encoding-version"] = "2"
    assert said_of(raw) != m.digest


@pytest.mark.parametrize("code", ["DUO:0000042", "DUO:0000006"])
def test_duo_codes_accepted(code: str) -> None:
    assert ConsentTerm(code=code).code == code


@pytest.mark.parametrize(
    "code",
    ["DUO:42", "duo:0000042", "DUO:00000042", "DUO:000004a", "MONDO:0000042", "DUO:０００００４２",
     "DUO:000004²", "DUO:0000042\n"],
)  # fmt: skip
def test_duo_codes_refused(code: str) -> None:
    with pytest.raises(ValidationError, match="expected a DUO code"):
        ConsentTerm(code=code)


def test_payload_digest_must_be_a_said() -> None:
    ok = Payload(digest=digest_bytes(b"x"), media_type="text/plain", size=1)
    assert ok.role == "source"
    with pytest.raises(ValidationError, match="expected a SAID"):
        Payload(digest="sha256:abc", media_type="text/plain", size=1)
    with pytest.raises(ValidationError):
        Payload(digest=digest_bytes(b"x"), media_type="text/plain", size=-1)


def test_models_are_frozen_and_strict() -> None:
    mod = _modality()
    with pytest.raises(ValidationError):
        mod.media_type = "x"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        Consent.model_validate({"permissions": [], "note": "hi"})


def test_parse_manifest_names_the_first_bad_field() -> None:
    m = Manifest.create(pseudonym="pt-1", site="s", consent=Consent(), modalities=[_modality()])
    raw = m.to_json()
    raw["modalities"][0]["kind"] = "eeg"
    del raw["site"]
    with pytest.raises(ObjectFormatError, match=r"manifest field /site") as info:
        parse_manifest(raw, path="obj/manifest.json")
    assert "2 problems in all" in str(info.value)
    assert str(info.value).startswith("obj/manifest.json: ")
