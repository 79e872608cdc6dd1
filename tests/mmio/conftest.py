"""Shared fixtures for the MMIO tests: the published OCA bundle, Crypt4GH keys, sample objects."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from mmio_samples import Keys, ObjectFactory, make_object

from cardiofabric.mmio.container import MMIO
from cardiofabric.mmio.crypto import generate_keypair, load_private_key, load_public_key

DATA = Path(__file__).resolve().parents[1] / "data"
GWAS_FILE = DATA / "oca" / "cardiovascular-gwas-variables.oca.json"


@pytest.fixture(scope="session")
def _gwas_pristine() -> dict[str, Any]:
    # The file wraps the bundle as {"bundle": ..., "meta": ...}.
    bundle: dict[str, Any] = json.loads(GWAS_FILE.read_text(encoding="utf-8"))["bundle"]
    return bundle


@pytest.fixture
def gwas(_gwas_pristine: dict[str, Any]) -> dict[str, Any]:
    """A fresh deep copy of the GWAS bundle, free to mutate."""
    return copy.deepcopy(_gwas_pristine)


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


def _keys(directory: Path, name: str) -> Keys:
    kp = generate_keypair(directory, name)
    return Keys(load_private_key(kp.secret), load_public_key(kp.public), kp.secret, kp.public)


@pytest.fixture(scope="session")
def site_key(key_dir: Path) -> Keys:
    return _keys(key_dir, "site")


@pytest.fixture(scope="session")
def hub_key(key_dir: Path) -> Keys:
    return _keys(key_dir, "hub")


@pytest.fixture(scope="session")
def stranger_key(key_dir: Path) -> Keys:
    return _keys(key_dir, "stranger")


@pytest.fixture
def make() -> ObjectFactory:
    return make_object


@pytest.fixture
def plain_obj() -> MMIO:
    return make_object()


@pytest.fixture
def written(tmp_path: Path, plain_obj: MMIO) -> Path:
    """A plaintext object written under tmp_path; returns its directory."""
    return plain_obj.write(tmp_path / "objects")


@pytest.fixture
def written_encrypted(tmp_path: Path, site_key: Keys, hub_key: Keys) -> Path:
    return make_object(recipients=[site_key.public, hub_key.public]).write(tmp_path / "enc")
