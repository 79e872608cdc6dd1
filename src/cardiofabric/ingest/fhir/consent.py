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
  In a ``permit`` provision they are permissions, in a ``deny`` provision prohibitions. A
  provision without ``type`` takes its parent's (the root defaults to ``permit``; a
  ``policyRule`` of ``OPTOUT`` makes it ``deny``).
- **Unknown terms.** A DUO coding whose code is not a DUO term is rejected (``Consent/<id>``
  and the term), and the patient's consent is recorded empty, as for every source (see
  :mod:`cardiofabric.ingest.consent`): leaving the term out could permit what it restricts.
- **No genomic data.** A ``deny`` provision on genomic data, i.e. with a ``class`` of
  ``MolecularSequence`` (R4 resource type) or a ``securityLabel`` ``GDIS`` (HL7 v3
  ActCode "genetic disease information sensitivity"), is recorded as the prohibition of
  :data:`~cardiofabric.ingest.consent.GENOMICS_PROHIBITION` (DUO:0000016, GSO).
- **Several consents.** Combined as for every source (:mod:`cardiofabric.ingest.consent`: the
  latest wins, modifiers name the first permission). ``version`` is ``meta.versionId`` when
  that is a positive integer, otherwise the consent's rank among the patient's consents
  (1 = oldest); ``updated`` is ``dateTime``.
"""

from __future__ import annotations

import re
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.ingest.consent import GENOMICS_PROHIBITION, ConsentReading
from cardiofabric.ingest.fhir.parse import ResourceError, timestamp
from cardiofabric.vocab.duo import resolve

__all__ = ["read_consent"]

_DUO_CODE = re.compile(r"^DUO[:_]([0-9]{7})$")
_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
_STATUS = {"active": "active", "inactive": "withdrawn", "rejected": "withdrawn"}
_NOT_IN_FORCE = ("draft", "proposed", "entered-in-error")


class _Terms:
    """The DUO terms of one Consent as its provisions are walked, and those not in DUO."""

    def __init__(self) -> None:
        self.permits: list[str] = []
        self.denies: list[str] = []
        self.unknown: list[str] = []

    def codes(self, codings: list[Any]) -> list[str]:
        """The DUO codes among ``codings``; a DUO coding of an unknown term is noted."""
        out = []
        for coding in codings:
            code = (coding.code or "").strip()
            m = _DUO_CODE.match(code)
            if not m and not ("duo" in (coding.system or "").lower() and code):
                continue  # not a DUO coding: another terminology says something else
            try:
                out.append(resolve(f"DUO:{m.group(1)}" if m else code).code)
            except InputError:
                self.unknown.append(code)
        return out


def _codings(provision: Any) -> list[Any]:
    out = [c for concept in provision.code or [] for c in concept.coding or []]
    return out + list(provision.purpose or [])


def _genomic(provision: Any) -> bool:
    for c in provision.class_fhir or []:
        if c.code == "MolecularSequence" or "genomics-reporting" in (c.system or ""):
            return True
    return any(c.code == "GDIS" for c in provision.securityLabel or [])


def _walk(provision: Any, inherited: str, terms: _Terms) -> None:
    kind = provision.type or inherited
    codes = terms.codes(_codings(provision))
    if kind == "deny":
        terms.denies += codes
        if _genomic(provision):
            terms.denies.append(GENOMICS_PROHIBITION)
    else:
        terms.permits += codes
    for child in provision.provision or []:
        _walk(child, kind, terms)


def read_consent(res: Any, order: int) -> ConsentReading | None:
    """The DUO reading of one Consent; None when it is not about research use.

    An unknown DUO term is one of the reading's ``problems``: the caller rejects the resource
    with it, and :func:`~cardiofabric.ingest.consent.consent_of` then records the patient's
    consent empty.
    """
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
    terms = _Terms()
    terms.permits += terms.codes(policy)
    if res.provision is not None:
        _walk(res.provision, root_kind, terms)
    version = None
    if res.meta is not None and res.meta.versionId and str(res.meta.versionId).isdigit():
        version = int(res.meta.versionId) or None
    return ConsentReading(
        status=status,
        permissions=tuple(dict.fromkeys(terms.permits)),
        prohibitions=tuple(dict.fromkeys(terms.denies)),
        time=timestamp(res.dateTime),
        version=version,
        order=order,
        problems=tuple(
            f"unknown DUO term {term!r}; expected a DUO code (DUO:0000042) or abbreviation "
            "(GRU, HMB, DS, GSO, ...); the patient's consent is recorded empty (nothing permitted)"
            for term in dict.fromkeys(terms.unknown)
        ),
    )
