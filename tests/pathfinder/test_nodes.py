"""Starting the network's nodes: a taken port or a node that cannot start is a clear error, and
nothing is left running."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from cardiofabric.errors import InputError
from cardiofabric.pathfinder.discovery import DEMO_QUERIES, _answer
from cardiofabric.pathfinder.nodes import (
    NetworkNodes,
    NodeEndpoint,
    NodeStartError,
    ensure_port_free,
    node_endpoints,
)


@pytest.fixture
def listener() -> Iterator[int]:
    """A port something already listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_taken_port_names_the_port_and_how_to_free_it(listener: int) -> None:
    with pytest.raises(NodeStartError) as err:
        ensure_port_free("127.0.0.1", listener, "se-uppsala")
    text = str(err.value)
    assert f"port {listener} (the node of se-uppsala) is already in use" in text
    assert f"lsof -i :{listener}" in text and "--no-nodes" in text


def test_no_node_starts_when_any_port_is_taken(listener: int, tmp_path: Path) -> None:
    endpoints = [
        NodeEndpoint("nl-amsterdam", tmp_path / "a.toml", "127.0.0.1", _free_port()),
        NodeEndpoint("se-uppsala", tmp_path / "b.toml", "127.0.0.1", listener),
    ]
    nodes = NetworkNodes(endpoints, tmp_path / "logs")
    with pytest.raises(NodeStartError, match=f"port {listener}"), nodes:
        raise AssertionError("the block must not run")
    assert not (tmp_path / "logs").exists()  # checked before the first process started


def test_a_node_that_cannot_start_is_reported_with_its_log(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "site.toml"
    endpoint = NodeEndpoint("nl-amsterdam", missing, "127.0.0.1", _free_port())
    nodes = NetworkNodes([endpoint], tmp_path / "logs", ready_timeout_s=60)
    with pytest.raises(NodeStartError) as err, nodes:
        raise AssertionError("the block must not run")
    text = str(err.value)
    assert "the node of nl-amsterdam stopped before it was ready (exit code 2)" in text
    assert "site configuration not found" in text  # the end of its log
    assert (tmp_path / "logs" / "nl-amsterdam-node.log").is_file()


def test_a_network_without_node_settings_is_refused(tmp_path: Path) -> None:
    site = tmp_path / "site-a"
    site.mkdir()
    (site / "site.toml").write_text('[site]\nname = "site-a"\n', encoding="utf-8")
    network = {"sites": [{"name": "site-a", "config": "site-a/site.toml", "node_port": 9999}]}
    with pytest.raises(InputError, match="no node table") as err:
        node_endpoints(tmp_path, network)
    assert "--no-nodes" in str(err.value)


def test_answers_are_read_as_a_caller_sees_them() -> None:
    suppressed = _answer(
        200,
        {
            "meta": {"returnedGranularity": "boolean"},
            "responseSummary": {"exists": True},
            "info": {"suppressed": True, "threshold": 5, "auditSeq": 3},
        },
    )
    assert suppressed.text == "fewer than 5" and suppressed.audit_seq == 3
    counted = _answer(
        200,
        {"meta": {"returnedGranularity": "count"},
         "responseSummary": {"exists": True, "numTotalResults": 12}},
    )  # fmt: skip
    assert (counted.text, counted.granularity) == ("12", "count")
    refused = _answer(429, {"title": "Too Many Requests", "detail": "the budget is spent"})
    assert refused.text == "refused (429): Too Many Requests: the budget is spent"
    assert {q.endpoint for q in DEMO_QUERIES} == {"/api/individuals", "/api/g_variants"}
    assert all(q.body()["query"]["requestedGranularity"] == "count" for q in DEMO_QUERIES)
