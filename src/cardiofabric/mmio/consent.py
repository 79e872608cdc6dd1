"""Building a patient's consent from DUO codes or abbreviations."""

from __future__ import annotations

from collections.abc import Iterable

from cardiofabric.mmio.model import Consent, ConsentTerm
from cardiofabric.vocab.duo import resolve

__all__ = ["consent_from_terms"]


def consent_from_terms(
    permissions: Iterable[str],
    prohibitions: Iterable[str] = (),
    *,
    status: str = "active",
    version: int = 1,
    updated: str | None = None,
) -> Consent:
    """``consent_from_terms(["GRU", "NPU"])`` → a :class:`Consent` with resolved DUO codes."""

    def terms(items: Iterable[str]) -> list[ConsentTerm]:
        out = []
        for item in items:
            t = resolve(item)
            out.append(ConsentTerm(code=t.code, label=t.label))
        return sorted(out, key=lambda t: t.code)

    return Consent.model_validate(
        {
            "permissions": [t.model_dump() for t in terms(permissions)],
            "prohibitions": [t.model_dump() for t in terms(prohibitions)],
            "status": status,
            "version": version,
            "updated": updated,
        }
    )
