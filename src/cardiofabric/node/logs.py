"""Structured JSON logs without personal data.

One JSON object per line on stderr. A request line holds the method, the route *template*
(``/api/individuals/{id}``, never the path itself: a path may carry a pseudonym, which is
personal data under GDPR Art. 4(5)), the status, the duration, the contract id (never the
researcher's name or a token) and the audit entry's ``seq`` so that a log line and its audit
entry can be matched. Query strings, bodies, filters and answers are never logged.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response
from starlette.routing import Match

__all__ = ["JsonFormatter", "configure_logging", "log_error", "logger", "request_logger"]

logger = logging.getLogger("cardiofabric.node")

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "event", ...extra}`` per record."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for k, v in record.__dict__.items():
            if k not in _RESERVED and not k.startswith("_"):
                out[k] = v
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's type only: its message may quote input (filters, ids).
            out["error_type"] = record.exc_info[0].__name__
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    """Send the node's logs to stderr as JSON lines (idempotent)."""
    if any(getattr(h, "_cardiofabric", False) for h in logger.handlers):
        logger.setLevel(level.upper())
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._cardiofabric = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def _route_template(request: Request) -> str:
    route = request.scope.get("route")
    if route is not None:
        return str(getattr(route, "path", "(no route)"))
    for candidate in request.app.router.routes:
        match, _ = candidate.matches(request.scope)
        if match == Match.FULL:
            return str(getattr(candidate, "path", "(no route)"))
    return "(no route)"


def log_error(request: Request, exc: BaseException) -> None:
    """An unexpected error: its type and where, under the request's id (no message text)."""
    logger.error(
        "unhandled error",
        exc_info=(type(exc), exc, None),
        extra={
            "request_id": getattr(request.state, "request_id", None),
            "route": _route_template(request),
        },
    )


def request_logger() -> Callable[
    [Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]
]:
    """HTTP middleware: a request id, and one log line per request."""

    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.request_id = uuid.uuid4().hex
        t0 = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Request-Id"] = request.state.request_id
        logger.info(
            "request",
            extra={
                "request_id": request.state.request_id,
                "method": request.method,
                "route": _route_template(request),
                "status": response.status_code,
                "ms": round((time.perf_counter() - t0) * 1000, 2),
                "contract": getattr(request.state, "contract_id", None),
                "audit_seq": getattr(request.state, "audit_seq", None),
                "granularity": getattr(request.state, "granularity", None),
            },
        )
        return response

    return middleware
