"""Self-addressing identifiers (SAIDs) as used by OCA 2.0 and the NextGen MMIO.

A SAID is a CESR-encoded BLAKE3-256 digest of an object in which the digest field itself is
replaced by 44 ``#`` placeholder characters (the length of the final SAID). The object is
serialised as compact JSON (``separators=(",", ":")``, keys in insertion order, UTF-8) and the
digest is encoded as CESR code ``E`` (Blake3-256): base64url of one zero pad byte followed by the
32 digest bytes, whose first character is replaced by ``E``.

Reference: Trust over IP, "Self-Addressing IDentifier (SAID)" draft, and CESR's derivation
code table (``E`` = Blake3-256 digest, 44 characters).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

import blake3

__all__ = [
    "PLACEHOLDER",
    "SAID_LENGTH",
    "canonical_json",
    "digest_bytes",
    "encode_digest",
    "is_said",
    "said_of",
    "saidify",
]

SAID_LENGTH = 44
_THREADED_BYTES = 8 << 20
PLACEHOLDER = "#" * SAID_LENGTH
_SAID_RE = re.compile(r"E[A-Za-z0-9_-]{43}")


def encode_digest(raw: bytes) -> str:
    """CESR-encode a 32-byte BLAKE3-256 digest as a SAID string."""
    return _encode(raw)


def _encode(raw: bytes) -> str:
    # One zero lead byte makes 33 bytes = 44 base64 characters without padding; CESR then
    # puts its derivation code in place of the first character ('A' from the zero bits).
    return "E" + base64.urlsafe_b64encode(b"\x00" + raw).decode("ascii")[1:]


def digest_bytes(data: bytes | memoryview) -> str:
    """The SAID-encoded BLAKE3-256 digest of raw bytes (used for payloads)."""
    # BLAKE3's tree hashing only pays off across threads for large inputs (measured: below
    # a few MiB the thread pool costs more than it gains).
    threads = blake3.blake3.AUTO if len(data) >= _THREADED_BYTES else 1
    return _encode(blake3.blake3(data, max_threads=threads).digest())


def canonical_json(obj: Any) -> bytes:
    """Compact JSON in the object's own key order, UTF-8, as SAIDs are computed over."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def said_of(obj: Mapping[str, Any], field: str = "digest") -> str:
    """Compute the SAID of ``obj`` over its ``field`` (which need not be present yet).

    A missing ``field`` is appended at the end, as the OCA and MMIO producers do when they
    create a new object; an existing one keeps its position.
    """
    draft = dict(obj)
    draft[field] = PLACEHOLDER
    return _encode(blake3.blake3(canonical_json(draft)).digest())


def saidify(obj: Mapping[str, Any], field: str = "digest", *, first: bool = True) -> dict[str, Any]:
    """Return a copy of ``obj`` with ``field`` set to its SAID.

    With ``first`` (the default, as OCA bundles are laid out) a new field goes first; an
    existing field keeps its position.
    """
    if field in obj or not first:
        draft = dict(obj)
        draft[field] = PLACEHOLDER
    else:
        draft = {field: PLACEHOLDER, **obj}
    draft[field] = said_of(draft, field)
    return draft


def is_said(value: object) -> bool:
    """Whether ``value`` is shaped like a Blake3-256 SAID (``E`` + 43 base64url characters)."""
    # fullmatch, not match: '$' would also accept a trailing newline.
    return isinstance(value, str) and _SAID_RE.fullmatch(value) is not None
