"""RFC 9457 problem details for every error the node returns.

Every 4xx/5xx body is ``application/problem+json`` with ``type``, ``title``, ``status``,
``detail`` and ``instance`` (RFC 9457 §3.1), plus two extension members (§3.2): ``hint`` (what
to do, from :class:`~cardiofabric.errors.CardioFabricError`) and, under ``/api``, the Beacon v2
error envelope ``meta`` + ``error`` (``framework/json/responses/beaconErrorResponse.json``), so
that one body is both a problem document and a valid Beacon error response.

Problem types are URNs (``urn:cardiofabric:problem:<kind>``): stable identifiers that need no
web page; plain HTTP conditions use ``about:blank`` as RFC 9457 §4.2.1 recommends. A 500 says
nothing of its cause: the cause goes to the log, under the request's id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cardiofabric.errors import CardioFabricError, StoreError

__all__ = ["PROBLEM_JSON", "Problem", "install_problem_handlers", "problem_response"]

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error the node answers with a problem document (raised by routes and helpers)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        kind: str | None = None,
        hint: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.status, self.title, self.detail = status, title, detail
        self.kind, self.hint = kind, hint
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        super().__init__(f"{status} {title}: {detail or ''}")


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str | None = None,
    *,
    kind: str | None = None,
    hint: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:cardiofabric:problem:{kind}" if kind else "about:blank",
        "title": title,
        "status": status,
        "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail
    if hint:
        body["hint"] = hint
    body.update(extra or {})
    if request.url.path.startswith("/api"):
        meta = getattr(request.app.state, "beacon_error_meta", None)
        if callable(meta):
            body["meta"] = meta(request)
        body["error"] = {"errorCode": status, "errorMessage": detail or title}
    audit_seq = getattr(request.state, "audit_seq", None)
    if audit_seq is not None:
        body["auditSeq"] = audit_seq
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def install_problem_handlers(
    app: FastAPI, log_error: Callable[[Request, BaseException], None]
) -> None:
    """Map every exception to a problem response; never leak internals in a 500."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(
            request,
            exc.status,
            exc.title,
            exc.detail,
            kind=exc.kind,
            hint=exc.hint,
            headers=exc.headers,
            extra=exc.extra,
        )

    async def on_cardiofabric(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CardioFabricError)
        if isinstance(exc, StoreError):
            # The store failing is the node's problem, not the caller's: 503, no path shown.
            log_error(request, exc)
            return problem_response(
                request,
                503,
                "Service Unavailable",
                "the site store cannot answer now",
                kind=exc.kind,
            )
        return problem_response(
            request, 400, "Bad Request", exc.message, kind=exc.kind, hint=exc.hint
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail: str | None = exc.detail if isinstance(exc.detail, str) else None
        if detail == _phrase(exc.status_code):
            detail = None
        return problem_response(
            request, exc.status_code, _phrase(exc.status_code), detail, headers=exc.headers
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(
            request,
            400,
            "Bad Request",
            _validation_detail(exc),
            kind="invalid-request",
            hint="see the OpenAPI description at /openapi.json and the Beacon v2 request schema",
        )

    async def on_any(request: Request, exc: Exception) -> JSONResponse:
        log_error(request, exc)
        return problem_response(
            request,
            500,
            "Internal Server Error",
            "the node could not answer; the error is logged under this request",
            kind="internal",
        )

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(CardioFabricError, on_cardiofabric)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_any)
