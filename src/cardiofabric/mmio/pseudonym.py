"""Pseudonymous patient identifiers: a keyed HMAC of the local id with the site's secret.

The raw local identifier never enters an object. Without the site secret a pseudonym cannot be
linked back to the local id, nor across sites (each site has its own secret). HMAC-SHA-256,
RFC 2104; 128 bits are kept, which makes collisions negligible at any hospital's scale.
"""

from __future__ import annotations

import hashlib
import hmac

from cardiofabric.errors import InputError

__all__ = ["MIN_SECRET_BYTES", "pseudonymise"]

MIN_SECRET_BYTES = 16


def pseudonymise(local_id: str, secret: bytes | str, *, prefix: str = "pt") -> str:
    """``pt-`` + 32 hex characters of HMAC-SHA-256(secret, local id)."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if len(key) < MIN_SECRET_BYTES:
        raise InputError(
            f"the pseudonym secret has {len(key)} bytes; at least {MIN_SECRET_BYTES} are needed",
            hint="generate one with: python -c 'import secrets; print(secrets.token_hex(32))'",
        )
    if local_id is None:  # str(None) would pseudonymise the text 'None'
        raise InputError("cannot pseudonymise a missing local patient id (None)")
    local = str(local_id).strip()
    if not local:
        raise InputError("cannot pseudonymise an empty local patient id")
    mac = hmac.new(key, local.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{prefix}-{mac[:32]}"
