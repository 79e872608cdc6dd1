"""The Beacon v2 framework's informational answers: info, service-info, configuration, map,
entry types, and the ``meta`` sections every answer carries.

Shapes follow ``framework/json/responses`` of Beacon v2.0 (GA4GH, CC0) and GA4GH service-info
1.0.0. The entry types are the default model's (``models/json/beacon-v2-default-model``) that
this node serves: individuals, biosamples, genomic variants, datasets and cohorts — analyses
and runs are not kept by a site store (a VCF's provenance is in the MMIO instead).
"""

from __future__ import annotations

from typing import Any

from cardiofabric import __version__

__all__ = [
    "API_VERSION",
    "BEACON_SCHEMAS",
    "ENTRY_TYPES",
    "SECURITY_LEVELS",
    "beacon_configuration",
    "beacon_id",
    "beacon_info",
    "beacon_map",
    "entry_types",
    "informational_meta",
    "service_info",
]

API_VERSION = "v2.0.0"
SECURITY_LEVELS = ["PUBLIC", "REGISTERED", "CONTROLLED"]
_MODEL = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/models/json/beacon-v2-default-model"

#: entry type id → (name, path, default schema id, schema file, ontology term, collection of)
ENTRY_TYPES: dict[str, dict[str, Any]] = {
    "individual": {
        "name": "Individual",
        "path": "individuals",
        "schema": "ga4gh-beacon-individual-v2.0.0",
        "file": "individuals/defaultSchema.json",
        "term": {"id": "NCIT:C25190", "label": "Person"},
        "endpointSet": "individualEndpoints",
    },
    "biosample": {
        "name": "Biological Sample",
        "path": "biosamples",
        "schema": "ga4gh-beacon-biosample-v2.0.0",
        "file": "biosamples/defaultSchema.json",
        "term": {"id": "NCIT:C70699", "label": "Biospecimen"},
        "endpointSet": "biosampleEndpoints",
    },
    "genomicVariant": {
        "name": "Genomic Variants",
        "path": "g_variants",
        "schema": "ga4gh-beacon-variant-v2.0.0",
        "file": "genomicVariations/defaultSchema.json",
        "term": {"id": "ENSGLOSSARY:0000092", "label": "Variant"},
        "endpointSet": "genomicVariantEndpoints",
    },
    "dataset": {
        "name": "Dataset",
        "path": "datasets",
        "schema": "ga4gh-beacon-dataset-v2.0.0",
        "file": "datasets/defaultSchema.json",
        "term": {"id": "NCIT:C47824", "label": "Data set"},
        "endpointSet": "datasetEndpoints",
        "collectionOf": [{"id": "individual", "name": "Individuals"}],
    },
    "cohort": {
        "name": "Cohort",
        "path": "cohorts",
        "schema": "ga4gh-beacon-cohort-v2.0.0",
        "file": "cohorts/defaultSchema.json",
        "term": {"id": "NCIT:C61512", "label": "Cohort"},
        "endpointSet": "cohortEndpoints",
        "collectionOf": [{"id": "individual", "name": "Individuals"}],
    },
}
_BY_PATH = {v["path"]: k for k, v in ENTRY_TYPES.items()}

#: The related endpoints served, per entry type path (a subset of the default beaconMap.json).
RELATED: dict[str, dict[str, str]] = {
    "individuals": {"biosampleLookup": "biosamples", "genomicVariantLookup": "g_variants"},
    "biosamples": {"genomicVariantLookup": "g_variants"},
    "g_variants": {"individualLookup": "individuals", "biosampleLookup": "biosamples"},
    "datasets": {
        "individualLookup": "individuals",
        "biosampleLookup": "biosamples",
        "genomicVariantLookup": "g_variants",
    },
    "cohorts": {"individualLookup": "individuals"},
}


def beacon_id(site: str) -> str:
    """A reverse-domain Beacon id (Beacon v2 recommends reverse domain notation)."""
    return f"org.cardiofabric.{site}"


def returned_schema(entry_type: str) -> dict[str, str]:
    e = ENTRY_TYPES[entry_type]
    return {"entityType": entry_type, "schema": e["schema"]}


BEACON_SCHEMAS = {k: returned_schema(k) for k in ENTRY_TYPES}


def informational_meta(site: str, schemas: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """``beaconInformationalResponseMeta.json``."""
    return {
        "beaconId": beacon_id(site),
        "apiVersion": API_VERSION,
        "returnedSchemas": schemas or [],
    }


def _organisation(settings: Any) -> dict[str, Any]:
    cat = settings.catalog
    org: dict[str, Any] = {
        "id": settings.site,
        "name": cat.organisation or f"CardioFabric site {settings.site}",
    }
    if cat.url:
        org["welcomeUrl"] = cat.url
    if cat.contact:
        org["contactUrl"] = cat.contact
    return org


def beacon_info(settings: Any, *, created: str, updated: str) -> dict[str, Any]:
    """``beaconInfoResults.json``."""
    return {
        "id": beacon_id(settings.site),
        "name": settings.catalog.title or f"CardioFabric Beacon of {settings.site}",
        "apiVersion": API_VERSION,
        "environment": settings.environment,
        "organization": _organisation(settings),
        "description": settings.catalog.description
        or "Cardiology cohort: clinical, ECG, imaging and genomic data of consenting patients",
        "version": __version__,
        "welcomeUrl": settings.url,
        "createDateTime": created,
        "updateDateTime": updated,
        "info": {"securityLevels": SECURITY_LEVELS, "site": settings.site},
    }


def service_info(settings: Any, *, created: str, updated: str) -> dict[str, Any]:
    """GA4GH service-info 1.0.0 (``ga4gh-service-info-1-0-0-schema.json``)."""
    cat = settings.catalog
    out: dict[str, Any] = {
        "id": beacon_id(settings.site),
        "name": settings.catalog.title or f"CardioFabric Beacon of {settings.site}",
        "type": {"group": "org.ga4gh", "artifact": "beacon", "version": API_VERSION},
        "description": cat.description or "CardioFabric site node (Beacon v2)",
        "organization": {
            "name": cat.organisation or f"CardioFabric site {settings.site}",
            "url": cat.url or settings.url,
        },
        "environment": settings.environment,
        "version": __version__,
        "createdAt": created,
        "updatedAt": updated,
    }
    if cat.contact:
        out["contactUrl"] = cat.contact
    return out


def _entry_type_definition(key: str) -> dict[str, Any]:
    e = ENTRY_TYPES[key]
    out: dict[str, Any] = {
        "id": key,
        "name": e["name"],
        "ontologyTermForThisType": e["term"],
        "partOfSpecification": "Beacon v2.0.0",
        "defaultSchema": {
            "id": e["schema"],
            "name": f"Default schema for {e['name'].lower()}",
            "referenceToSchemaDefinition": f"{_MODEL}/{e['file']}",
            "schemaVersion": "v2.0.0",
        },
        "additionallySupportedSchemas": [],
        "nonFilteredQueriesAllowed": True,
    }
    if "collectionOf" in e:
        out["aCollectionOf"] = e["collectionOf"]
    return out


def entry_types() -> dict[str, Any]:
    """``entryTypesSchema.json``."""
    return {"entryTypes": {k: _entry_type_definition(k) for k in ENTRY_TYPES}}


def beacon_configuration(settings: Any, default_granularity: str) -> dict[str, Any]:
    """``beaconConfigurationSchema.json``."""
    status = {"prod": "PROD", "test": "TEST"}.get(settings.environment, "DEV")
    return {
        "$schema": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/beaconConfigurationSchema.json",
        "maturityAttributes": {"productionStatus": status},
        "securityAttributes": {
            "defaultGranularity": default_granularity,
            "securityLevels": SECURITY_LEVELS,
        },
        "entryTypes": entry_types()["entryTypes"],
    }


def beacon_map(base: str) -> dict[str, Any]:
    """``beaconMapSchema.json``: every endpoint set this node serves, with absolute URLs."""
    api = f"{base}/api"
    sets: dict[str, Any] = {}
    for key, e in ENTRY_TYPES.items():
        path = e["path"]
        sets[e["endpointSet"]] = {
            "entryType": key,
            "rootUrl": f"{api}/{path}",
            "singleEntryUrl": f"{api}/{path}/{{id}}",
            "openAPIEndpointsDefinition": f"{_MODEL}/{e['file'].split('/')[0]}/endpoints.json",
            "endpoints": {
                lookup: {
                    "returnedEntryType": _BY_PATH[target],
                    "url": f"{api}/{path}/{{id}}/{target}",
                }
                for lookup, target in RELATED.get(path, {}).items()
            },
        }
        if path in ("individuals", "datasets", "cohorts"):
            sets[e["endpointSet"]]["filteringTermsUrl"] = f"{api}/{path}/filtering_terms"
    return {
        "$schema": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/beaconMapSchema.json",
        "endpointSets": sets,
    }
