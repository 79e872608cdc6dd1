"""What the CLI tests share: the data files, the demo's result, the shape of ``invoke``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data"
OCA_FILE = DATA / "oca" / "cardiovascular-gwas-variables.oca.json"
NEXTGEN_FILE = DATA / "nextgen" / "example-mmio-v0.1.json"

#: ``invoke("mmio", "verify", path)`` runs the command in-process and returns Click's Result.
Invoke = Callable[..., Any]


@dataclass(frozen=True)
class Demo:
    """The demo's output directory and its ``--json`` report."""

    out: Path
    report: dict[str, Any]

    @property
    def objects(self) -> list[Path]:
        return [Path(p) for p in self.report["objects"]]

    @property
    def store(self) -> Path:
        return Path(self.report["store"])

    @property
    def site_key(self) -> Path:
        return self.out / "keys" / "site.sec"
