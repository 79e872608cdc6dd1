"""The site store on DuckDB: harmonised tables, variants, the MMIO index."""

from __future__ import annotations

from cardiofabric.store.alleles import (
    AlleleCountStats,
    AlleleFrequency,
    allele_counts,
    genotyped_individuals,
    profile_key,
    refresh_allele_counts,
)
from cardiofabric.store.database import ENCODING_TYPE, MIGRATIONS, Migration
from cardiofabric.store.schema import CONTENT_TABLES, SCHEMA_VERSION, Column, Table, ddl
from cardiofabric.store.site import (
    DATABASE,
    OBJECTS,
    AddResult,
    ObjectVersion,
    SiteStore,
    StoreInfo,
)

__all__ = [
    "CONTENT_TABLES",
    "DATABASE",
    "ENCODING_TYPE",
    "MIGRATIONS",
    "OBJECTS",
    "SCHEMA_VERSION",
    "AddResult",
    "AlleleCountStats",
    "AlleleFrequency",
    "Column",
    "Migration",
    "ObjectVersion",
    "SiteStore",
    "StoreInfo",
    "Table",
    "allele_counts",
    "ddl",
    "genotyped_individuals",
    "profile_key",
    "refresh_allele_counts",
]
