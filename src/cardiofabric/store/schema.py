"""The site store's schema: harmonised tables for analytics by code, and the MMIO index.

Every harmonised row keeps the original context beside the harmonised value (ARCHITECTURE:
"keep the original context"): ``source_*`` columns hold the value, unit, code, code system,
label and language exactly as the source gave them. Every row names the object and modality it
came from, so that replacing a patient's object replaces exactly its rows.

A modality's ``content`` maps a table name below to rows whose keys are a subset of that table's
content columns; the store fills ``pseudonym``, ``object_digest`` and ``modality_digest``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CONTENT_TABLES", "SCHEMA_VERSION", "Column", "Table", "ddl"]

#: Bumped whenever a table or column changes; the store migrates forward on open.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


_LINK = (
    Column("pseudonym", "VARCHAR NOT NULL", "keyed-HMAC pseudonym of the patient"),
    Column("object_digest", "VARCHAR NOT NULL", "SAID of the MMIO the row came from"),
    Column("modality_digest", "VARCHAR NOT NULL", "SAID of the modality the row came from"),
)
_CODED = (
    Column("code_system", "VARCHAR", "LOINC, SNOMED CT, ICD-10, HPO, ATC, ... (harmonised)"),
    Column("code", "VARCHAR", "harmonised code; NULL when unmapped"),
    Column("label", "VARCHAR", "English label of the harmonised code"),
    Column("source_code_system", "VARCHAR", "code system as the source gave it"),
    Column("source_code", "VARCHAR", "code as the source gave it"),
    Column("source_label", "VARCHAR", "label as the source gave it"),
    Column("source_language", "VARCHAR", "ISO 639 language of the source label"),
    Column("mapped", "BOOLEAN", "whether the source code was mapped to a standard code"),
)
_VALUE = (
    Column("value", "DOUBLE", "harmonised numeric value in the canonical unit"),
    Column("unit", "VARCHAR", "canonical UCUM unit"),
    Column("source_value", "VARCHAR", "value exactly as the source gave it"),
    Column("source_unit", "VARCHAR", "unit exactly as the source gave it"),
)


def _t(name: str, doc: str, *cols: Column) -> Table:
    return Table(name, doc, _LINK + cols)


CONTENT_TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        _t(
            "person",
            "one row per patient: demographics",
            Column("sex", "VARCHAR", "male | female | other | unknown (HL7 administrative gender)"),
            Column("source_sex", "VARCHAR", "sex as the source gave it"),
            Column("birth_year", "INTEGER", "year of birth (no full date: data minimisation)"),
            Column("ancestry", "VARCHAR", "ancestry group where recorded"),
            Column("death_date", "DATE", "date of death where recorded"),
            Column("index_date", "DATE", "date of cohort entry, the origin for time-to-event"),
        ),
        _t(
            "condition",
            "diagnoses and problems",
            *_CODED,
            Column("onset_date", "DATE"),
            Column("status", "VARCHAR", "active | resolved | ..."),
        ),
        _t(
            "measurement",
            "numeric results: labs, vitals, anthropometry, wearable daily summaries",
            *_CODED,
            *_VALUE,
            Column("category", "VARCHAR", "laboratory | vital-signs | wearable | ..."),
            Column("date", "TIMESTAMP"),
        ),
        _t(
            "observation",
            "categorical facts: smoking, family history, alcohol, questionnaire answers",
            *_CODED,
            Column("value_text", "VARCHAR"),
            Column("value_code_system", "VARCHAR"),
            Column("value_code", "VARCHAR"),
            Column("date", "TIMESTAMP"),
        ),
        _t(
            "medication",
            "drug exposures, coded by ATC",
            *_CODED,
            Column("start_date", "DATE"),
            Column("end_date", "DATE"),
        ),
        _t("procedure", "procedures and interventions", *_CODED, Column("date", "DATE")),
        _t(
            "ecg_feature",
            "ECG features, ours and the device's side by side",
            Column(
                "feature",
                "VARCHAR",
                "heart_rate | pr | qrs | qt | qtc_bazett | qtc_fridericia | ...",
            ),
            *_CODED,
            *_VALUE,
            Column("method", "VARCHAR", "cardiofabric (our delineation) | device (the file's own)"),
            Column("date", "TIMESTAMP"),
        ),
        _t(
            "imaging_measurement",
            "measurements from imaging (DICOM SR): LVEF, LV mass, max wall thickness, ...",
            *_CODED,
            *_VALUE,
            Column("imaging_modality", "VARCHAR", "DICOM modality: MR | US | CT"),
            Column("study", "VARCHAR", "digest of the study instance UID (never the UID itself)"),
            Column("date", "DATE"),
        ),
        _t(
            "variant",
            "genotyped or sequenced variants of the patient",
            Column("sample", "VARCHAR", "sample name within the source VCF (pseudonymised)"),
            Column("build", "VARCHAR", "GRCh37 | GRCh38"),
            Column("chrom", "VARCHAR", "contig without 'chr' prefix"),
            Column("pos", "BIGINT", "1-based position (VCF)"),
            Column("ref", "VARCHAR"),
            Column("alt", "VARCHAR"),
            Column("genotype", "VARCHAR", "VCF GT, e.g. 0/1"),
            Column("zygosity", "VARCHAR", "heterozygous | homozygous | hemizygous"),
            Column("gene", "VARCHAR", "HGNC symbol where known"),
            Column("filter", "VARCHAR"),
            Column("qual", "DOUBLE"),
        ),
    )
}

#: Tables the store keeps itself (not filled from modality content).
STORE_DDL = """
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


def ddl() -> str:
    """CREATE statements for every table of the current schema version."""
    parts = [STORE_DDL]
    for t in CONTENT_TABLES.values():
        cols = ",\n    ".join(f"{c.name} {c.type}" for c in t.columns)
        parts.append(f"CREATE TABLE IF NOT EXISTS {t.name} (\n    {cols}\n);")
        parts.append(f"CREATE INDEX IF NOT EXISTS {t.name}_pseudonym ON {t.name} (pseudonym);")
    parts.append("CREATE INDEX IF NOT EXISTS variant_locus ON variant (chrom, pos);")
    return "\n".join(parts)
