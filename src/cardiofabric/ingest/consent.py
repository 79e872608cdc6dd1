"""A patient's research consent, combined from the consents a source states, as GA4GH DUO terms.

Every source that carries consent (FHIR R4 ``Consent`` resources, OMOP consent observations,
a tabular extract's consent columns) reads each consent it states into a
:class:`ConsentReading`; :func:`consent_of` combines one patient's readings by the same rules
whatever the source (DUO release 2021-02-23):

- **Latest wins.** The latest reading (``time``, then order in the source) is the patient's
  consent; ``updated`` is its time.
- **Version.** The reading's own version where the source states one (FHIR
  ``meta.versionId``), otherwise the number of the patient's consents.
- **Modifiers.** DUO modifiers among the permissions name the consent's first permission as
  ``modifier_of`` (DUO: a modifier restricts a permission, it grants nothing on its own).
- **Deny by default.** When any of the patient's consents could not be read in full (an
  unknown DUO term, an unknown status), the patient's consent is recorded empty: nothing is
  permitted. A consent read in part, or an older one, could permit what the patient did not.
- **No genomic data.** DUO has no term for "no use of genomic data"; every source records it as
  the prohibition of :data:`GENOMICS_PROHIBITION` (GSO, "genetic studies only"), which is what
  the patient refused. Governance reads it as "leave this patient's genomic data out".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cardiofabric.mmio.model import Consent
from cardiofabric.vocab.duo import DUO_TERMS

__all__ = ["GENOMICS_PROHIBITION", "ConsentReading", "consent_of"]

#: The DUO term "no use of genomic data" becomes, as a prohibition (see the module docstring).
GENOMICS_PROHIBITION = "DUO:0000016"


@dataclass(frozen=True)
class ConsentReading:
    """What one consent of a source says, before the patient's consents are combined."""

    status: str  # active | withdrawn
    permissions: tuple[str, ...]
    prohibitions: tuple[str, ...]
    time: str | None
    version: int | None
    order: int  # position in the source, for ties
    #: Why the consent could not be read in full; any problem makes the patient's consent empty.
    problems: tuple[str, ...] = ()


def _terms(codes: tuple[str, ...], primary: str | None) -> list[dict[str, Any]]:
    out = []
    for code in sorted(set(codes)):
        term = DUO_TERMS.get(code)
        modifier = term is not None and term.kind == "modifier"
        out.append(
            {
                "code": code,
                "label": term.label if term else None,
                "modifier_of": primary if modifier and primary != code else None,
            }
        )
    return out


def consent_of(readings: list[ConsentReading]) -> Consent | None:
    """The patient's consent: the latest reading, versioned (see the module docstring)."""
    if not readings:
        return None
    ordered = sorted(readings, key=lambda r: (r.time or "", r.order))
    latest = ordered[-1]
    version = latest.version or len(ordered)
    if any(r.problems for r in ordered):
        # Deny by default: nothing permitted. A withdrawal anywhere stays a withdrawal.
        withdrawn = any(r.status == "withdrawn" for r in ordered)
        return Consent(
            version=version, updated=latest.time, status="withdrawn" if withdrawn else "active"
        )
    primary = next(
        (c for c in latest.permissions if c in DUO_TERMS and DUO_TERMS[c].kind == "permission"),
        None,
    )
    return Consent.model_validate(
        {
            "permissions": _terms(latest.permissions, primary),
            "prohibitions": _terms(latest.prohibitions, None),
            "status": latest.status,
            "version": version,
            "updated": latest.time,
        }
    )
