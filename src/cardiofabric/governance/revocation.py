"""Signed revocation lists of contracts.

**Revocation list.** A JWT signed by a trusted issuer with ``iss``, ``iat`` and ``revoked`` (the
revoked contract ids). Revoking only ever denies, so a list from any trusted issuer applies to
every contract. :meth:`~cardiofabric.governance.trust.TrustStore.refresh` re-reads the file
when it changed and refuses a list older (``iat``) than the one it holds, so that restoring an
old file cannot un-revoke.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cardiofabric.errors import InputError, MissingDependencyError

try:
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
except ImportError:  # pragma: no cover - the node extra brings both
    raise MissingDependencyError("pyjwt", "node", "data access contracts") from None

from cardiofabric.governance.keys import _check_id, key_id
from cardiofabric.governance.tokens import _ALG

__all__ = [
    "RevocationList",
    "read_revocation_list",
    "revoke",
    "write_revocation_list",
]


# -- revocation list ----------------------------------------------------------------------
@dataclass(frozen=True)
class RevocationList:
    issuer: str
    issued_at: int
    revoked: frozenset[str]


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # a revocation list is public: every node reads it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_revocation_list(
    path: Path | str,
    private_key: Ed25519PrivateKey,
    *,
    issuer: str,
    revoked: Iterable[str],
    issued_at: int | None = None,
) -> RevocationList:
    """Sign and write (atomically) a revocation list."""
    iat = int(time.time()) if issued_at is None else issued_at
    ids = sorted(set(revoked))
    claims = {"iss": _check_id(issuer, "issuer id"), "iat": iat, "revoked": ids}
    token = jwt.encode(
        claims,
        private_key,
        algorithm=_ALG,
        headers={"typ": "revocation-list+jwt", "kid": key_id(private_key.public_key())},
    )
    _atomic_write(Path(path), token + "\n")
    return RevocationList(issuer, iat, frozenset(ids))


def read_revocation_list(
    path: Path | str, issuers: Mapping[str, Ed25519PublicKey]
) -> RevocationList:
    """Read and verify a revocation list signed by one of ``issuers``."""
    p = Path(path)
    try:
        token = p.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise InputError(
            "revocation list not found",
            path=p,
            hint="create it with 'cardiofabric governance revoke', or leave it out of the "
            "configuration",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the revocation list ({exc})", path=p) from None
    try:
        header = jwt.get_unverified_header(token)
        iss = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.InvalidTokenError:
        raise InputError(
            "expected a signed revocation list (a JWT), found something else", path=p
        ) from None
    if header.get("typ") != "revocation-list+jwt":
        raise InputError("the file is a JWT but not a revocation list", path=p)
    key = issuers.get(iss) if isinstance(iss, str) else None
    if key is None:
        raise InputError(
            f"the revocation list is signed by {iss!r}, which is not a trusted issuer",
            path=p,
            hint="sign it with a trusted issuer's key, or add that issuer to the trusted ones",
        )
    try:
        # iat orders lists (a newer one wins); a clock ahead at the steward's must not make
        # the node refuse a revocation, so it is not checked against the node's clock.
        claims = jwt.decode(
            token, key, algorithms=[_ALG], options={"require": ["iss", "iat"], "verify_iat": False}
        )
    except jwt.InvalidTokenError as exc:
        raise InputError(
            f"the revocation list does not verify against {iss}'s key ({exc})",
            path=p,
            hint="it was edited or signed with another key; re-issue it with "
            "'cardiofabric governance revoke'",
        ) from None
    revoked = claims.get("revoked", [])
    if not isinstance(revoked, list) or not all(isinstance(r, str) for r in revoked):
        raise InputError("expected 'revoked' to be a list of contract ids", path=p)
    return RevocationList(str(iss), int(claims["iat"]), frozenset(revoked))


def revoke(
    list_path: Path | str,
    private_key: Ed25519PrivateKey,
    contract_ids: Iterable[str],
    *,
    issuer: str,
) -> RevocationList:
    """Add contract ids to the revocation list at ``list_path`` (created when missing)."""
    p = Path(list_path)
    ids = {_check_id(c, "contract id") for c in contract_ids}
    old: RevocationList | None = None
    if p.exists():
        old = read_revocation_list(p, {issuer: private_key.public_key()})
    iat = int(time.time())
    if old is not None:
        iat = max(iat, old.issued_at + 1)  # strictly newer, so every node takes it
    return write_revocation_list(
        p, private_key, issuer=issuer, revoked=(old.revoked if old else set()) | ids, issued_at=iat
    )
