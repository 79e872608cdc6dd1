"""One small exception hierarchy. Every message says what was expected, what was found and
what to do; the CLI prints it without a traceback and the node maps it to RFC 9457 problems."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "AccessError",
    "CardioFabricError",
    "CiphertextDamagedError",
    "DecryptionError",
    "DigestMismatchError",
    "FormatVersionError",
    "InputError",
    "MissingDependencyError",
    "ObjectFormatError",
    "StoreError",
]


class CardioFabricError(Exception):
    """Base of every error CardioFabric raises on purpose.

    ``path`` names the file concerned (when there is one) and ``hint`` says what to do.
    """

    #: Short machine-readable kind, used as the problem type by the node.
    kind = "error"

    def __init__(self, message: str, *, path: Path | str | None = None, hint: str | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.hint:
            text += f"\n  what to do: {self.hint}"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        # The default unpickles with ``cls(*args)``, ``args`` being the formatted text, which
        # fails for subclasses whose constructor differs (DigestMismatchError needs
        # ``location``; MissingDependencyError takes three names): such errors could not cross
        # a process pool. Rebuild from the attributes instead.
        return (_rebuild, (type(self), dict(self.__dict__)))


def _rebuild(cls: type[CardioFabricError], state: dict[str, Any]) -> CardioFabricError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, str(err))
    return err


class InputError(CardioFabricError):
    """The caller gave a value or file we cannot use."""

    kind = "invalid-input"


class ObjectFormatError(CardioFabricError):
    """A file is not a well-formed CardioFabric / OCA / MMIO object (truncated, hand-edited)."""

    kind = "invalid-object"


class FormatVersionError(ObjectFormatError):
    """The object declares an encoding type or version this release cannot read."""

    kind = "unsupported-version"


class DigestMismatchError(CardioFabricError):
    """A self-addressing identifier or payload digest does not match the content.

    ``location`` is a JSON-pointer-like path to the first bad digest inside the file.
    """

    kind = "digest-mismatch"

    def __init__(
        self,
        message: str,
        *,
        location: str,
        path: Path | str | None = None,
        hint: str | None = None,
    ):
        self.location = location
        super().__init__(message, path=path, hint=hint)


class DecryptionError(CardioFabricError):
    """An encrypted payload cannot be opened with the keys given."""

    kind = "decryption-failed"


class CiphertextDamagedError(DecryptionError):
    """An encrypted payload opened with a right key but its segments no longer authenticate."""

    kind = "ciphertext-damaged"


class StoreError(CardioFabricError):
    """The site store is missing, locked, or inconsistent."""

    kind = "store-error"


class MissingDependencyError(CardioFabricError):
    """An optional dependency is not installed; the hint names the extra to install."""

    kind = "missing-dependency"

    def __init__(self, module: str, extra: str, feature: str):
        super().__init__(
            f"{feature} needs the Python package '{module}', which is not installed",
            hint=f"install it with: pip install 'cardiofabric[{extra}]'",
        )


class AccessError(CardioFabricError):
    """The governance gate refuses a request: ``status`` is the HTTP status the node answers
    with (401: who the caller is was not established; 403: the caller may not do this; 429: the
    privacy budget is spent), ``title`` and ``detail`` the RFC 9457 problem's, and ``kind`` its
    type (e.g. ``token-expired``)."""

    kind = "access-denied"

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        kind: str | None = None,
        hint: str | None = None,
    ):
        if status not in (401, 403, 429):
            raise ValueError(f"AccessError status must be 401, 403 or 429, not {status}")
        self.status, self.title, self.detail = status, title, detail
        if kind is not None:
            self.kind = kind
        super().__init__(detail, hint=hint)
