"""Helpers the node tests share (a module, as test modules cannot import a conftest)."""

from __future__ import annotations

SITE = "nl-amsterdam"


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}
