"""Record-level documents of the Beacon v2 default model, built from the site store.

Records carry pseudonyms and SAIDs only, never a source identifier (the MRN, a DICOM UID, a
VCF sample name): ``id`` of an individual is its pseudonym, of a biosample the genomic
modality's SAID. Dates are dates (no times), as the harmonised tables keep them. Shapes follow
``models/json/beacon-v2-default-model`` (individuals, biosamples, genomicVariations,
datasets, cohorts, and ``common/`` for diseases, measures, treatments and procedures).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import duckdb

from cardiofabric.node.beacon.entries import VariantHit, VariantKey
from cardiofabric.node.beacon.filters import SEX_TERMS, curie
from cardiofabric.vocab import codes

__all__ = [
    "MODALITY_TERMS",
    "biosample_records",
    "individual_records",
    "variant_records",
]

_SEX = {sex: {"id": tid, "label": label} for tid, (label, sex) in SEX_TERMS.items() if sex}
_UNKNOWN_SEX = {"id": "NCIT:C17998", "label": "unknown"}
#: Zygosity as GENO terms (GENO:0000135 heterozygous, GENO:0000136 homozygous,
#: GENO:0000134 hemizygous), as Beacon v2 caseLevelData examples use them.
_ZYGOSITY = {
    "heterozygous": {"id": "GENO:0000135", "label": "heterozygous"},
    "homozygous": {"id": "GENO:0000136", "label": "homozygous"},
    "hemizygous": {"id": "GENO:0000134", "label": "hemizygous"},
}
#: The modalities as the custom filtering terms name them (cohortDataTypes).
MODALITY_TERMS = {
    "clinical": {"id": "cardiofabric:has-clinical", "label": "Clinical record"},
    "ecg": {"id": "cardiofabric:has-ecg", "label": "ECG recording"},
    "imaging": {"id": "cardiofabric:has-imaging", "label": "Cardiac imaging"},
    "genomic": {"id": "cardiofabric:has-genome", "label": "Genomic data (VCF)"},
    "wearable": {"id": "cardiofabric:has-wearable", "label": "Wearable data"},
}


def _term(system: str | None, code: str | None, label: str | None) -> dict[str, Any] | None:
    cid = curie(system, code)
    if cid is None:
        return None
    entry = codes.lookup(system or "", code or "")
    out: dict[str, Any] = {"id": cid}
    name = entry.label if entry else label
    if name:
        out["label"] = str(name)
    return out


def _day(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return None


def _unit(unit: str | None) -> dict[str, Any]:
    # UCUM units as CURIEs: "UCUM:mmol/L" (the form Phenopackets uses for UCUM units).
    return {"id": f"UCUM:{unit or '1'}", "label": unit or "1"}


def _rows(
    con: duckdb.DuckDBPyConnection, sql: str, pseudonyms: Sequence[str]
) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in con.execute(sql, [list(pseudonyms)]).fetchall():
        out[str(row[0])].append(tuple(row[1:]))
    return out


_IN = "WHERE pseudonym IN (SELECT unnest(?::VARCHAR[]))"


def individual_records(
    con: duckdb.DuckDBPyConnection, pseudonyms: Sequence[str]
) -> list[dict[str, Any]]:
    """Beacon ``individual`` documents for ``pseudonyms`` (in that order)."""
    if not pseudonyms:
        return []
    people = _rows(con, f"SELECT pseudonym, sex, birth_year FROM person {_IN}", pseudonyms)
    diseases = _rows(
        con,
        f"SELECT pseudonym, code_system, code, label, onset_date FROM condition {_IN} "
        "ORDER BY onset_date NULLS LAST, code",
        pseudonyms,
    )
    measures = _rows(
        con,
        "SELECT pseudonym, code_system, code, label, value, unit, date FROM ("
        "SELECT pseudonym, code_system, code, label, value, unit, date FROM measurement "
        "UNION ALL SELECT pseudonym, code_system, code, label, value, unit, date FROM ecg_feature "
        "UNION ALL SELECT pseudonym, code_system, code, label, value, unit, date::TIMESTAMP "
        f"FROM imaging_measurement) {_IN} AND value IS NOT NULL ORDER BY date NULLS LAST, code",
        pseudonyms,
    )
    treatments = _rows(
        con,
        f"SELECT pseudonym, code_system, code, label FROM medication {_IN} ORDER BY code",
        pseudonyms,
    )
    procedures = _rows(
        con,
        f"SELECT pseudonym, code_system, code, label, date FROM procedure {_IN} "
        "ORDER BY date NULLS LAST, code",
        pseudonyms,
    )
    out = []
    for p in pseudonyms:
        person = people.get(p, [])
        sex = person[0][0] if person else None
        rec: dict[str, Any] = {"id": p, "sex": _SEX.get(str(sex), _UNKNOWN_SEX)}
        ds = []
        for system, code, label, onset in diseases.get(p, []):
            term = _term(system, code, label)
            if term:
                d: dict[str, Any] = {"diseaseCode": term}
                if _day(onset):
                    d["notes"] = f"onset {_day(onset)}"
                ds.append(d)
        if ds:
            rec["diseases"] = ds
        ms = []
        for system, code, label, value, unit, when in measures.get(p, []):
            term = _term(system, code, label)
            if term is None:
                continue
            m: dict[str, Any] = {
                "assayCode": term,
                "measurementValue": {"value": float(value), "unit": _unit(unit)},
            }
            if _day(when):
                m["date"] = _day(when)
            ms.append(m)
        if ms:
            rec["measures"] = ms
        ts = [
            {"treatmentCode": t}
            for t in (_term(*r) for r in treatments.get(p, []))
            if t is not None
        ]
        if ts:
            rec["treatments"] = ts
        ps = []
        for system, code, label, when in procedures.get(p, []):
            term = _term(system, code, label)
            if term:
                proc: dict[str, Any] = {"procedureCode": term}
                if _day(when):
                    proc["dateOfProcedure"] = _day(when)
                ps.append(proc)
        if ps:
            rec["interventionsOrProcedures"] = ps
        if person and person[0][1] is not None:
            rec["info"] = {"birthYear": int(person[0][1])}
        out.append(rec)
    return out


def biosample_records(samples: Sequence[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Beacon ``biosample`` documents for ``(biosample id, pseudonym, build)`` triples.

    ``biosampleStatus`` EFO:0009654 "reference sample" (a germline sample, not a tumour) and
    ``sampleOriginType`` OBI:0001479 "specimen from organism": the store does not record the
    tissue the DNA came from, so nothing more specific is claimed.
    """
    return [
        {
            "id": sid,
            "individualId": pseudonym,
            "biosampleStatus": {"id": "EFO:0009654", "label": "reference sample"},
            "sampleOriginType": {"id": "OBI:0001479", "label": "specimen from organism"},
            "info": {"assemblyId": build, "modality": "genomic"},
        }
        for sid, pseudonym, build in samples
    ]


def _variant_type(ref: str, alt: str) -> str:
    if alt.startswith("<"):
        return alt.strip("<>").split(":")[0].upper()
    if len(ref) == 1 and len(alt) == 1:
        return "SNP"
    if len(ref) == len(alt):
        return "MNP"
    return "DEL" if len(ref) > len(alt) else "INS"


def _location(key: VariantKey) -> dict[str, Any]:
    """A VRS 1.3 SequenceLocation with a 0-based interbase interval (VRS 1.3 "Interval")."""
    seq = key.refseq()
    return {
        "type": "SequenceLocation",
        "sequence_id": f"refseq:{seq}" if seq else f"{key.build}:{key.chrom}",
        "interval": {
            "type": "SequenceInterval",
            "start": {"type": "Number", "value": key.pos - 1},
            "end": {"type": "Number", "value": key.pos - 1 + len(key.ref)},
        },
    }


def variant_records(
    con: duckdb.DuckDBPyConnection,
    hits: Sequence[VariantHit],
    *,
    carriers_of: dict[str, list[tuple[str, str, str]]] | None = None,
) -> list[dict[str, Any]]:
    """Beacon ``genomicVariation`` documents; ``caseLevelData`` from ``carriers_of`` (variant
    id → (pseudonym, biosample id, zygosity)) when given (record grants only)."""
    out = []
    for h in hits:
        k = h.key
        rec: dict[str, Any] = {
            "variantInternalId": k.id,
            "variation": {
                "variantType": _variant_type(k.ref, k.alt),
                "referenceBases": k.ref,
                "alternateBases": k.alt,
                "location": _location(k),
            },
        }
        if k.refseq() and len(k.ref) == 1 and len(k.alt) == 1:
            rec["identifiers"] = {"genomicHGVSId": f"{k.refseq()}:g.{k.pos}{k.ref}>{k.alt}"}
        if h.gene:
            rec["molecularAttributes"] = {"geneIds": [h.gene]}
        if h.ac is not None and h.an:
            rec["frequencyInPopulations"] = [
                {
                    "source": "cardiofabric site cohort",
                    "sourceReference": "allele counts of the consenting patients of this site",
                    "frequencies": [{"population": "site", "alleleFrequency": h.ac / h.an}],
                }
            ]
        if carriers_of is not None:
            cases = []
            for p, b, z in carriers_of.get(k.id, []):
                case: dict[str, Any] = {"individualId": p, "biosampleId": b}
                if z in _ZYGOSITY:
                    case["zygosity"] = _ZYGOSITY[z]
                cases.append(case)
            rec["caseLevelData"] = cases
        out.append(rec)
    return out
