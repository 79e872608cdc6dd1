"""The harmonised tables a modality's content fills, and their columns.

They are part of the MMIO's data model: a modality's ``content`` maps a table name below to rows
whose keys are a subset of that table's content columns (every column but the three link
columns, which the site store fills). The site store creates one DuckDB table per entry.

Every coded row keeps the original context beside the harmonised value: ``source_*`` columns hold
the value, unit, code, code system, label and language exactly as the source gave them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CONTENT_TABLES", "LINK_COLUMNS", "Column", "Table"]


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

#: Columns the store fills on every row; never part of a modality's content.
LINK_COLUMNS = tuple(c.name for c in _LINK)
