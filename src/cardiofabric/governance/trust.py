"""A site's trust store: the issuers it trusts, its audience, the revocation list; verifies tokens.

A site's :class:`TrustStore` knows the issuers it trusts (id → Ed25519 public key), its own
audience and a signed revocation list, and turns a bearer token into a
:class:`~cardiofabric.governance.tokens.Contract` or an
:class:`~cardiofabric.errors.AccessError`.

Status codes (RFC 6750 §3.1: a missing, malformed, expired, revoked or unverifiable token is
``invalid_token``, 401): 401 for those and for an untrusted issuer; 403 for an authentic token
meant for another audience (it grants nothing here).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cardiofabric.errors import AccessError, InputError, MissingDependencyError

try:
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # pragma: no cover - the node extra brings both
    raise MissingDependencyError("pyjwt", "node", "data access contracts") from None

from cardiofabric.governance.keys import _check_id, load_public_key
from cardiofabric.governance.purpose import Purpose
from cardiofabric.governance.revocation import RevocationList, read_revocation_list
from cardiofabric.governance.tokens import (
    _ALG,
    _REQUIRED,
    ACTIONS,
    PATIENT_ACTION,
    Contract,
    _aud,
    patient_subject,
)

__all__ = ["TrustStore"]


# -- verification -------------------------------------------------------------------------
def _denied(
    status: int, kind: str, title: str, detail: str, hint: str | None = None
) -> AccessError:
    return AccessError(status, title, detail, kind=kind, hint=hint)


class TrustStore:
    """The issuers a site trusts, its audience and the revocation list; verifies tokens.

    ``issuers`` maps issuer id → public key (or the path of its PEM file). ``audience`` is
    what the site answers to (its id and usually :data:`NETWORK_AUDIENCE`). ``site`` is the
    issuer id of the site's own key, the only issuer of patient tokens (None: none accepted).
    ``refresh_every`` seconds, :meth:`verify` re-reads a changed revocation list by itself.

    A token that verified is remembered (by its SHA-256, at most ``cache_size`` of them) until
    its ``exp``: presenting it again skips the signature and claim checks, which its bytes
    cannot have changed, but never the revocation list, which is checked on every call after
    the same refresh as a first presentation.
    """

    def __init__(
        self,
        issuers: Mapping[str, Ed25519PublicKey | Path | str],
        *,
        audience: str | Sequence[str],
        revocation_list: Path | str | None = None,
        site: str | None = None,
        leeway: float = 30.0,
        refresh_every: float | None = 10.0,
        cache_size: int = 1024,
    ) -> None:
        self.issuers: dict[str, Ed25519PublicKey] = {
            _check_id(i, "issuer id"): (
                k if isinstance(k, Ed25519PublicKey) else load_public_key(k)
            )
            for i, k in issuers.items()
        }
        self.audience = _aud(audience)
        self.site = site
        self.leeway = leeway
        self.refresh_every = refresh_every
        self.revocation_path = Path(revocation_list) if revocation_list is not None else None
        self.revocations: RevocationList | None = None
        self.last_error: str | None = None
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self.cache_size = cache_size
        self._verified: dict[bytes, tuple[int, Contract]] = {}  # sha256(token) -> (exp, contract)
        self._cache_lock = threading.Lock()
        if self.revocation_path is not None:
            self.refresh(force=True)

    @property
    def revoked(self) -> frozenset[str]:
        return self.revocations.revoked if self.revocations else frozenset()

    def refresh(self, *, force: bool = False) -> bool:
        """Re-read the revocation list if its file changed; True when a newer list was taken.

        A list that does not verify, or is older than the one held, raises InputError and the
        list held stays in force.
        """
        if self.revocation_path is None:
            return False
        with self._lock:
            self._checked = time.monotonic()
            try:
                st = self.revocation_path.stat()
            except FileNotFoundError:
                raise InputError(
                    "the configured revocation list is missing; the last one read stays in force",
                    path=self.revocation_path,
                ) from None
            stamp = (st.st_mtime_ns, st.st_size)
            if not force and stamp == self._stamp:
                return False
            new = read_revocation_list(self.revocation_path, self.issuers)
            if self.revocations is not None and new.issued_at < self.revocations.issued_at:
                raise InputError(
                    f"the revocation list on disk (iat {new.issued_at}) is older than the one in "
                    f"force (iat {self.revocations.issued_at}); refusing to go back",
                    path=self.revocation_path,
                    hint="restore the newest list, or revoke again to issue a newer one",
                )
            self._stamp = stamp
            changed = self.revocations != new
            self.revocations = new
            self.last_error = None
            return changed

    def _maybe_refresh(self) -> None:
        if self.revocation_path is None or self.refresh_every is None:
            return
        if time.monotonic() - self._checked < self.refresh_every:
            return
        try:
            self.refresh()
        except InputError as exc:
            self.last_error = exc.message  # keep the list in force; the node reports it

    def verify(self, token: str | None) -> Contract:
        """The contract a bearer token carries, or AccessError 401/403 (module docstring)."""
        if not token:
            raise _denied(
                401,
                "unauthenticated",
                "Authentication required",
                "this request needs a data access contract (a bearer token)",
                "send 'Authorization: Bearer <token>' with a contract issued by a trusted issuer",
            )
        self._maybe_refresh()
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        hit = self._verified.get(digest)
        if hit is not None:
            if time.time() < hit[0]:
                self._check_revoked(hit[1].id)
                return hit[1]
            with self._cache_lock:
                self._verified.pop(digest, None)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise _denied(
                401, "invalid-token", "Invalid token", "the bearer token is not a well-formed JWT"
            ) from None
        if header.get("alg") != _ALG:
            raise _denied(
                401,
                "invalid-token",
                "Invalid token",
                f"expected a token signed with {_ALG}, found alg {header.get('alg')!r}",
            )
        iss = unverified.get("iss")
        key = self.issuers.get(iss) if isinstance(iss, str) else None
        if key is None:
            raise _denied(
                401,
                "untrusted-issuer",
                "Untrusted issuer",
                f"this site does not trust the token's issuer {iss!r}",
                "ask a data access committee this site trusts for a contract",
            )
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[_ALG],
                audience=self.audience,
                issuer=iss,
                leeway=self.leeway,
                options={"require": _REQUIRED},
            )
        except jwt.ExpiredSignatureError:
            raise _denied(
                401,
                "token-expired",
                "Token expired",
                "the contract has expired",
                "ask its issuer for a renewed contract",
            ) from None
        except jwt.ImmatureSignatureError:
            raise _denied(
                401, "token-not-yet-valid", "Token not yet valid", "the contract is not valid yet"
            ) from None
        except jwt.InvalidAudienceError:
            raise _denied(
                403,
                "wrong-audience",
                "Token not for this site",
                f"the contract is for {unverified.get('aud')!r}, not for this site "
                f"({', '.join(self.audience)})",
                "ask for a contract that names this site or the network",
            ) from None
        except jwt.InvalidSignatureError:
            raise _denied(
                401,
                "invalid-signature",
                "Invalid signature",
                f"the token's signature does not verify against {iss}'s key",
            ) from None
        except jwt.MissingRequiredClaimError as exc:
            raise _denied(
                401, "invalid-token", "Invalid token", f"the token lacks the claim {exc.claim!r}"
            ) from None
        except jwt.InvalidTokenError as exc:
            raise _denied(
                401, "invalid-token", "Invalid token", f"the token is not valid ({exc})"
            ) from None
        self._check_revoked(str(claims["jti"]))
        contract = self._contract(claims)
        with self._cache_lock:
            if len(self._verified) >= self.cache_size:
                now = time.time()
                self._verified = {k: v for k, v in self._verified.items() if v[0] > now}
                while len(self._verified) >= self.cache_size:
                    self._verified.pop(next(iter(self._verified)))  # the oldest
            self._verified[digest] = (int(claims["exp"]), contract)
        return contract

    def _check_revoked(self, jti: str) -> None:
        if jti in self.revoked:
            raise _denied(
                401,
                "token-revoked",
                "Token revoked",
                f"contract {jti} has been revoked",
                "ask its issuer why, or for a new contract",
            )

    def _contract(self, claims: dict[str, Any]) -> Contract:
        def bad(what: str) -> AccessError:
            return _denied(401, "invalid-token", "Invalid contract", what)

        actions = claims.get("actions")
        datasets = claims.get("datasets", [])
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            raise bad("the contract's 'actions' is not a list of actions")
        if not isinstance(datasets, list) or not all(isinstance(d, str) for d in datasets):
            raise bad("the contract's 'datasets' is not a list of dataset ids")
        aud = claims["aud"]
        audience = tuple(aud) if isinstance(aud, list) else (str(aud),)
        times = [datetime.fromtimestamp(int(claims[k]), UTC) for k in ("iat", "nbf", "exp")]
        patient = claims.get("patient")
        if patient is not None:
            if actions != [PATIENT_ACTION] or not isinstance(patient, str) or not patient:
                raise bad("a patient token allows the 'consent' action only, for one patient")
            if self.site is None or claims["iss"] != self.site:
                raise _denied(
                    403,
                    "patient-token-issuer",
                    "Not this site's patient token",
                    "patient tokens are accepted only when this site issued them",
                )
            if claims["sub"] != patient_subject(self.site, patient):
                raise bad("the patient token's subject does not match its patient")
            purpose = None
        else:
            unknown = [a for a in actions if a not in ACTIONS]
            if unknown or not actions:
                raise bad(f"unknown actions {unknown or '(none)'}; expected among {ACTIONS}")
            codes = claims.get("purpose")
            if not isinstance(codes, list) or not codes:
                raise bad("the contract states no purpose")
            try:
                purpose = Purpose(
                    tuple(str(c) for c in codes),
                    disease=claims.get("disease"),
                    # Missing flags read as the claim that permits least (claims table, tokens.py).
                    commercial=claims.get("commercial") is not False,
                    irb_approved=claims.get("irb_approved") is True,
                    country=claims.get("country"),
                )
            except InputError as exc:
                raise bad(f"the contract's purpose is not valid ({exc.message})") from None
        return Contract(
            id=str(claims["jti"]),
            issuer=str(claims["iss"]),
            subject=str(claims["sub"]),
            audience=audience,
            issued_at=times[0],
            not_before=times[1],
            expires_at=times[2],
            datasets=tuple(datasets),
            purpose=purpose,
            actions=tuple(actions),
            patient=patient,
            claims=claims,
        )
