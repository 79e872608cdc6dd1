"""Does a patient's consent permit a request's purpose? GA4GH DUO matching, deny by default.

A request's :class:`Purpose` is what the data access contract states (DUO permission codes of
the research, a disease for disease-specific research, whether it is commercial, whether it
touches genomic data, ethics approval, the country of use). A patient's consent is what the
store's ``consent`` table holds: status, DUO permissions, DUO prohibitions, exactly as every
ingest adapter records them (:mod:`cardiofabric.ingest.consent`): bare DUO codes
(``DUO:0000042``), modifiers beside the permission they restrict, and "no use of genomic data"
as the prohibition of GSO (``DUO:0000016``).

Rules (GA4GH DUO release 2021-02-23, term definitions):

- **Withdrawn or unknown status, no permission, an unknown code → nothing.**
- **Permissions nest.** NRES ⊇ GRU ⊇ HMB ⊇ DS; GRU ⊇ POA (DUO's GRU "includes ... the study
  of population origins or ancestry"). A request is permitted when every code of its purpose
  lies within one of the consent's permissions.
- **DS needs the disease.** DUO's DS permits research "related to the specified disease". The
  ingest records DS without the disease (no source format carries it in a form we read), so
  the disease a site's DS consents name is the site's to state, in its policy
  (``SitePolicy.ds_diseases``); a DS request permits a DS consent only when the request's
  disease is one of those, or an ICD-10 code within one of those ICD-10 categories. A site that
  states none has no usable DS consents (deny by default).
- **Prohibited permissions.** A permission listed as a prohibition refuses requests within it
  (e.g. GRU with HMB prohibited refuses HMB and DS research).
- **Modifiers restrict wherever the source put them** (a modifier in the prohibitions is read
  as the same restriction: reading it as its opposite could permit what it restricts), except
  GSO, whose prohibition is the ingest's "no genomic use":

  ========== ============================================================================
  NPU, NCU,  refuse commercial purposes
  NPUNCU
  GSO        as a permission modifier ("genetic studies only"): refuse non-genomic use;
             as a prohibition: refuse genomic use
  IRB        refuse unless the contract states ethics approval
  GS         refuse unless the request's country is the site's (``SitePolicy.country``;
             the consent does not record the region, so the site's own is assumed)
  NPOA       refuse POA research and GRU research (which may include it)
  NMDS       refuse GRU research (general research includes methods development)
  CC         clinical care use: adds a use, restricts nothing
  ========== ============================================================================

  Every other modifier (RS, PUB, COL, MOR, TS, US, PS, IS, RTN) is an obligation the gate
  cannot check by itself, and refuses: such patients are released by a steward's review only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import duckdb

from cardiofabric.errors import InputError
from cardiofabric.vocab.duo import DUO_TERMS, resolve

if TYPE_CHECKING:
    from cardiofabric.governance.policy import SitePolicy

__all__ = [
    "DS",
    "GRU",
    "HMB",
    "NRES",
    "POA",
    "REQUEST_PURPOSES",
    "ConsentDecision",
    "Purpose",
    "allowed_profiles",
    "consent_filter",
    "consent_key",
    "consenting_keys",
    "consenting_pseudonyms",
    "permits",
]

NRES, GRU, HMB, DS, POA = "DUO:0000004", "DUO:0000042", "DUO:0000006", "DUO:0000007", "DUO:0000011"
GSO = "DUO:0000016"
_NON_COMMERCIAL = {"DUO:0000045", "DUO:0000046", "DUO:0000018"}  # NPU, NCU, NPUNCU
_IRB, _GS, _NPOA, _NMDS, _CC = (
    "DUO:0000021",
    "DUO:0000022",
    "DUO:0000044",
    "DUO:0000015",
    "DUO:0000043",
)

#: What each consent permission covers (DUO's hierarchy of permissions).
_SCOPE: dict[str, frozenset[str]] = {
    NRES: frozenset({GRU, HMB, DS, POA}),
    GRU: frozenset({GRU, HMB, DS, POA}),
    HMB: frozenset({HMB, DS}),
    DS: frozenset({DS}),
    POA: frozenset({POA}),
}
#: DUO permissions a contract may state as the purpose of the research.
REQUEST_PURPOSES = (GRU, HMB, DS, POA)

_ICD10 = re.compile(r"^(?:ICD-?10(?:-?CM)?:)?([A-Z][0-9]{2}(?:\.[0-9A-Z]{1,4})?)$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?$")


@dataclass(frozen=True)
class Purpose:
    """What a request will use data for, as its contract states it."""

    codes: tuple[str, ...]  # DUO permission codes of the research (GRU, HMB, DS, POA)
    disease: str | None = None  # for DS: a MONDO or ICD-10 code
    commercial: bool = False
    genomic: bool = False  # the request touches genomic data
    irb_approved: bool = False
    country: str | None = None  # ISO 3166-1 alpha-2 of where the data are used

    def __post_init__(self) -> None:
        codes = []
        for c in self.codes:
            term = resolve(c)
            if term.code not in REQUEST_PURPOSES:
                raise InputError(
                    f"expected a research purpose among GRU, HMB, DS, POA, found {c!r}",
                    hint="state what the research is for; modifiers such as NCU or IRB are "
                    "expressed by the contract's commercial / irb_approved claims",
                )
            codes.append(term.code)
        if not codes:
            raise InputError("a purpose needs at least one DUO code", hint="e.g. HMB (DUO:0000006)")
        if DS in codes and not self.disease:
            raise InputError(
                "disease-specific research (DS, DUO:0000007) needs the disease",
                hint="give the disease as a MONDO or ICD-10 code, e.g. ICD10:I42",
            )
        object.__setattr__(self, "codes", tuple(dict.fromkeys(codes)))
        if self.country is not None:
            object.__setattr__(self, "country", self.country.upper())

    @classmethod
    def anonymous(cls, *, genomic: bool) -> Purpose:
        """An unauthenticated request: no stated purpose, so the broadest and least assured
        one (general research, possibly commercial, no ethics approval, no country): only
        patients whose consent permits any use count."""
        return cls((GRU,), commercial=True, genomic=genomic)

    def with_genomic(self, genomic: bool) -> Purpose:
        return replace(self, genomic=genomic)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["codes"] = list(self.codes)
        return d

    def audit_terms(self) -> list[str]:
        """The purpose as the audit log records it: codes, then ``disease:``/flags."""
        out = list(self.codes)
        if self.disease:
            out.append(f"disease:{self.disease}")
        out += [f for f, on in (("commercial", self.commercial), ("genomic", self.genomic)) if on]
        return out


@dataclass(frozen=True)
class ConsentDecision:
    """Whether a consent permits a purpose, and why; true in a boolean context when it does."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def _disease_covers(consented: str, requested: str) -> bool:
    """The same code, or an ICD-10 code within the consented ICD-10 category."""
    a, b = consented.strip().upper(), requested.strip().upper()
    if a == b:
        return True
    ma, mb = _ICD10.match(a), _ICD10.match(b)
    if ma is None or mb is None:
        return False  # MONDO and others: exact codes only (no ontology walk at the gate)
    ca, cb = ma.group(1), mb.group(1)
    return ca == cb or (cb.startswith(ca) and (("." not in ca) or len(cb) > len(ca)))


def permits(
    status: str,
    permissions: Iterable[str],
    prohibitions: Iterable[str],
    purpose: Purpose,
    *,
    ds_diseases: Sequence[str] = (),
    country: str | None = None,
) -> ConsentDecision:
    """Whether one consent permits ``purpose`` (rules in the module docstring).

    ``ds_diseases`` are the diseases the site's DS consents name and ``country`` the site's
    country (both from :class:`~cardiofabric.governance.policy.SitePolicy`).
    """
    perms, prohibs = list(permissions), list(prohibitions)
    if status != "active":
        return ConsentDecision(False, f"consent status is {status!r}")
    unknown = [c for c in perms + prohibs if c not in DUO_TERMS]
    if unknown:
        return ConsentDecision(False, f"unknown DUO term {unknown[0]!r}")
    granted = [c for c in perms if DUO_TERMS[c].kind == "permission"]
    if not granted:
        return ConsentDecision(False, "no research permission recorded")
    for code in purpose.codes:
        ok = False
        for p in granted:
            if code not in _SCOPE.get(p, frozenset()):
                continue
            if code == DS and p == DS:
                disease = purpose.disease or ""
                ok = any(_disease_covers(d, disease) for d in ds_diseases)
            else:
                ok = True
            if ok:
                break
        if not ok:
            abbr = DUO_TERMS[code].abbreviation
            have = ", ".join(DUO_TERMS[p].abbreviation for p in granted)
            extra = " for this disease" if code == DS else ""
            return ConsentDecision(False, f"{abbr} research{extra} is outside the consent ({have})")
    for q in prohibs:
        if DUO_TERMS[q].kind == "permission" and set(purpose.codes) & _SCOPE.get(q, {q}):
            return ConsentDecision(False, f"{DUO_TERMS[q].abbreviation} use is prohibited")
    modifiers = [(c, False) for c in perms if DUO_TERMS[c].kind == "modifier"]
    modifiers += [(c, True) for c in prohibs if DUO_TERMS[c].kind == "modifier"]
    for code, prohibited in modifiers:
        abbr = DUO_TERMS[code].abbreviation
        if code in _NON_COMMERCIAL:
            if purpose.commercial:
                return ConsentDecision(False, f"{abbr}: commercial use is not permitted")
        elif code == GSO:
            if prohibited and purpose.genomic:
                return ConsentDecision(False, "the patient refused use of genomic data")
            if not prohibited and not purpose.genomic:
                return ConsentDecision(False, "GSO: genetic studies only")
        elif code == _IRB:
            if not purpose.irb_approved:
                return ConsentDecision(False, "IRB: ethics approval required")
        elif code == _GS:
            if country is None or purpose.country != country.upper():
                return ConsentDecision(False, "GS: use is restricted to the site's country")
        elif code == _NPOA:
            if {POA, GRU} & set(purpose.codes):
                return ConsentDecision(False, "NPOA: ancestry research is not permitted")
        elif code == _NMDS:
            if GRU in purpose.codes:
                return ConsentDecision(False, "NMDS: general methods research not permitted")
        elif code == _CC:
            continue
        else:
            return ConsentDecision(False, f"{abbr}: an obligation that needs a steward's review")
    return ConsentDecision(True, "permitted")


def _site(policy: SitePolicy | None) -> dict[str, Any]:
    if policy is None:
        return {}
    return {"ds_diseases": tuple(policy.ds_diseases), "country": policy.country}


def allowed_profiles(
    con: duckdb.DuckDBPyConnection, purpose: Purpose, *, policy: SitePolicy | None = None
) -> list[str]:
    """The consent profiles (``consent_profile.profile``) whose consent permits ``purpose``."""
    rows = con.execute(
        "SELECT profile, status, permissions, prohibitions FROM consent_profile ORDER BY 1"
    ).fetchall()
    return [str(r[0]) for r in rows if permits(r[1], r[2], r[3], purpose, **_site(policy))]


#: A consent row's key in SQL: the same as :func:`consent_key` computes in Python.
_KEY_SQL = (
    "(status || '|' || array_to_string(list_sort(list_distinct(permissions)), ',') || '|' || "
    "array_to_string(list_sort(list_distinct(prohibitions)), ','))"
)


def consent_key(status: str, permissions: Iterable[str], prohibitions: Iterable[str]) -> str:
    """One key per distinct consent, as :data:`_KEY_SQL` builds it in the database."""
    return "|".join(
        [status, ",".join(sorted(set(permissions))), ",".join(sorted(set(prohibitions)))]
    )


def consenting_keys(
    con: duckdb.DuckDBPyConnection, purpose: Purpose, *, policy: SitePolicy | None = None
) -> list[str]:
    """The keys of the distinct consents in the store that permit ``purpose``.

    Decided once per distinct consent (a store has a handful), not once per patient.
    """
    rows = con.execute(
        "SELECT DISTINCT status, list_sort(list_distinct(permissions)), "
        "list_sort(list_distinct(prohibitions)) FROM consent"
    ).fetchall()
    return sorted(
        consent_key(s, p, q) for s, p, q in rows if permits(s, p, q, purpose, **_site(policy))
    )


def consent_filter(keys: Sequence[str], *, column: str = "pseudonym") -> tuple[str, list[Any]]:
    """A SQL condition on ``column`` (a pseudonym column) keeping the consenting patients.

    ``keys`` come from :func:`consenting_keys`; the condition is parametrised (one list
    parameter) and a patient without a consent row is never kept (deny by default).
    """
    if not _COLUMN.match(column):
        raise InputError(f"expected a column name, found {column!r}")
    sql = (
        f"{column} IN (SELECT pseudonym FROM consent WHERE {_KEY_SQL} "
        "IN (SELECT unnest(?::VARCHAR[])))"
    )
    return sql, [list(keys)]


def consenting_pseudonyms(
    con: duckdb.DuckDBPyConnection, purpose: Purpose, *, policy: SitePolicy | None = None
) -> list[str]:
    """The pseudonyms whose consent permits ``purpose``, sorted."""
    sql, params = consent_filter(consenting_keys(con, purpose, policy=policy))
    rows = con.execute(f"SELECT pseudonym FROM consent WHERE {sql} ORDER BY 1", params).fetchall()
    return [str(r[0]) for r in rows]
