"""The site store's schema: harmonised tables for analytics by code, and the MMIO index.

Every harmonised row keeps the original context beside the harmonised value (ARCHITECTURE:
"keep the original context"): ``source_*`` columns hold the value, unit, code, code system,
label and language exactly as the source gave them. Every row names the object and modality it
came from, so that replacing a patient's object replaces exactly its rows.

A modality's ``content`` maps a table name below to rows whose keys are a subset of that table's
content columns; the store fills ``pseudonym``, ``object_digest`` and ``modality_digest``.
"""

from __future__ import annotations

from cardiofabric.mmio.tables import CONTENT_TABLES, LINK_COLUMNS, Column, Table

__all__ = ["CONTENT_TABLES", "LINK_COLUMNS", "SCHEMA_VERSION", "Column", "Table", "ddl"]

#: Bumped whenever a table or column changes; the store migrates forward on open.
SCHEMA_VERSION = 2


#: Tables the store keeps itself (not filled from modality content).
STORE_DDL = (
    """
CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS mmio_index (
    pseudonym VARCHAR PRIMARY KEY,
    object_digest VARCHAR NOT NULL,
    site VARCHAR NOT NULL,
    kinds VARCHAR[] NOT NULL,
    modality_digests VARCHAR[] NOT NULL,
    path VARCHAR NOT NULL,
    added_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS mmio_history (
    pseudonym VARCHAR NOT NULL,
    object_digest VARCHAR NOT NULL,
    kinds VARCHAR[] NOT NULL,
    path VARCHAR NOT NULL,
    added_at TIMESTAMP NOT NULL,
    replaced_at TIMESTAMP NOT NULL,
    replaced_by VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS consent (
    pseudonym VARCHAR PRIMARY KEY,
    status VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    permissions VARCHAR[] NOT NULL,
    prohibitions VARCHAR[] NOT NULL,
    updated_at TIMESTAMP
);
"""
    + """
CREATE TABLE IF NOT EXISTS consent_history (
    pseudonym VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    permissions VARCHAR[] NOT NULL,
    prohibitions VARCHAR[] NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    changed_by VARCHAR NOT NULL,
    note VARCHAR
);
CREATE TABLE IF NOT EXISTS audit_log (
    seq BIGINT PRIMARY KEY,
    logged_at TIMESTAMP NOT NULL,
    caller VARCHAR NOT NULL,
    contract_id VARCHAR,
    purpose VARCHAR[] NOT NULL,
    endpoint VARCHAR NOT NULL,
    query VARCHAR NOT NULL,
    decision VARCHAR NOT NULL,
    result_size BIGINT,
    prev_hash VARCHAR NOT NULL,
    hash VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS privacy_budget (
    researcher VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    epsilon_total DOUBLE NOT NULL,
    epsilon_spent DOUBLE NOT NULL,
    queries BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (researcher, dataset)
);
CREATE TABLE IF NOT EXISTS consent_profile (
    profile VARCHAR PRIMARY KEY,
    status VARCHAR NOT NULL,
    permissions VARCHAR[] NOT NULL,
    prohibitions VARCHAR[] NOT NULL
);
CREATE TABLE IF NOT EXISTS allele_count (
    build VARCHAR NOT NULL,
    chrom VARCHAR NOT NULL,
    pos BIGINT NOT NULL,
    ref VARCHAR NOT NULL,
    alt VARCHAR NOT NULL,
    gene VARCHAR,
    profile VARCHAR NOT NULL,
    sex VARCHAR NOT NULL,
    ancestry VARCHAR NOT NULL,
    ac INTEGER NOT NULL,
    het INTEGER NOT NULL,
    hom INTEGER NOT NULL,
    hemi INTEGER NOT NULL,
    carriers INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS genotyped (
    build VARCHAR NOT NULL,
    profile VARCHAR NOT NULL,
    sex VARCHAR NOT NULL,
    ancestry VARCHAR NOT NULL,
    individuals INTEGER NOT NULL
);
"""
)

#: Tables added by schema version 2 (governance and the cohort view of variants); the
#: migration from version 1 creates exactly these.
V2_TABLES = (
    "consent_history",
    "audit_log",
    "privacy_budget",
    "consent_profile",
    "allele_count",
    "genotyped",
)


def ddl() -> str:
    """CREATE statements for every table of the current schema version."""
    parts = [STORE_DDL]
    for t in CONTENT_TABLES.values():
        cols = ",\n    ".join(f"{c.name} {c.type}" for c in t.columns)
        parts.append(f"CREATE TABLE IF NOT EXISTS {t.name} (\n    {cols}\n);")
        parts.append(f"CREATE INDEX IF NOT EXISTS {t.name}_pseudonym ON {t.name} (pseudonym);")
    parts.append("CREATE INDEX IF NOT EXISTS variant_locus ON variant (chrom, pos);")
    # allele_count has no index: it is rebuilt whole, kept in locus order (see store.alleles).
    return "\n".join(parts)
