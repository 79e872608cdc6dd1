"""Every endpoint's answer validates against the official Beacon v2 schemas."""

from __future__ import annotations

from typing import Any

import pytest
from beacon_schemas import FRAMEWORK, MODEL, entry_errors, errors
from fastapi.testclient import TestClient
from node_support import SITE, bearer

INFORMATIONAL = {
    "/api": "responses/beaconInfoResponse.json",
    "/api/info": "responses/beaconInfoResponse.json",
    "/api/service-info": "responses/ga4gh-service-info-1-0-0-schema.json",
    "/api/configuration": "responses/beaconConfigurationResponse.json",
    "/api/map": "responses/beaconMapResponse.json",
    "/api/entry_types": "responses/beaconEntryTypesResponse.json",
    "/api/filtering_terms": "responses/beaconFilteringTermsResponse.json",
    "/api/individuals/filtering_terms": "responses/beaconFilteringTermsResponse.json",
}


@pytest.mark.parametrize("path", sorted(INFORMATIONAL))
def test_informational_endpoints(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert errors(FRAMEWORK + INFORMATIONAL[path], r.json()) == []


def test_the_validator_is_not_vacuous() -> None:
    assert errors(FRAMEWORK + "responses/beaconCountResponse.json", {"meta": {}}) != []
    bad = {"id": "x", "sex": {"label": "no id"}}
    assert errors(MODEL + "individuals/defaultSchema.json", bad) != []


ENTRY_PATHS = [
    "/api/individuals",
    "/api/biosamples",
    "/api/g_variants",
    f"/api/datasets/{SITE}/individuals",
    f"/api/datasets/{SITE}/biosamples",
    f"/api/datasets/{SITE}/g_variants",
    f"/api/cohorts/{SITE}-cohort/individuals",
]


@pytest.mark.parametrize("granularity", ["boolean", "count", "record"])
@pytest.mark.parametrize("path", ENTRY_PATHS)
def test_entry_types_at_every_granularity(
    client: TestClient, token: Any, path: str, granularity: str
) -> None:
    t = token(("discover-boolean", "discover-count", "record"))
    r = client.get(path, params={"requestedGranularity": granularity, "limit": 5},
                   headers=bearer(t))  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["meta"]["returnedGranularity"] in ("boolean", granularity)
    assert entry_errors(body) == []


def test_record_lookups_validate(client: TestClient, token: Any) -> None:
    t = token(("record",))
    h = bearer(t)
    q = {"requestedGranularity": "record", "limit": 3}
    people = client.get("/api/individuals", params=q, headers=h).json()
    assert people["meta"]["returnedGranularity"] == "record"
    first = people["response"]["resultSets"][0]["results"][0]["id"]
    variants = client.get("/api/g_variants", params=q, headers=h).json()
    vid = variants["response"]["resultSets"][0]["results"][0]["variantInternalId"]
    samples = client.get("/api/biosamples", params=q, headers=h).json()
    sid = samples["response"]["resultSets"][0]["results"][0]["id"]
    for path in (
        f"/api/individuals/{first}",
        f"/api/individuals/{first}/g_variants",
        f"/api/individuals/{first}/biosamples",
        f"/api/g_variants/{vid}",
        f"/api/g_variants/{vid}/individuals",
        f"/api/g_variants/{vid}/biosamples",
        f"/api/biosamples/{sid}",
        f"/api/biosamples/{sid}/g_variants",
    ):
        r = client.get(path, params=q, headers=h)
        assert r.status_code == 200, (path, r.text)
        assert entry_errors(r.json()) == [], path


@pytest.mark.parametrize("path,entity", [
    ("/api/datasets", "dataset"), (f"/api/datasets/{SITE}", "dataset"),
    ("/api/cohorts", "cohort"), (f"/api/cohorts/{SITE}-cohort", "cohort"),
])  # fmt: skip
def test_collections_validate(client: TestClient, path: str, entity: str) -> None:
    r = client.get(path)
    assert r.status_code == 200, r.text
    body = r.json()
    assert errors(FRAMEWORK + "responses/beaconCollectionsResponse.json", body) == []
    assert body["response"]["collections"]
    for c in body["response"]["collections"]:
        assert errors(MODEL + f"{entity}s/defaultSchema.json", c) == []


def test_errors_are_problems_and_beacon_errors(client: TestClient) -> None:
    r = client.get("/api/individuals", params={"filters": "NOPE:1"})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert errors(FRAMEWORK + "responses/beaconErrorResponse.json", r.json()) == []
