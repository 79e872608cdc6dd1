"""Run the network's site nodes on this machine: one ``cardiofabric node serve`` per site.

Each node runs as its own process, exactly as a site would run it: its own store connection
(DuckDB lets one process write a store), its own event loop, its own JSON log (written to
``<network>/logs/<site>-node.log``). A node that fails to start therefore cannot take the
others, or the caller, down with it, and its log says why.

:class:`NetworkNodes` is a context manager: it checks every node's settings and port before it
starts any, waits until each answers ``/ready``, and stops them all (SIGINT, uvicorn's graceful
shutdown, then a kill after a grace period) when the block ends, whatever ended it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from cardiofabric.errors import CardioFabricError, InputError
from cardiofabric.node.config import load_node_settings

__all__ = [
    "NetworkNodes",
    "NodeEndpoint",
    "NodeStartError",
    "check_ports",
    "ensure_port_free",
    "node_endpoints",
]

#: Seconds a node may take from launch to ``/ready`` (imports, opening the store).
READY_TIMEOUT_S = 90.0
#: Seconds a node has to finish its requests and close its store after SIGINT.
STOP_GRACE_S = 15.0
_LOG_TAIL = 12


class NodeStartError(CardioFabricError):
    """A node could not be started, or stopped before it was ready."""

    kind = "node-start"


@dataclass(frozen=True)
class NodeEndpoint:
    """Where one site's node listens, and the configuration it is started from."""

    site: str
    config: Path
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def node_endpoints(root: Path, network: dict[str, Any]) -> list[NodeEndpoint]:
    """The nodes of a network (``network.toml``), each site's node settings checked.

    The port is the network's ``node_port`` (where the network's hub will call the site). A
    site whose configuration has no node table (a network generated before nodes were
    configured) is refused with what to do.
    """
    out: list[NodeEndpoint] = []
    for entry in network["sites"]:
        config_path = root / entry["config"]
        _node_table(config_path, str(entry["name"]))
        # Checked here, before any node starts: the store, the issuers' keys, the policy.
        settings = load_node_settings(config_path)
        port = int(entry.get("node_port", settings.port))
        out.append(NodeEndpoint(str(entry["name"]), config_path, settings.host, port))
    ports = [e.port for e in out]
    if len(set(ports)) != len(ports):
        raise InputError(
            f"two sites of the network share a node port ({', '.join(map(str, ports))})",
            path=root / "network.toml",
            hint="give every site its own node_port in network.toml",
        )
    return out


def _node_table(config_path: Path, site: str) -> dict[str, Any]:
    from cardiofabric.ingest.config import load_site_config

    node = load_site_config(config_path).node
    if not node:
        raise InputError(
            f"site {site} has no node table in its configuration: this network was generated "
            "before its sites were configured as nodes",
            path=config_path,
            hint="generate a new network (pathfinder demo --out NEW_FOLDER), or run the demo "
            "with --no-nodes",
        )
    return node


def check_ports(root: Path, network: dict[str, Any]) -> None:
    """Fail early, before any work, when a site is not configured as a node or its port of the
    network is taken."""
    for entry in network["sites"]:
        node = _node_table(root / entry["config"], str(entry["name"]))
        port = entry.get("node_port", node.get("port"))
        if port is not None:
            ensure_port_free(str(node.get("host", "127.0.0.1")), int(port), str(entry["name"]))


def _port_hint(port: int) -> str:
    return (
        f"free it: find what listens there with 'ss -ltnp sport = :{port}' (or "
        f"'lsof -i :{port}') and stop it (an earlier demo's node is stopped with Ctrl-C); or "
        "run the demo with --no-nodes"
    )


def ensure_port_free(host: str, port: int, site: str) -> None:
    """Raise a clear :class:`NodeStartError` when ``host:port`` cannot be listened on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As uvicorn binds: SO_REUSEADDR, so a port left in TIME_WAIT by an earlier run counts
        # as free (it is, for a listening socket) and only a live listener counts as taken.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise NodeStartError(
                    f"port {port} (the node of {site}) is already in use on {host}",
                    hint=_port_hint(port),
                ) from None
            raise NodeStartError(
                f"cannot listen on {host}:{port} for the node of {site} ({exc.strerror})",
                hint="check the node host and port of the site's configuration",
            ) from None


@dataclass
class _Running:
    endpoint: NodeEndpoint
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]
    ready_after_s: float | None = None


def _tail(path: Path, lines: int = _LOG_TAIL) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class NetworkNodes:
    """Start the nodes on entry, stop them on exit (see the module docstring)."""

    endpoints: list[NodeEndpoint]
    log_dir: Path
    ready_timeout_s: float = READY_TIMEOUT_S
    _running: list[_Running] = field(default_factory=list, init=False, repr=False)

    def __enter__(self) -> NetworkNodes:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def ready_after_s(self) -> dict[str, float]:
        """Seconds from launch until each node answered ``/ready``."""
        return {
            r.endpoint.site: r.ready_after_s for r in self._running if r.ready_after_s is not None
        }

    def start(self) -> None:
        for e in self.endpoints:  # every port checked before the first node starts
            ensure_port_free(e.host, e.port, e.site)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        for e in self.endpoints:
            log_path = self.log_dir / f"{e.site}-node.log"
            log = log_path.open("wb")
            cmd = [
                sys.executable, "-m", "cardiofabric.cli.main", "node", "serve", str(e.config),
                "--host", e.host, "--port", str(e.port), "--log-level", "info",
            ]  # fmt: skip
            try:
                # The command line's host and port win over CARDIOFABRIC_NODE_* variables, so
                # the caller's environment cannot move a node off the network's port.
                proc = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
                )
            except OSError as exc:
                log.close()
                raise NodeStartError(f"cannot start the node of {e.site} ({exc})") from None
            self._running.append(_Running(e, proc, log_path, log))
        self._wait_ready(started)

    def _wait_ready(self, started: float) -> None:
        import httpx

        deadline = started + self.ready_timeout_s
        waiting = list(self._running)
        with httpx.Client(timeout=2.0) as client:
            while waiting:
                for r in list(waiting):
                    code = r.process.poll()
                    if code is not None:
                        self._failed(r, code)
                    try:
                        ok = client.get(r.endpoint.url + "/ready").status_code == 200
                    except httpx.TransportError:
                        ok = False
                    if ok:
                        r.ready_after_s = round(time.monotonic() - started, 1)
                        waiting.remove(r)
                if waiting and time.monotonic() > deadline:
                    names = ", ".join(r.endpoint.site for r in waiting)
                    raise NodeStartError(
                        f"the nodes of {names} were not ready after {self.ready_timeout_s:.0f} s",
                        hint="see their logs in " + str(self.log_dir),
                    )
                if waiting:
                    time.sleep(0.2)

    def _failed(self, r: _Running, code: int) -> None:
        r.log.flush()
        tail = _tail(r.log_path)
        e = r.endpoint
        if "address already in use" in tail.lower():
            raise NodeStartError(
                f"port {e.port} (the node of {e.site}) is already in use on {e.host}",
                hint=_port_hint(e.port),
            )
        raise NodeStartError(
            f"the node of {e.site} stopped before it was ready (exit code {code}); its log "
            f"ends:\n{tail}",
            path=r.log_path,
            hint="fix what the log names, then run again",
        )

    def stop(self) -> None:
        """Stop every node started (idempotent); kill those not gone after the grace period."""
        for r in self._running:
            if r.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    if os.name == "posix":
                        r.process.send_signal(signal.SIGINT)  # uvicorn: graceful shutdown
                    else:  # pragma: no cover - Windows has no SIGINT for a child
                        r.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for r in self._running:
            try:
                r.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                r.process.kill()
                r.process.wait()
            r.log.close()
        self._running.clear()
