"""The gate every answer of a site passes through.

In order (``docs/design.md``, "Governance"):

1. **authenticate** — no credentials: the anonymous caller; a bearer token: a verified
   contract (:class:`~cardiofabric.governance.contracts.TrustStore`), else 401/403.
2. **authorise** — the contract's actions, datasets and audience; the granularity the action
   asks for, capped by the site's policy; anonymous callers get booleans only. Else 401/403.
3. **consent** — the purpose (the contract's, with whether the request touches genomic data)
   against each patient's DUO consent: the grant carries the consenting consent keys and
   allele-count profiles; the caller's count must be over those only.
4. **disclosure control** — small-cell bands, DP noise, the privacy budget (429 when spent).
5. **audit** — one hash-chained entry for every request, granted or refused.

The node computes the count between :meth:`Gate.authorise` and :meth:`Gate.release` (or hands
a function to :meth:`Gate.answer`, which runs every step and audits refusals too). Threads may
share one gate: each call works on its own cursor of the store's connection, and the budget
charge and the audit entry of an answer are written in one transaction under the audit log's
lock (so that no other append slips between the transaction's start and its entry).

Per request the gate does only what depends on the request: a verified token is remembered
until it expires (:class:`~cardiofabric.governance.contracts.TrustStore`, revocations still
checked every time), and the kinds of consent permitting a purpose are read once per consent
version of the store (:class:`~cardiofabric.governance.consents.ConsentCatalogue`), while which
patients hold them is read by each count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import duckdb

from cardiofabric.errors import AccessError, CardioFabricError, InputError
from cardiofabric.governance import audit, budget
from cardiofabric.governance.consents import ConsentCatalogue, ConsentRow
from cardiofabric.governance.contracts import ACTIONS, Contract, TrustStore
from cardiofabric.governance.disclosure import NoiseSampler, Released, release_count
from cardiofabric.governance.patient import ConsentChange, change_consent
from cardiofabric.governance.policy import GRANULARITIES, Granularity, SitePolicy
from cardiofabric.governance.purpose import Purpose, consent_filter
from cardiofabric.store.site import SiteStore

__all__ = ["ACTION_GRANULARITY", "ANONYMOUS", "Caller", "Gate", "Grant"]

ANONYMOUS = "anonymous"
#: The granularity each action asks for (Beacon v2 ``requestedGranularity``).
ACTION_GRANULARITY: dict[str, Granularity] = {
    "discover-boolean": "boolean",
    "discover-count": "count",
    "analyse": "count",
    "train": "count",
    "record": "record",
}


@dataclass(frozen=True)
class Caller:
    """Who is asking: ``id`` is the researcher (``sub``), a patient digest, or anonymous."""

    id: str
    contract: Contract | None = None

    @property
    def anonymous(self) -> bool:
        return self.contract is None

    @property
    def contract_id(self) -> str | None:
        return self.contract.id if self.contract else None


@dataclass(frozen=True)
class Grant:
    """What an authorised request may see: granularity, purpose, consenting patients."""

    caller: Caller
    action: str
    datasets: tuple[str, ...]
    granularity: Granularity
    purpose: Purpose
    profiles: tuple[str, ...]  # allele-count consent profiles permitting it (genomic only)
    consent_keys: tuple[str, ...]  # patient consents that permit it (purpose.consent_filter)
    genomic: bool
    #: The same consents as stored (status, permissions, prohibitions), for SQL that compares
    #: the stored lists (the node's entry queries).
    consents: tuple[ConsentRow, ...] = ()

    def consent_filter(self, column: str = "pseudonym") -> tuple[str, list[Any]]:
        """SQL keeping only consenting patients: ``(condition, params)`` on ``column``."""
        return consent_filter(self.consent_keys, column=column)


def _cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return con.cursor()


class Gate:
    """The site's governance gate (module docstring)."""

    def __init__(
        self,
        store: SiteStore,
        policy: SitePolicy,
        trust: TrustStore,
        *,
        site: str,
        datasets: Sequence[str],
        sampler: NoiseSampler | None = None,
        consent_ttl: float = 10.0,
    ) -> None:
        """``consent_ttl``: seconds after which the distinct consents are read again even when
        the store's consent version has not moved (a write made with plain SQL)."""
        if not datasets:
            raise InputError("the gate needs the site's datasets", hint="e.g. datasets=['site-a']")
        self.store, self.policy, self.trust = store, policy, trust
        self.site, self.datasets = site, tuple(datasets)
        self.sampler = sampler
        self.consents = ConsentCatalogue(store, policy, ttl=consent_ttl)
        self._lock = threading.Lock()

    # -- 1. authenticate ------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> Caller:
        """The caller of an ``Authorization`` header value: None/empty → anonymous."""
        if authorization is None or not authorization.strip():
            return Caller(ANONYMOUS)
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AccessError(
                401,
                "Authentication required",
                f"expected 'Authorization: Bearer <token>', found the scheme {scheme!r}",
                kind="unauthenticated",
                hint="send the contract as a bearer token (RFC 6750)",
            )
        contract = self.trust.verify(token.strip())
        return Caller(contract.subject, contract)

    # -- 2 and 3. authorise, consent ------------------------------------------------------
    def authorise(
        self, caller: Caller, *, action: str, dataset: str | None = None, genomic: bool = False
    ) -> Grant:
        """What ``caller`` may see for ``action`` on ``dataset`` (None: every dataset the
        caller may read); raises AccessError 401/403."""
        if action not in ACTION_GRANULARITY:
            raise InputError(f"expected an action among {', '.join(ACTIONS)}, found {action!r}")
        if dataset is not None and dataset not in self.datasets:
            raise AccessError(
                403, "No such dataset", f"this site holds no dataset {dataset!r} you may read",
                kind="dataset-not-allowed",
            )  # fmt: skip
        wanted = ACTION_GRANULARITY[action]
        if caller.contract is None:
            if action != "discover-boolean" or self.policy.anonymous_granularity == "none":
                raise AccessError(
                    401,
                    "Authentication required",
                    f"'{action}' needs a data access contract"
                    if action != "discover-boolean"
                    else "this site answers authenticated requests only",
                    kind="unauthenticated",
                    hint="send 'Authorization: Bearer <contract token>'",
                )
            datasets = (dataset,) if dataset else self.datasets
            purpose = Purpose.anonymous(genomic=genomic)
            granularity: Granularity = "boolean"
        else:
            c = caller.contract
            if c.is_patient or c.purpose is None:
                raise AccessError(
                    403, "Patient token", "a patient token allows changing one's consent only",
                    kind="action-not-allowed",
                )  # fmt: skip
            if action not in c.actions:
                raise AccessError(
                    403,
                    "Action not allowed",
                    f"contract {c.id} allows {', '.join(c.actions)}, not {action}",
                    kind="action-not-allowed",
                    hint="ask the issuer for a contract with this action",
                )
            mine = [d for d in self.datasets if d in c.datasets]
            if dataset is not None and dataset not in c.datasets:
                raise AccessError(
                    403,
                    "Dataset not allowed",
                    f"contract {c.id} does not cover dataset {dataset}",
                    kind="dataset-not-allowed",
                )
            if not mine:
                raise AccessError(
                    403,
                    "Dataset not allowed",
                    f"contract {c.id} covers none of this site's datasets",
                    kind="dataset-not-allowed",
                )
            datasets = (dataset,) if dataset else tuple(mine)
            cap = self.policy.max_granularity
            if GRANULARITIES.index(wanted) > GRANULARITIES.index(cap):
                if action == "record":
                    raise AccessError(
                        403,
                        "Records not released",
                        f"this site releases {cap} answers at most (policy max_granularity)",
                        kind="granularity-not-allowed",
                    )
                wanted = cap
            granularity = wanted
            purpose = c.purpose.with_genomic(genomic)
        consents = self.consents.for_purpose(purpose)
        # Consent profiles serve the allele counts, i.e. genomic requests only.
        profiles = consents.profiles if genomic else ()
        return Grant(
            caller,
            action,
            datasets,
            granularity,
            purpose,
            profiles,
            consents.keys,
            genomic,
            consents.rows,
        )

    # -- 4 and 5. disclosure control, audit -----------------------------------------------
    def _audit(
        self,
        con: duckdb.DuckDBPyConnection,
        caller: Caller | None,
        *,
        purpose: Sequence[str],
        endpoint: str,
        query: Mapping[str, Any],
        decision: str,
        result_size: int | None,
        in_transaction: bool = False,
    ) -> audit.AuditEntry:
        return audit.append(
            con,
            caller=caller.id if caller else "unauthenticated",
            contract_id=caller.contract_id if caller else None,
            purpose=purpose,
            endpoint=endpoint,
            query=query,
            decision=decision,
            result_size=result_size,
            in_transaction=in_transaction,
        )

    def release(
        self, grant: Grant, count: int, *, endpoint: str, query: Mapping[str, Any]
    ) -> Released:
        """Disclosure control of ``count`` (already over consenting patients only), the
        budget charge and the audit entry; AccessError 429 when the budget is spent (audited)."""
        anonymous = grant.caller.anonymous
        noised = not anonymous and grant.granularity != "record" and self.policy.dp.enabled
        eps = self.policy.dp.epsilon_per_query if noised else 0.0
        logged = {
            **dict(query),
            "_gate": {
                "action": grant.action,
                "datasets": list(grant.datasets),
                "granularity": grant.granularity,
                "epsilon": eps,
            },
        }
        # The audit lock is taken before BEGIN: an entry appended by another cursor after this
        # transaction began would be invisible to it, and its own entry would reuse that seq.
        with self._lock, audit.LOCK:
            con = _cursor(self.store.connection)
            try:
                con.begin()
                try:
                    if noised:
                        for d in grant.datasets:
                            budget.spend(
                                con,
                                grant.caller.id,
                                d,
                                eps,
                                default_total=self.policy.dp.epsilon_budget,
                            )
                    released = release_count(
                        count,
                        self.policy,
                        granularity=grant.granularity,
                        anonymous=anonymous,
                        sampler=self.sampler,
                    )
                    entry = self._audit(
                        con,
                        grant.caller,
                        purpose=grant.purpose.audit_terms(),
                        endpoint=endpoint,
                        query=logged,
                        decision="granted",
                        result_size=released.count,
                        in_transaction=True,
                    )
                    con.commit()
                except BaseException:
                    con.rollback()
                    raise
            except AccessError as exc:
                self._refused(con, grant.caller, exc, endpoint, logged, grant.purpose)
                raise
            finally:
                con.close()
        return replace(released, audit_seq=entry.seq)

    def _refused(
        self,
        con: duckdb.DuckDBPyConnection,
        caller: Caller | None,
        error: CardioFabricError,
        endpoint: str,
        query: Mapping[str, Any],
        purpose: Purpose | None,
    ) -> audit.AuditEntry:
        status = getattr(error, "status", 400)
        terms = purpose.audit_terms() if purpose else []
        return self._audit(
            con,
            caller,
            purpose=terms,
            endpoint=endpoint,
            query=query,
            decision=f"refused {status} {error.kind}",
            result_size=None,
        )

    def refuse(
        self,
        caller: Caller | None,
        error: CardioFabricError,
        *,
        endpoint: str,
        query: Mapping[str, Any],
    ) -> audit.AuditEntry:
        """Audit a refused request (``caller`` None when authentication itself failed)."""
        purpose = caller.contract.purpose if caller and caller.contract else None
        with self._lock:
            con = _cursor(self.store.connection)
            try:
                return self._refused(con, caller, error, endpoint, query, purpose)
            finally:
                con.close()

    def answer(
        self,
        authorization: str | None,
        *,
        action: str,
        endpoint: str,
        query: Mapping[str, Any],
        count: Callable[[Grant], int],
        dataset: str | None = None,
        genomic: bool = False,
    ) -> Released:
        """Every step for one count: authenticate, authorise, ``count(grant)``, release.

        Refusals (AccessError, and bad input found by the steps) are audited and re-raised.
        """
        caller: Caller | None = None
        try:
            caller = self.authenticate(authorization)
            grant = self.authorise(caller, action=action, dataset=dataset, genomic=genomic)
            n = count(grant)
        except CardioFabricError as exc:
            self.refuse(caller, exc, endpoint=endpoint, query=query)
            raise
        except Exception as exc:
            # Not a refusal but still a request: the log says it failed, and of what kind.
            self._failed(caller, exc, endpoint=endpoint, query=query)
            raise
        return self.release(grant, n, endpoint=endpoint, query=query)

    def _failed(
        self, caller: Caller | None, exc: Exception, *, endpoint: str, query: Mapping[str, Any]
    ) -> None:
        with self._lock:
            con = _cursor(self.store.connection)
            try:
                self._audit(
                    con,
                    caller,
                    purpose=[],
                    endpoint=endpoint,
                    query=query,
                    decision=f"failed {type(exc).__name__}",
                    result_size=None,
                )
            finally:
                con.close()

    # -- a patient's own consent ----------------------------------------------------------
    def change_consent(
        self,
        caller: Caller,
        *,
        status: str,
        permissions: Sequence[str] = (),
        prohibitions: Sequence[str] = (),
        endpoint: str,
        note: str | None = None,
    ) -> ConsentChange:
        """A patient changes their own consent with their patient token; audited."""
        query = {"status": status, "permissions": list(permissions),
                 "prohibitions": list(prohibitions)}  # fmt: skip
        c = caller.contract
        try:
            if c is None or not c.is_patient or c.patient is None:
                raise AccessError(
                    403,
                    "Patient token required",
                    "only the patient, with the token this site issued them, changes a consent",
                    kind="action-not-allowed",
                )
            with self._lock:
                con = _cursor(self.store.connection)
                try:
                    change = change_consent(
                        con,
                        c.patient,
                        status=status,
                        permissions=permissions,
                        prohibitions=prohibitions,
                        changed_by=caller.id,
                        note=note or "changed by the patient",
                    )
                finally:
                    con.close()
                # After the commit: the consent catalogue reads the consents again.
                self.store.consents_changed()
        except CardioFabricError as exc:
            self.refuse(caller, exc, endpoint=endpoint, query=query)
            raise
        with self._lock:
            con = _cursor(self.store.connection)
            try:
                entry = self._audit(
                    con,
                    caller,
                    purpose=[],
                    endpoint=endpoint,
                    query={**query, "version": change.version},
                    decision="granted",
                    result_size=None,
                )
            finally:
                con.close()
        return replace(change, audit_seq=entry.seq)
