"""A patient's research consent from FHIR R4 ``Consent`` resources, as GA4GH DUO terms.

The mapping (FHIR R4 ``consent.html``, Consent.provision; DUO release 2021-02-23):

- **Which resources.** A Consent whose ``scope`` is coded and is not ``research``
  (``consentscope``: ``treatment``, ``patient-privacy``, ``adr``) says nothing about research
  use and is left out. ``status`` ``draft`` and ``proposed`` are not in force and
  ``entered-in-error`` is no consent: those are reported as rejections.
- **Status.** ``active`` → ``active``; ``inactive`` (the consent was revoked) and ``rejected``
  (the patient refused) → ``withdrawn``. The terms recorded stay in the consent; governance
  excludes a withdrawn patient whatever they say.
- **Terms.** DUO codes are read from every provision (the root and nested ones, R4
  ``Consent.provision.provision``) in ``provision.code`` and ``provision.purpose``, and from
  ``policyRule``. A coding is DUO when its system is a DUO IRI or its code reads
  ``DUO:0000042`` / ``DUO_0000042``; a DUO abbreviation (``GRU``) is accepted under a DUO system.
  In a ``permit`` provision they are permissions, DUO modifiers naming the consent's first
  permission as ``modifier_of``; in a ``deny`` provision they are prohibitions. A provision
  without ``type`` takes its parent's (the root defaults to ``permit``; a ``policyRule`` of
  ``OPTOUT`` makes it ``deny``).
- **No genomic data.** A ``deny`` provision on genomic data, i.e. with a ``class`` of
  ``MolecularSequence`` (R4 resource type) or a ``securityLabel`` ``GDIS`` (HL7 v3
  ActCode "genetic disease information sensitivity"), is recorded as the prohibition of
  ``DUO:0000016`` (GSO, "genetic studies only"): DUO has no term for "no use of genomic data",
  and refusing genetic studies is what the patient said. Governance reads a prohibited
  ``DUO:0000016`` as "leave this patient's genomic data out".
- **Several consents.** The latest (``dateTime``, then order in the source) is the patient's
  consent. ``version`` is ``meta.versionId`` when that is a positive integer, otherwise the
  consent's rank among the patient's consents (1 = oldest); ``updated`` is ``dateTime``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.ingest.fhir.parse import ResourceError, timestamp
from cardiofabric.mmio.model import Consent
from cardiofabric.vocab.duo import DUO_TERMS, resolve

__all__ = ["GENOMICS_PROHIBITION", "ConsentReading", "consent_of", "read_consent"]

#: The DUO term a "no genomic data" deny provision becomes (see the module docstring).
GENOMICS_PROHIBITION = "DUO:0000016"

_DUO_CODE = re.compile(r"^DUO[:_]([0-9]{7})$")
_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
_STATUS = {"active": "active", "inactive": "withdrawn", "rejected": "withdrawn"}
_NOT_IN_FORCE = ("draft", "proposed", "entered-in-error")


@dataclass(frozen=True)
class ConsentReading:
    """What one Consent resource says, before the patient's consents are combined."""

    status: str  # active | withdrawn
    permissions: tuple[str, ...]
    prohibitions: tuple[str, ...]
    time: str | None
    version: int | None
    order: int  # position in the source, for ties


def _duo(coding: Any) -> str | None:
    code = (coding.code or "").strip()
    m = _DUO_CODE.match(code)
    if m:
        return f"DUO:{m.group(1)}"
    if "duo" in (coding.system or "").lower() and code:
        try:
            return resolve(code).code
        except InputError:
            return None
    return None


def _codings(provision: Any) -> list[Any]:
    out = [c for concept in provision.code or [] for c in concept.coding or []]
    return out + list(provision.purpose or [])


def _genomic(provision: Any) -> bool:
    for c in provision.class_fhir or []:
        if c.code == "MolecularSequence" or "genomics-reporting" in (c.system or ""):
            return True
    return any(c.code == "GDIS" for c in provision.securityLabel or [])


def _walk(provision: Any, inherited: str, permits: list[str], denies: list[str]) -> None:
    kind = provision.type or inherited
    codes = [d for d in (_duo(c) for c in _codings(provision)) if d]
    if kind == "deny":
        denies += codes
        if _genomic(provision):
            denies.append(GENOMICS_PROHIBITION)
    else:
        permits += codes
    for child in provision.provision or []:
        _walk(child, kind, permits, denies)


def read_consent(res: Any, order: int) -> ConsentReading | None:
    """The DUO reading of one Consent; None when it is not about research use."""
    if res.status in _NOT_IN_FORCE:
        raise ResourceError(f"status {res.status!r}: the consent is not in force")
    status = _STATUS.get(res.status or "")
    if status is None:
        raise ResourceError(f"unknown Consent.status {res.status!r}")
    scopes = [c.code for c in (res.scope.coding or []) if c.system == _SCOPE] if res.scope else []
    if scopes and "research" not in scopes:
        return None
    policy = [c for rule in [res.policyRule] if rule for c in rule.coding or []]
    root_kind = "deny" if any(c.code == "OPTOUT" for c in policy) else "permit"
    permits = [d for d in (_duo(c) for c in policy) if d]
    denies: list[str] = []
    if res.provision is not None:
        _walk(res.provision, root_kind, permits, denies)
    version = None
    if res.meta is not None and res.meta.versionId and str(res.meta.versionId).isdigit():
        version = int(res.meta.versionId) or None
    return ConsentReading(
        status=status,
        permissions=tuple(dict.fromkeys(permits)),
        prohibitions=tuple(dict.fromkeys(denies)),
        time=timestamp(res.dateTime),
        version=version,
        order=order,
    )


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
    primary = next(
        (c for c in latest.permissions if c in DUO_TERMS and DUO_TERMS[c].kind == "permission"),
        None,
    )
    return Consent.model_validate(
        {
            "permissions": _terms(latest.permissions, primary),
            "prohibitions": _terms(latest.prohibitions, None),
            "status": latest.status,
            "version": latest.version or len(ordered),
            "updated": latest.time,
        }
    )
