"""Beacon queries against a real ingested site: filters, units, ontologies, granularity, consent.

Exact comparisons use record-level answers (exact by policy for the ``record`` action); counts
for researchers carry differential-privacy noise and are checked for it.
"""

from __future__ import annotations

import csv
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from node_support import bearer

HMB = "DUO:0000006"
# The patients an HMB (non-genomic) purpose may use in the Pathfinder consents: active, with
# GRU or HMB (DS needs a disease the site names; a GSO prohibition only refuses genomic use).
CONSENTING = (
    "SELECT pseudonym FROM consent WHERE status = 'active' AND "
    "(list_contains(permissions, 'DUO:0000042') OR list_contains(permissions, 'DUO:0000006'))"
)


def _sql(client: TestClient, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = client.app.state.ctx.cursor()  # type: ignore[attr-defined]
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _records(client: TestClient, token: Any, filters: list[Any], **query: Any) -> dict[str, Any]:
    body = {
        "meta": {"apiVersion": "v2.0"},
        "query": {
            "filters": filters,
            "requestedGranularity": "record",
            "pagination": {"limit": 1000},
            **query,
        },
    }
    r = client.post("/api/individuals", json=body, headers=bearer(token(("record",))))
    assert r.status_code == 200, r.text
    return r.json()


def _ids(body: dict[str, Any]) -> set[str]:
    sets = body.get("response", {}).get("resultSets", [])
    return {rec["id"] for rs in sets for rec in rs["results"]}


def _expected(client: TestClient, where: str, params: list[Any] | None = None) -> set[str]:
    rows = _sql(
        client,
        f"SELECT pseudonym FROM mmio_index WHERE pseudonym IN ({CONSENTING}) AND {where}",
        params,
    )
    return {r[0] for r in rows}


def test_the_site_has_the_consents_the_expectations_assume(client: TestClient) -> None:
    kinds = {(s, tuple(p), tuple(q)) for s, p, q in
             _sql(client, "SELECT status, permissions, prohibitions FROM consent")}  # fmt: skip
    assert ("withdrawn", ("DUO:0000042",), ()) in kinds
    for status, perms, _prohibs in kinds:
        assert set(perms) <= {"DUO:0000042", "DUO:0000006", "DUO:0000007"}, (status, perms)


def test_sex_filter_matches_the_store(client: TestClient, token: Any) -> None:
    body = _records(client, token, [{"id": "NCIT:C16576"}])
    assert _ids(body) == _expected(client, "pseudonym IN (SELECT pseudonym FROM person "
                                   "WHERE sex = 'female')")  # fmt: skip
    assert body["responseSummary"]["numTotalResults"] == len(_ids(body))


def test_a_withdrawn_patient_is_in_no_answer(client: TestClient, token: Any) -> None:
    withdrawn = {
        r[0] for r in _sql(client, "SELECT pseudonym FROM consent WHERE status = 'withdrawn'")
    }
    assert withdrawn
    everyone = _ids(_records(client, token, []))
    assert everyone and not (everyone & withdrawn)
    assert everyone == _expected(client, "TRUE")


def test_ldl_in_mg_per_dl_equals_mmol_per_l(client: TestClient, token: Any) -> None:
    mg = _ids(
        _records(client, token, [{"id": "LOINC:2089-1", "operator": ">", "value": "130 mg/dL"}])
    )
    mmol = _ids(_records(client, token, [{"id": "LOINC:2089-1", "operator": ">",
                                          "value": f"{130 / 38.66976:.6f} mmol/L"}]))  # fmt: skip
    bare = _ids(_records(client, token, [{"id": "LOINC:2089-1", "operator": ">",
                                          "value": f"{130 / 38.66976:.6f}"}]))  # fmt: skip
    assert mg == mmol == bare
    # 130 mg/dL of cholesterol = 130 / 38.67 mmol/L (molar mass 386.65 g/mol).
    expected = _expected(client, "pseudonym IN (SELECT pseudonym FROM measurement WHERE "
                         "code = '2089-1' AND unit = 'mmol/L' AND value > ?)",
                         [130 * 10 / 386.65])  # fmt: skip
    assert mg == expected and 0 < len(mg) < len(_expected(client, "TRUE"))
    low = _ids(
        _records(client, token, [{"id": "LOINC:2089-1", "operator": "<=", "value": "130 mg/dL"}])
    )
    assert not (low & mg)


def test_get_alphanumeric_filter_syntax(client: TestClient, token: Any) -> None:
    t = token(("record",))
    r = client.get("/api/individuals", params={"filters": "LOINC:2089-1>130 mg/dL",
                   "requestedGranularity": "record", "limit": 1000}, headers=bearer(t))  # fmt: skip
    post = _records(client, token, [{"id": "LOINC:2089-1", "operator": ">", "value": "130 mg/dL"}])
    assert _ids(r.json()) == _ids(post)


def test_incompatible_unit_is_a_problem(client: TestClient, token: Any) -> None:
    t = token(("record",))
    r = client.get("/api/individuals", params={"filters": "LOINC:2089-1>130 mm[Hg]"},
                   headers=bearer(t))  # fmt: skip
    assert r.status_code == 400 and "cannot be converted" in r.json()["detail"]


def test_snomed_icd10_and_hpo_find_the_same_patients(client: TestClient, token: Any) -> None:
    snomed = _ids(_records(client, token, [{"id": "SNOMED:38341003"}]))  # hypertension
    icd = _ids(_records(client, token, [{"id": "ICD10:I10"}]))
    hpo = _ids(_records(client, token, [{"id": "HP:0000822"}]))
    expected = _expected(client, "pseudonym IN (SELECT pseudonym FROM condition WHERE "
                         "code_system = 'SNOMEDCT' AND code = '38341003')")  # fmt: skip
    assert expected and snomed == hpo == expected
    # ICD-10 I10 is essential hypertension, narrower than SNOMED CT 38341003 (hypertensive
    # disorder): it must not match every hypertensive patient.
    assert icd <= snomed and len(icd) < len(snomed)


def test_hpo_descendants_through_the_ontology(client: TestClient, token: Any) -> None:
    # HP:0001626 Abnormality of the cardiovascular system: no row carries it; its descendants
    # (hypertension HP:0000822 among them) do.
    wide = _ids(_records(client, token, [{"id": "HP:0001626"}]))
    exact = _ids(_records(client, token, [{"id": "HP:0001626", "includeDescendantTerms": False}]))
    hypertension = _ids(_records(client, token, [{"id": "HP:0000822"}]))
    assert exact == set()
    assert hypertension <= wide and len(wide) >= len(hypertension) > 0


def test_modality_and_outcome_filters(client: TestClient, token: Any) -> None:
    genome = _ids(_records(client, token, [{"id": "cardiofabric:has-genome"}]))
    assert genome == _expected(client, "list_contains(kinds, 'genomic')")
    mr = _ids(_records(client, token, [{"id": "cardiofabric:has-cardiac-mr"}]))
    assert mr == _expected(client, "pseudonym IN (SELECT pseudonym FROM imaging_measurement "
                           "WHERE imaging_modality = 'MR')")  # fmt: skip
    both = _ids(_records(client, token, [{"id": "cardiofabric:has-genome"},
                                         {"id": "cardiofabric:has-ecg"}]))  # fmt: skip
    assert both == genome & _expected(client, "list_contains(kinds, 'ecg')")
    mace = _ids(_records(client, token, [{"id": "PATHFINDER:MACE"}]))
    assert mace == _expected(client, "pseudonym IN (SELECT pseudonym FROM observation WHERE "
                             "code = 'MACE' AND value_code = '373066001')")  # fmt: skip


def test_filtering_terms_are_the_store_terms_with_labels(client: TestClient) -> None:
    terms = {
        t["id"]: t for t in client.get("/api/filtering_terms").json()["response"]["filteringTerms"]
    }
    assert terms["SNOMED:38341003"]["type"] == "ontologyTerm"
    assert terms["SNOMED:38341003"]["label"].startswith("Hypertensive disorder")
    assert terms["LOINC:2089-1"]["type"] == "alphanumeric"
    assert "mmol/L" in terms["LOINC:2089-1"]["label"]
    assert terms["cardiofabric:has-cardiac-mr"]["type"] == "custom"
    assert "NCIT:C16576" in terms
    # Held by fewer than min_cell_count (3) patients: not listed.
    rare = _sql(
        client, "SELECT code FROM condition GROUP BY code HAVING count(DISTINCT pseudonym) < 3"
    )
    for (code,) in rare:
        assert f"SNOMED:{code}" not in terms


def test_granularity_is_what_the_gate_allows(client: TestClient, token: Any) -> None:
    anon = client.get("/api/individuals", params={"requestedGranularity": "count"}).json()
    assert anon["meta"]["returnedGranularity"] == "boolean"
    assert "numTotalResults" not in anon["responseSummary"]
    counted = client.get("/api/individuals", params={"requestedGranularity": "record"},
                         headers=bearer(token(("discover-count",)))).json()  # fmt: skip
    assert counted["meta"]["returnedGranularity"] == "count"
    assert counted["info"]["noise"]["mechanism"] == "discrete-laplace"
    assert "response" not in counted


def test_records_carry_pseudonyms_never_source_ids(
    client: TestClient, token: Any, site: Any
) -> None:
    with (site.root / "truth" / "patients.csv").open() as fh:
        local_ids = {row["local_id"] for row in csv.DictReader(fh)}
    t = bearer(token(("record",)))
    q = {"requestedGranularity": "record", "limit": 1000}
    texts = [client.get(p, params=q, headers=t).text
             for p in ("/api/individuals", "/api/biosamples", "/api/g_variants")]  # fmt: skip
    body = json.loads(texts[0])
    assert all(i.startswith("pt-") for i in _ids(body))
    for text in texts:
        assert not any(lid in text for lid in local_ids)


def test_variant_queries(client: TestClient, token: Any) -> None:
    t = bearer(token(("record",)))
    rows = _sql(
        client,
        "SELECT chrom, pos, ref, alt, count(DISTINCT pseudonym) FROM variant "
        f"WHERE pseudonym IN ({CONSENTING}) GROUP BY ALL ORDER BY 5 DESC, 1, 2 LIMIT 1",
    )
    chrom, pos, ref, alt, _n = rows[0]
    q = {"requestedGranularity": "record", "referenceName": chrom, "start": pos - 1,
         "referenceBases": ref, "alternateBases": alt}  # fmt: skip
    body = client.get("/api/g_variants", params=q, headers=t).json()
    assert body["responseSummary"]["exists"], body
    results = body["response"]["resultSets"][0]["results"]
    assert [r["variantInternalId"] for r in results] == [f"GRCh38:{chrom}:{pos}:{ref}:{alt}"]
    loc = results[0]["variation"]["location"]["interval"]
    assert loc["start"]["value"] == pos - 1 and loc["end"]["value"] == pos - 1 + len(ref)
    carriers = {c["individualId"] for c in results[0]["caseLevelData"]}
    via = _ids(client.get(f"/api/g_variants/{results[0]['variantInternalId']}/individuals",
                          params={"requestedGranularity": "record", "limit": 1000},
                          headers=t).json())  # fmt: skip
    assert carriers == via and carriers
    # A range query over the position finds it too; a position beside it does not.
    ranged = client.get("/api/g_variants", params={**q, "start": pos - 1, "end": pos,
                        "referenceBases": None}, headers=t).json()  # fmt: skip
    assert results[0]["variantInternalId"] in {
        r["variantInternalId"] for r in ranged["response"]["resultSets"][0]["results"]
    }
    miss = client.get("/api/g_variants", params={**q, "start": pos + 5}, headers=t).json()
    assert miss["responseSummary"]["exists"] is False


@pytest.mark.parametrize("params,status", [
    ({"start": 5}, 400),  # a start without referenceName
    ({"referenceName": "1", "start": 10, "end": 5}, 400),
    ({"referenceName": "1", "start": -1}, 400),
    ({"aminoacidChange": "V600E"}, 400),
    ({"variantType": "NOPE"}, 400),
])  # fmt: skip
def test_bad_variant_queries(
    client: TestClient, token: Any, params: dict[str, Any], status: int
) -> None:
    r = client.get("/api/g_variants", params=params, headers=bearer(token()))
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
