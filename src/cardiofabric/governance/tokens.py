"""Data access contracts and patient tokens: Ed25519-signed JWTs (RFC 7519, RFC 8037 ``EdDSA``).

A data access committee (the *issuer*) signs a contract for one researcher: which datasets,
for what purpose (GA4GH DUO), which actions, for which sites (``aud``), until when. A site's
:class:`~cardiofabric.governance.trust.TrustStore` turns the token back into a :class:`Contract`.

Claims (all required unless marked optional):

============== ===============================================================================
``iss``        issuer id; the trust store holds its public key
``sub``        researcher id (the budget and the audit log are kept per ``sub``)
``aud``        site ids, or ``cardiofabric:network`` for every site of the network
``iat`` ``nbf`` ``exp``  issued, valid from, valid until (seconds since the epoch)
``jti``        contract id (what a revocation names)
``datasets``   dataset ids the contract covers
``purpose``    DUO permission codes of the research (GRU, HMB, DS, POA)
``disease``    optional; the disease of DS research (MONDO or ICD-10 code)
``commercial`` ``irb_approved``  booleans; a contract without them is read as commercial and
               without ethics approval (the reading that permits least)
``country``    optional; ISO 3166-1 alpha-2 of where the data are used (DUO GS)
``actions``    subset of :data:`ACTIONS`
``patient``    patient tokens only (below)
============== ===============================================================================

**Patient tokens.** A site lets a patient change their own consent with a token it issues
itself, signed with its own key (``iss`` = the site id): ``actions`` is ``["consent"]``,
``patient`` the patient's pseudonym in the store, and ``sub`` ``patient:`` + the first 32 hex
digits of SHA-256 over ``site:pseudonym``, so that logs and the audit log name the token's
holder without the pseudonym. A trust store accepts a patient token only from the site's own
issuer id and a contract with a ``consent`` action from nobody.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cardiofabric.errors import InputError, MissingDependencyError

try:
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
except ImportError:  # pragma: no cover - the node extra brings both
    raise MissingDependencyError("pyjwt", "node", "data access contracts") from None

from cardiofabric.governance.keys import _check_id, key_id
from cardiofabric.governance.purpose import Purpose

__all__ = [
    "ACTIONS",
    "NETWORK_AUDIENCE",
    "PATIENT_ACTION",
    "Contract",
    "issue_contract",
    "issue_patient_token",
    "patient_subject",
]

#: What a contract may allow, from least to most disclosive.
ACTIONS = ("discover-boolean", "discover-count", "analyse", "train", "record")
#: The one action of a patient token.
PATIENT_ACTION = "consent"
#: The audience of a contract valid at every site of the network.
NETWORK_AUDIENCE = "cardiofabric:network"
_ALG = "EdDSA"
_REQUIRED = ["iss", "sub", "aud", "iat", "nbf", "exp", "jti"]


# -- contracts ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Contract:
    """A verified contract (or patient token)."""

    id: str  # jti
    issuer: str
    subject: str  # researcher id, or patient:<digest>
    audience: tuple[str, ...]
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    datasets: tuple[str, ...]
    purpose: Purpose | None  # None for a patient token
    actions: tuple[str, ...]
    patient: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_patient(self) -> bool:
        return self.patient is not None


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _aud(audience: str | Sequence[str]) -> list[str]:
    auds = [audience] if isinstance(audience, str) else list(audience)
    if not auds:
        raise InputError("a contract needs an audience", hint=f"a site id or {NETWORK_AUDIENCE}")
    return [_check_id(a, "audience") for a in auds]


def issue_contract(
    private_key: Ed25519PrivateKey,
    *,
    issuer: str,
    researcher: str,
    datasets: Sequence[str],
    purpose: Purpose,
    actions: Sequence[str],
    audience: str | Sequence[str] = NETWORK_AUDIENCE,
    valid_for: timedelta = timedelta(days=365),
    not_before: datetime | None = None,
    now: datetime | None = None,
    contract_id: str | None = None,
) -> str:
    """Sign a contract (claims in the module docstring); returns the compact JWT."""
    bad = [a for a in actions if a not in ACTIONS]
    if bad or not actions:
        raise InputError(
            f"expected actions among {', '.join(ACTIONS)}, found {', '.join(bad) or 'none'}",
            hint="e.g. --action discover-count",
        )
    if not datasets:
        raise InputError("a contract needs at least one dataset", hint="e.g. --dataset site-a")
    if valid_for <= timedelta(0):
        raise InputError(f"expected a positive validity, found {valid_for}")
    t = _now(now)
    nbf = _now(not_before) if not_before is not None else t
    claims: dict[str, Any] = {
        "iss": _check_id(issuer, "issuer id"),
        "sub": _check_id(researcher, "researcher id"),
        "aud": _aud(audience),
        "iat": int(t.timestamp()),
        "nbf": int(nbf.timestamp()),
        "exp": int((nbf + valid_for).timestamp()),
        "jti": _check_id(contract_id or str(uuid.uuid4()), "contract id"),
        "datasets": [_check_id(d, "dataset id") for d in dict.fromkeys(datasets)],
        "purpose": list(purpose.codes),
        "commercial": purpose.commercial,
        "irb_approved": purpose.irb_approved,
        "actions": [a for a in ACTIONS if a in actions],
    }
    if purpose.disease:
        claims["disease"] = purpose.disease
    if purpose.country:
        claims["country"] = purpose.country
    headers = {"kid": key_id(private_key.public_key())}
    return jwt.encode(claims, private_key, algorithm=_ALG, headers=headers)


def patient_subject(site: str, pseudonym: str) -> str:
    """The ``sub`` of a patient token: names the holder without the pseudonym."""
    return "patient:" + hashlib.sha256(f"{site}:{pseudonym}".encode()).hexdigest()[:32]


def issue_patient_token(
    private_key: Ed25519PrivateKey,
    *,
    site: str,
    pseudonym: str,
    valid_for: timedelta = timedelta(days=30),
    now: datetime | None = None,
) -> str:
    """Sign a patient token with the site's own key (see the module docstring)."""
    if not pseudonym:
        raise InputError("a patient token needs the patient's pseudonym")
    if valid_for <= timedelta(0):
        raise InputError(f"expected a positive validity, found {valid_for}")
    t = _now(now)
    claims = {
        "iss": _check_id(site, "site id"),
        "sub": patient_subject(site, pseudonym),
        "aud": [site],
        "iat": int(t.timestamp()),
        "nbf": int(t.timestamp()),
        "exp": int((t + valid_for).timestamp()),
        "jti": str(uuid.uuid4()),
        "datasets": [],
        "purpose": [],
        "actions": [PATIENT_ACTION],
        "patient": pseudonym,
    }
    headers = {"kid": key_id(private_key.public_key())}
    return jwt.encode(claims, private_key, algorithm=_ALG, headers=headers)
