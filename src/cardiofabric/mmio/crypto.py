"""Encryption at rest with GA4GH Crypt4GH (v1): X25519 key exchange, ChaCha20-Poly1305 segments.

Key files are the standard Crypt4GH PEM-like files, so the ``crypt4gh`` command-line tool can
open our payloads too (``crypt4gh decrypt --sk site.sec < payload.c4gh``). Each write uses a fresh
ephemeral sender key; a payload can be sealed for several recipients at once.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from cardiofabric.errors import CiphertextDamagedError, DecryptionError, InputError
from cardiofabric.mmio.said import digest_bytes

__all__ = [
    "KeyPair",
    "decrypt_bytes",
    "encrypt_bytes",
    "generate_keypair",
    "key_id",
    "load_private_key",
    "load_public_key",
]

# crypt4gh logs failed attempts (and, at DEBUG, key material): keep it quiet.
logging.getLogger("crypt4gh").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class KeyPair:
    secret: Path
    public: Path


def key_id(public_key: bytes) -> str:
    """A stable identifier of a recipient: the SAID of its 32 raw public-key bytes."""
    return digest_bytes(public_key)


def generate_keypair(
    directory: Path, name: str, passphrase: str | None = None, *, comment: str | None = None
) -> KeyPair:
    """Write ``NAME.sec`` (mode 0400) and ``NAME.pub`` in Crypt4GH format into ``directory``."""
    from crypt4gh.keys import c4gh

    directory.mkdir(parents=True, exist_ok=True)
    sec, pub = directory / f"{name}.sec", directory / f"{name}.pub"
    # Claim both names with O_EXCL before crypt4gh writes them: it opens with plain 'wb'
    # (so a check-then-write would race with another writer) and only chmods the secret key
    # to 0400 after writing it, so under a loose umask it would be readable meanwhile.
    created: list[Path] = []
    try:
        for p, mode in ((sec, 0o600), (pub, 0o644)):
            try:
                os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
            except FileExistsError:
                raise InputError(
                    "a key file already exists; refusing to overwrite it",
                    path=p,
                    hint="choose another name or move the old key away first",
                ) from None
            created.append(p)
        # crypt4gh prints a warning about unencrypted keys on stderr; the CLI says it instead.
        with contextlib.redirect_stderr(io.StringIO()):
            c4gh.generate(
                os.fspath(sec),
                os.fspath(pub),
                passphrase.encode() if passphrase else None,
                comment.encode() if comment else None,
            )
    except BaseException:
        for p in created:
            with contextlib.suppress(OSError):
                p.unlink()
        raise
    return KeyPair(sec, pub)


def load_public_key(path: Path | str) -> bytes:
    from crypt4gh.keys import get_public_key

    try:
        key = get_public_key(os.fspath(path))
    except FileNotFoundError:
        raise InputError("public key file not found", path=path) from None
    except Exception as exc:  # crypt4gh raises ValueError/binascii.Error on bad files
        raise InputError(
            f"not a Crypt4GH public key ({exc})",
            path=path,
            hint="give the .pub file made by 'crypt4gh-keygen' or 'cardiofabric keys generate'",
        ) from None
    if not isinstance(key, bytes) or len(key) != 32:
        raise InputError("expected a 32-byte X25519 public key", path=path)
    return key


def load_private_key(path: Path | str, passphrase: str | None = None) -> bytes:
    from crypt4gh.keys import get_private_key

    try:
        # crypt4gh calls sys.exit(2) on a wrong passphrase or a damaged key (its
        # exit_on_invalid_passphrase decorator) and prints to stderr: contain both.
        with contextlib.redirect_stderr(io.StringIO()):
            key = get_private_key(os.fspath(path), lambda: passphrase or "")
    except FileNotFoundError:
        raise InputError("secret key file not found", path=path) from None
    except SystemExit:
        raise DecryptionError(
            "cannot open the secret key: wrong passphrase, or the key file is damaged",
            path=path,
            hint="check the passphrase (CARDIOFABRIC_KEY_PASSPHRASE) and that this is a .sec file",
        ) from None
    except Exception as exc:
        raise DecryptionError(
            f"cannot open the secret key ({type(exc).__name__}: {exc})",
            path=path,
            hint="check the passphrase (CARDIOFABRIC_KEY_PASSPHRASE) and that this is a .sec file",
        ) from None
    if not isinstance(key, bytes) or len(key) != 32:
        raise DecryptionError("expected a 32-byte X25519 secret key", path=path)
    return key


def _raw_private(k: X25519PrivateKey) -> bytes:
    return k.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def encrypt_bytes(data: bytes, recipients: list[bytes]) -> bytes:
    """Seal ``data`` for every recipient public key (at least one)."""
    from crypt4gh import lib

    if not recipients:
        raise InputError("encryption needs at least one recipient public key")
    for r in recipients:
        if not isinstance(r, bytes) or len(r) != 32:
            raise InputError(
                "a recipient is not a 32-byte X25519 public key",
                hint="load recipients with load_public_key",
            )
    sender = _raw_private(X25519PrivateKey.generate())
    out = io.BytesIO()
    lib.encrypt([(0, sender, r) for r in recipients], io.BytesIO(data), out)
    return out.getvalue()


def decrypt_bytes(ciphertext: bytes, secret_keys: list[bytes], *, path: str | None = None) -> bytes:
    """Open a Crypt4GH stream with any of ``secret_keys``; a wrong key is a clear error."""
    from crypt4gh import lib

    if not secret_keys:
        raise DecryptionError(
            "this payload is encrypted and no secret key was given",
            path=path,
            hint="pass --key SITE.sec (or set CARDIOFABRIC_SECRET_KEY)",
        )
    out = io.BytesIO()
    try:
        lib.decrypt([(0, k, None) for k in secret_keys], io.BytesIO(ciphertext), out)
    except Exception as exc:
        # crypt4gh signals most damage with ValueError, but a last segment shorter than its
        # MAC trips a bare `assert` (AssertionError), so anything it raises is caught here.
        reason = str(exc) or type(exc).__name__
        if "No supported encryption method" in reason:
            # Crypt4GH cannot tell a key that is not a recipient from a damaged header packet.
            raise DecryptionError(
                "none of the given secret keys opens this payload: they are not among its "
                "recipients, or its header is damaged",
                path=path,
                hint="use the secret key whose public key the payload was encrypted for",
            ) from None
        raise CiphertextDamagedError(
            f"the encrypted payload is damaged ({reason})",
            path=path,
            hint="restore the payload file from a backup; its ciphertext no longer authenticates",
        ) from None
    return out.getvalue()
