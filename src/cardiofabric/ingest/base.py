"""What every source adapter yields, and the registry that finds an adapter by format name.

An adapter reads one source file and yields :class:`ModalityRecord` s keyed by the *local*
patient id; the pipeline pseudonymises that id before anything is stored and never writes it.
Adapters import their format library lazily so that a missing optional dependency is a clear
error naming the extra to install (the pydicom plugin habit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cardiofabric.errors import InputError
from cardiofabric.mmio.container import PayloadSpec
from cardiofabric.mmio.model import Consent, ModalityKind, Semantics

__all__ = [
    "Adapter",
    "ModalityRecord",
    "Rejection",
    "SourceContext",
    "SourceReport",
    "get_adapter",
    "register",
    "registered",
]


@dataclass(frozen=True)
class Rejection:
    """A record an adapter could not accept, and why (shown in the ingest report)."""

    record: str  # where in the source: "line 12", "Observation/obs-7", "file ecg/p1.edf"
    reason: str


@dataclass
class SourceReport:
    """What reading one source gave: records read, accepted, rejected (with reasons)."""

    source: str
    format: str
    read: int = 0
    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)


@dataclass
class SourceContext:
    """What an adapter knows about the site while reading one source.

    Adapters count what they read (``count_read``) and report records they cannot accept with
    ``reject`` instead of raising, so that one bad record never stops a whole source; they
    raise :class:`InputError` only when the source as a whole cannot be read.
    ``code_map`` translates the site's local codes and labels to standard codes.
    """

    site: str
    language: str = "eng"
    source_system: str = "unknown"
    options: dict[str, Any] = field(default_factory=dict)
    code_map: Any = None  # cardiofabric.vocab.maps.CodeMap when the site has one
    report: SourceReport | None = None

    def count_read(self, n: int = 1) -> None:
        if self.report is not None:
            self.report.read += n

    def reject(self, record: str, reason: str) -> None:
        if self.report is not None:
            self.report.rejected.append(Rejection(record, reason))


@dataclass
class ModalityRecord:
    """One modality of one patient as read from a source."""

    local_id: str
    kind: ModalityKind
    media_type: str
    content: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    payloads: list[PayloadSpec] = field(default_factory=list)
    semantics: Semantics | None = None
    time: str | None = None  # the source's own time for this record (ISO 8601)
    # The patient's consent as the source records it (e.g. a FHIR Consent), if it does.
    consent: Consent | None = None


class Adapter(Protocol):
    """A source format reader."""

    format: str
    version: str

    def read(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]: ...


_REGISTRY: dict[str, Callable[[], Adapter]] = {}


def register(fmt: str) -> Callable[[Callable[[], Adapter]], Callable[[], Adapter]]:
    """Class decorator: make an adapter available under its format name."""

    def deco(factory: Callable[[], Adapter]) -> Callable[[], Adapter]:
        _REGISTRY[fmt] = factory
        return factory

    return deco


def registered() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def get_adapter(fmt: str) -> Adapter:
    _load_builtin()
    try:
        return _REGISTRY[fmt]()
    except KeyError:
        raise InputError(
            f"no ingest adapter for source format {fmt!r}",
            hint=f"use one of: {', '.join(sorted(_REGISTRY))}",
        ) from None


def _load_builtin() -> None:
    # Importing the modules registers their adapters; none imports its format library here.
    from cardiofabric.ingest import (  # noqa: F401
        ecg,
        ecg_array,
        fhir,
        imaging,
        omop,
        tabular,
        vcf,
        wearable,
    )
