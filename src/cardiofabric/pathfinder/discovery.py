"""Discovery across the network: the same Beacon v2 query to every site node, over HTTP.

The demo asks each question twice per site, anonymously and with a researcher's contract, and
keeps only what a caller sees: the boolean, the count or the "fewer than k" the governance gate
released, the granularity it released (Beacon v2 ``returnedGranularity``), and a refusal's
RFC 9457 problem. No patient identifier is ever asked for (``requestedGranularity`` is
``count``, and the demo's contract holds no ``record`` action).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cardiofabric.pathfinder.nodes import NodeEndpoint

__all__ = ["DEMO_QUERIES", "Answer", "DiscoveryQuery", "SiteAnswers", "ask", "ask_network"]


@dataclass(frozen=True)
class DiscoveryQuery:
    """One Beacon v2 POST request: the entry type's endpoint and the ``query`` object."""

    name: str
    label: str
    endpoint: str  # "/api/individuals", "/api/g_variants"
    query: dict[str, Any]

    def body(self) -> dict[str, Any]:
        """The Beacon v2 request body (framework ``beaconRequestBody.json``)."""
        return {"meta": {"apiVersion": "v2.0"}, "query": self.query}

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "endpoint": self.endpoint,
                "body": self.body()}  # fmt: skip


#: The demo's questions. Condition filters are SNOMED CT concepts with their descendants: the
#: node also matches the narrower ICD-10 codes a site records (Milano codes in ICD-10), through
#: the vocabulary's SNOMED CT-ICD-10 map (cardiofabric.vocab.conditions).
DEMO_QUERIES: tuple[DiscoveryQuery, ...] = (
    DiscoveryQuery(
        "hcm",
        "individuals with hypertrophic cardiomyopathy (SNOMED CT 233873004)",
        "/api/individuals",
        {
            "filters": [{"id": "SNOMED:233873004", "includeDescendantTerms": True}],
            "requestedGranularity": "count",
        },
    ),
    DiscoveryQuery(
        "hypertension",
        "individuals with a hypertensive disorder (SNOMED CT 38341003)",
        "/api/individuals",
        {
            "filters": [{"id": "SNOMED:38341003", "includeDescendantTerms": True}],
            "requestedGranularity": "count",
        },
    ),
    DiscoveryQuery(
        "myh7",
        "individuals carrying a variant in MYH7",
        "/api/g_variants",
        {"requestParameters": {"geneId": "MYH7"}, "requestedGranularity": "count"},
    ),
)


@dataclass(frozen=True)
class Answer:
    """What one node released for one request (or the problem it answered instead)."""

    status: int
    granularity: str | None = None  # returnedGranularity
    exists: bool | None = None
    count: int | None = None
    suppressed_below: int | None = None  # "fewer than k"
    noise: dict[str, Any] | None = None  # the differential-privacy mechanism, when noised
    audit_seq: int | None = None
    problem: str | None = None  # title: detail, for a refusal

    @property
    def text(self) -> str:
        """The answer in a few words, as a table cell."""
        if self.problem is not None:
            return f"refused ({self.status}): {self.problem}"
        if self.count is not None:
            return str(self.count)
        if self.suppressed_below is not None:
            return f"fewer than {self.suppressed_below}"
        return "yes" if self.exists else "no"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "returnedGranularity": self.granularity,
            "exists": self.exists,
            "count": self.count,
            "suppressed_below": self.suppressed_below,
            "noise": self.noise,
            "audit_seq": self.audit_seq,
            "problem": self.problem,
            "text": self.text,
        }


def _answer(status: int, body: Any) -> Answer:
    if not isinstance(body, dict):
        return Answer(status, problem="the node answered something that is not JSON")
    if status != 200 or "responseSummary" not in body:
        title = str(body.get("title") or "error")
        detail = body.get("detail")
        return Answer(status, problem=f"{title}: {detail}" if detail else title)
    summary = body["responseSummary"]
    info = body.get("info") or {}
    return Answer(
        status,
        granularity=body.get("meta", {}).get("returnedGranularity"),
        exists=bool(summary.get("exists")),
        count=summary.get("numTotalResults"),
        suppressed_below=info.get("threshold") if info.get("suppressed") else None,
        noise=info.get("noise"),
        audit_seq=info.get("auditSeq"),
    )


def ask(client: Any, url: str, query: DiscoveryQuery, token: str | None = None) -> Answer:
    """POST ``query`` to the node at ``url`` (an ``httpx.Client``), with a bearer token or none."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        r = client.post(url + query.endpoint, json=query.body(), headers=headers)
    except httpx.HTTPError as exc:
        return Answer(0, problem=f"no answer ({type(exc).__name__}: {exc})")
    try:
        body = r.json()
    except ValueError:
        body = None
    return _answer(r.status_code, body)


@dataclass(frozen=True)
class SiteAnswers:
    """One site's answers to every query: anonymous and with the contract."""

    site: str
    url: str
    answers: dict[str, tuple[Answer, Answer]]  # query name -> (anonymous, contract)

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "url": self.url,
            "answers": {
                name: {"anonymous": a.to_json(), "contract": c.to_json()}
                for name, (a, c) in self.answers.items()
            },
        }


def ask_network(
    endpoints: list[NodeEndpoint],
    token: str,
    queries: tuple[DiscoveryQuery, ...] = DEMO_QUERIES,
    *,
    timeout_s: float = 30.0,
) -> list[SiteAnswers]:
    """Every query to every node, anonymously and with ``token``, in the network's order."""
    import httpx

    out = []
    with httpx.Client(timeout=timeout_s) as client:
        for e in endpoints:
            answers = {
                q.name: (ask(client, e.url, q), ask(client, e.url, q, token)) for q in queries
            }
            out.append(SiteAnswers(e.site, e.url, answers))
    return out
