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
import math
import re
from collections.abc import Mapping
from typing import Any

import blake3
import orjson

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


def _reference_json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


# orjson writes the same bytes as the reference serialiser for strings, integers, booleans,
# null and floats in positional notation; they differ only in how floats below 1e-4 or from
# 1e16 up are spelt (``1e-05`` against ``1e-5``/``0.00001``). Output that could hold such a
# float is redone with the reference, so the bytes — and every SAID — are exactly the
# reference's, at orjson's speed in the common case. NaN and infinities are not JSON and the
# reference refuses them, while orjson writes null: unless the caller vouches that the object
# holds none (``assume_finite``: content already made plain, manifests read by a parser that
# refuses them), a null in the output is checked for being a NaN or an infinity.
_DIGITS = frozenset(b"0123456789.")
_BEFORE_NUMBER = frozenset(b":,[")


def _number_before(out: bytes, i: int) -> bool:
    """Whether position ``i`` of ``out`` lies in a JSON number token (after ':', ',' or '[')."""
    j = i - 1
    while j >= 0 and out[j] in _DIGITS:
        j -= 1
    if j == i - 1 and out[i : i + 1] != b"0":
        return False  # an exponent marker with no digits before it is not a number
    if j >= 0 and out[j] == 0x2D:  # '-'
        j -= 1
    return j >= 0 and out[j] in _BEFORE_NUMBER


def _maybe_ambiguous(out: bytes) -> bool:
    """Whether orjson's output holds a float spelt differently from the reference.

    orjson spells every exponent ``e-``/``e+`` and floats in [1e-5, 1e-4) as ``0.0000…``; an
    occurrence counts only inside a number token (base64url SAIDs often hold ``e-``).
    """
    for marker in (b"e-", b"e+", b"0.0000"):
        i = out.find(marker)
        while i != -1:
            if _number_before(out, i):
                return True
            i = out.find(marker, i + 1)
    return False


_STRICT = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def canonical_json(obj: Any, *, assume_finite: bool = False) -> bytes:
    """Compact JSON in the object's own key order, UTF-8, as SAIDs are computed over.

    The definition is Python's ``json.dumps(obj, separators=(",", ":"), ensure_ascii=False,
    allow_nan=False)`` (the shared SAID specification); a faster serialiser is used where it is
    known to give identical bytes.
    """
    try:
        out = orjson.dumps(obj, option=_STRICT)
    except TypeError:  # orjson.JSONEncodeError: big integers, subclasses, other types
        return _reference_json(obj)
    if _maybe_ambiguous(out) or (not assume_finite and b"null" in out and _has_non_finite(obj)):
        return _reference_json(obj)
    return out


def _has_non_finite(obj: Any) -> bool:
    if isinstance(obj, float):
        return not math.isfinite(obj)
    if isinstance(obj, dict):
        return any(_has_non_finite(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return any(_has_non_finite(v) for v in obj)
    return False


def said_of(obj: Mapping[str, Any], field: str = "digest", *, assume_finite: bool = False) -> str:
    """Compute the SAID of ``obj`` over its ``field`` (which need not be present yet).

    A missing ``field`` is appended at the end, as the OCA and MMIO producers do when they
    create a new object; an existing one keeps its position.
    """
    draft = dict(obj)
    draft[field] = PLACEHOLDER
    return _encode(blake3.blake3(canonical_json(draft, assume_finite=assume_finite)).digest())


def saidify(
    obj: Mapping[str, Any],
    field: str = "digest",
    *,
    first: bool = True,
    assume_finite: bool = False,
) -> dict[str, Any]:
    """Return a copy of ``obj`` with ``field`` set to its SAID.

    With ``first`` (the default, as OCA bundles are laid out) a new field goes first; an
    existing field keeps its position.
    """
    if field in obj or not first:
        draft = dict(obj)
        draft[field] = PLACEHOLDER
    else:
        draft = {field: PLACEHOLDER, **obj}
    draft[field] = said_of(draft, field, assume_finite=assume_finite)
    return draft


def is_said(value: object) -> bool:
    """Whether ``value`` is shaped like a Blake3-256 SAID (``E`` + 43 base64url characters)."""
    # fullmatch, not match: '$' would also accept a trailing newline.
    return isinstance(value, str) and _SAID_RE.fullmatch(value) is not None
