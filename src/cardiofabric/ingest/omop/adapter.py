"""The ``omop`` adapter: an OMOP CDM v5.4 extract's persons, each one clinical record.

Codes, persons and the harmonised tables are described in :mod:`cardiofabric.ingest.omop`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, register
from cardiofabric.ingest.harmonise import coded, measurement
from cardiofabric.ingest.omop.consent import ConsentRows, consent_concept_ids, is_consent
from cardiofabric.ingest.omop.tables import (
    DOMAINS,
    CdmReader,
    Concept,
    Domain,
    find_table,
    iso,
    kept,
)
from cardiofabric.mmio.container import PayloadSpec
from cardiofabric.mmio.model import ModalityKind
from cardiofabric.mmio.said import canonical_json

__all__ = ["OmopAdapter"]

# OMOP vocabulary_id → our code system (OHDSI Athena vocabulary ids).
_VOCABULARIES = {
    "SNOMED": "SNOMEDCT",
    "LOINC": "LOINC",
    "ICD10": "ICD10",
    "ICD10CM": "ICD10CM",
    "ATC": "ATC",
    "HPO": "HPO",
}
# OMOP Gender vocabulary concepts → HL7 administrative gender.
_GENDER = {8507: "male", 8532: "female", 8521: "other", 8551: "unknown"}
# LOINC codes of the FHIR R4 vital-signs profile: their category is vital-signs, not laboratory.
_VITAL_SIGNS = {"8480-6", "8462-4", "8867-4", "40443-4", "39156-5", "29463-7", "8302-2", "8478-0"}


@dataclass
class _Person:
    local_id: str
    content: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    source: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    time: str = ""
    consent: ConsentRows = field(default_factory=ConsentRows)

    def add(self, table: str, row: dict[str, Any], cdm: str, raw: dict[str, Any]) -> None:
        self.content.setdefault(table, []).append(row)
        self.source.setdefault(cdm, []).append(kept(raw))


class _Harmoniser:
    """Turns the CDM rows of one extract into harmonised rows, through its concept table."""

    def __init__(self, concepts: dict[int, Concept], ctx: SourceContext) -> None:
        self.concepts = concepts
        self.ctx = ctx
        self.local_system = str(ctx.options.get("local_code_system", "local"))

    def codes(
        self, concept_id: int | None, source_concept_id: int | None, source_value: str | None
    ) -> tuple[tuple[str | None, str | None], tuple[str | None, str | None], Concept | None]:
        """(code to harmonise, code as the source gave it, the standard concept if named)."""
        std = self.concepts.get(concept_id or 0) if concept_id else None
        src = self.concepts.get(source_concept_id or 0) if source_concept_id else None
        given: tuple[str | None, str | None]
        if src is not None:
            given = (src.vocabulary, src.code)
        elif std is not None:
            given = (std.vocabulary, std.code)
        elif source_concept_id:
            given = ("OMOP", str(source_concept_id))
        elif concept_id:
            given = ("OMOP", str(concept_id))
        else:  # concept 0, "No matching concept": the source value is the local code
            given = (self.local_system, source_value)
        harmonise = (_VOCABULARIES.get(std.vocabulary, std.vocabulary), std.code) if std else given
        if not std and given[0] in _VOCABULARIES:
            harmonise = (_VOCABULARIES[given[0]], given[1])
        return harmonise, given, std

    def domain_row(self, d: Domain, r: dict[str, Any]) -> dict[str, Any]:
        label = r.get(f"{d.prefix}_source_value")
        (system, code), given, std = self.codes(
            r.get(f"{d.prefix}_concept_id"), r.get(f"{d.prefix}_source_concept_id"), label
        )
        lang, cm = self.ctx.language, self.ctx.code_map
        when = iso(r.get(d.when) if d.when and r.get(d.when) else r.get(d.date))
        if d.table == "measurement":
            unit = r.get("unit_source_value")
            if not unit and r.get("unit_concept_id") in self.concepts:
                unit = self.concepts[r["unit_concept_id"]].code
            row = measurement(
                system, code, label, r.get("value_as_number"), unit, lang, code_map=cm
            )
            if r.get("value_source_value") is not None:
                row["source_value"] = str(r["value_source_value"])
            vital = row["code_system"] == "LOINC" and row["code"] in _VITAL_SIGNS
            row.update(category="vital-signs" if vital else "laboratory", date=when)
        else:
            row = coded(system, code, label, lang, code_map=cm)
            if d.table == "observation":
                value = self.concepts.get(r.get("value_as_concept_id") or 0)
                number = r.get("value_as_number")
                row.update(
                    value_text=r.get("value_as_string")
                    or r.get("value_source_value")
                    or (None if number is None else f"{number:g}")
                    or (value.name if value else None),
                    value_code_system=_VOCABULARIES.get(value.vocabulary, value.vocabulary)
                    if value
                    else None,
                    value_code=value.code if value else None,
                    date=when,
                )
            elif d.table == "condition":
                ended = r.get(d.end or "")
                row.update(onset_date=when, status="resolved" if ended else "active")
            elif d.table == "medication":
                row.update(start_date=when, end_date=iso(r.get(d.end or "")))
            else:
                row["date"] = when
        if row["mapped"] and not row["label"] and std is not None and std.name:
            row["label"] = std.name  # the concept's English name (OMOP concept_name)
        row["source_code_system"], row["source_code"] = given
        row["source_label"] = label
        return row


@register("omop")
class OmopAdapter:
    format = "omop"
    version = "1"

    def read(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        if not path.is_dir():
            raise InputError(
                "expected a directory of OMOP CDM v5.4 CSV files (person.csv, measurement.csv, "
                "...), found " + ("a file" if path.exists() else "nothing"),
                path=path,
                hint="give the folder of the extract as the source path",
            )
        tables = CdmReader(path, ctx)
        person_file = find_table(path, "person")
        if person_file is None:
            raise InputError(
                "the extract has no person table; expected person.csv (or .csv.gz, .tsv) "
                "beside the other CDM tables",
                path=path,
                hint="export the OMOP CDM v5.4 person table too: every row refers to it",
            )
        concepts = tables.concepts()
        consent_ids = consent_concept_ids(concepts, ctx.options, path)
        harmoniser = _Harmoniser(concepts, ctx)
        persons: dict[int, _Person] = {}
        used: set[str] = set()
        for line, r in tables.rows("person", person_file):
            pid = r["person_id"]
            where = f"{person_file.name} line {line}"
            local = (r.get("person_source_value") or "").strip() or str(pid)
            if pid is None or pid in persons or local in used:
                ctx.reject(where, f"person_id {pid} or person_source_value {local!r} repeats")
                continue
            used.add(local)
            gender = r["gender_concept_id"]
            row = {
                "sex": _GENDER.get(gender or 0, "unknown"),
                "source_sex": r.get("gender_source_value")
                or (None if gender is None else str(gender)),
                "birth_year": r["year_of_birth"],
            }
            persons[pid] = p = _Person(local)
            p.add("person", row, "person", r)
        for cdm in ("observation_period", "death"):
            file = find_table(path, cdm)
            if file is None:
                continue
            for line, r in tables.rows(cdm, file):
                p_or_none = persons.get(r["person_id"])
                if p_or_none is None:
                    ctx.reject(f"{file.name} line {line}", _unknown(r["person_id"], person_file))
                    continue
                person = p_or_none.content["person"][0]
                key, value = (
                    ("index_date", r["observation_period_start_date"])
                    if cdm == "observation_period"
                    else ("death_date", r["death_date"])
                )
                if value is not None and (person.get(key) is None or value < person[key]):
                    person[key] = value
                p_or_none.source.setdefault(cdm, []).append(kept(r))
        for p in persons.values():
            person = p.content["person"][0]
            for key in ("index_date", "death_date"):
                if key in person:
                    person[key] = iso(person[key])
        for d in DOMAINS:
            file = find_table(path, d.cdm)
            if file is None:
                continue
            for line, r in tables.rows(d.cdm, file):
                owner = persons.get(r["person_id"])
                if owner is None:
                    ctx.reject(f"{file.name} line {line}", _unknown(r["person_id"], person_file))
                    continue
                if d.cdm == "observation" and is_consent(r, consent_ids):
                    owner.source.setdefault(d.cdm, []).append(kept(r))
                    try:
                        owner.consent.add(r)
                    except ValueError as exc:
                        ctx.reject(f"{file.name} line {line}", str(exc))
                    continue
                row = harmoniser.domain_row(d, r)
                owner.add(d.table, row, d.cdm, r)
                stamp = iso(r.get(d.date))
                if isinstance(stamp, str) and stamp > owner.time:
                    owner.time = stamp
        for p in persons.values():
            payload = {"cdm": "OMOP CDM v5.4", "tables": p.source}
            yield ModalityRecord(
                local_id=p.local_id,
                kind=ModalityKind.CLINICAL,
                media_type="text/csv",
                content=p.content,
                payloads=[PayloadSpec(canonical_json(payload), "application/json")],
                time=p.time or None,
                consent=p.consent.consent(),
            )


def _unknown(pid: Any, person_file: Path) -> str:
    return f"person_id {pid} is not in {person_file.name}"
