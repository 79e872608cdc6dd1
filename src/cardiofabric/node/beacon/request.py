"""Beacon v2 requests, GET and POST, read into one bounded :class:`BeaconRequest`.

POST bodies follow ``framework/json/requests/beaconRequestBody.json`` (``meta`` +
``query{filters, requestParameters, pagination, requestedGranularity,
includeResultsetResponses, testMode}``). GET requests carry the same in query parameters as the
entry types' ``endpoints.json`` define them: ``filters`` (comma-separated or repeated), ``skip``,
``limit``, ``requestedGranularity``, ``includeResultsetResponses``, and the ``g_variants``
parameters (``referenceName``, ``start``, ``end``, ...).

A GET filter is an id (ontology or custom term) or, written ``ID OP VALUE``, an alphanumeric
filter: ``LOINC:2089-1>160 mg/dL`` (operators ``=``, ``<``, ``>``, ``<=``, ``>=``, ``!``).

Bounds (the Beacon lets a server cap what it returns; beaconCommonComponents ``Limit``: "Use 0 to
return all the results or the maximum allowed by the Beacon"): ``limit`` above the node's
maximum, or 0, is capped to the maximum and the response says so in ``info.warnings``; more
filters than the maximum is a 400 (a cap would silently answer a different question).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from cardiofabric.node.problems import Problem

__all__ = [
    "GRANULARITIES",
    "BeaconRequest",
    "Filter",
    "parse_get",
    "parse_post",
]

Granularity = Literal["boolean", "count", "record"]
GRANULARITIES: tuple[Granularity, ...] = ("boolean", "count", "record")
_INCLUDE = ("ALL", "HIT", "MISS", "NONE")
_OPERATORS = ("=", "<", ">", "!", ">=", "<=")
_SIMILARITY = ("exact", "high", "medium", "low")
_GET_ALPHA = re.compile(r"^(?P<id>[^<>=!]+?)\s*(?P<op><=|>=|=|<|>|!)\s*(?P<value>.+)$")
_VARIANT_PARAMS = (
    "referenceName",
    "start",
    "end",
    "referenceBases",
    "alternateBases",
    "assemblyId",
    "geneId",
    "variantType",
    "variantMinLength",
    "variantMaxLength",
    "mateName",
    "aminoacidChange",
    "genomicAlleleShortForm",
)


@dataclass(frozen=True)
class Filter:
    """One Beacon filter: ontology (``operator`` None), alphanumeric, or custom (by its id)."""

    id: str
    operator: str | None = None
    value: str | None = None
    include_descendants: bool = True
    similarity: str = "exact"
    scope: str | None = None

    @property
    def alphanumeric(self) -> bool:
        return self.operator is not None

    def text(self) -> str:
        """The filter as one string (``receivedRequestSummary.filters`` is a list of strings)."""
        return f"{self.id}{self.operator}{self.value}" if self.operator else self.id


@dataclass
class BeaconRequest:
    filters: list[Filter] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    granularity: Granularity = "boolean"
    include: str = "HIT"
    skip: int = 0
    limit: int = 10
    requested_limit: int = 10
    test_mode: bool = False
    api_version: str | None = None
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """``meta.receivedRequestSummary`` (beaconReceivedRequestSummary.json)."""
        out: dict[str, Any] = {
            "apiVersion": self.api_version or "v2.0.0",
            "requestedSchemas": [],
            "pagination": {"skip": self.skip, "limit": self.requested_limit},
            "requestedGranularity": self.granularity,
            "includeResultsetResponses": self.include,
            "testMode": self.test_mode,
        }
        if self.filters:
            out["filters"] = [f.text() for f in self.filters]
        if self.parameters:
            out["requestParameters"] = {"g_variant": dict(self.parameters)}
        return out

    def audit_query(self) -> dict[str, Any]:
        """What the audit log records of the question (never the answer)."""
        return {
            "filters": [f.text() for f in self.filters],
            "requestParameters": dict(self.parameters),
            "requestedGranularity": self.granularity,
        }


def _bad(detail: str, hint: str | None = None) -> Problem:
    return Problem(400, "Bad Request", detail, kind="invalid-request", hint=hint)


def _int(name: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool):
        raise _bad(f"expected an integer {name}, found {value!r}")
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise _bad(f"expected an integer {name}, found {value!r}") from None
    if isinstance(value, float) and value != n:
        raise _bad(f"expected an integer {name}, found {value!r}")
    if n < minimum:
        raise _bad(f"expected {name} of {minimum} or more, found {n}")
    return n


def _filter_from_obj(obj: Any) -> Filter:
    if isinstance(obj, str):
        return _filter_from_text(obj)
    if not isinstance(obj, Mapping):
        raise _bad(f"expected a filter object or string, found {type(obj).__name__}")
    fid = obj.get("id")
    if not isinstance(fid, str) or not fid.strip() or len(fid) > 200:
        raise _bad("expected every filter to have a string 'id' (at most 200 characters)")
    scope = obj.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise _bad(f"expected the filter scope to be a string, found {scope!r}")
    if "operator" in obj or "value" in obj:
        op, value = obj.get("operator", "="), obj.get("value")
        if op not in _OPERATORS:
            raise _bad(
                f"expected an operator of {', '.join(_OPERATORS)}, found {op!r}",
                hint="Beacon v2 AlphanumericFilter operators (filteringTerms.json)",
            )
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise _bad(f"expected a string value for the filter {fid!r}, found {value!r}")
        return Filter(fid.strip(), str(op), str(value).strip(), scope=scope)
    include = obj.get("includeDescendantTerms", True)
    if not isinstance(include, bool):
        raise _bad(f"expected includeDescendantTerms to be true or false, found {include!r}")
    similarity = obj.get("similarity", "exact")
    if similarity not in _SIMILARITY:
        raise _bad(f"expected similarity of {', '.join(_SIMILARITY)}, found {similarity!r}")
    return Filter(fid.strip(), include_descendants=include, similarity=similarity, scope=scope)


def _filter_from_text(text: str) -> Filter:
    t = text.strip()
    if not t or len(t) > 200:
        raise _bad("expected a filter id of 1 to 200 characters")
    m = _GET_ALPHA.match(t)
    if m:
        return Filter(m["id"].strip(), m["op"], m["value"].strip())
    return Filter(t)


def _granularity(value: Any) -> Granularity:
    if value is None:
        return "boolean"
    if value not in GRANULARITIES:
        raise _bad(f"expected requestedGranularity boolean, count or record, found {value!r}")
    return value  # type: ignore[no-any-return]


def _finish(req: BeaconRequest, *, max_filters: int, max_limit: int) -> BeaconRequest:
    if len(req.filters) > max_filters:
        raise _bad(
            f"expected at most {max_filters} filters, found {len(req.filters)}",
            hint="split the question, or combine terms with includeDescendantTerms",
        )
    req.requested_limit = req.limit
    if req.limit == 0 or req.limit > max_limit:
        req.warnings.append(f"limit capped at the node's maximum page size {max_limit}")
        req.limit = max_limit
    return req


def _variant_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _VARIANT_PARAMS:
        if key not in raw or raw[key] in (None, "", []):
            continue
        value = raw[key]
        if key in ("start", "end"):
            values = value if isinstance(value, list | tuple) else [value]
            if not 1 <= len(values) <= 2:
                raise _bad(f"expected one or two {key} positions, found {len(values)}")
            out[key] = [_int(key, v, 0 if key == "start" else 1) for v in values]
        elif key in ("variantMinLength", "variantMaxLength"):
            out[key] = _int(key, value, 0)
        else:
            if not isinstance(value, str) or len(value) > 1000:
                raise _bad(f"expected {key} to be a string of at most 1000 characters")
            out[key] = value.strip()
    return out


def parse_get(
    query: Sequence[tuple[str, str]], *, max_filters: int, max_limit: int
) -> BeaconRequest:
    """A GET request's query parameters (repeated keys kept in order)."""
    multi: dict[str, list[str]] = {}
    for k, v in query:
        multi.setdefault(k, []).append(v)

    def one(name: str) -> str | None:
        values = multi.get(name)
        return values[-1] if values else None

    req = BeaconRequest()
    for raw in multi.get("filters", []):
        req.filters += [_filter_from_text(p) for p in raw.split(",") if p.strip()]
        if len(req.filters) > max_filters:
            break
    req.granularity = _granularity(one("requestedGranularity"))
    include = one("includeResultsetResponses")
    if include is not None:
        if include not in _INCLUDE:
            raise _bad(f"expected includeResultsetResponses of {', '.join(_INCLUDE)}")
        req.include = include
    if one("skip") is not None:
        req.skip = _int("skip", one("skip"))
    if one("limit") is not None:
        req.limit = _int("limit", one("limit"))
    params: dict[str, Any] = {}
    for key in _VARIANT_PARAMS:
        if key in ("start", "end") and key in multi:
            params[key] = [p for v in multi[key] for p in v.split(",") if p.strip()]
        elif one(key) is not None:
            params[key] = one(key)
    req.parameters = _variant_params(params)
    return _finish(req, max_filters=max_filters, max_limit=max_limit)


def parse_post(body: Any, *, max_filters: int, max_limit: int) -> BeaconRequest:
    """A POST body (already JSON-decoded) as ``beaconRequestBody.json`` describes it."""
    if not isinstance(body, Mapping):
        raise _bad(
            f"expected a JSON object as the request body, found {type(body).__name__}",
            hint="send {'meta': {'apiVersion': 'v2.0'}, 'query': {...}} (beaconRequestBody.json)",
        )
    meta = body.get("meta", {})
    if not isinstance(meta, Mapping):
        raise _bad("expected 'meta' to be an object")
    query = body.get("query", {})
    if query is None:
        query = {}
    if not isinstance(query, Mapping):
        raise _bad("expected 'query' to be an object")
    req = BeaconRequest()
    version = meta.get("apiVersion")
    req.api_version = version if isinstance(version, str) else None
    filters = query.get("filters", [])
    if not isinstance(filters, list):
        raise _bad("expected 'query.filters' to be a list")
    if len(filters) > max_filters:
        raise _bad(f"expected at most {max_filters} filters, found {len(filters)}")
    req.filters = [_filter_from_obj(f) for f in filters]
    req.granularity = _granularity(query.get("requestedGranularity"))
    include = query.get("includeResultsetResponses", "HIT")
    if include not in _INCLUDE:
        raise _bad(f"expected includeResultsetResponses of {', '.join(_INCLUDE)}")
    req.include = include
    test_mode = query.get("testMode", False)
    if not isinstance(test_mode, bool):
        raise _bad("expected testMode to be true or false")
    req.test_mode = test_mode
    pagination = query.get("pagination", {}) or {}
    if not isinstance(pagination, Mapping):
        raise _bad("expected 'query.pagination' to be an object")
    req.skip = _int("skip", pagination.get("skip", 0))
    req.limit = _int("limit", pagination.get("limit", 10))
    params = query.get("requestParameters", {}) or {}
    if not isinstance(params, Mapping):
        raise _bad("expected 'query.requestParameters' to be an object")
    # Beacon examples nest the g_variant parameters under "g_variant"; both forms are read.
    nested = params.get("g_variant")
    if isinstance(nested, Mapping):
        params = {**{k: v for k, v in params.items() if k != "g_variant"}, **nested}
    req.parameters = _variant_params(params)
    return _finish(req, max_filters=max_filters, max_limit=max_limit)
