"""Shared fixtures for the CLI tests: a runner, and the demo site built once per module."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cli_support import Demo, Invoke
from typer.testing import CliRunner

from cardiofabric.cli.main import app

# Wide enough that Rich never wraps help text in the middle of a phrase; no colour codes; no
# passphrase leaking in from the caller's environment.
ENV: dict[str, str | None] = {
    "COLUMNS": "200",
    "NO_COLOR": "1",
    "CARDIOFABRIC_KEY_PASSPHRASE": None,
}


@pytest.fixture(scope="module")
def cli() -> Invoke:
    """Run ``cardiofabric ARGS…`` in-process; the result has exit_code, stdout and stderr."""
    runner = CliRunner(env=ENV)

    def invoke(*args: str | Path) -> Any:
        return runner.invoke(app, [str(a) for a in args])

    return invoke


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, cli: Invoke) -> Demo:
    """The demo, run once: ``cardiofabric demo --out TMP --json``."""
    out = tmp_path_factory.mktemp("demo")
    result = cli("demo", "--out", out, "--json")
    assert result.exit_code == 0, result.output
    return Demo(out=out, report=json.loads(result.stdout))


@pytest.fixture
def object_copy(demo: Demo, tmp_path: Path) -> Path:
    """A private copy of the first demo object, free to damage."""
    src = demo.objects[0]
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst
