"""An answer, its log line and its audit entry name the same ``seq``; concurrent requests each
get their own entry; a consent change shows in the very next answer of the node."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from node_support import bearer

from cardiofabric.governance import audit

COUNT = {"meta": {"apiVersion": "v2.0"}, "query": {"requestedGranularity": "count"}}


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def lines() -> Iterator[_Lines]:
    handler = _Lines()
    log = logging.getLogger("cardiofabric.node")
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def _newest(client: TestClient) -> audit.AuditEntry:
    con = client.app.state.ctx.cursor()  # type: ignore[attr-defined]
    try:
        return audit.show(con, limit=1)[0]
    finally:
        con.close()


def _logged_seq(lines: _Lines) -> Any:
    requests = [r for r in lines.records if r.getMessage() == "request"]
    return getattr(requests[-1], "audit_seq", None)


def test_answer_log_and_audit_entry_share_the_seq(
    client: TestClient, token: Any, lines: _Lines
) -> None:
    r = client.post("/api/individuals", json=COUNT, headers=bearer(token()))
    assert r.status_code == 200, r.text
    seq = r.json()["info"]["auditSeq"]
    entry = _newest(client)
    assert (entry.seq, entry.decision, entry.endpoint) == (seq, "granted", "POST /api/individuals")
    assert entry.result_size == r.json()["responseSummary"].get("numTotalResults")
    assert _logged_seq(lines) == seq
    again = client.post("/api/individuals", json=COUNT, headers=bearer(token()))
    assert again.json()["info"]["auditSeq"] == seq + 1


def test_a_consent_change_logs_its_seq(
    client: TestClient, patient_token: Any, lines: _Lines
) -> None:
    con = client.app.state.ctx.cursor()  # type: ignore[attr-defined]
    try:
        row = con.execute(
            "SELECT pseudonym, permissions FROM consent WHERE status = 'active' ORDER BY 1 LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    h = bearer(patient_token(row[0]))
    r = client.put("/consent/me", json={"status": "active", "permissions": list(row[1])},
                   headers=h)  # fmt: skip
    assert r.status_code == 200, r.text
    entry = _newest(client)
    assert entry.endpoint == "PUT /consent/me" and _logged_seq(lines) == entry.seq


def test_concurrent_answers_each_have_their_own_entry(client: TestClient, token: Any) -> None:
    before = _newest(client).seq
    tok = token()

    def ask(_: int) -> int:
        r = client.post("/api/individuals", json=COUNT, headers=bearer(tok))
        assert r.status_code == 200, r.text
        return int(r.json()["info"]["auditSeq"])

    with ThreadPoolExecutor(8) as pool:
        seqs = list(pool.map(ask, range(24)))
    assert sorted(seqs) == list(range(before + 1, before + 25))
    con = client.app.state.ctx.cursor()  # type: ignore[attr-defined]
    try:
        assert audit.verify(con).ok
    finally:
        con.close()
