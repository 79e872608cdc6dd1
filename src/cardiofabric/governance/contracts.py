"""Data access contracts: Ed25519-signed JWTs (RFC 7519, RFC 8037 ``EdDSA``) and their checks.

A data access committee (the *issuer*) signs a contract for one researcher: which datasets,
for what purpose (GA4GH DUO), which actions, for which sites (``aud``), until when. A site's
:class:`TrustStore` knows the issuers it trusts (id → Ed25519 public key), its own audience
and a signed revocation list, and turns a bearer token into a :class:`Contract` or an
:class:`~cardiofabric.errors.AccessError`.

This module is the public face of the contract machinery; each concept lives in its own
module and is re-exported here:

- :mod:`cardiofabric.governance.keys`: Ed25519 key pairs, their files and ids;
- :mod:`cardiofabric.governance.tokens`: the contract and patient-token claims, and signing;
- :mod:`cardiofabric.governance.revocation`: the signed revocation list;
- :mod:`cardiofabric.governance.trust`: the :class:`TrustStore` that verifies tokens.
"""

from __future__ import annotations

from cardiofabric.governance.keys import (
    KeyPair,
    generate_keys,
    key_id,
    load_private_key,
    load_public_key,
)
from cardiofabric.governance.revocation import (
    RevocationList,
    read_revocation_list,
    revoke,
    write_revocation_list,
)
from cardiofabric.governance.tokens import (
    ACTIONS,
    NETWORK_AUDIENCE,
    PATIENT_ACTION,
    Contract,
    issue_contract,
    issue_patient_token,
    patient_subject,
)
from cardiofabric.governance.trust import TrustStore

__all__ = [
    "ACTIONS",
    "NETWORK_AUDIENCE",
    "PATIENT_ACTION",
    "Contract",
    "KeyPair",
    "RevocationList",
    "TrustStore",
    "generate_keys",
    "issue_contract",
    "issue_patient_token",
    "key_id",
    "load_private_key",
    "load_public_key",
    "patient_subject",
    "read_revocation_list",
    "revoke",
    "write_revocation_list",
]
