"""Governance: contracts, consent, policy, disclosure control, privacy budgets, audit.

Every answer leaving a site passes :class:`Gate` (authenticate → authorise → consent →
disclosure control → audit); the modules are its parts, usable on their own by stewards'
tools (the ``cardiofabric governance`` and ``cardiofabric audit`` commands).
"""

from __future__ import annotations

from cardiofabric.errors import AccessError
from cardiofabric.governance.audit import AuditEntry, AuditReport
from cardiofabric.governance.budget import BudgetState
from cardiofabric.governance.contracts import (
    ACTIONS,
    NETWORK_AUDIENCE,
    PATIENT_ACTION,
    Contract,
    KeyPair,
    RevocationList,
    TrustStore,
    generate_keys,
    issue_contract,
    issue_patient_token,
    load_private_key,
    load_public_key,
    revoke,
)
from cardiofabric.governance.disclosure import OpenDPLaplace, Released, SeededLaplace, release_count
from cardiofabric.governance.gate import ACTION_GRANULARITY, Caller, Gate, Grant
from cardiofabric.governance.patient import ConsentChange, change_consent
from cardiofabric.governance.policy import DifferentialPrivacy, SitePolicy
from cardiofabric.governance.purpose import (
    ConsentDecision,
    Purpose,
    allowed_profiles,
    consent_filter,
    consenting_keys,
    consenting_pseudonyms,
    permits,
)

__all__ = [
    "ACTIONS",
    "ACTION_GRANULARITY",
    "NETWORK_AUDIENCE",
    "PATIENT_ACTION",
    "AccessError",
    "AuditEntry",
    "AuditReport",
    "BudgetState",
    "Caller",
    "ConsentChange",
    "ConsentDecision",
    "Contract",
    "DifferentialPrivacy",
    "Gate",
    "Grant",
    "KeyPair",
    "OpenDPLaplace",
    "Purpose",
    "Released",
    "RevocationList",
    "SeededLaplace",
    "SitePolicy",
    "TrustStore",
    "allowed_profiles",
    "change_consent",
    "consent_filter",
    "consenting_keys",
    "consenting_pseudonyms",
    "generate_keys",
    "issue_contract",
    "issue_patient_token",
    "load_private_key",
    "load_public_key",
    "permits",
    "release_count",
    "revoke",
]
