"""The Multimodal Integration Object (MMIO): one object per patient, every modality inside.

The manifest is plain JSON: each modality carries its own SAID over its content, semantics and
provenance, and the object's SAID covers them all. Payload bytes (a VCF, a DICOM file, an ECG
signal) are stored beside the manifest, addressed by the SAID of their plaintext bytes, so that
the manifest can be read (and verified) without touching them.

Nothing in an object depends on when it was written: provenance times are those of the source,
so that building the same object twice gives the same SAID and re-writing it is a no-op.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from pydantic_core import PydanticSerializationError

from cardiofabric.errors import InputError, ObjectFormatError
from cardiofabric.mmio.said import canonical_json, is_said, said_of, saidify

__all__ = [
    "ENCODING_TYPE",
    "ENCODING_VERSION",
    "Consent",
    "ConsentTerm",
    "Encryption",
    "Manifest",
    "Modality",
    "ModalityKind",
    "Payload",
    "Provenance",
    "Semantics",
    "parse_manifest",
]

#: The on-disk format this release writes; see ``docs/data-model.md`` for the history.
ENCODING_TYPE: Final = "cardiofabric.mmio"
ENCODING_VERSION: Final = "1"


class ModalityKind(StrEnum):
    CLINICAL = "clinical"
    GENOMIC = "genomic"
    IMAGING = "imaging"
    ECG = "ecg"
    WEARABLE = "wearable"
    DOCUMENT = "document"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_Content = dict[str, list[dict[str, Any]]]
_CONTENT = TypeAdapter(_Content)
_DUO_RE = re.compile(r"DUO:[0-9]{7}")


def _json_content(content: _Content) -> _Content:
    """Content as the JSON it is sealed and stored as (dates to ISO 8601, tuples to lists).

    The SAID is computed over this form, so the object in memory is the object on disk.
    NaN becomes null (a missing value); an infinite number is refused, as JSON has none.
    Sets are refused: their order, and so the SAID, would change from one process to the next.
    """
    _refuse_unsealable(content)
    try:
        plain: _Content = _CONTENT.dump_python(_CONTENT.validate_python(content), mode="json")
        canonical_json(plain)
    except (ValidationError, PydanticSerializationError, TypeError, ValueError) as exc:
        raise InputError(
            f"modality content must be JSON: table name -> list of row objects ({exc})",
            hint="give rows of JSON values: str, int, float, bool, None, lists, dicts, dates",
        ) from None
    return plain


def _refuse_unsealable(value: Any) -> None:
    if isinstance(value, set | frozenset):
        raise InputError(
            "modality content holds a set, whose order is not stable; give a sorted list instead"
        )
    if isinstance(value, float) and math.isinf(value):
        raise InputError(
            f"modality content holds {value}, which JSON cannot represent",
            hint="give a finite number, or None for a missing value",
        )
    if isinstance(value, dict):
        for item in value.values():
            _refuse_unsealable(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_unsealable(item)


def _said_field(v: str) -> str:
    if not is_said(v):
        raise ValueError(f"expected a SAID ('E' + 43 base64url characters), found {v!r}")
    return v


class Encryption(_Strict):
    """How a payload is encrypted at rest (GA4GH Crypt4GH v1)."""

    # Only what is deterministic is sealed: Crypt4GH ciphertext is randomised, and the
    # object's SAID must not change when identical content is encrypted again. Integrity of
    # the ciphertext is Crypt4GH's own (ChaCha20-Poly1305 per 64 KiB segment) and the
    # plaintext digest is checked after decryption.
    scheme: Literal["crypt4gh"] = "crypt4gh"
    version: int = 1
    recipients: list[str]  # SAIDs of the recipients' public keys


class Payload(_Strict):
    """One stored blob of a modality, addressed by the SAID of its plaintext bytes."""

    digest: str
    role: str = "source"  # source | signal | pixels | derived ...
    media_type: str
    size: int = Field(ge=0)
    encryption: Encryption | None = None

    _v = field_validator("digest")(_said_field)


class Provenance(_Strict):
    """Where a modality came from. ``time`` is the source's own time, not the ingest time."""

    source_digest: str  # SAID of the source file's bytes
    source_system: str
    adapter: str
    adapter_version: str
    time: str | None = None  # ISO 8601


class Semantics(_Strict):
    """An OCA bundle, embedded (``Bundle``) or referenced by its SAID (``Reference``)."""

    type: Literal["Bundle", "Reference"]
    value: dict[str, Any] | str


class Modality(_Strict):
    """One modality of a patient: payloads, semantics, provenance and harmonised content.

    ``content`` maps a harmonised table name (``measurement``, ``condition``, ``variant``,
    ``ecg_feature`` ...) to its rows; the site store loads them as they are.
    """

    digest: str
    kind: ModalityKind
    media_type: str
    payloads: list[Payload] = Field(default_factory=list)
    semantics: Semantics | None = None
    provenance: Provenance
    content: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)

    @classmethod
    def create(
        cls,
        *,
        kind: ModalityKind | str,
        media_type: str,
        provenance: Provenance,
        payloads: list[Payload] | None = None,
        semantics: Semantics | None = None,
        content: dict[str, list[dict[str, Any]]] | None = None,
    ) -> Modality:
        """Build a modality and seal it with its SAID."""
        try:
            kind_value = ModalityKind(kind).value
        except ValueError:
            raise InputError(
                f"unknown modality kind {kind!r}; expected one of "
                f"{', '.join(k.value for k in ModalityKind)}"
            ) from None
        body = {
            "digest": "",
            "kind": kind_value,
            "media_type": media_type,
            "payloads": [p.model_dump(mode="json") for p in payloads or []],
            "semantics": semantics.model_dump(mode="json") if semantics else None,
            "provenance": provenance.model_dump(mode="json"),
            "content": _json_content(content or {}),
        }
        # Content was made plain JSON above (NaN to null, infinities refused).
        return cls.model_validate(saidify(body, assume_finite=True))


class ConsentTerm(_Strict):
    """One GA4GH DUO term, e.g. ``DUO:0000042`` (general research use)."""

    code: str
    label: str | None = None
    modifier_of: str | None = None  # a modifier names the permission it restricts

    @field_validator("code")
    @classmethod
    def _duo(cls, v: str) -> str:
        # ASCII digits only: str.isdigit() would also take '０' or '²'.
        if _DUO_RE.fullmatch(v) is None:
            raise ValueError(f"expected a DUO code like 'DUO:0000042', found {v!r}")
        return v


class Consent(_Strict):
    """The patient's consent as DUO permissions and prohibitions (GA4GH DUO, 2021)."""

    permissions: list[ConsentTerm] = Field(default_factory=list)
    prohibitions: list[ConsentTerm] = Field(default_factory=list)
    status: Literal["active", "withdrawn"] = "active"
    version: int = Field(default=1, ge=1)
    updated: str | None = None


class Manifest(_Strict):
    """The manifest of one MMIO: everything but the payload bytes."""

    encoding_type: Literal["cardiofabric.mmio"] = Field(ENCODING_TYPE, alias="encoding-type")
    encoding_version: str = Field(ENCODING_VERSION, alias="encoding-version")
    digest: str
    pseudonym: str
    site: str
    consent: Consent
    modalities: list[Modality]

    @classmethod
    def create(
        cls, *, pseudonym: str, site: str, consent: Consent, modalities: list[Modality]
    ) -> Manifest:
        """Build a manifest and seal it with its SAID (modalities in a stable order)."""
        ordered = sorted(modalities, key=lambda m: (m.kind.value, m.digest))
        body = {
            "encoding-type": ENCODING_TYPE,
            "encoding-version": ENCODING_VERSION,
            "digest": "",
            "pseudonym": pseudonym,
            "site": site,
            "consent": consent.model_dump(mode="json"),
            "modalities": [m.model_dump(mode="json") for m in ordered],
        }
        # Content was made plain JSON above (NaN to null, infinities refused).
        return cls.model_validate(saidify(body, assume_finite=True))

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    def modality(self, kind: ModalityKind | str) -> list[Modality]:
        return [m for m in self.modalities if m.kind == ModalityKind(kind)]

    @property
    def kinds(self) -> list[str]:
        return sorted({m.kind.value for m in self.modalities})

    def payloads(self) -> list[Payload]:
        return [p for m in self.modalities for p in m.payloads]


def parse_manifest(raw: Any, *, path: str | None = None) -> Manifest:
    """Validate a manifest read from disk; errors name the first bad field."""
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = "/" + "/".join(str(p) for p in err["loc"])
        raise ObjectFormatError(
            f"manifest field {loc}: {err['msg']} ({exc.error_count()} problems in all)",
            path=path,
            hint="the object was truncated or edited by hand; restore it from the source",
        ) from None


def recompute_digest(obj: dict[str, Any]) -> str:
    """The SAID an MMIO manifest or modality dict should carry in its ``digest`` field."""
    return said_of(obj)
