"""The store's distinct consents, read once per consent version and decided once per purpose.

The gate decides consent per *kind* of consent (a distinct status, permissions and
prohibitions; a store has a handful), never per patient (:mod:`cardiofabric.governance.purpose`).
Finding those kinds is a scan of the whole ``consent`` table (about 40 ms at 100,000 patients
with the lists normalised in SQL), which the gate used to pay on every request. This catalogue
reads them when the store's :attr:`~cardiofabric.store.site.SiteStore.consent_version` has
moved (an ingest batch, an allele-count refresh, a consent change: each gives it a new value
after its commit) and otherwise at most every ``ttl`` seconds, which bounds how long a write
made with plain SQL on the store's connection goes unseen.

Why a catalogue read before a change never lets an answer disclose more than the consents now
permit: it says which *kinds* of consent permit a purpose; *which patients* hold them is read
from the ``consent`` table by each count's own SQL, at that request. A patient who withdrew is
``withdrawn`` there from the commit on, and withdrawn permits nothing; a kind of consent not
yet in the catalogue permits no purpose until it is read (deny by default).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from cardiofabric.governance.policy import SitePolicy
from cardiofabric.governance.purpose import Purpose, consent_key, permits
from cardiofabric.store.site import SiteStore

__all__ = ["ConsentCatalogue", "ConsentRow", "Consents"]

#: A stored consent as the ``consent`` table holds it: (status, permissions, prohibitions).
ConsentRow = tuple[str, tuple[str, ...], tuple[str, ...]]


@dataclass(frozen=True)
class Consents:
    """The kinds of consent in the store that permit one purpose."""

    keys: tuple[str, ...]  # their keys (purpose.consent_key), sorted
    rows: tuple[ConsentRow, ...]  # as stored (lists in stored order), for equality in SQL
    profiles: tuple[str, ...]  # the allele-count consent profiles that permit it, sorted
    version: int  # the store's consent_version they were read at


@dataclass
class _Snapshot:
    version: int
    read_at: float  # time.monotonic() before the read
    rows: tuple[ConsentRow, ...]
    profiles: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...]
    decided: dict[Purpose, Consents] = field(default_factory=dict)


def _row(status: object, permissions: object, prohibitions: object) -> ConsentRow:
    perms = tuple(str(p) for p in permissions or ())  # type: ignore[attr-defined]
    prohibs = tuple(str(p) for p in prohibitions or ())  # type: ignore[attr-defined]
    return str(status), perms, prohibs


class ConsentCatalogue:
    """The distinct consents of ``store`` and what each purpose may use (module docstring).

    Safe to share between threads: one thread re-reads while the others wait for its result.
    """

    def __init__(
        self,
        store: SiteStore,
        policy: SitePolicy,
        *,
        ttl: float = 10.0,
        max_purposes: int = 256,
    ) -> None:
        self.store, self.policy, self.ttl, self.max_purposes = store, policy, ttl, max_purposes
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Forget what was read: the next request reads the consents again."""
        self._snapshot = None

    def _current(self, snap: _Snapshot | None, version: int, now: float) -> bool:
        return snap is not None and snap.version == version and now - snap.read_at < self.ttl

    def _read(self) -> _Snapshot:
        # The version is read before the rows: a change committed in between leaves rows newer
        # than their version, which the next request reads again (never the reverse).
        version, now = self.store.consent_version, time.monotonic()
        snap = self._snapshot
        if snap is not None and self._current(snap, version, now):
            return snap
        with self._lock:
            snap = self._snapshot
            if snap is not None and self._current(snap, version, now):
                return snap
            con = self.store.connection.cursor()
            try:
                rows = con.execute(
                    "SELECT DISTINCT status, permissions, prohibitions FROM consent"
                ).fetchall()
                profiles = con.execute(
                    "SELECT profile, status, permissions, prohibitions FROM consent_profile "
                    "ORDER BY 1"
                ).fetchall()
            finally:
                con.close()
            snap = _Snapshot(
                version,
                now,
                tuple(sorted(_row(*r) for r in rows)),
                tuple((str(p), *_row(s, a, b)) for p, s, a, b in profiles),
            )
            self._snapshot = snap
            return snap

    def for_purpose(self, purpose: Purpose) -> Consents:
        """The consents permitting ``purpose`` (rules: :func:`~.purpose.permits`)."""
        snap = self._read()
        found = snap.decided.get(purpose)
        if found is not None:
            return found
        diseases, country = tuple(self.policy.ds_diseases), self.policy.country

        def ok(status: str, perms: tuple[str, ...], prohibs: tuple[str, ...]) -> bool:
            return bool(
                permits(status, perms, prohibs, purpose, ds_diseases=diseases, country=country)
            )

        allowed = tuple(r for r in snap.rows if ok(*r))
        found = Consents(
            keys=tuple(sorted({consent_key(*r) for r in allowed})),
            rows=allowed,
            profiles=tuple(p for p, s, a, b in snap.profiles if ok(s, a, b)),
            version=snap.version,
        )
        if len(snap.decided) >= self.max_purposes:
            snap.decided.clear()  # contracts state few purposes; a bound, not an eviction policy
        snap.decided[purpose] = found
        return found

    def rows(self) -> Sequence[ConsentRow]:
        """Every distinct stored consent."""
        return self._read().rows
