"""Ed25519 signing keys of contracts, patient tokens and revocation lists (RFC 8037 ``EdDSA``).

A data access committee or a site makes a key pair with :func:`generate_keys` (``NAME.key``,
PKCS#8 PEM readable by its owner only, and ``NAME.pub`` to share); :func:`key_id` names a
public key by its RFC 7638 JWK thumbprint, the ``kid`` header of every token it signs.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cardiofabric.errors import InputError, MissingDependencyError

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
except ImportError:  # pragma: no cover - the node extra brings both
    raise MissingDependencyError("pyjwt", "node", "data access contracts") from None

__all__ = [
    "KeyPair",
    "generate_keys",
    "key_id",
    "load_private_key",
    "load_public_key",
]

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
