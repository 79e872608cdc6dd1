"""``cardiofabric node serve``: settings checked before listening, then a real server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cardiofabric.cli.main import app
from cardiofabric.node.config import load_node_settings


def _config(tmp_path: Path, site: Any, extra: str = "") -> Path:
    """A copy of the site's TOML pointing at its store and keys (paths made absolute)."""
    text = site.toml.read_text()
    base = site.toml.parent
    text = text.replace('store = "store"', f'store = "{base / "store"}"')
    text = text.replace('"keys/', f'"{base}/keys/')
    text = text.replace('secret_file = "keys/', f'secret_file = "{base}/keys/')
    out = tmp_path / "site.toml"
    out.write_text(text + extra)
    return out


def test_settings_read_the_node_table(site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_node_settings(site.toml)
    assert s.site == "nl-amsterdam" and s.dataset_id == "nl-amsterdam"
    assert s.issuers["pathfinder-dac"].is_file()
    assert s.catalog.organisation == "Pathfinder site Amsterdam"
    monkeypatch.setenv("CARDIOFABRIC_NODE_PORT", "9123")
    assert load_node_settings(site.toml).port == 9123
    assert load_node_settings(site.toml, port=9200).port == 9200


def test_missing_store_or_key_is_a_clear_error(site: Any, tmp_path: Path) -> None:
    cfg = _config(tmp_path, site)
    text = cfg.read_text()
    cfg.write_text(text.replace(f'store = "{site.toml.parent / "store"}"', 'store = "nowhere"'))
    r = CliRunner().invoke(app, ["node", "serve", str(cfg)])
    assert r.exit_code == 2
    assert "no site store" in r.output and "Traceback" not in r.output
    cfg.write_text(text.replace("keys/dac.pub", "keys/missing.pub"))
    r = CliRunner().invoke(app, ["node", "serve", str(cfg)])
    assert r.exit_code == 2
    assert "public key of trusted issuer 'pathfinder-dac' does not exist" in r.output
    cfg.write_text(text + "\n[node.bogus]\nx = 1\n")
    r = CliRunner().invoke(app, ["node", "serve", str(cfg)])
    assert r.exit_code == 2 and "node settings, bogus" in r.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_over_http(site: Any, tmp_path: Path, client: Any) -> None:
    # The session's app holds the store open; serve a copy of it.
    store = tmp_path / "store"
    client.app.state.ctx.store.connection.execute("CHECKPOINT")
    shutil.copytree(site.store, store)
    cfg = _config(tmp_path, site).read_text()
    cfg = cfg.replace(f'store = "{site.toml.parent / "store"}"', f'store = "{store}"')
    (tmp_path / "site.toml").write_text(cfg)
    port = _free_port()
    exe = [sys.executable, "-m", "cardiofabric.cli.main"]
    proc = subprocess.Popen(
        [*exe, "node", "serve", str(tmp_path / "site.toml"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        proc.stderr.read().decode() if proc.stderr else ""
                    ) from None
                time.sleep(0.2)
        assert r.json()["site"] == "nl-amsterdam"
        info = httpx.get(f"http://127.0.0.1:{port}/api/info").json()
        assert info["response"]["id"] == "org.cardiofabric.nl-amsterdam"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    lines = [ln for ln in err.decode().splitlines() if ln.startswith("{")]
    assert any('"route": "/api/info"' in ln for ln in lines)
    assert not any("pt-" in ln for ln in lines)  # no pseudonyms in logs
