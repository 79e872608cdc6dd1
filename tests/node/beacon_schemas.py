"""Validate responses against the official Beacon v2 JSON Schemas (copied in ./beacon-v2)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).parent / "beacon-v2"
RAW = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/"
VRS = "https://w3id.org/ga4gh/schema/vrs/1.3/vrs.json"
FRAMEWORK = "framework/json/"
MODEL = "models/json/beacon-v2-default-model/"

# VRS 1.3 is not vendored (see beacon-v2/README.md): a SequenceLocation as VRS 1.3 defines it
# (sequence_id a CURIE; SequenceInterval of Number start and end), the other classes refused so
# that `variation` validates as Beacon's LegacyVariation.
_NUMBER = {
    "type": "object",
    "required": ["type", "value"],
    "properties": {"type": {"const": "Number"}, "value": {"type": "integer", "minimum": 0}},
}
_VRS_STANDIN = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "definitions": {
        "Location": {
            "type": "object",
            "required": ["type", "sequence_id", "interval"],
            "properties": {
                "type": {"const": "SequenceLocation"},
                "sequence_id": {"type": "string", "pattern": "^\\w[^:]*:.+$"},
                "interval": {
                    "type": "object",
                    "required": ["type", "start", "end"],
                    "properties": {
                        "type": {"const": "SequenceInterval"},
                        "start": _NUMBER,
                        "end": _NUMBER,
                    },
                },
            },
        },
        "MolecularVariation": False,
        "SystemicVariation": False,
    },
}


def _retrieve(uri: str) -> Resource[Any]:
    if uri.startswith(RAW):
        path = ROOT / uri[len(RAW) :]
    elif uri.startswith("file:"):
        path = Path(uri[len("file://") :])
    elif uri == VRS:
        return Resource.from_contents(_VRS_STANDIN, default_specification=DRAFT202012)
    else:
        raise NoSuchResource(ref=uri)
    if not path.exists() and path.name == "info.json" and MODEL.rstrip("/") in path.as_posix():
        # The default model's schemas refer to ../common/info.json, which the model does not
        # ship (upstream); the framework's common/info.json is the Info object they mean.
        path = ROOT / FRAMEWORK / "common" / "info.json"
    return Resource.from_contents(
        json.loads(path.read_text(encoding="utf-8")), default_specification=DRAFT202012
    )


@cache
def validator(relative: str) -> Draft202012Validator:
    """A validator for the schema at ``relative`` (e.g. ``framework/json/responses/x.json``)."""
    registry: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]
    uri = (ROOT / relative).resolve().as_uri()
    return Draft202012Validator({"$ref": uri}, registry=registry)


def errors(relative: str, document: Any) -> list[str]:
    """Every validation error of ``document``, as 'path: message' lines (empty when valid)."""
    return [
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message[:300]}"
        for e in validator(relative).iter_errors(document)
    ]


def response_schema(granularity: str) -> str:
    return (
        FRAMEWORK
        + {
            "boolean": "responses/beaconBooleanResponse.json",
            "count": "responses/beaconCountResponse.json",
            "record": "responses/beaconResultsetsResponse.json",
        }[granularity]
    )


ENTRY_SCHEMAS = {
    "individual": MODEL + "individuals/defaultSchema.json",
    "biosample": MODEL + "biosamples/defaultSchema.json",
    "genomicVariant": MODEL + "genomicVariations/defaultSchema.json",
    "dataset": MODEL + "datasets/defaultSchema.json",
    "cohort": MODEL + "cohorts/defaultSchema.json",
}


def entry_errors(body: dict[str, Any]) -> list[str]:
    """A Beacon entry-type response: the envelope for its granularity, then every record."""
    granularity = body["meta"]["returnedGranularity"]
    out = errors(response_schema(granularity), body)
    if granularity == "record":
        kind = body["meta"]["returnedSchemas"][0]["entityType"]
        for rs in body["response"]["resultSets"]:
            for rec in rs["results"]:
                out += errors(ENTRY_SCHEMAS[kind], rec)
    return out
