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
from cardiofabric.mmio.model import ModalityKind, Semantics

__all__ = ["Adapter", "ModalityRecord", "SourceContext", "get_adapter", "register", "registered"]


@dataclass
class SourceContext:
    """What an adapter knows about the site while reading one source."""

    site: str
    language: str = "eng"
    source_system: str = "unknown"
    options: dict[str, Any] = field(default_factory=dict)


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
    from cardiofabric.ingest import ecg_array, fhir, vcf  # noqa: F401
