"""The entry types over the site store: what an individual, biosample, genomic variant, dataset
and cohort are here, how many match a request, and their records.

What each entry type is (decided here, documented in ``docs/design.md`` "Node"):

- **individual**: a patient with a current object (``mmio_index``), identified by pseudonym.
- **biosample**: the DNA sample behind a genomic modality: one per genomic modality of a
  patient (its id is the modality's SAID, never a sample name of the source). ECGs and images
  are acquisitions, not specimens (NCIT C70699 "Biospecimen"), and are found with the custom
  modality filters instead.
- **genomicVariant**: a distinct allele (build, contig, position, REF, ALT) carried by at least
  one patient the request may count; its id is ``build:chrom:pos:ref:alt`` (VCF, 1-based).
- **dataset**: the site's one dataset (``[node] dataset``), all its patients.
- **cohort**: the study cohort: patients with a cohort entry (``person.index_date``).

Every count and record is restricted to the patients the grant's purpose may use (``consent``
clause from governance) before any filter applies, so a withdrawn patient is in no answer.
Variants without filters are answered from the allele-count tables summed over the consent
profiles the gate allows (:func:`cardiofabric.store.alleles.allele_counts`); with filters on
individuals they are counted over the matching patients' own calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb

from cardiofabric.errors import InputError
from cardiofabric.governance.consents import ConsentRow
from cardiofabric.governance.purpose import consent_key
from cardiofabric.node.beacon.filters import Clause, filter_clause
from cardiofabric.node.beacon.request import BeaconRequest
from cardiofabric.node.problems import Problem
from cardiofabric.store import alleles

__all__ = [
    "Scope",
    "VariantKey",
    "carriers",
    "count_biosamples",
    "count_individuals",
    "count_individuals_sql",
    "distinct_carriers",
    "list_biosamples",
    "list_individuals",
    "read_variant_query",
    "variant_hits",
]

#: RefSeq accessions of the GRCh38 / GRCh37 primary chromosomes (NCBI GRC assembly reports
#: GCF_000001405.26 / .13; the versions were written from those reports and are worth
#: re-checking before relying on them for anything but reading a referenceName).
_REFSEQ = {
    "GRCh38": {
        "1": "NC_000001.11",
        "2": "NC_000002.12",
        "3": "NC_000003.12",
        "4": "NC_000004.12",
        "5": "NC_000005.10",
        "6": "NC_000006.12",
        "7": "NC_000007.14",
        "8": "NC_000008.11",
        "9": "NC_000009.12",
        "10": "NC_000010.11",
        "11": "NC_000011.10",
        "12": "NC_000012.12",
        "13": "NC_000013.11",
        "14": "NC_000014.9",
        "15": "NC_000015.10",
        "16": "NC_000016.10",
        "17": "NC_000017.11",
        "18": "NC_000018.10",
        "19": "NC_000019.10",
        "20": "NC_000020.11",
        "21": "NC_000021.9",
        "22": "NC_000022.11",
        "X": "NC_000023.11",
        "Y": "NC_000024.10",
        "MT": "NC_012920.1",
    },
    "GRCh37": {
        "1": "NC_000001.10",
        "2": "NC_000002.11",
        "3": "NC_000003.11",
        "4": "NC_000004.11",
        "5": "NC_000005.9",
        "6": "NC_000006.11",
        "7": "NC_000007.13",
        "8": "NC_000008.10",
        "9": "NC_000009.11",
        "10": "NC_000010.10",
        "11": "NC_000011.9",
        "12": "NC_000012.11",
        "13": "NC_000013.10",
        "14": "NC_000014.8",
        "15": "NC_000015.9",
        "16": "NC_000016.9",
        "17": "NC_000017.10",
        "18": "NC_000018.9",
        "19": "NC_000019.9",
        "20": "NC_000020.10",
        "21": "NC_000021.8",
        "22": "NC_000022.10",
        "X": "NC_000023.10",
        "Y": "NC_000024.9",
        "MT": "NC_012920.1",
    },
}
_FROM_REFSEQ = {acc: (build, chrom) for build, m in _REFSEQ.items() for chrom, acc in m.items()}
_UNSUPPORTED = ("mateName", "aminoacidChange", "genomicAlleleShortForm")


@dataclass(frozen=True)
class Scope:
    """Who a request may count: the consent keys governance allows (patients whose consent
    permits the purpose), the consent profiles of the allele tables, and further conditions
    on the pseudonym column (written with ``{col}``) of a related-entry lookup.

    ``consents`` are the same consents as stored (the gate's ``Grant.consents``); without
    them the store's distinct consents are read and keyed at each query."""

    consent_keys: Sequence[str]
    profiles: Sequence[str]
    extra: tuple[Clause, ...] = field(default_factory=tuple)
    consents: Sequence[ConsentRow] | None = None

    def within(self, clause: Clause) -> Scope:
        return replace(self, extra=(*self.extra, clause))


@dataclass(frozen=True)
class VariantKey:
    build: str
    chrom: str
    pos: int
    ref: str
    alt: str

    @property
    def id(self) -> str:
        return f"{self.build}:{self.chrom}:{self.pos}:{self.ref}:{self.alt}"

    @classmethod
    def parse(cls, text: str) -> VariantKey:
        parts = text.split(":")
        if len(parts) != 5 or not parts[2].isdigit():
            raise Problem(
                404,
                "Not Found",
                f"no genomic variant {text!r} here",
                kind="not-found",
                hint="variant ids are build:chrom:pos:ref:alt, e.g. GRCh38:7:150951619:C:T",
            )
        return cls(parts[0], parts[1], int(parts[2]), parts[3].upper(), parts[4].upper())

    def refseq(self) -> str | None:
        return _REFSEQ.get(self.build, {}).get(self.chrom)


def _consent_clause(con: duckdb.DuckDBPyConnection, scope: Scope, col: str) -> Clause:
    """The patients whose consent has one of the gate's consent keys.

    The same selection as :func:`cardiofabric.governance.purpose.consent_filter`, written as
    equality on the stored columns, so that the per-patient scan compares lists instead of
    sorting and joining them (about 2.5x faster at 100,000 patients). The stored forms come
    with the grant (the gate reads the store's few distinct consents once per consent
    version); without them they are read and keyed here (by governance's own
    :func:`consent_key`), a scan of the consent table.
    """
    allowed = set(scope.consent_keys)
    if scope.consents is not None:
        rows: Sequence[Any] = scope.consents
    else:
        rows = con.execute(
            "SELECT DISTINCT status, permissions, prohibitions FROM consent"
        ).fetchall()
    ok = [r for r in rows if consent_key(r[0], r[1], r[2]) in allowed]
    if not ok:
        return Clause("FALSE")  # deny by default: no consent permits the purpose
    one = "(status = ? AND permissions = ?::VARCHAR[] AND prohibitions = ?::VARCHAR[])"
    params = tuple(x for r in ok for x in (r[0], list(r[1]), list(r[2])))
    return Clause(
        f"{col} IN (SELECT pseudonym FROM consent WHERE {' OR '.join([one] * len(ok))})", params
    )


def _where(
    req: BeaconRequest, scope: Scope, con: duckdb.DuckDBPyConnection, col: str = "i.pseudonym"
) -> tuple[str, list[Any]]:
    clauses = [
        _consent_clause(con, scope, col),
        *[Clause(c.sql.replace("{col}", col), c.params) for c in scope.extra],
        *(filter_clause(f, con, col=col) for f in req.filters),
    ]
    sql = " AND ".join(f"({c.sql})" for c in clauses) or "TRUE"
    params: list[Any] = [p for c in clauses for p in c.params]
    return sql, params


def count_individuals_sql(
    con: duckdb.DuckDBPyConnection, req: BeaconRequest, scope: Scope
) -> tuple[str, list[Any]]:
    """The SQL and parameters :func:`count_individuals` runs (benchmarks compare with it)."""
    where, params = _where(req, scope, con)
    return f"SELECT count(*) FROM mmio_index i WHERE {where}", params


def count_individuals(con: duckdb.DuckDBPyConnection, req: BeaconRequest, scope: Scope) -> int:
    sql, params = count_individuals_sql(con, req, scope)
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def list_individuals(con: duckdb.DuckDBPyConnection, req: BeaconRequest, scope: Scope) -> list[str]:
    where, params = _where(req, scope, con)
    rows = con.execute(
        f"SELECT i.pseudonym FROM mmio_index i WHERE {where} ORDER BY 1 LIMIT ? OFFSET ?",
        [*params, req.limit, req.skip],
    ).fetchall()
    return [str(r[0]) for r in rows]


_BIOSAMPLES = """
SELECT v.modality_digest, v.pseudonym, any_value(v.build)
FROM variant v JOIN mmio_index i ON i.pseudonym = v.pseudonym
WHERE {where} GROUP BY 1, 2
"""


def count_biosamples(con: duckdb.DuckDBPyConnection, req: BeaconRequest, scope: Scope) -> int:
    where, params = _where(req, scope, con)
    sql = f"SELECT count(*) FROM ({_BIOSAMPLES.format(where=where)})"
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def list_biosamples(
    con: duckdb.DuckDBPyConnection, req: BeaconRequest, scope: Scope
) -> list[tuple[str, str, str]]:
    """``(biosample id, pseudonym, build)`` of the page."""
    where, params = _where(req, scope, con)
    sql = f"{_BIOSAMPLES.format(where=where)} ORDER BY 1 LIMIT ? OFFSET ?"
    rows = con.execute(sql, [*params, req.limit, req.skip]).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


# -- genomic variants ------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantQuery:
    """The ``g_variant`` request parameters, read (1-based VCF coordinates from here on)."""

    build: str | None = None
    chrom: str | None = None
    start: int | None = None  # 1-based inclusive
    end: int | None = None  # 1-based inclusive
    start_range: tuple[int, int] | None = None  # bracket query, 0-based as asked
    end_range: tuple[int, int] | None = None
    ref: str | None = None
    alt: str | None = None
    gene: str | None = None
    variant_type: str | None = None
    min_length: int | None = None
    max_length: int | None = None

    def keeps(self, pos: int, ref: str, alt: str) -> bool:
        """The parts of the query the allele tables cannot apply: brackets and lengths."""
        start0, end0 = pos - 1, pos - 1 + len(ref)
        if self.start_range and not self.start_range[0] <= start0 <= self.start_range[1]:
            return False
        if self.end_range and not self.end_range[0] <= end0 <= self.end_range[1]:
            return False
        length = max(len(ref), len(alt))
        if self.min_length is not None and length < self.min_length:
            return False
        return not (self.max_length is not None and length > self.max_length)


def _bad(detail: str, hint: str | None = None) -> Problem:
    return Problem(400, "Bad Request", detail, kind="invalid-request", hint=hint)


def read_variant_query(params: dict[str, Any]) -> VariantQuery:
    """Beacon v2 ``g_variant`` parameters (0-based, half-open ``start``/``end``) → 1-based."""
    for name in _UNSUPPORTED:
        if name in params:
            raise _bad(
                f"the parameter {name} is not supported by this node",
                hint="query by referenceName/start/end/bases or geneId",
            )
    build = params.get("assemblyId")
    chrom = params.get("referenceName")
    if chrom is not None:
        bare = chrom.split(":", 1)[1] if chrom.lower().startswith("refseq:") else chrom
        if bare in _FROM_REFSEQ:
            acc_build, chrom = _FROM_REFSEQ[bare]
            if build is None:
                build = acc_build
        else:
            chrom = alleles._norm_chrom(bare)
    start, end = params.get("start"), params.get("end")
    if (start or end) and chrom is None:
        raise _bad(
            "a start or end needs a referenceName", hint="e.g. referenceName=7&start=150951618"
        )
    q: dict[str, Any] = {
        "build": build,
        "chrom": chrom,
        "ref": params.get("referenceBases"),
        "alt": params.get("alternateBases"),
        "gene": params.get("geneId"),
        "variant_type": params.get("variantType"),
        "min_length": params.get("variantMinLength"),
        "max_length": params.get("variantMaxLength"),
    }
    if end and not start:
        raise _bad("an end needs a start")
    if start and len(start) == 2:
        if not end or len(end) != 2:
            raise _bad("a bracket query needs two starts and two ends")
        if start[0] > start[1] or end[0] > end[1]:
            raise _bad("bracket bounds must be ordered (min, max)")
        q.update(
            start=start[0] + 1,
            end=end[1],
            start_range=(start[0], start[1]),
            end_range=(end[0], end[1]),
        )
    elif start:
        if end:
            if end[0] <= start[0]:
                raise _bad(
                    f"expected end > start, found start {start[0]} and end {end[0]}",
                    hint="Beacon coordinates are 0-based and half-open",
                )
            q.update(start=start[0] + 1, end=end[0])
        else:
            q.update(start=start[0] + 1)
    for key in ("ref", "alt"):
        if q[key] in ("N", "."):  # Beacon: N (or .) as "any base"
            q[key] = None
    return VariantQuery(**q)


@dataclass(frozen=True)
class VariantHit:
    key: VariantKey
    gene: str | None
    carriers: int
    ac: int | None = None
    an: int | None = None


def _from_alleles(
    con: duckdb.DuckDBPyConnection, q: VariantQuery, profiles: Sequence[str]
) -> list[VariantHit]:
    try:
        rows = alleles.allele_counts(
            con,
            build=q.build,
            chrom=q.chrom,
            start=q.start,
            end=q.end,
            ref=q.ref,
            alt=q.alt,
            gene=q.gene,
            variant_type=q.variant_type,
            profiles=profiles,
            limit=None,
        )
    except InputError as exc:
        raise _bad(exc.message, exc.hint) from None
    return [
        VariantHit(
            VariantKey(r.build, r.chrom, r.pos, r.ref, r.alt), r.gene, r.carriers, r.ac, r.an
        )
        for r in rows
        if r.carriers > 0 and q.keeps(r.pos, r.ref, r.alt)
    ]


def _calls_where(
    con: duckdb.DuckDBPyConnection, req: BeaconRequest, q: VariantQuery, scope: Scope
) -> tuple[str, list[Any]]:
    """SQL on ``variant v``: consent, filters on individuals, and the variant parameters."""
    where, params = _where(req, scope, con, col="v.pseudonym")
    conds, p2 = [f"({where})"], list(params)
    for col, value in (("build", q.build), ("ref", q.ref), ("alt", q.alt)):
        if value is not None:
            conds.append(f"v.{col} = ?")
            p2.append(value.upper() if col != "build" else alleles._build(value))
    if q.chrom is not None:
        conds.append(f"{alleles._norm_chrom_sql('v.chrom')} = ?")
        p2.append(q.chrom)
    if q.gene is not None:
        conds.append("upper(v.gene) = ?")
        p2.append(q.gene.upper())
    if q.start is not None and q.end is not None:
        conds.append("v.pos <= ? AND v.pos + length(v.ref) - 1 >= ?")
        p2 += [q.end, q.start]
    elif q.start is not None:
        conds.append("v.pos = ?")
        p2.append(q.start)
    if q.variant_type is not None:
        vt = q.variant_type.strip().upper()
        vt = "SNP" if vt == "SNV" else vt
        if vt not in alleles.VARIANT_TYPES:
            raise _bad(
                f"expected a variant type of {', '.join(alleles.VARIANT_TYPES)}, found "
                f"{q.variant_type!r}"
            )
        conds.append(f"({alleles.VARIANT_TYPES[vt]})")  # only `variant v` is in FROM
    return " AND ".join(conds), p2


def _from_calls(
    con: duckdb.DuckDBPyConnection, req: BeaconRequest, q: VariantQuery, scope: Scope
) -> list[VariantHit]:
    where, params = _calls_where(con, req, q, scope)
    sql = (
        "SELECT v.build, v.chrom, v.pos, v.ref, v.alt, any_value(v.gene), "
        f"count(DISTINCT v.pseudonym) FROM variant v WHERE {where} "
        "GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, TRY_CAST(v.chrom AS INTEGER) NULLS LAST, 2, 3, 4, 5"
    )
    rows = con.execute(sql, params).fetchall()
    return [
        VariantHit(VariantKey(str(b), str(c), int(p), str(r), str(a)), g, int(n))
        for b, c, p, r, a, g, n in rows
        if q.keeps(int(p), str(r), str(a))
    ]


def distinct_carriers(
    con: duckdb.DuckDBPyConnection, req: BeaconRequest, scope: Scope, hits: Sequence[VariantHit]
) -> int:
    """The individuals in ``scope`` carrying any of ``hits`` (one person counted once)."""
    if not hits:
        return 0
    if len(hits) == 1:
        return hits[0].carriers
    where, params = _where(req, scope, con, col="v.pseudonym")
    row = con.execute(
        "SELECT count(DISTINCT v.pseudonym) FROM variant v "
        f"WHERE ({where}) AND v.build || ':' || v.chrom || ':' || v.pos || ':' || v.ref || ':' "
        "|| v.alt IN (SELECT unnest(?::VARCHAR[]))",
        [*params, [h.key.id for h in hits]],
    ).fetchone()
    return int(row[0]) if row else 0


def variant_hits(
    con: duckdb.DuckDBPyConnection,
    req: BeaconRequest,
    scope: Scope,
    *,
    q: VariantQuery | None = None,
    patient_level: bool = False,
) -> list[VariantHit]:
    """The variants a request matches, in genomic order, each with its carriers in scope."""
    q = q or read_variant_query(req.parameters)
    if req.filters or scope.extra or patient_level:
        return _from_calls(con, req, q, scope)
    return _from_alleles(con, q, scope.profiles)


def carriers(
    con: duckdb.DuckDBPyConnection, scope: Scope, keys: Sequence[VariantKey]
) -> dict[str, list[tuple[str, str, str]]]:
    """Variant id → ``(pseudonym, biosample id, zygosity)`` of its carriers in ``scope``."""
    if not keys:
        return {}
    where, params = _where(BeaconRequest(), scope, con, col="v.pseudonym")
    ids = [k.id for k in keys]
    rows = con.execute(
        "SELECT v.build || ':' || v.chrom || ':' || v.pos || ':' || v.ref || ':' || v.alt AS id, "
        "v.pseudonym, v.modality_digest, any_value(v.zygosity) FROM variant v "
        f"WHERE ({where}) AND v.build || ':' || v.chrom || ':' || v.pos || ':' || v.ref || ':' "
        "|| v.alt IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        [*params, ids],
    ).fetchall()
    out: dict[str, list[tuple[str, str, str]]] = {}
    for vid, p, b, z in rows:
        out.setdefault(str(vid), []).append((str(p), str(b), str(z)))
    return out
