"""Beacon v2 response envelopes: boolean, count, result sets and collections.

``returnedGranularity`` is what the gate released (``Released.granularity``), which may be
coarser than ``requestedGranularity``: a Beacon answers at the granularity it allows rather
than refusing (Beacon v2 "Granularity"). ``info`` (free-form, ``common/info.json``) says why:
``suppressed`` for a "fewer than k" answer, ``noise`` for a differentially private count, and
``warnings`` (e.g. a capped page size). ``auditSeq`` names the audit entry of the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cardiofabric.node.beacon.framework import API_VERSION, BEACON_SCHEMAS, beacon_id
from cardiofabric.node.beacon.request import BeaconRequest

__all__ = ["collections_response", "entry_response", "response_meta"]


def response_meta(
    site: str, entry_type: str, req: BeaconRequest, granularity: str
) -> dict[str, Any]:
    """``beaconResponseMeta.json``."""
    return {
        "beaconId": beacon_id(site),
        "apiVersion": API_VERSION,
        "returnedSchemas": [BEACON_SCHEMAS[entry_type]],
        "returnedGranularity": granularity,
        "receivedRequestSummary": req.summary(),
        "testMode": req.test_mode,
    }


def _info(released: Any, req: BeaconRequest, audit_seq: int | None) -> dict[str, Any]:
    info: dict[str, Any] = {}
    if getattr(released, "suppressed", False):
        info["suppressed"] = True
        info["threshold"] = released.threshold
        req.warnings.append(
            f"fewer than {released.threshold} individuals: the count is not released"
        )
    noise = getattr(released, "noise", None)
    if noise:
        info["noise"] = dict(noise)
    if req.warnings:
        info["warnings"] = list(req.warnings)
    if audit_seq is not None:
        info["auditSeq"] = audit_seq
    return info


def entry_response(
    *,
    site: str,
    dataset: str,
    entry_type: str,
    req: BeaconRequest,
    released: Any,
    results: Sequence[dict[str, Any]] | None,
    audit_seq: int | None,
) -> dict[str, Any]:
    """A boolean, count or result-set response as ``released.granularity`` says."""
    granularity = str(released.granularity)
    body: dict[str, Any] = {"meta": response_meta(site, entry_type, req, granularity)}
    summary: dict[str, Any] = {"exists": bool(released.exists)}
    if granularity in ("count", "record") and released.count is not None:
        summary["numTotalResults"] = int(released.count)
    elif granularity == "count":
        # A suppressed count: the count section requires a number, so the answer is the
        # boolean one (returnedGranularity says so).
        granularity = "boolean"
        body["meta"]["returnedGranularity"] = "boolean"
    body["responseSummary"] = summary
    if granularity == "record":
        sets = []
        hit = bool(released.exists) and results is not None
        if (
            req.include == "ALL"
            or (req.include == "HIT" and hit)
            or (req.include == "MISS" and not hit)
        ):
            rows = list(results or [])
            sets.append(
                {
                    "id": dataset,
                    "setType": "dataset",
                    "exists": hit,
                    "resultsCount": int(released.count or 0),
                    "results": rows,
                }
            )
        body["response"] = {"resultSets": sets}
        if "numTotalResults" not in summary:
            summary["numTotalResults"] = int(released.count or 0)
    info = _info(released, req, audit_seq)
    if info:
        body["info"] = info
    return body


def collections_response(
    *,
    site: str,
    entry_type: str,
    req: BeaconRequest,
    collections: Sequence[dict[str, Any]],
    audit_seq: int | None,
) -> dict[str, Any]:
    """``beaconCollectionsResponse.json`` (datasets, cohorts: descriptions, not patients)."""
    body: dict[str, Any] = {
        "meta": response_meta(site, entry_type, req, "record"),
        "responseSummary": {"exists": bool(collections), "numTotalResults": len(collections)},
        "response": {"collections": list(collections)},
    }
    info: dict[str, Any] = {}
    if req.warnings:
        info["warnings"] = list(req.warnings)
    if audit_seq is not None:
        info["auditSeq"] = audit_seq
    if info:
        body["info"] = info
    return body
