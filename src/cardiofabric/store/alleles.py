"""The cohort view of variants: allele counts per consent profile, sex and ancestry.

A Beacon ``g_variants`` answer ("how often is this allele seen here?") must not walk patient
rows for every request, and it must leave out patients whose consent forbids the use. The
store therefore keeps three derived tables (schema version 2), rebuilt together from the
``variant``, ``person``, ``consent`` and ``mmio_index`` tables by :func:`refresh_allele_counts`:

``consent_profile``
    every distinct consent (status, permissions, prohibitions) of the store's patients, under
    a short key (:func:`profile_key`). Governance decides which profiles a purpose may use
    (deny by default); a query then sums the allowed profiles only.
``allele_count``
    per variant and (profile, sex, ancestry): allele count, heterozygous, homozygous and
    hemizygous carriers, and carriers (distinct patients).
``genotyped``
    per build and (profile, sex, ancestry): the patients with genomic data, the denominator of
    the allele number.

Rules (each also stated where it is applied):

- A withdrawn patient stays in the tables under a profile of status ``withdrawn``; the gate
  excludes that profile. A patient without a consent row gets the profile ``unknown``.
- Sex and ancestry come from the ``person`` rows; missing, ``unknown`` or conflicting values
  (two sources disagreeing) count as ``unknown``.
- A patient called twice for the same allele (two genomic modalities) counts once, with the
  highest allele dose of the calls.
- Ploidy (the alleles a patient contributes at a site): 2 on autosomes; chrX 2 for females,
  1 for males (AN = 2 x females + 1 x males, as gnomAD reports non-PAR chrX); chrY 1 for males
  and not counted for anyone else; chrM/MT 1 for everyone (a haploid genome; heteroplasmy is
  not modelled). Patients of sex ``other`` or ``unknown`` count as diploid on chrX, as called.
  In a ploidy-1 stratum every carrier is one hemizygous allele, whatever the call's GT (a
  diploid ``1/1`` call on a male chrX is one allele, as gnomAD counts it). The
  pseudo-autosomal regions (PAR1/PAR2, where males are diploid) are NOT distinguished: a PAR
  variant in males is counted as haploid, which undercounts its AC and AN in males.
- AN assumes every genotyped patient was tested at every site (a genome or a shared target);
  a store mixing panels of different extents overstates AN outside the smaller panels.
- Every call counts whatever its FILTER; a site that does not want failed calls counted
  leaves them out at ingest.

When. A rebuild takes one to two seconds per million variant rows (``docs/performance.md``,
``benchmarks/bench_alleles.py``), too much for every batch of an ingest: it runs once at the end
of an ingest run that changed the store, in the v1 -> v2 migration, on a consent change
(governance), and on demand (``SiteStore.refresh_allele_counts``, ``cardiofabric store refresh``). A
fingerprint of the index and the consents, kept in ``store_meta``, tells whether the counts
are current (:func:`counts_are_current`), so a store changed by plain ``SiteStore.add`` calls
is refreshed by the next ingest run even when that run itself changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import duckdb

from cardiofabric.errors import InputError

__all__ = [
    "VARIANT_TYPES",
    "AlleleCountStats",
    "AlleleFrequency",
    "Stratum",
    "allele_counts",
    "counts_are_current",
    "genotyped_individuals",
    "profile_key",
    "refresh_allele_counts",
]

Stratum = Literal["sex", "ancestry", "profile"]
_STRATA = ("sex", "ancestry", "profile")
_META_KEY = "allele_counts_source"
_META_AT = "allele_counts_at"

#: Beacon v2 ``variantType`` values answered here, each as a condition on ``ref``/``alt``.
#: Sequence variants are typed from their alleles (SNP: one base for one; MNP: equal lengths
#: above one; DEL/INS: shorter/longer ALT); symbolic ALTs (``<DEL>``, ``<DUP:TANDEM>``; VCF 4.3
#: §1.4.5) by their first ID; breakends by their bracket notation (VCF 4.3 §5.4).
_SYMBOLIC = "alt LIKE '<%'"
_SYMBOL = "upper(regexp_extract(alt, '^<([A-Za-z]+)', 1))"
VARIANT_TYPES: dict[str, str] = {
    "SNP": f"NOT {_SYMBOLIC} AND length(ref) = 1 AND length(alt) = 1",
    "MNP": f"NOT {_SYMBOLIC} AND length(ref) = length(alt) AND length(ref) > 1",
    "INDEL": f"NOT {_SYMBOLIC} AND NOT regexp_matches(alt, '[][]') AND length(ref) <> length(alt)",
    "DEL": f"({_SYMBOLIC} AND {_SYMBOL} = 'DEL') OR (NOT {_SYMBOLIC} "
    "AND NOT regexp_matches(alt, '[][]') AND length(ref) > length(alt))",
    "INS": f"({_SYMBOLIC} AND {_SYMBOL} = 'INS') OR (NOT {_SYMBOLIC} "
    "AND NOT regexp_matches(alt, '[][]') AND length(ref) < length(alt))",
    "DUP": f"{_SYMBOLIC} AND {_SYMBOL} = 'DUP'",
    "INV": f"{_SYMBOLIC} AND {_SYMBOL} = 'INV'",
    "CNV": f"{_SYMBOLIC} AND {_SYMBOL} IN ('CNV', 'DEL', 'DUP')",
    "BND": "regexp_matches(alt, '[][]')",
    "SV": f"{_SYMBOLIC} OR regexp_matches(alt, '[][]')",
}
_TYPE_ALIASES = {"SNV": "SNP"}
_BUILDS = {
    "grch37": "GRCh37",
    "hg19": "GRCh37",
    "b37": "GRCh37",
    "grch38": "GRCh38",
    "hg38": "GRCh38",
}


def _ploidy(chrom: str, sex: str) -> str:
    """SQL: the alleles one patient of ``sex`` contributes at a site on ``chrom``.

    chrX outside the PARs is haploid in males; chrY is counted in males only; the
    mitochondrial genome is haploid (see the module docstring: PARs are not distinguished).
    """
    return (
        f"CASE WHEN {chrom} = 'X' THEN (CASE WHEN {sex} = 'male' THEN 1 ELSE 2 END) "
        f"WHEN {chrom} = 'Y' THEN (CASE WHEN {sex} = 'male' THEN 1 ELSE 0 END) "
        f"WHEN {chrom} = 'MT' THEN 1 ELSE 2 END"
    )


def _norm_chrom_sql(col: str) -> str:
    """SQL: a contig as the allele tables keep it (no 'chr', upper case, chrM as MT)."""
    bare = f"upper(regexp_replace({col}, '^chr', '', 'i'))"
    return f"(CASE WHEN {bare} = 'M' THEN 'MT' ELSE {bare} END)"


def _norm_chrom(chrom: str) -> str:
    bare = chrom.strip()
    bare = (bare[3:] if bare.lower().startswith("chr") else bare).upper()
    return "MT" if bare == "M" else bare


def profile_key(status: str, permissions: Iterable[str], prohibitions: Iterable[str]) -> str:
    """A consent profile's key: status, then sorted permissions, then sorted ``!``prohibitions.

    ``profile_key("active", ["DUO:0000042"], ["DUO:0000016"])`` is
    ``"active|DUO:0000042|!DUO:0000016"``; a patient without consent is ``"unknown"``.
    Readable on purpose (a steward sees what a profile is) and computed by the same rule in SQL
    (``_profile_sql``), which the tests hold to this function.
    """
    perms = sorted({p for p in permissions if p is not None})
    prohibs = sorted({p for p in prohibitions if p is not None})
    return "|".join([status, *perms, *(f"!{p}" for p in prohibs)])


def _profile_sql(status: str, perms: str, prohibs: str) -> str:
    p = f"list_sort(list_distinct({perms}))"
    q = f"list_sort(list_distinct({prohibs}))"
    return (
        f"({status} || CASE WHEN len({p}) > 0 THEN '|' || array_to_string({p}, '|') ELSE '' END"
        f" || CASE WHEN len({q}) > 0 THEN '|' || "
        f"array_to_string(list_transform({q}, lambda x: '!' || x), '|') ELSE '' END)"
    )


_PROFILE_OF_CONSENT = _profile_sql(
    "coalesce(c.status, 'unknown')",
    "coalesce(c.permissions, []::VARCHAR[])",
    "coalesce(c.prohibitions, []::VARCHAR[])",
)

# One row per current patient: consent profile, sex, ancestry, whether genomic data is held.
_PEOPLE = f"""
people AS (
    SELECT i.pseudonym,
           coalesce(c.status, 'unknown') AS status,
           list_sort(list_distinct(coalesce(c.permissions, []::VARCHAR[]))) AS permissions,
           list_sort(list_distinct(coalesce(c.prohibitions, []::VARCHAR[]))) AS prohibitions,
           {_PROFILE_OF_CONSENT} AS profile,
           coalesce(d.sex, 'unknown') AS sex,
           coalesce(d.ancestry, 'unknown') AS ancestry,
           list_contains(i.kinds, 'genomic') AS genomic
    FROM mmio_index i
    LEFT JOIN consent c ON c.pseudonym = i.pseudonym
    LEFT JOIN (
        -- Two sources may each give a person row: one agreed value, else unknown.
        SELECT pseudonym,
               CASE WHEN count(DISTINCT s) = 1 THEN min(s) END AS sex,
               CASE WHEN count(DISTINCT a) = 1 THEN min(a) END AS ancestry
        FROM (SELECT pseudonym, nullif(lower(trim(sex)), 'unknown') AS s,
                     nullif(nullif(trim(ancestry), ''), 'unknown') AS a FROM person)
        GROUP BY pseudonym
    ) d ON d.pseudonym = i.pseudonym
)"""

# Allele dose of one call: 3 homozygous, 2 hemizygous, 1 heterozygous; from GT when the
# zygosity is missing (one allele: hemizygous; all alleles equal: homozygous).
_DOSE = """CASE lower(zygosity)
        WHEN 'homozygous' THEN 3 WHEN 'hemizygous' THEN 2 WHEN 'heterozygous' THEN 1
        ELSE (CASE WHEN genotype IS NULL THEN 1
                   WHEN len(string_split_regex(genotype, '[/|]')) = 1 THEN 2
                   WHEN list_unique(string_split_regex(genotype, '[/|]')) = 1 THEN 3
                   ELSE 1 END) END"""

_REFRESH_ALLELES = f"""
INSERT INTO allele_count
WITH {_PEOPLE.strip()},
calls AS (
    -- One call per patient and allele (a patient genotyped twice counts once).
    SELECT pseudonym, coalesce(build, 'unknown') AS build, {_norm_chrom_sql("chrom")} AS chrom,
           pos, ref, alt, max(gene) AS gene, max({_DOSE}) AS dose
    FROM variant
    WHERE chrom IS NOT NULL AND pos IS NOT NULL AND ref IS NOT NULL AND alt IS NOT NULL
    GROUP BY ALL
),
genes AS (
    -- One gene per variant, whichever patients' rows named it.
    SELECT build, chrom, pos, ref, alt, max(gene) AS gene FROM calls GROUP BY ALL
),
typed AS (
    SELECT c.build, c.chrom, c.pos, c.ref, c.alt, p.profile, p.sex, p.ancestry, c.dose,
           {_ploidy("c.chrom", "p.sex")} AS ploidy
    FROM calls c JOIN people p ON p.pseudonym = c.pseudonym
),
counted AS (
    SELECT build, chrom, pos, ref, alt, profile, sex, ancestry,
           sum(CASE WHEN ploidy = 1 THEN 1 WHEN dose = 3 THEN 2 ELSE 1 END)::INTEGER AS ac,
           count(*) FILTER (WHERE ploidy = 2 AND dose = 1)::INTEGER AS het,
           count(*) FILTER (WHERE ploidy = 2 AND dose = 3)::INTEGER AS hom,
           count(*) FILTER (WHERE ploidy = 1 OR dose = 2)::INTEGER AS hemi,
           count(*)::INTEGER AS carriers
    FROM typed
    WHERE ploidy > 0
    GROUP BY ALL
)
SELECT k.build, k.chrom, k.pos, k.ref, k.alt, g.gene, k.profile, k.sex, k.ancestry,
       k.ac, k.het, k.hom, k.hemi, k.carriers
FROM counted k
JOIN genes g ON g.build = k.build AND g.chrom = k.chrom AND g.pos = k.pos AND g.ref = k.ref
 AND g.alt = k.alt
-- Stored in locus order: DuckDB's zone maps then skip most row groups of a region query.
ORDER BY k.build, k.chrom, k.pos
"""

_REFRESH_PROFILES = f"""
INSERT INTO consent_profile
WITH {_PEOPLE.strip()}
SELECT DISTINCT profile, status, permissions, prohibitions FROM people ORDER BY profile
"""

_REFRESH_GENOTYPED = f"""
INSERT INTO genotyped
WITH {_PEOPLE.strip()},
builds AS (SELECT DISTINCT pseudonym, coalesce(build, 'unknown') AS build FROM variant)
SELECT coalesce(b.build, 'unknown'), p.profile, p.sex, p.ancestry, count(*)::INTEGER
FROM people p LEFT JOIN builds b ON b.pseudonym = p.pseudonym
-- Genomic data held: a genomic modality, or variant rows from any modality.
WHERE p.genomic OR b.pseudonym IS NOT NULL
GROUP BY ALL
ORDER BY ALL
"""

# What the counts are derived from: every current object and every consent. A change of
# either (an object replaced, a consent withdrawn) changes this value.
_FINGERPRINT = """
SELECT (SELECT count(*) || ':' || coalesce(bit_xor(hash(pseudonym, object_digest)), 0)
        FROM mmio_index)
    || '/' ||
       (SELECT count(*) || ':' || coalesce(bit_xor(hash(pseudonym, status, version,
                                                        permissions, prohibitions)), 0)
        FROM consent)
"""


@dataclass(frozen=True)
class AlleleCountStats:
    """What a refresh built: row counts of the three tables and how long it took."""

    profiles: int
    variants: int  # distinct (build, chrom, pos, ref, alt)
    rows: int  # allele_count rows
    genotyped: int  # patients with genomic data
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AlleleFrequency:
    """One allele's counts over the allowed profiles, in one stratum (or all: ``None``).

    ``an`` is the allele number (alleles genotyped, see the ploidy rule of the module) and
    ``af = ac / an`` (None when nothing was genotyped).
    """

    build: str
    chrom: str
    pos: int
    ref: str
    alt: str
    gene: str | None
    stratum: str | None
    ac: int
    an: int
    af: float | None
    het: int
    hom: int
    hemi: int
    carriers: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the caller holds an open transaction on ``con``.

    DuckDB runs each statement in its own transaction unless one was begun; inside one,
    ``txid_current()`` stays the same. (A second ``BEGIN`` would abort the caller's
    transaction, so it cannot be tried.)
    """
    a = con.execute("SELECT txid_current()").fetchone()
    b = con.execute("SELECT txid_current()").fetchone()
    return a == b


def refresh_allele_counts(con: duckdb.DuckDBPyConnection) -> AlleleCountStats:
    """Rebuild ``consent_profile``, ``allele_count`` and ``genotyped`` from the store's tables.

    One transaction: its own, or the caller's when one is open (a consent change, the schema
    migration), so that the counts change together with what they are derived from. Set-based
    SQL throughout; one to two seconds per million variant rows.
    """
    t0 = time.perf_counter()
    own = not _in_transaction(con)
    if own:
        con.begin()
    try:
        # No ART index on allele_count: persisting one for a million rebuilt rows took about
        # 4 s per commit (measured, DuckDB 2.0) and sped up no query (the rows are stored in
        # locus order, and DuckDB's zone maps skip the row groups a region query does not
        # touch). Stores made when the schema still declared two are cleared of them here.
        for (name,) in con.execute(
            "SELECT index_name FROM duckdb_indexes() WHERE table_name = 'allele_count'"
        ).fetchall():
            con.execute(f"DROP INDEX {_quote(str(name))}")
        for table in ("consent_profile", "allele_count", "genotyped"):
            con.execute(f"DELETE FROM {table}")
        con.execute(_REFRESH_PROFILES)
        con.execute(_REFRESH_ALLELES)
        con.execute(_REFRESH_GENOTYPED)
        con.execute(
            "INSERT INTO store_meta VALUES (?, ?), (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [_META_KEY, str(_one(con, _FINGERPRINT)), _META_AT, _now()],
        )
        counts = [
            int(_one(con, sql))
            for sql in (
                "SELECT count(*) FROM consent_profile",
                "SELECT count(*) FROM (SELECT DISTINCT build, chrom, pos, ref, alt "
                "FROM allele_count)",
                "SELECT count(*) FROM allele_count",
                "SELECT coalesce(sum(individuals), 0) FROM genotyped",
            )
        ]
        if own:
            con.commit()
    except BaseException:
        if own:
            con.rollback()
        raise
    profiles, variants, rows, genotyped = counts
    return AlleleCountStats(
        profiles, variants, rows, genotyped, seconds=round(time.perf_counter() - t0, 3)
    )


def _now() -> str:
    # As the store's TIMESTAMP columns hold times: UTC without zone (store.database.now).
    return datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")


def counts_are_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the allele tables were built from the store's present objects and consents."""
    row = con.execute("SELECT value FROM store_meta WHERE key = ?", [_META_KEY]).fetchone()
    return row is not None and str(row[0]) == str(_one(con, _FINGERPRINT))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    return None if row is None else row[0]


# -- reading --------------------------------------------------------------------------------
def _profiles_clause(profiles: Collection[str] | None, params: list[Any]) -> str:
    if profiles is None:
        return "TRUE"
    if isinstance(profiles, str):
        raise InputError(
            f"expected a collection of consent profile keys, found the string {profiles!r}",
            hint="pass a list, e.g. profiles=[key]",
        )
    params.append(sorted({str(p) for p in profiles}))
    return "list_contains(?::VARCHAR[], profile)"


def _stratum(by: str | None) -> str:
    if by is None:
        return "NULL::VARCHAR"
    if by not in _STRATA:
        raise InputError(
            f"expected to stratify by one of {', '.join(_STRATA)}, found {by!r}",
            hint="use by='sex', by='ancestry', or leave it out for the whole cohort",
        )
    return by


def _build(build: str | None) -> str | None:
    if build is None:
        return None
    return _BUILDS.get(build.strip().lower(), build.strip())


def genotyped_individuals(
    con: duckdb.DuckDBPyConnection,
    profiles: Collection[str] | None = None,
    by: Stratum | None = None,
    *,
    build: str | None = None,
) -> dict[tuple[str, str | None], int]:
    """Patients with genomic data, keyed by (build, stratum); stratum None without ``by``.

    ``profiles`` are the consent profiles allowed (None: all; empty: none, so nothing).
    """
    params: list[Any] = []
    where = [_profiles_clause(profiles, params)]
    if build is not None:
        where.append("build = ?")
        params.append(_build(build))
    rows = con.execute(
        f"SELECT build, {_stratum(by)} AS stratum, sum(individuals) FROM genotyped "
        f"WHERE {' AND '.join(where)} GROUP BY ALL ORDER BY ALL",
        params,
    ).fetchall()
    return {(str(b), None if s is None else str(s)): int(n) for b, s, n in rows}


def allele_counts(
    con: duckdb.DuckDBPyConnection,
    *,
    build: str | None = None,
    chrom: str | None = None,
    start: int | None = None,
    end: int | None = None,
    ref: str | None = None,
    alt: str | None = None,
    gene: str | None = None,
    variant_type: str | None = None,
    profiles: Collection[str] | None = None,
    by: Stratum | None = None,
    limit: int | None = 1000,
    skip: int = 0,
) -> list[AlleleFrequency]:
    """Allele counts summed over the allowed consent ``profiles`` (None: all; empty: none).

    Positions are 1-based as in VCF: ``start`` alone asks for variants at that position;
    ``start`` and ``end`` for variants overlapping ``[start, end]`` (the reference allele's
    span). A Beacon request's 0-based ``start`` is therefore given here as ``start + 1``.
    ``chrom`` takes ``chr1``/``1``/``chrM``/``MT``; ``build`` ``GRCh38``/``hg38`` and alike;
    ``gene`` an HGNC symbol (case-insensitive); ``variant_type`` one of :data:`VARIANT_TYPES`
    (Beacon v2 ``variantType``; ``SNV`` is read as ``SNP``). With ``by``, one result per
    stratum genotyped for the variant's build, zero counts included. Ordered by build, contig,
    position, alleles and stratum; ``skip`` and ``limit`` page through that order.
    """
    params: list[Any] = []
    where: list[str] = []
    if build is not None:
        where.append("build = ?")
        params.append(_build(build))
    if chrom is not None:
        where.append("chrom = ?")
        params.append(_norm_chrom(str(chrom)))
    if end is not None and start is None:
        raise InputError(
            f"expected a start with the end {end}, found none",
            hint="give start and end for a range, or start alone for one position",
        )
    for name, value in (("start", start), ("end", end), ("skip", skip), ("limit", limit)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InputError(f"expected an integer {name}, found {value!r}")
        if value is not None and value < 0:
            raise InputError(f"expected a {name} of 0 or more, found {value}")
    if start is not None and end is not None:
        if end < start:
            raise InputError(
                f"expected end >= start, found start {start} and end {end}",
                hint="positions are 1-based and inclusive",
            )
        where.append("pos <= ? AND pos + length(ref) - 1 >= ?")
        params += [end, start]
    elif start is not None:
        where.append("pos = ?")
        params.append(start)
    if ref is not None:
        where.append("ref = ?")
        params.append(ref.strip().upper())
    if alt is not None:
        where.append("alt = ?")
        params.append(alt.strip().upper())
    if gene is not None:
        where.append("upper(gene) = ?")
        params.append(gene.strip().upper())
    if variant_type is not None:
        vt = variant_type.strip().upper()
        vt = _TYPE_ALIASES.get(vt, vt)
        if vt not in VARIANT_TYPES:
            raise InputError(
                f"expected a variant type of {', '.join(VARIANT_TYPES)}, found {variant_type!r}",
                hint="use a Beacon v2 variantType such as SNP, INDEL or DEL",
            )
        where.append(f"({VARIANT_TYPES[vt]})")
    where.append(_profiles_clause(profiles, params))
    g_params: list[Any] = []
    g_where = _profiles_clause(profiles, g_params)
    stratum = _stratum(by)
    page = "LIMIT ? OFFSET ?" if limit is not None else "OFFSET ?"
    page_params = [limit, skip] if limit is not None else [skip]
    sql = f"""
WITH a AS (
    SELECT build, chrom, pos, ref, alt, gene, {stratum} AS stratum,
           sum(ac) AS ac, sum(het) AS het, sum(hom) AS hom, sum(hemi) AS hemi,
           sum(carriers) AS carriers
    FROM allele_count WHERE {" AND ".join(where)}
    GROUP BY ALL
),
v AS (SELECT DISTINCT build, chrom, pos, ref, alt, gene FROM a),
g AS (
    SELECT build, sex, {stratum} AS stratum, sum(individuals) AS n
    FROM genotyped WHERE {g_where} GROUP BY ALL
),
n AS (
    SELECT v.build, v.chrom, v.pos, v.ref, v.alt, v.gene, g.stratum,
           sum(g.n * {_ploidy("v.chrom", "g.sex")}) AS an
    FROM v JOIN g ON g.build = v.build
    GROUP BY ALL
)
SELECT n.build, n.chrom, n.pos, n.ref, n.alt, n.gene, n.stratum,
       coalesce(a.ac, 0), n.an, coalesce(a.het, 0), coalesce(a.hom, 0),
       coalesce(a.hemi, 0), coalesce(a.carriers, 0)
FROM n LEFT JOIN a
  ON a.build = n.build AND a.chrom = n.chrom AND a.pos = n.pos AND a.ref = n.ref
 AND a.alt = n.alt AND a.stratum IS NOT DISTINCT FROM n.stratum
WHERE n.an > 0 OR a.ac > 0
ORDER BY n.build, TRY_CAST(n.chrom AS INTEGER) NULLS LAST, n.chrom, n.pos, n.ref, n.alt,
         n.stratum NULLS FIRST
{page}
"""
    rows = con.execute(sql, [*params, *g_params, *page_params]).fetchall()
    return [
        AlleleFrequency(
            build=str(b),
            chrom=str(c),
            pos=int(p),
            ref=str(r),
            alt=str(a),
            gene=None if gn is None else str(gn),
            stratum=None if s is None else str(s),
            ac=int(ac),
            an=int(an),
            af=(int(ac) / int(an)) if an else None,
            het=int(het),
            hom=int(hom),
            hemi=int(hemi),
            carriers=int(k),
        )
        for b, c, p, r, a, gn, s, ac, an, het, hom, hemi, k in rows
    ]
