"""The MMIO on disk: a self-describing directory, written atomically, opened lazily.

Layout of one object (format ``cardiofabric.mmio`` version 1)::

    <digest>.mmio/
        manifest.json            # encoding-type, encoding-version, digests, content
        payloads/<said>          # plaintext payload, named by the SAID of its bytes
        payloads/<said>.c4gh     # or the same payload sealed with Crypt4GH

The directory is first written under a temporary name beside its destination and renamed into
place, so a reader never sees half an object. Objects are named by their SAID: writing an
identical object again finds it present and does nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from cardiofabric.errors import (
    CiphertextDamagedError,
    DigestMismatchError,
    FormatVersionError,
    InputError,
    ObjectFormatError,
)
from cardiofabric.mmio.crypto import decrypt_bytes, encrypt_bytes, key_id
from cardiofabric.mmio.model import (
    ENCODING_TYPE,
    Consent,
    Encryption,
    Manifest,
    Modality,
    ModalityKind,
    Payload,
    Provenance,
    Semantics,
    parse_manifest,
)
from cardiofabric.mmio.oca import check_bundle
from cardiofabric.mmio.said import digest_bytes, said_of
from cardiofabric.mmio.semantics import resolve as resolve_semantics

__all__ = ["MMIO", "MMIOBuilder", "PayloadSpec", "VerifyReport", "read_manifest_json"]

MANIFEST = "manifest.json"
PAYLOADS = "payloads"
C4GH_MAGIC = b"crypt4gh"
#: Format versions this release reads. Each has a frozen example under tests/data/.
READABLE_VERSIONS = frozenset({"1"})


@dataclass(frozen=True)
class PayloadSpec:
    """A payload to put in a modality: its bytes and what they are."""

    data: bytes
    media_type: str
    role: str = "source"


@dataclass
class VerifyReport:
    """What ``verify`` checked.

    ``skipped`` lists encrypted payloads it could not open (no key given); ``unresolved`` lists
    semantics referenced by a SAID this process does not know (they live in another registry).
    """

    path: str
    digest: str
    modalities: int = 0
    bundles: int = 0
    payloads_checked: int = 0
    skipped: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def read_manifest_json(path: Path) -> dict[str, Any]:
    """Read and shape-check a manifest, refusing unknown formats before anything else."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        # NotADirectoryError: a plain file was given where the object directory was expected.
        raise ObjectFormatError(
            "no manifest.json here: not an MMIO object directory",
            path=path.parent,
            hint="give the path of a '.mmio' directory or its manifest.json",
        ) from None
    except UnicodeDecodeError:
        raise ObjectFormatError("manifest is not UTF-8 text", path=path) from None
    except OSError as exc:
        raise ObjectFormatError(
            f"cannot read the manifest ({exc.strerror or exc})",
            path=path,
            hint="check that the file is readable by this user",
        ) from None
    try:
        raw = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        # NaN and Infinity are not JSON (RFC 8259) and have no SAID; refuse them as malformed.
        if not isinstance(exc, json.JSONDecodeError):
            raise ObjectFormatError(
                f"manifest is not valid JSON ({exc})",
                path=path,
                hint="the file was edited by hand; restore it from the source",
            ) from None
        raise ObjectFormatError(
            f"manifest is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            path=path,
            hint="the file is truncated or was edited by hand; restore it from the source",
        ) from None
    if not isinstance(raw, dict):
        raise ObjectFormatError("manifest should be a JSON object", path=path)
    etype, ever = raw.get("encoding-type"), raw.get("encoding-version")
    if etype != ENCODING_TYPE:
        raise FormatVersionError(
            f"expected encoding-type {ENCODING_TYPE!r}, found {etype!r}",
            path=path,
            hint="this is not a CardioFabric MMIO manifest",
        )
    if not isinstance(ever, str) or ever not in READABLE_VERSIONS:
        raise FormatVersionError(
            f"encoding-version {ever!r} is not one this release reads "
            f"({', '.join(sorted(READABLE_VERSIONS))})",
            path=path,
            hint="upgrade cardiofabric to a release that knows this format version",
        )
    return raw


class MMIO:
    """One patient's Multimodal Integration Object.

    Opened from disk it holds the manifest only; payload bytes are read (and decrypted, and
    checked against their SAID) when asked for.
    """

    def __init__(
        self,
        manifest: Manifest,
        *,
        location: Path | None = None,
        blobs: Mapping[str, bytes] | None = None,
    ) -> None:
        self.manifest = manifest
        self.location = location
        self._blobs = dict(blobs or {})  # file name -> stored bytes (built, not yet written)

    # -- identity -------------------------------------------------------------------------
    @property
    def digest(self) -> str:
        return self.manifest.digest

    @property
    def pseudonym(self) -> str:
        return self.manifest.pseudonym

    @property
    def modalities(self) -> list[Modality]:
        return self.manifest.modalities

    def __repr__(self) -> str:
        return f"MMIO({self.digest[:12]}…, {self.pseudonym}, {self.manifest.kinds})"

    # -- disk -----------------------------------------------------------------------------
    @staticmethod
    def dirname(digest: str) -> str:
        return f"{digest}.mmio"

    @classmethod
    def open(cls, path: Path | str) -> MMIO:
        """Open an object directory (or its manifest.json); reads the manifest only."""
        p = Path(path)
        mpath = p if p.name == MANIFEST else p / MANIFEST
        raw = read_manifest_json(mpath)
        manifest = parse_manifest(raw, path=str(mpath))
        return cls(manifest, location=mpath.parent)

    def write(self, parent: Path | str) -> Path:
        """Write the object under ``parent`` as ``<digest>.mmio``; a no-op if already there."""
        parent = Path(parent)
        parent.mkdir(parents=True, exist_ok=True)
        final = parent / self.dirname(self.digest)
        if (final / MANIFEST).exists():
            return final
        # Every payload the manifest names, before anything is written: an object without
        # its payload bytes would be written complete-looking and fail on first read.
        blobs = self._load_all_blobs()
        tmp = Path(tempfile.mkdtemp(dir=parent, prefix=".tmp-"))
        try:
            (tmp / PAYLOADS).mkdir()
            for name, data in blobs.items():
                (tmp / PAYLOADS / name).write_bytes(data)
            body = orjson.dumps(self.manifest.to_json(), option=orjson.OPT_INDENT_2)
            (tmp / MANIFEST).write_bytes(body + b"\n")
            _fsync_tree(tmp)
            try:
                os.rename(tmp, final)
            except OSError:
                if not (final / MANIFEST).exists():
                    if final.exists():
                        raise ObjectFormatError(
                            "an incomplete object directory (no manifest.json) is in the way",
                            path=final,
                            hint="remove it (it holds no readable object) and write again",
                        ) from None
                    raise
                # Someone wrote the same object meanwhile: content-addressed, so it is ours.
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                _fsync_dir(parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def _load_all_blobs(self) -> dict[str, bytes]:
        """The stored bytes of every payload the manifest names (read from disk if needed)."""
        blobs: dict[str, bytes] = {}
        for p in self.manifest.payloads():
            name = _blob_name(p)
            if name not in blobs:
                blobs[name] = self._read_stored(name)
        return blobs

    def _read_stored(self, name: str) -> bytes:
        if name in self._blobs:
            return self._blobs[name]
        if self.location is None:
            raise ObjectFormatError(
                f"the bytes of payload {name} were not given with this object",
                hint="build objects with MMIOBuilder, which keeps each payload's bytes",
            )
        path = self.location / PAYLOADS / name
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise ObjectFormatError(
                "payload file is missing",
                path=path,
                hint="the object is incomplete; restore it or re-run the ingest that made it",
            ) from None

    # -- payloads -------------------------------------------------------------------------
    def _blob_where(self, name: str) -> str:
        return str(self.location / PAYLOADS / name) if self.location else name

    def payload(self, digest: str, *, secret_keys: Iterable[bytes] = ()) -> bytes:
        """The plaintext bytes of a payload, checked against its SAID."""
        meta = next((p for p in self.manifest.payloads() if p.digest == digest), None)
        if meta is None:
            raise ObjectFormatError(f"no payload {digest} in object {self.digest}")
        name = _blob_name(meta)
        where = self._blob_where(name)
        stored = self._read_stored(name)
        try:
            data = (
                decrypt_bytes(stored, list(secret_keys), path=where) if meta.encryption else stored
            )
        except CiphertextDamagedError as exc:
            # A right key on damaged ciphertext: the payload's integrity does not hold.
            raise DigestMismatchError(
                exc.message, location=f"/payloads/{name}", path=where, hint=exc.hint
            ) from None
        if digest_bytes(data) != digest:
            raise DigestMismatchError(
                f"payload bytes do not match their digest {digest}",
                location=f"/payloads/{name}",
                path=where,
                hint="the payload was damaged or replaced; restore it from the source",
            )
        return data

    def payloads_of(self, kind: ModalityKind | str, role: str | None = None) -> list[Payload]:
        return [
            p
            for m in self.manifest.modality(kind)
            for p in m.payloads
            if role is None or p.role == role
        ]

    # -- verification ---------------------------------------------------------------------
    def verify(self, *, secret_keys: Iterable[bytes] = (), payloads: bool = True) -> VerifyReport:
        """Check every digest; raise :class:`DigestMismatchError` at the first that fails."""
        keys = list(secret_keys)
        if self.location is not None:
            where = str(self.location / MANIFEST)
            # Read again: verification is of what is on disk now, not of what was opened.
            raw = read_manifest_json(self.location / MANIFEST)
            manifest = parse_manifest(raw, path=where)
        else:
            where = "<memory>"
            raw = self.manifest.to_json()
            manifest = self.manifest
        report = VerifyReport(path=where, digest=manifest.digest)
        for i, mod in enumerate(raw["modalities"]):
            sem = mod.get("semantics")
            bundle, prefix = None, f"/modalities/{i}/semantics/value"
            if sem and sem.get("type") == "Bundle":
                bundle = sem["value"]
            elif sem and sem.get("type") == "Reference":
                bundle = resolve_semantics(sem["value"])
                if bundle is None:
                    report.unresolved.append(sem["value"])
                elif bundle.get("digest") != sem["value"]:
                    _raise_problem(prefix, sem["value"], str(bundle.get("digest")), where)
            if bundle is not None:
                problems = check_bundle(bundle, prefix=prefix)
                if problems:
                    p = problems[0]
                    _raise_problem(p.location, p.stated, p.computed, where)
                report.bundles += 1
            computed = said_of(mod, assume_finite=True)  # the reader refused NaN/Infinity
            if mod.get("digest") != computed:
                _raise_problem(f"/modalities/{i}/digest", mod.get("digest"), computed, where)
            report.modalities += 1
        computed = said_of(raw, assume_finite=True)
        if raw.get("digest") != computed:
            _raise_problem("/digest", raw.get("digest"), computed, where)
        if self.location is not None:
            name = self.location.name
            # Objects are found by name (write() is a no-op when the name exists), so a
            # directory whose name is not its digest is as wrong as a wrong digest.
            if name.endswith(".mmio") and name != self.dirname(manifest.digest):
                raise DigestMismatchError(
                    f"the object directory is named {name!r} but its digest is {manifest.digest!r}",
                    location="/digest",
                    path=self.location,
                    hint=f"rename the directory to {self.dirname(manifest.digest)!r}",
                )
            if manifest.digest != self.digest:
                raise ObjectFormatError(
                    f"manifest.json now holds object {manifest.digest}, not the object "
                    f"{self.digest} that was opened",
                    path=where,
                    hint="open the object again",
                )
        if payloads:
            for pm in manifest.payloads():
                if pm.encryption and not keys:
                    stored = self._read_stored(_blob_name(pm))
                    if not stored.startswith(C4GH_MAGIC):
                        raise ObjectFormatError(
                            "payload marked as encrypted is not a Crypt4GH file",
                            path=self._blob_where(_blob_name(pm)),
                            hint="the payload was replaced; restore it from the source",
                        )
                    report.skipped.append(pm.digest)
                    continue
                self.payload(pm.digest, secret_keys=keys)
                report.payloads_checked += 1
        return report


def _raise_problem(location: str, stated: Any, computed: str, where: str) -> None:
    raise DigestMismatchError(
        f"digest at {location} is {stated!r} but the content gives {computed!r}",
        location=location,
        path=where,
        hint="the object was changed after it was sealed; restore it or re-run the ingest",
    )


def _blob_name(p: Payload) -> str:
    return p.digest + (".c4gh" if p.encryption else "")


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        # The directory entries too, or a crash can lose the names of synced files.
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # platforms that cannot open directories (Windows)
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


class MMIOBuilder:
    """Collects a patient's modalities, then seals them into one :class:`MMIO`.

    ``recipients`` are Crypt4GH public keys: when given, every payload is encrypted for all
    of them; the manifest (which holds no raw identifiers) stays readable.
    """

    def __init__(
        self,
        *,
        pseudonym: str,
        site: str,
        consent: Consent | None = None,
        recipients: Iterable[bytes] = (),
    ) -> None:
        self.pseudonym = pseudonym
        self.site = site
        self.consent = consent or Consent()
        self.recipients = list(recipients)
        for k in self.recipients:
            if not isinstance(k, bytes) or len(k) != 32:
                raise InputError(
                    "a recipient is not a 32-byte X25519 public key",
                    hint="load recipients with cardiofabric.mmio.crypto.load_public_key",
                )
        self._modalities: list[Modality] = []
        self._blobs: dict[str, bytes] = {}
        self._encryption = (
            Encryption(recipients=sorted(key_id(k) for k in self.recipients))
            if self.recipients
            else None
        )

    def add(
        self,
        *,
        kind: ModalityKind | str,
        media_type: str,
        provenance: Provenance,
        payloads: Iterable[PayloadSpec] = (),
        semantics: Semantics | None = None,
        content: dict[str, list[dict[str, Any]]] | None = None,
    ) -> Modality:
        metas = []
        for spec in payloads:
            digest = digest_bytes(spec.data)
            meta = Payload(
                digest=digest,
                role=spec.role,
                media_type=spec.media_type,
                size=len(spec.data),
                encryption=self._encryption,
            )
            name = _blob_name(meta)
            if name not in self._blobs:
                self._blobs[name] = (
                    encrypt_bytes(spec.data, self.recipients) if self.recipients else spec.data
                )
            metas.append(meta)
        modality = Modality.create(
            kind=kind,
            media_type=media_type,
            provenance=provenance,
            payloads=metas,
            semantics=semantics,
            content=content,
        )
        self._modalities.append(modality)
        return modality

    def build(self) -> MMIO:
        manifest = Manifest.create(
            pseudonym=self.pseudonym,
            site=self.site,
            consent=self.consent,
            modalities=self._modalities,
        )
        return MMIO(manifest, blobs=self._blobs)
