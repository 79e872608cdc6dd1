"""Bad input is a 4xx problem, never a 5xx; bounds hold; tokens are checked; every answer is
audited; the consent endpoint changes what the next answer counts; the catalogue is public."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from node_support import SITE, bearer


def _problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"] and body["type"]
    return body


def test_malformed_json_is_400(client: TestClient, token: Any) -> None:
    r = client.post("/api/individuals", content=b"{not json", headers={
        **bearer(token()), "content-type": "application/json"})  # fmt: skip
    assert "not valid JSON" in _problem(r, 400)["detail"]
    _problem(client.post("/api/individuals", json=[1, 2]), 400)
    _problem(client.post("/api/individuals", json={"query": {"filters": "x"}}), 400)
    _problem(client.post("/api/individuals", json={"query": {"pagination": {"limit": -1}}}), 400)


def test_body_size_is_bounded(client: TestClient) -> None:
    big = json.dumps({"meta": {}, "query": {"filters": [{"id": "x" * 100}] * 2000}})
    _problem(client.post("/api/individuals", content=big.encode(),
                         headers={"content-type": "application/json"}), 413)  # fmt: skip


def test_filter_count_is_bounded_and_limit_is_capped(client: TestClient, token: Any) -> None:
    many = ",".join(["NCIT:C16576"] * 40)
    assert (
        "at most 32 filters"
        in _problem(client.get("/api/individuals", params={"filters": many}), 400)["detail"]
    )
    r = client.get("/api/individuals", params={"requestedGranularity": "record", "limit": 5000},
                   headers=bearer(token(("record",))))  # fmt: skip
    assert r.status_code == 200
    assert any("capped" in w for w in r.json()["info"]["warnings"])


@pytest.mark.parametrize("filters", [
    "NOPE:123",
    "cardiofabric:has-spaceship",
    "SNOMED:not-a-code",
    "HP:9999999",
    "SNOMED:38341003' OR 1=1 --",
    "LOINC:2089-1>abc'; DROP TABLE person; --",
])  # fmt: skip
def test_unknown_or_hostile_filters_are_400(client: TestClient, token: Any, filters: str) -> None:
    body = _problem(client.get("/api/individuals", params={"filters": filters},
                               headers=bearer(token())), 400)  # fmt: skip
    assert "filtering_terms" in body.get("hint", "") or body["type"].endswith("invalid-request")
    # The store is intact.
    assert client.get("/api/individuals").status_code == 200


def test_tokens_are_checked(client: TestClient, token: Any) -> None:
    r = client.get("/api/individuals", headers={"Authorization": "Bearer not.a.token"})
    _problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    _problem(client.get("/api/individuals", headers={"Authorization": "Basic abc"}), 401)
    other = token(audience="se-uppsala")
    _problem(client.get("/api/individuals", headers=bearer(other)), 403)
    _problem(client.get("/api/individuals", headers=bearer(token(datasets=("elsewhere",)))), 403)


def test_unknown_paths_and_ids_are_404_problems(client: TestClient) -> None:
    _problem(client.get("/api/nothing-here"), 404)
    _problem(client.get("/api/datasets/not-mine"), 404)
    _problem(client.get("/api/cohorts/not-mine/individuals"), 404)
    _problem(client.get("/api/g_variants/not-a-variant-id"), 404)
    _problem(client.delete("/api/individuals"), 405)


def _audit_rows(client: TestClient) -> int:
    con = client.app.state.ctx.cursor()  # type: ignore[attr-defined]
    try:
        return int(con.execute("SELECT count(*) FROM audit_log").fetchone()[0])
    finally:
        con.close()


def test_every_answer_and_refusal_is_audited(client: TestClient, token: Any) -> None:
    before = _audit_rows(client)
    client.get("/api/individuals")
    client.get(
        "/api/individuals", params={"requestedGranularity": "count"}, headers=bearer(token())
    )
    client.get("/api/individuals", headers={"Authorization": "Bearer forged"})
    client.get("/api/individuals", params={"filters": "NOPE:1"}, headers=bearer(token()))
    assert _audit_rows(client) == before + 4
    from cardiofabric.governance import audit

    con = client.app.state.ctx.cursor()  # type: ignore[attr-defined]
    try:
        assert audit.verify(con).ok
    finally:
        con.close()


def test_problem_body_carries_the_audit_seq(client: TestClient) -> None:
    r = client.get("/api/individuals", headers={"Authorization": "Bearer forged"})
    assert isinstance(r.json()["auditSeq"], int)


def _people(client: TestClient, token: Any) -> set[str]:
    r = client.get("/api/individuals", params={"requestedGranularity": "record", "limit": 1000},
                   headers=bearer(token(("record",))))  # fmt: skip
    return {x["id"] for rs in r.json()["response"]["resultSets"] for x in rs["results"]}


def test_patient_consent_holds_from_the_next_request(
    client: TestClient, token: Any, patient_token: Any
) -> None:
    people = _people(client, token)
    who = sorted(people)[0]
    h = bearer(patient_token(who))
    mine = client.get("/consent/me", headers=h).json()
    assert mine["status"] == "active"
    r = client.put("/consent/me", json={"status": "withdrawn", "permissions": mine["permissions"]},
                   headers=h)  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn" and r.json()["version"] == mine["version"] + 1
    assert who not in _people(client, token)
    r = client.put("/consent/me", json={"status": "active", "permissions": mine["permissions"]},
                   headers=h)  # fmt: skip
    assert r.status_code == 200 and who in _people(client, token)


def test_consent_endpoint_needs_a_patient_token(client: TestClient, token: Any,
                                                patient_token: Any) -> None:  # fmt: skip
    _problem(client.get("/consent/me"), 401)
    _problem(client.get("/consent/me", headers=bearer(token())), 403)
    h = bearer(patient_token("pt-" + "0" * 32))
    _problem(client.get("/consent/me", headers=h), 404)
    _problem(client.put("/consent/me", content=b"[", headers=h), 400)
    _problem(client.put("/consent/me", json={"status": "maybe"}, headers=h), 400)


def test_catalog_is_dcat_ap_json_ld(client: TestClient) -> None:
    r = client.get("/catalog")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    cat = r.json()
    assert cat["@type"] == "dcat:Catalog" and "dcat" in cat["@context"]
    ds = cat["dcat:dataset"][0]
    assert ds["dct:identifier"] == SITE
    size = ds["healthdcatap:numberOfUniqueIndividuals"]["@value"]
    assert size % 10 == 0 and size > 0
    assert (
        ds["dct:temporal"]["dcat:startDate"]["@value"]
        <= ds["dct:temporal"]["dcat:endDate"]["@value"]
    )
    assert {"@id": "http://loinc.org"} in ds["healthdcatap:hasCodingSystem"]
    assert ds["dct:spatial"]["@id"].endswith("/NLD")
    assert ds["dcat:contactPoint"]["vcard:hasEmail"]["@id"].startswith("mailto:")
    duo = {
        p["odrl:constraint"]["odrl:rightOperand"]["@id"]
        for p in ds["odrl:hasPolicy"]["odrl:permission"]
    }
    assert "http://purl.obolibrary.org/obo/DUO_0000042" in duo


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/ready").json()["status"] == "ready"
