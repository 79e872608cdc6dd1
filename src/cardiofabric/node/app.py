"""The site node: ``create_app(settings) -> FastAPI``.

Routes: the Beacon v2 API under ``/api`` (:mod:`cardiofabric.node.beacon.routes`), the DCAT-AP
catalogue at ``/catalog``, the patient's own consent at ``/consent/me`` (GET, PUT), and
``/health`` (the process answers) and ``/ready`` (the store answers a query and the revocation
list is current). Every error is an RFC 9457 problem (:mod:`cardiofabric.node.problems`), every
request one JSON log line (:mod:`cardiofabric.node.logs`).

A consent change holds from the next request: the gate writes it (with the allele counts
refreshed) in one transaction, every answer counts over the consent table as it is then, and
the gate re-reads the store's kinds of consent when a change gives the store a new consent
version (:class:`~cardiofabric.governance.consents.ConsentCatalogue`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cardiofabric import __version__
from cardiofabric.errors import AccessError, CardioFabricError, InputError
from cardiofabric.governance import audit
from cardiofabric.governance.contracts import TrustStore
from cardiofabric.governance.gate import Gate
from cardiofabric.governance.patient import consent_row
from cardiofabric.governance.policy import SitePolicy
from cardiofabric.node import catalog as catalog_mod
from cardiofabric.node.beacon import framework
from cardiofabric.node.beacon.routes import router
from cardiofabric.node.config import NodeSettings
from cardiofabric.node.context import NodeContext
from cardiofabric.node.logs import configure_logging, log_error, logger, request_logger
from cardiofabric.node.problems import Problem, install_problem_handlers, problem_response
from cardiofabric.store.site import SiteStore

__all__ = ["build_gate", "create_app"]


def build_gate(settings: NodeSettings, store: SiteStore) -> Gate:
    """The gate of a node from its settings: trust store, policy, datasets."""
    policy = SitePolicy.from_mapping(settings.policy, source="[policy]")
    trust = TrustStore(
        settings.issuers,
        audience=[settings.audience_id, "cardiofabric:network"],
        revocation_list=settings.revocation_list,
        site=settings.site,
        refresh_every=settings.revocation_refresh_s,
    )
    return Gate(store, policy, trust, site=settings.site, datasets=[settings.dataset_id])


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 before a route reads them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        too_big = False
        if length is not None:
            try:
                too_big = int(length) > self.limit
            except ValueError:
                too_big = True
        if too_big:
            body = json.dumps({
                "type": "urn:cardiofabric:problem:body-too-large",
                "title": "Content Too Large",
                "status": 413,
                "detail": f"the request body exceeds {self.limit} bytes",
                "instance": scope.get("path", ""),
            }).encode()  # fmt: skip
            await send({"type": "http.response.start", "status": 413, "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise Problem(413, "Content Too Large",
                                  f"the request body exceeds {self.limit} bytes",
                                  kind="body-too-large")  # fmt: skip
            return message

        await self.app(scope, counted, send)


def create_app(
    settings: NodeSettings, *, store: SiteStore | None = None, gate: Gate | None = None
) -> FastAPI:
    """The node's ASGI app. ``store``/``gate`` may be given (tests); else opened at start.

    The store is opened writable when the app starts (lifespan) and closed when it stops.
    """
    configure_logging(settings.log_level)
    owned: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        s = store
        if s is None:
            s = SiteStore.open(settings.store)
            owned["store"] = s
        g = gate or build_gate(settings, s)
        app.state.ctx = NodeContext(settings, s, g)
        logger.info("node started", extra={"site": settings.site, "version": __version__})
        try:
            yield
        finally:
            if "store" in owned:
                owned.pop("store").close()
            logger.info("node stopped", extra={"site": settings.site})

    app = FastAPI(
        title=f"CardioFabric node {settings.site}",
        version=__version__,
        description="Beacon v2, DCAT-AP catalogue and patient consent of one site.",
        lifespan=lifespan,
    )
    app.state.beacon_error_meta = lambda request: {
        **framework.informational_meta(settings.site),
        "returnedGranularity": "boolean",
        "receivedRequestSummary": {
            "apiVersion": framework.API_VERSION,
            "requestedSchemas": [],
            "pagination": {},
            "requestedGranularity": "boolean",
        },
    }
    install_problem_handlers(app, log_error)

    async def on_access(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AccessError)
        headers = {"WWW-Authenticate": 'Bearer realm="cardiofabric"'} if exc.status == 401 else None
        return problem_response(
            request, exc.status, exc.title, exc.detail, kind=exc.kind, hint=exc.hint,
            headers=headers,
        )  # fmt: skip

    app.add_exception_handler(AccessError, on_access)
    app.middleware("http")(request_logger())
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.include_router(router)

    @app.get("/health", tags=["operations"], summary="The process answers")
    def health() -> dict[str, Any]:
        return {"status": "ok", "site": settings.site, "version": __version__}

    @app.get("/ready", tags=["operations"], summary="The store and the trust store are usable")
    def ready(request: Request) -> JSONResponse:
        ctx: NodeContext = request.app.state.ctx
        checks: dict[str, str] = {}
        try:
            con = ctx.cursor()
            try:
                con.execute("SELECT count(*) FROM mmio_index").fetchone()
            finally:
                con.close()
            checks["store"] = "ok"
        except Exception as exc:
            checks["store"] = f"failed ({type(exc).__name__})"
        trust_error = getattr(ctx.gate.trust, "last_error", None)
        checks["revocation_list"] = "ok" if not trust_error else "stale"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ok else "not ready", "checks": checks},
                            status_code=200 if ok else 503)  # fmt: skip

    @app.get("/catalog", tags=["catalogue"], summary="DCAT-AP 3.0 catalogue (JSON-LD)")
    def catalog(request: Request) -> JSONResponse:
        return JSONResponse(catalog_mod.catalog(request.app.state.ctx),
                            media_type="application/ld+json")  # fmt: skip

    def _patient(request: Request, ctx: NodeContext, endpoint: str) -> Any:
        caller = None
        try:
            caller = ctx.gate.authenticate(request.headers.get("authorization"))
            if caller.contract is None or not caller.contract.is_patient:
                raise AccessError(
                    401 if caller.contract is None else 403,
                    "Patient token required",
                    "the consent endpoint answers the patient, with the token this site issued",
                    kind="patient-token-required",
                )
        except CardioFabricError as exc:
            entry = ctx.gate.refuse(caller, exc, endpoint=endpoint, query={})
            request.state.audit_seq = entry.seq
            raise
        request.state.contract_id = caller.contract_id
        return caller

    def _consent_of(ctx: NodeContext, pseudonym: str) -> dict[str, Any]:
        con = ctx.cursor()
        try:
            row = consent_row(con, pseudonym)
        finally:
            con.close()
        if row is None:
            raise Problem(404, "Not Found", "no consent is recorded for this patient",
                          kind="not-found")  # fmt: skip
        return {
            "status": row[0],
            "version": int(row[1]),
            "permissions": list(row[2]),
            "prohibitions": list(row[3]),
            "updated_at": row[4].isoformat() if row[4] else None,
        }

    @app.get("/consent/me", tags=["consent"], summary="The patient's own consent")
    def consent_get(request: Request) -> dict[str, Any]:
        ctx: NodeContext = request.app.state.ctx
        caller = _patient(request, ctx, "GET /consent/me")
        body = _consent_of(ctx, caller.contract.patient)
        con = ctx.cursor()
        try:
            entry = audit.append(con, caller=caller.id, contract_id=caller.contract_id,
                                 purpose=[], endpoint="GET /consent/me", query={},
                                 decision="granted", result_size=None,
                                 in_transaction=False)  # fmt: skip
        finally:
            con.close()
        request.state.audit_seq = entry.seq
        return body

    @app.put(
        "/consent/me",
        tags=["consent"],
        summary="Change the patient's own consent (holds from the next request)",
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
            "schema": {"type": "object", "required": ["status"], "properties": {
                "status": {"type": "string", "enum": ["active", "withdrawn"]},
                "permissions": {"type": "array", "items": {"type": "string"}},
                "prohibitions": {"type": "array", "items": {"type": "string"}},
                "note": {"type": "string", "maxLength": 500},
            }}}}}},
    )  # fmt: skip
    async def consent_put(request: Request) -> dict[str, Any]:
        ctx: NodeContext = request.app.state.ctx
        caller = _patient(request, ctx, "PUT /consent/me")
        raw = await request.body()
        try:
            data = json.loads(raw or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Problem(400, "Bad Request", f"the body is not valid JSON ({exc})",
                          kind="invalid-json") from None  # fmt: skip
        if not isinstance(data, dict):
            raise InputError(
                "expected a JSON object {status, permissions, prohibitions}",
                hint='e.g. {"status": "active", "permissions": ["DUO:0000006"]}',
            )
        status = data.get("status")
        perms, prohibs = data.get("permissions", []), data.get("prohibitions", [])
        note = data.get("note")
        if not isinstance(status, str):
            raise InputError("expected 'status' to be 'active' or 'withdrawn'")
        for name, value in (("permissions", perms), ("prohibitions", prohibs)):
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise InputError(f"expected '{name}' to be a list of DUO codes")
            if len(value) > 32:
                raise InputError(f"expected at most 32 {name}")
        if note is not None and (not isinstance(note, str) or len(note) > 500):
            raise InputError("expected 'note' to be a text of at most 500 characters")
        # The change rebuilds the allele counts (seconds in a large store): off the event loop.
        change = await run_in_threadpool(
            ctx.gate.change_consent, caller, status=status, permissions=perms,
            prohibitions=prohibs, endpoint="PUT /consent/me", note=note,
        )  # fmt: skip
        request.state.audit_seq = change.audit_seq
        return _consent_of(ctx, caller.contract.patient)

    return app
