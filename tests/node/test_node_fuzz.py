"""Property-based requests from the node's own OpenAPI description (schemathesis).

No generated request may cause a 5xx, and every 4xx must be an RFC 9457 problem document.
Bounded: ``max_examples`` per operation, no shrinking beyond the default deadline.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from node_support import bearer

from cardiofabric.node.app import create_app

pytestmark = pytest.mark.slow  # ~1,000 requests; well over a minute on two cores

_schema_app: dict[str, Any] = {}


def _schema() -> Any:
    # The schema is read from the app that the session's client started (its lifespan opened
    # the store); the app object is only needed for its OpenAPI document here.
    from fastapi import FastAPI

    from cardiofabric.node.config import NodeSettings

    app: FastAPI = create_app(NodeSettings(site="x", store="/nonexistent"))  # type: ignore[arg-type]
    return schemathesis.openapi.from_dict(app.openapi())


schema = _schema()


@pytest.fixture(scope="module")
def auth(token: Any) -> dict[str, str]:
    return bearer(token(("discover-count", "record"), researcher="fuzzer"))


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_problems_on_4xx(case: Any, client: Any, auth: dict[str, str]) -> None:
    kwargs = case.as_transport_kwargs(headers=auth)
    method, url = kwargs.pop("method"), kwargs.pop("url")
    kwargs.pop("base_url", None)
    keep = ("params", "headers", "json", "content", "cookies")
    r = client.request(method, url, **{k: v for k, v in kwargs.items() if k in keep})
    assert r.status_code < 500, (case.as_curl_command(), r.text)
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json"), r.text
        assert r.json()["status"] == r.status_code
