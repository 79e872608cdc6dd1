"""The Beacon v2 API of a site node: framework endpoints, entry types and their lookups.

Every entry-type answer goes through the governance :class:`~cardiofabric.governance.gate.Gate`:
authenticate the bearer token, authorise the action the requested granularity needs (capped,
not refused: an anonymous caller asking for a count gets the boolean answer; a contract without
``record`` asking for records gets a count), count over the consenting patients only, release
through disclosure control and the privacy budget, audit. Refusals are audited too.

The handlers read the request body on the event loop and do the rest (the gate, DuckDB) in
Starlette's thread pool: DuckDB runs a query without holding the GIL, so one request's count
runs beside the others' Python work instead of stalling the loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

import duckdb
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from cardiofabric.errors import CardioFabricError, InputError
from cardiofabric.governance import audit
from cardiofabric.governance.disclosure import Released
from cardiofabric.governance.gate import Caller, Grant
from cardiofabric.governance.policy import Granularity
from cardiofabric.node.beacon import entries, framework, records
from cardiofabric.node.beacon.entries import Scope, VariantKey
from cardiofabric.node.beacon.filters import Clause
from cardiofabric.node.beacon.request import BeaconRequest, parse_get, parse_post
from cardiofabric.node.beacon.responses import collections_response, entry_response
from cardiofabric.node.beacon.terms import RESOURCES, filtering_terms
from cardiofabric.node.context import NodeContext
from cardiofabric.node.problems import Problem

__all__ = ["router"]

router = APIRouter(prefix="/api")

_INFO = "informational"


def _ctx(request: Request) -> NodeContext:
    ctx: NodeContext = request.app.state.ctx
    return ctx


# -- OpenAPI documentation of the request forms (validated again by the parsers) ----------
_Str = str | None


def _query_doc(
    filters: Annotated[
        list[str] | None,
        Query(description="Filter ids, comma-separated or repeated; ID OP VALUE for numbers"),
    ] = None,
    skip: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int | None, Query(ge=0)] = None,
    requestedGranularity: Annotated[_Str, Query(pattern="^(boolean|count|record)$")] = None,
    includeResultsetResponses: Annotated[_Str, Query(pattern="^(ALL|HIT|MISS|NONE)$")] = None,
) -> None:
    """Beacon GET parameters (documentation; the request is parsed by request.parse_get)."""


_BASES = "^[ACGTUNRYSWKMBDHV.-]*$"


def _variant_doc(
    referenceName: Annotated[_Str, Query(max_length=64)] = None,
    start: Annotated[list[int] | None, Query()] = None,
    end: Annotated[list[int] | None, Query()] = None,
    referenceBases: Annotated[_Str, Query(pattern=_BASES)] = None,
    alternateBases: Annotated[_Str, Query(pattern=_BASES)] = None,
    assemblyId: Annotated[_Str, Query(max_length=64)] = None,
    geneId: Annotated[_Str, Query(max_length=64)] = None,
    variantType: Annotated[_Str, Query(max_length=32)] = None,
) -> None:
    """Beacon g_variant GET parameters (documentation)."""


_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "Beacon v2 request body (framework/json/requests/"
                    "beaconRequestBody.json)",
                    "properties": {
                        "meta": {
                            "type": "object",
                            "properties": {"apiVersion": {"type": "string"}},
                        },
                        "query": {
                            "type": "object",
                            "properties": {
                                "filters": {"type": "array", "items": {"type": "object"}},
                                "requestParameters": {"type": "object"},
                                "pagination": {
                                    "type": "object",
                                    "properties": {
                                        "skip": {"type": "integer", "minimum": 0},
                                        "limit": {"type": "integer", "minimum": 0},
                                    },
                                },
                                "requestedGranularity": {
                                    "type": "string",
                                    "enum": ["boolean", "count", "record"],
                                },
                                "testMode": {"type": "boolean"},
                            },
                        },
                    },
                }
            }
        },
    }
}


async def _beacon_request(request: Request) -> BeaconRequest:
    s = _ctx(request).settings
    if request.method == "GET":
        return parse_get(
            request.query_params.multi_items(), max_filters=s.max_filters, max_limit=s.max_limit
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > s.max_body_bytes:
            raise Problem(
                413, "Content Too Large", f"the request body exceeds {s.max_body_bytes} bytes",
                kind="body-too-large",
            )  # fmt: skip
    if not body.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Problem(
                400, "Bad Request", f"the request body is not valid JSON ({exc})",
                kind="invalid-json", hint="send a Beacon v2 request body as JSON",
            ) from None  # fmt: skip
    return parse_post(data, max_filters=s.max_filters, max_limit=s.max_limit)


# -- the gate ------------------------------------------------------------------------------
_LADDER = ("discover-boolean", "discover-count", "record")
_LEVEL = {"boolean": 0, "count": 1, "record": 2}


def _action(ctx: NodeContext, caller: Caller, wanted: str) -> str:
    """The action to ask the gate for: the requested granularity (capped by the site's policy)
    if the contract holds it, else the nearest coarser one it holds, else the nearest finer one
    (a record-only contract may ask a boolean question; the answer is coarsened)."""
    if caller.contract is None:
        return "discover-boolean"
    held = caller.contract.actions
    ladder = _LADDER if ctx.gate.policy.max_granularity == "record" else _LADDER[:2]
    i = min(_LEVEL[wanted], len(ladder) - 1)
    for action in (ladder[i], *reversed(ladder[:i]), *ladder[i + 1 :]):
        if action in held:
            return action
    return ladder[i]  # not held: the gate refuses it with a clear 403


def _coarsen(released: Released, wanted: Granularity) -> Released:
    """An answer released finer than asked is shown at the granularity asked for."""
    if _LEVEL[released.granularity] <= _LEVEL[wanted]:
        return released
    count = None if wanted == "boolean" else released.count
    return replace(released, granularity=wanted, count=count)


def _refuse(
    request: Request,
    ctx: NodeContext,
    caller: Caller | None,
    exc: CardioFabricError,
    query: dict[str, Any],
) -> None:
    entry = ctx.gate.refuse(caller, exc, endpoint=_endpoint(request), query=query)
    request.state.audit_seq = entry.seq


def _endpoint(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


def _granted(
    request: Request, req: BeaconRequest, *, genomic: bool, dataset: str | None = None
) -> tuple[Caller, Grant, Scope]:
    ctx = _ctx(request)
    caller: Caller | None = None
    try:
        caller = ctx.gate.authenticate(request.headers.get("authorization"))
        request.state.contract_id = caller.contract_id
        action = _action(ctx, caller, req.granularity)
        grant = ctx.gate.authorise(caller, action=action, dataset=dataset, genomic=genomic)
    except CardioFabricError as exc:
        _refuse(request, ctx, caller, exc, req.audit_query())
        raise
    if _LEVEL[grant.granularity] < _LEVEL[req.granularity]:
        req.warnings.append(
            f"requested granularity {req.granularity}; this caller is answered at "
            f"{grant.granularity}"
        )
    return caller, grant, Scope(grant.consent_keys, grant.profiles, consents=grant.consents)


def _answer(
    request: Request,
    req: BeaconRequest,
    *,
    entry_type: str,
    genomic: bool,
    count: Callable[[duckdb.DuckDBPyConnection, Scope], int],
    page: Callable[[duckdb.DuckDBPyConnection, Scope], list[dict[str, Any]]],
    scope_extra: Clause | None = None,
    record_total: Callable[[], int] | None = None,
) -> dict[str, Any]:
    ctx = _ctx(request)
    caller, grant, scope = _granted(request, req, genomic=genomic, dataset=ctx.dataset)
    if scope_extra is not None:
        scope = scope.within(scope_extra)
    con = ctx.cursor()
    try:
        try:
            n = count(con, scope)
        except Problem as exc:
            _refuse(request, ctx, caller, InputError(exc.detail or exc.title), req.audit_query())
            raise
        except CardioFabricError as exc:
            _refuse(request, ctx, caller, exc, req.audit_query())
            raise
        released = ctx.gate.release(grant, n, endpoint=_endpoint(request), query=req.audit_query())
        results = None
        if released.granularity == "record" and released.exists and released.count:
            results = page(con, scope)
            if record_total is not None:
                released = replace(released, count=record_total())
        released = _coarsen(released, req.granularity)
    finally:
        con.close()
    request.state.granularity = released.granularity
    request.state.audit_seq = released.audit_seq
    return entry_response(
        site=ctx.settings.site,
        dataset=ctx.dataset,
        entry_type=entry_type,
        req=req,
        released=released,
        results=results,
        audit_seq=released.audit_seq,
    )


# -- framework endpoints -------------------------------------------------------------------
@router.get("", summary="Beacon info", tags=[_INFO])
@router.get("/info", summary="Beacon info", tags=[_INFO])
def info(request: Request) -> dict[str, Any]:
    ctx = _ctx(request)
    return {
        "meta": framework.informational_meta(ctx.settings.site),
        "response": framework.beacon_info(ctx.settings, created=ctx.created, updated=ctx.updated()),
    }


@router.get("/service-info", summary="GA4GH service-info 1.0.0", tags=[_INFO])
def service_info(request: Request) -> dict[str, Any]:
    ctx = _ctx(request)
    return framework.service_info(ctx.settings, created=ctx.created, updated=ctx.updated())


@router.get("/configuration", summary="Beacon configuration", tags=[_INFO])
def configuration(request: Request) -> dict[str, Any]:
    ctx = _ctx(request)
    default = "boolean" if ctx.gate.policy.anonymous_granularity == "boolean" else "count"
    return {
        "meta": framework.informational_meta(ctx.settings.site),
        "response": framework.beacon_configuration(ctx.settings, default),
    }


@router.get("/map", summary="Beacon map", tags=[_INFO])
def beacon_map(request: Request) -> dict[str, Any]:
    ctx = _ctx(request)
    return {
        "meta": framework.informational_meta(ctx.settings.site),
        "response": framework.beacon_map(ctx.settings.url),
    }


@router.get("/entry_types", summary="Beacon entry types", tags=[_INFO])
def entry_types(request: Request) -> dict[str, Any]:
    ctx = _ctx(request)
    return {
        "meta": framework.informational_meta(ctx.settings.site),
        "response": framework.entry_types(),
    }


def _terms(request: Request, skip: int | None, limit: int | None) -> dict[str, Any]:
    ctx = _ctx(request)
    con = ctx.cursor()
    try:
        terms = filtering_terms(con, min_patients=ctx.gate.policy.min_cell_count)
    finally:
        con.close()
    start = skip or 0
    size = min(limit or ctx.settings.max_limit, ctx.settings.max_limit)
    return {
        "meta": framework.informational_meta(ctx.settings.site),
        "response": {"filteringTerms": terms[start : start + size], "resources": RESOURCES},
    }


def _filtering_terms(
    request: Request,
    skip: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    return _terms(request, skip, limit)


for _path in ("filtering_terms", "individuals/filtering_terms", "datasets/filtering_terms",
              "cohorts/filtering_terms"):  # fmt: skip
    router.add_api_route(
        f"/{_path}", _filtering_terms, methods=["GET"], tags=[_INFO],
        summary="Filtering terms held by this node", name=_path.replace("/", "_"),
    )  # fmt: skip


# -- entry types ---------------------------------------------------------------------------
def _pseudonym_is(value: str) -> Clause:
    return Clause("{col} = ?", (value,))


def _register(
    path: str,
    handler: Callable[..., Any],
    *,
    summary: str,
    variant_params: bool = False,
) -> None:
    deps = [Depends(_query_doc)] + ([Depends(_variant_doc)] if variant_params else [])
    router.add_api_route(
        path, handler, methods=["GET"], dependencies=deps, summary=summary, tags=["GET"],
        response_model=None,
    )  # fmt: skip
    router.add_api_route(
        path, handler, methods=["POST"], summary=summary, tags=["POST"], openapi_extra=_BODY,
        response_model=None,
    )  # fmt: skip


def _individuals_answer(request: Request, req: BeaconRequest, extra: Clause | None,
                        *, genomic: bool = False) -> dict[str, Any]:  # fmt: skip
    return _answer(
        request,
        req,
        entry_type="individual",
        genomic=genomic,
        scope_extra=extra,
        count=lambda con, scope: entries.count_individuals(con, req, scope),
        page=lambda con, scope: records.individual_records(
            con, entries.list_individuals(con, req, scope)
        ),
    )


def _biosamples_answer(
    request: Request, req: BeaconRequest, extra: Clause | None
) -> dict[str, Any]:
    return _answer(
        request,
        req,
        entry_type="biosample",
        genomic=True,
        scope_extra=extra,
        count=lambda con, scope: entries.count_biosamples(con, req, scope),
        page=lambda con, scope: records.biosample_records(entries.list_biosamples(con, req, scope)),
    )


def _variants_answer(
    request: Request,
    req: BeaconRequest,
    extra: Clause | None,
    *,
    q: entries.VariantQuery | None = None,
) -> dict[str, Any]:
    # Disclosure control applies to people: the gate releases the number of individuals
    # carrying a matching variant (a rare allele of one carrier is never announced), and that
    # released number is the count answer; record answers list the variants themselves.
    state: dict[str, Any] = {}

    def count(con: duckdb.DuckDBPyConnection, scope: Scope) -> int:
        hits = entries.variant_hits(con, req, scope, q=q)
        state["hits"] = hits
        return entries.distinct_carriers(con, req, scope, hits)

    def page(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
        hits = state["hits"][req.skip : req.skip + req.limit]
        carriers = entries.carriers(con, scope, [h.key for h in hits])
        return records.variant_records(con, hits, carriers_of=carriers)

    req.warnings.append("counts of genomic variants are counts of the individuals carrying them")
    return _answer(
        request, req, entry_type="genomicVariant", genomic=True, scope_extra=extra,
        count=count, page=page, record_total=lambda: len(state.get("hits", [])),
    )  # fmt: skip


async def individuals(request: Request) -> dict[str, Any]:
    return await run_in_threadpool(
        _individuals_answer, request, await _beacon_request(request), None
    )


async def individual(request: Request, id: str) -> dict[str, Any]:
    return await run_in_threadpool(
        _individuals_answer, request, await _beacon_request(request), _pseudonym_is(id)
    )


async def individual_biosamples(request: Request, id: str) -> dict[str, Any]:
    return await run_in_threadpool(
        _biosamples_answer, request, await _beacon_request(request), _pseudonym_is(id)
    )


async def individual_variants(request: Request, id: str) -> dict[str, Any]:
    req = await _beacon_request(request)
    return await run_in_threadpool(_variants_answer, request, req, _pseudonym_is(id))


async def biosamples(request: Request) -> dict[str, Any]:
    return await run_in_threadpool(
        _biosamples_answer, request, await _beacon_request(request), None
    )


def _sample_is(value: str) -> Clause:
    return Clause("{col} IN (SELECT pseudonym FROM variant WHERE modality_digest = ?)", (value,))


async def biosample(request: Request, id: str) -> dict[str, Any]:
    req = await _beacon_request(request)
    extra = Clause("v.modality_digest = ?", (id,))
    return await run_in_threadpool(_biosamples_answer, request, req, extra)


async def biosample_variants(request: Request, id: str) -> dict[str, Any]:
    req = await _beacon_request(request)
    return await run_in_threadpool(_variants_answer, request, req, _sample_is(id))


async def g_variants(request: Request) -> dict[str, Any]:
    return await run_in_threadpool(_variants_answer, request, await _beacon_request(request), None)


def _variant_query(key: VariantKey) -> entries.VariantQuery:
    return entries.VariantQuery(build=key.build, chrom=key.chrom, start=key.pos, ref=key.ref,
                                alt=key.alt)  # fmt: skip


def _carrier_of(key: VariantKey) -> Clause:
    return Clause(
        "{col} IN (SELECT pseudonym FROM variant WHERE build = ? AND chrom = ? AND pos = ? "
        "AND ref = ? AND alt = ?)",
        (key.build, key.chrom, key.pos, key.ref, key.alt),
    )


async def g_variant(request: Request, id: str) -> dict[str, Any]:
    req = await _beacon_request(request)
    key = VariantKey.parse(id)
    return await run_in_threadpool(_variants_answer, request, req, None, q=_variant_query(key))


async def g_variant_individuals(request: Request, id: str) -> dict[str, Any]:
    req = await _beacon_request(request)
    return await run_in_threadpool(
        _individuals_answer, request, req, _carrier_of(VariantKey.parse(id)), genomic=True
    )


async def g_variant_biosamples(request: Request, id: str) -> dict[str, Any]:
    req = await _beacon_request(request)
    key = VariantKey.parse(id)
    extra = Clause(
        "v.build = ? AND v.chrom = ? AND v.pos = ? AND v.ref = ? AND v.alt = ?",
        (key.build, key.chrom, key.pos, key.ref, key.alt),
    )
    return await run_in_threadpool(_biosamples_answer, request, req, extra)


def _collection(ctx: NodeContext, kind: str) -> dict[str, Any]:
    return ctx.dataset_record() if kind == "datasets" else ctx.cohort_record()


def _collection_id(ctx: NodeContext, kind: str) -> str:
    return ctx.dataset if kind == "datasets" else ctx.cohort


def _collections(request: Request, req: BeaconRequest, kind: str, id: str | None) -> dict[str, Any]:
    ctx = _ctx(request)
    caller: Caller | None = None
    try:
        caller = ctx.gate.authenticate(request.headers.get("authorization"))
    except CardioFabricError as exc:
        _refuse(request, ctx, caller, exc, req.audit_query())
        raise
    found = [] if id not in (None, _collection_id(ctx, kind)) else [_collection(ctx, kind)]
    con = ctx.cursor()
    try:
        entry = audit.append(
            con,
            caller=caller.id,
            contract_id=caller.contract_id,
            purpose=[],
            endpoint=_endpoint(request),
            query={"collection": kind, "id": id},
            decision="granted",
            result_size=len(found),
            in_transaction=False,
        )
    finally:
        con.close()
    request.state.audit_seq = entry.seq
    if id is not None and not found:
        raise Problem(404, "Not Found", f"no {kind[:-1]} {id!r} here", kind="not-found",
                      hint=f"list them at /api/{kind}")  # fmt: skip
    return collections_response(
        site=ctx.settings.site,
        entry_type="dataset" if kind == "datasets" else "cohort",
        req=req,
        collections=found,
        audit_seq=entry.seq,
    )


def _require_collection(ctx: NodeContext, kind: str, id: str) -> None:
    if id != _collection_id(ctx, kind):
        raise Problem(404, "Not Found", f"no {kind[:-1]} {id!r} here", kind="not-found",
                      hint=f"list them at /api/{kind}")  # fmt: skip


async def datasets(request: Request) -> dict[str, Any]:
    return await run_in_threadpool(
        _collections, request, await _beacon_request(request), "datasets", None
    )


async def dataset(request: Request, id: str) -> dict[str, Any]:
    return await run_in_threadpool(
        _collections, request, await _beacon_request(request), "datasets", id
    )


async def cohorts(request: Request) -> dict[str, Any]:
    return await run_in_threadpool(
        _collections, request, await _beacon_request(request), "cohorts", None
    )


async def cohort(request: Request, id: str) -> dict[str, Any]:
    return await run_in_threadpool(
        _collections, request, await _beacon_request(request), "cohorts", id
    )


async def dataset_individuals(request: Request, id: str) -> dict[str, Any]:
    req = await _beacon_request(request)
    _require_collection(_ctx(request), "datasets", id)
    return await run_in_threadpool(_individuals_answer, request, req, None)


async def dataset_biosamples(request: Request, id: str) -> dict[str, Any]:
    req = await _beacon_request(request)
    _require_collection(_ctx(request), "datasets", id)
    return await run_in_threadpool(_biosamples_answer, request, req, None)


async def dataset_variants(request: Request, id: str) -> dict[str, Any]:
    req = await _beacon_request(request)
    _require_collection(_ctx(request), "datasets", id)
    return await run_in_threadpool(_variants_answer, request, req, None)


_IN_COHORT = Clause("{col} IN (SELECT pseudonym FROM person WHERE index_date IS NOT NULL)")


async def cohort_individuals(request: Request, id: str) -> dict[str, Any]:
    req = await _beacon_request(request)
    _require_collection(_ctx(request), "cohorts", id)
    return await run_in_threadpool(_individuals_answer, request, req, _IN_COHORT)


_register("/individuals", individuals, summary="Individuals")
_register("/individuals/{id}", individual, summary="One individual")
_register(
    "/individuals/{id}/biosamples", individual_biosamples, summary="An individual's biosamples"
)
_register("/individuals/{id}/g_variants", individual_variants, summary="An individual's variants",
          variant_params=True)  # fmt: skip
_register("/biosamples", biosamples, summary="Biosamples (genomic DNA samples)")
_register("/biosamples/{id}", biosample, summary="One biosample")
_register("/biosamples/{id}/g_variants", biosample_variants, summary="A biosample's variants",
          variant_params=True)  # fmt: skip
_register("/g_variants", g_variants, summary="Genomic variants", variant_params=True)
_register("/g_variants/{id}", g_variant, summary="One genomic variant")
_register("/g_variants/{id}/individuals", g_variant_individuals, summary="Carriers of a variant")
_register("/g_variants/{id}/biosamples", g_variant_biosamples, summary="Samples with a variant")
_register("/datasets", datasets, summary="Datasets")
_register("/datasets/{id}", dataset, summary="One dataset")
_register("/datasets/{id}/individuals", dataset_individuals, summary="A dataset's individuals")
_register("/datasets/{id}/biosamples", dataset_biosamples, summary="A dataset's biosamples")
_register("/datasets/{id}/g_variants", dataset_variants, summary="A dataset's variants",
          variant_params=True)  # fmt: skip
_register("/cohorts", cohorts, summary="Cohorts")
_register("/cohorts/{id}", cohort, summary="One cohort")
_register("/cohorts/{id}/individuals", cohort_individuals, summary="A cohort's individuals")
