"""One MMIO as a GA4GH Phenopacket v2 (JSON as protobuf writes it: camelCase field names).

Reference: GA4GH Phenopacket Schema v2.0 (ISO 4454:2022), https://phenopacket-schema.readthedocs.io.
Which content rows go where:

============================  ==========================================================
``person``                    ``subject``: sex, age at last encounter, vital status
``condition`` (HPO)           ``phenotypicFeatures`` (also rows whose *source* code is HPO)
``condition`` (SNOMED/ICD)    ``diseases``
``measurement``,              ``measurements`` (assay = LOINC term, value = quantity in the
``ecg_feature``,              harmonised UCUM unit); rows without a LOINC code or a number
``imaging_measurement``       are left out: an assay must be a term, a value a quantity
``medication``, ``procedure`` ``medicalActions`` (treatment agent = ATC term, procedure code)
``variant``                   ``interpretations[0].diagnosis.genomicInterpretations``
genomic payloads              ``files`` (``said:`` content addresses, never the bytes)
============================  ==========================================================

No date of birth is written: ``Individual.dateOfBirth`` is a full timestamp and the object
only holds the birth year (data minimisation), so the subject carries its age at the last
dated row instead, in completed calendar years (which may overstate the exact age by up to a
year). Variants are reported without asserting a diagnosis: ``diagnosis.disease`` is left
empty and every genomic interpretation has status ``UNKNOWN_STATUS``; classification is the
genomics module's business, not the export's.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from cardiofabric.errors import MissingDependencyError, ObjectFormatError
from cardiofabric.mmio.container import MMIO
from cardiofabric.mmio.export import (
    CODE_SYSTEMS,
    CodeSystem,
    coded,
    content_rows,
    iso_date,
    label_of,
    number,
    source_coded,
    text,
)
from cardiofabric.mmio.model import ModalityKind

__all__ = [
    "GENO_ALLELIC_STATE",
    "PHENOPACKET_SCHEMA_VERSION",
    "to_phenopacket",
    "validate_phenopacket",
]

PHENOPACKET_SCHEMA_VERSION = "2.0"

#: Zygosity to GENO allelic state (GENO, "zygosity" branch GENO:0000133).
GENO_ALLELIC_STATE: dict[str, tuple[str, str]] = {
    "heterozygous": ("GENO:0000135", "heterozygous"),
    "homozygous": ("GENO:0000136", "homozygous"),
    "hemizygous": ("GENO:0000134", "hemizygous"),
}

# HL7 administrative gender (our ``person.sex``) to Phenopacket v2 ``Sex``.
_SEX = {"male": "MALE", "female": "FEMALE", "other": "OTHER_SEX", "unknown": "UNKNOWN_SEX"}
_EXCLUDED = {"absent", "excluded", "refuted", "ruled-out"}
_DISEASE_SYSTEMS = {"SNOMEDCT", "ICD10", "ICD10CM"}
_MEASURED = ("measurement", "ecg_feature", "imaging_measurement")
_DATE_COLUMNS = ("date", "onset_date", "start_date", "end_date")


class _Terms:
    """Builds OntologyClass objects and remembers which prefixes were used (for MetaData)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def term(self, cs: CodeSystem, code: str, label: str) -> dict[str, str]:
        self.used.add(cs.prefix)
        return {"id": cs.curie(code), "label": label}

    def prefixed(self, prefix: str, code: str, label: str) -> dict[str, str]:
        return self.term(CODE_SYSTEMS[prefix], code, label)


def _timestamp(value: Any) -> str | None:
    day = iso_date(value)
    return f"{day}T00:00:00Z" if day else None


def to_phenopacket(
    mmio: MMIO,
    *,
    created_by: str = "cardiofabric",
    created: dt.datetime | None = None,
    resource_versions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The patient of ``mmio`` as a Phenopacket v2 JSON object.

    ``created`` defaults to now (UTC); pass it for a reproducible document. ``resource_versions``
    overrides the ontology release stated in ``metaData.resources`` per prefix (``{"HP":
    "2025-01-16"}``).
    """
    terms = _Terms()
    pid = mmio.pseudonym
    packet: dict[str, Any] = {"id": pid, "subject": _subject(mmio, terms)}

    features, diseases = _conditions(mmio, terms)
    if features:
        packet["phenotypicFeatures"] = features
    measurements = _measurements(mmio, terms)
    if measurements:
        packet["measurements"] = measurements
    variants = _variants(mmio, terms)
    if variants:
        packet["interpretations"] = [
            {
                "id": f"{pid}-genomic-findings",
                "progressStatus": "UNKNOWN_PROGRESS",
                "diagnosis": {"genomicInterpretations": variants},
            }
        ]
    if diseases:
        packet["diseases"] = diseases
    actions = _medical_actions(mmio, terms)
    if actions:
        packet["medicalActions"] = actions
    files = _files(mmio)
    if files:
        packet["files"] = files

    when = (created or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    versions = dict(resource_versions or {})
    resources = []
    for prefix in sorted(terms.used, key=str.lower):
        res = CODE_SYSTEMS[prefix].resource()
        res["version"] = versions.get(prefix, res["version"])
        resources.append(res)
    packet["metaData"] = {
        "created": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "createdBy": created_by,
        "resources": resources,
        "phenopacketSchemaVersion": PHENOPACKET_SCHEMA_VERSION,
    }
    return packet


def _subject(mmio: MMIO, terms: _Terms) -> dict[str, Any]:
    subject: dict[str, Any] = {"id": mmio.pseudonym}
    person = next((row for _, row in content_rows(mmio, "person")), {})
    birth_year = person.get("birth_year")
    last = [
        int(day[:4])
        for table in ("condition", "medication", "procedure", *_MEASURED)
        for _, row in content_rows(mmio, table)
        for col in _DATE_COLUMNS
        if (day := iso_date(row.get(col)))
    ]
    if isinstance(birth_year, int) and not isinstance(birth_year, bool) and last:
        years = max(last) - birth_year
        if 0 <= years < 150:
            subject["timeAtLastEncounter"] = {"age": {"iso8601duration": f"P{years}Y"}}
    if person.get("death_date"):
        subject["vitalStatus"] = {"status": "DECEASED"}
    subject["sex"] = _SEX.get(str(person.get("sex") or "unknown").lower(), "UNKNOWN_SEX")
    subject["taxonomy"] = terms.prefixed("NCBITaxon", "9606", "Homo sapiens")
    return subject


def _conditions(mmio: MMIO, terms: _Terms) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    features: list[dict[str, Any]] = []
    diseases: list[dict[str, Any]] = []
    for _, row in content_rows(mmio, "condition"):
        onset = _timestamp(row.get("onset_date"))
        excluded = str(row.get("status") or "").lower() in _EXCLUDED
        harmonised, source = coded(row), source_coded(row)
        hpo = next((c for c in (harmonised, source) if c and c[0].prefix == "HP"), None)
        if hpo:
            label = (
                label_of(row, hpo[0].curie(hpo[1]))
                if hpo is harmonised
                else (text(row.get("source_label")) or hpo[0].curie(hpo[1]))
            )
            feature: dict[str, Any] = {"type": terms.term(hpo[0], hpo[1], label)}
            if excluded:
                feature["excluded"] = True
            if onset:
                feature["onset"] = {"timestamp": onset}
            features.append(feature)
        if harmonised and harmonised[0].prefix in _DISEASE_SYSTEMS:
            cs, code = harmonised
            disease: dict[str, Any] = {"term": terms.term(cs, code, label_of(row, cs.curie(code)))}
            if excluded:
                disease["excluded"] = True
            if onset:
                disease["onset"] = {"timestamp": onset}
            diseases.append(disease)
    return features, diseases


def _measurements(mmio: MMIO, terms: _Terms) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for table in _MEASURED:
        for _, row in content_rows(mmio, table):
            loinc = next(
                (c for c in (coded(row), source_coded(row)) if c and c[0].prefix == "LOINC"), None
            )
            value, unit = number(row.get("value")), text(row.get("unit"))
            if loinc is None or value is None or unit is None:
                continue
            m: dict[str, Any] = {}
            description = _describe(table, row)
            if description:
                m["description"] = description
            m["assay"] = terms.term(loinc[0], loinc[1], label_of(row, loinc[0].curie(loinc[1])))
            m["value"] = {"quantity": {"unit": terms.prefixed("UCUM", unit, unit), "value": value}}
            when = _timestamp(row.get("date"))
            if when:
                m["timeObserved"] = {"timestamp": when}
            out.append(m)
    return out


def _describe(table: str, row: dict[str, Any]) -> str | None:
    parts = []
    if table == "ecg_feature":
        parts.append(f"ECG {row.get('feature') or 'feature'} ({row.get('method') or 'unknown'})")
    if table == "imaging_measurement" and row.get("imaging_modality"):
        parts.append(f"imaging ({row['imaging_modality']})")
    # Keep the original context: the value as the source reported it.
    if text(row.get("source_value")) and text(row.get("source_unit")):
        parts.append(f"source value {row['source_value']} {row['source_unit']}")
    return "; ".join(parts) or None


def _variants(mmio: MMIO, terms: _Terms) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _, row in content_rows(mmio, "variant"):
        build, chrom = text(row.get("build")), text(row.get("chrom"))
        pos, ref, alt = row.get("pos"), text(row.get("ref")), text(row.get("alt"))
        if not (build and chrom and isinstance(pos, int) and not isinstance(pos, bool)):
            continue
        if not (ref and alt):
            continue
        vid = f"{build}-{chrom}-{pos}-{ref}-{alt}"
        if vid in seen:
            continue
        seen.add(vid)
        vcf: dict[str, Any] = {
            "genomeAssembly": build,
            "chrom": chrom,
            "pos": pos,
            "ref": ref,
            "alt": alt,
        }
        qual = number(row.get("qual"))
        if qual is not None:
            vcf["qual"] = f"{qual:g}"  # VcfRecord.qual is the VCF column's text
        if text(row.get("filter")):
            vcf["filter"] = text(row.get("filter"))
        descriptor: dict[str, Any] = {"id": vid}
        gene = text(row.get("gene"))
        if gene:
            # HGNC symbol only: the harmonised row carries no HGNC id for ``valueId``.
            descriptor["geneContext"] = {"symbol": gene}
        descriptor["vcfRecord"] = vcf
        descriptor["moleculeContext"] = "genomic"
        zyg = GENO_ALLELIC_STATE.get(str(row.get("zygosity") or "").lower())
        if zyg:
            descriptor["allelicState"] = terms.prefixed("GENO", zyg[0], zyg[1])
        out.append(
            {
                "subjectOrBiosampleId": mmio.pseudonym,
                "interpretationStatus": "UNKNOWN_STATUS",
                "variantInterpretation": {"variationDescriptor": descriptor},
            }
        )
    return out


def _medical_actions(mmio: MMIO, terms: _Terms) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for _, row in content_rows(mmio, "medication"):
        atc = coded(row)
        if atc and atc[0].prefix == "ATC":
            agent = terms.term(atc[0], atc[1], label_of(row, atc[0].curie(atc[1])))
            out.append({"treatment": {"agent": agent}})
    for _, row in content_rows(mmio, "procedure"):
        code = coded(row)
        if code:
            proc: dict[str, Any] = {
                "code": terms.term(code[0], code[1], label_of(row, code[0].curie(code[1])))
            }
            when = _timestamp(row.get("date"))
            if when:
                proc["performed"] = {"timestamp": when}
            out.append({"procedure": proc})
    return out


def _files(mmio: MMIO) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for modality in mmio.manifest.modality(ModalityKind.GENOMIC):
        rows = modality.content.get("variant", [])
        builds = sorted({str(r["build"]) for r in rows if text(r.get("build"))})
        samples = sorted({str(r["sample"]) for r in rows if text(r.get("sample"))})
        for p in modality.payloads:
            attrs = {"mediaType": p.media_type, "role": p.role, "size": str(p.size)}
            if len(builds) == 1:
                attrs["genomeAssembly"] = builds[0]
            if "vcf" in p.media_type.lower():
                attrs["fileFormat"] = "vcf"
            f: dict[str, Any] = {"uri": f"said:{p.digest}"}
            if len(samples) == 1:
                f["individualToFileIdentifiers"] = {mmio.pseudonym: samples[0]}
            f["fileAttributes"] = attrs
            out.append(f)
    return out


# -- validation ---------------------------------------------------------------------------


def validate_phenopacket(packet: Mapping[str, Any]) -> Any:
    """Parse ``packet`` into the schema's protobuf ``Phenopacket``; return the message.

    Besides what protobuf checks (field names, types, enum values), checks what the schema
    documentation marks as required: ``id``, ``metaData`` with ``created``, ``createdBy``,
    ``phenopacketSchemaVersion``, and one ``resources`` entry for every CURIE prefix in use.
    """
    try:
        from google.protobuf import json_format
        from phenopackets import Phenopacket
    except ImportError as exc:
        raise MissingDependencyError(
            exc.name or "phenopackets", extra="export", feature="Phenopacket validation"
        ) from None
    try:
        body = json.dumps(packet, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ObjectFormatError(f"phenopacket is not serialisable as JSON: {exc}") from None
    try:
        message = json_format.Parse(body, Phenopacket())
    except json_format.ParseError as exc:
        raise ObjectFormatError(
            f"not a valid GA4GH Phenopacket v2: {exc}",
            hint="compare the field against the Phenopacket v2 schema (camelCase JSON names)",
        ) from None
    problems = []
    if not packet.get("id"):
        problems.append("'id' is required")
    meta = packet.get("metaData") or {}
    for key in ("created", "createdBy", "phenopacketSchemaVersion"):
        if not meta.get(key):
            problems.append(f"'metaData.{key}' is required")
    declared = {r.get("namespacePrefix") for r in meta.get("resources", [])}
    missing = sorted(_prefixes(packet) - declared)
    if missing:
        problems.append(f"no metaData.resources entry for prefix(es) {', '.join(missing)}")
    if problems:
        raise ObjectFormatError(
            "not a valid GA4GH Phenopacket v2: " + "; ".join(problems),
            hint="every ontology used must be listed in metaData.resources (Phenopacket v2, "
            "MetaData)",
        )
    return message


def _prefixes(node: Any) -> set[str]:
    """CURIE prefixes of every OntologyClass (an object of ``id`` and ``label`` only)."""
    found: set[str] = set()
    if isinstance(node, Mapping):
        if set(node) == {"id", "label"} and ":" in str(node["id"]):
            found.add(str(node["id"]).split(":", 1)[0])
        for value in node.values():
            found |= _prefixes(value)
    elif isinstance(node, list):
        for item in node:
            found |= _prefixes(item)
    return found
