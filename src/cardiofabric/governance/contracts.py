"""Data access contracts: Ed25519-signed JWTs (RFC 7519, RFC 8037 ``EdDSA``) and their checks.

A data access committee (the *issuer*) signs a contract for one researcher: which datasets,
for what purpose (GA4GH DUO), which actions, for which sites (``aud``), until when. A site's
:class:`TrustStore` knows the issuers it trusts (id → Ed25519 public key), its own audience
and a signed revocation list, and turns a bearer token into a :class:`Contract` or an
:class:`~cardiofabric.errors.AccessError`.

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

**Revocation list.** A JWT signed by a trusted issuer with ``iss``, ``iat`` and ``revoked`` (the
revoked contract ids). Revoking only ever denies, so a list from any trusted issuer applies to
every contract. :meth:`TrustStore.refresh` re-reads the file when it changed and refuses a list
older (``iat``) than the one it holds, so that restoring an old file cannot un-revoke.

Status codes (RFC 6750 §3.1: a missing, malformed, expired, revoked or unverifiable token is
``invalid_token``, 401): 401 for those and for an untrusted issuer; 403 for an authentic token
meant for another audience (it grants nothing here).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cardiofabric.errors import AccessError, InputError, MissingDependencyError

try:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
except ImportError:  # pragma: no cover - the node extra brings both
    raise MissingDependencyError("pyjwt", "node", "data access contracts") from None

from cardiofabric.governance.purpose import Purpose

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

#: What a contract may allow, from least to most disclosive.
ACTIONS = ("discover-boolean", "discover-count", "analyse", "train", "record")
#: The one action of a patient token.
PATIENT_ACTION = "consent"
#: The audience of a contract valid at every site of the network.
NETWORK_AUDIENCE = "cardiofabric:network"
_ALG = "EdDSA"
_REQUIRED = ["iss", "sub", "aud", "iat", "nbf", "exp", "jti"]
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$")


# -- keys ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path
    key_id: str


def key_id(public: Ed25519PublicKey) -> str:
    """The RFC 7638 JWK thumbprint of an Ed25519 public key (base64url SHA-256)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    jwk = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(jwk.encode()).digest()).rstrip(b"=").decode()


def _check_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise InputError(
            f"expected {what} of letters, digits and . _ : @ / - (at most 128), found {value!r}",
            hint=f"choose a short, stable {what}",
        )
    return value


def generate_keys(directory: Path | str, name: str) -> KeyPair:
    """Write ``NAME.key`` (PKCS#8 PEM, mode 0600) and ``NAME.pub`` (PEM) in ``directory``.

    Both files are created exclusively: an existing key is never overwritten.
    """
    _check_id(name, "key name")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    priv, pub = d / f"{name}.key", d / f"{name}.pub"
    key = Ed25519PrivateKey.generate()
    pem_priv = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem_pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    created: list[Path] = []
    try:
        for path, mode, data in ((priv, 0o600, pem_priv), (pub, 0o644, pem_pub)):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            except FileExistsError:
                raise InputError(
                    "a key file already exists; refusing to overwrite it",
                    path=path,
                    hint="choose another name or directory, or move the old key away first",
                ) from None
            created.append(path)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
    except BaseException:
        for p in created:
            with contextlib.suppress(OSError):
                p.unlink()
        raise
    return KeyPair(priv, pub, key_id(key.public_key()))


def load_private_key(path: Path | str) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file readable by its owner only."""
    p = Path(path)
    try:
        data = p.read_bytes()
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise InputError("private key file not found", path=p) from None
    except OSError as exc:
        raise InputError(f"cannot read the private key file ({exc.strerror})", path=p) from None
    if os.name == "posix" and mode & 0o077:
        # As ssh does: a signing key others can read may already be someone else's.
        raise InputError(
            f"the private key file is readable by others (mode {mode & 0o777:o})",
            path=p,
            hint=f"restrict it: chmod 600 {p.name}",
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"expected an unencrypted PEM private key, found a file that is not one ({exc})",
            path=p,
            hint="give the .key file written by 'cardiofabric governance keygen'",
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(
            f"expected an Ed25519 private key, found {type(key).__name__}",
            path=p,
            hint="contracts are signed with Ed25519 (JWT alg EdDSA); make one with "
            "'cardiofabric governance keygen'",
        )
    return key


def load_public_key(path: Path | str) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError("public key file not found", path=p) from None
    except OSError as exc:
        raise InputError(f"cannot read the public key file ({exc.strerror})", path=p) from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"expected a PEM public key, found a file that is not one ({exc})",
            path=p,
            hint="give the .pub file written by 'cardiofabric governance keygen'",
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"expected an Ed25519 public key, found {type(key).__name__}", path=p)
    return key


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
                    # Missing flags read as the claim that permits least (module docstring).
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
