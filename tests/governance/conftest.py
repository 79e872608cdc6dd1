"""Shared fixtures for the governance tests: a real site store, issuer keys, a trust store.

The store is built once per session with the real MMIO builder and ``SiteStore.add_many``
(40 patients, every consent form the ingest records, LDL values, a variant in some), then
copied for each test that changes it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from gov_support import DATASET, SITE, Keys, N, make_object

from cardiofabric.governance import (
    NETWORK_AUDIENCE,
    Gate,
    SeededLaplace,
    SitePolicy,
    TrustStore,
    generate_keys,
)
from cardiofabric.store import SiteStore


@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "store"
    with SiteStore.create(path, site=SITE) as s:
        s.add_many(make_object(i) for i in range(N))
        try:
            from cardiofabric.store.alleles import refresh_allele_counts
        except ImportError:
            pass
        else:
            refresh_allele_counts(s.connection)
    return path


@pytest.fixture
def store(template_store: Path, tmp_path: Path) -> Iterator[SiteStore]:
    path = tmp_path / "store"
    shutil.copytree(template_store, path)
    with SiteStore.open(path) as s:
        yield s


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    d = tmp_path_factory.mktemp("keys")
    generate_keys(d, "dac-1")
    generate_keys(d, SITE)
    generate_keys(d, "rogue")
    return Keys(d)


@pytest.fixture
def trust(keys: Keys) -> TrustStore:
    return TrustStore(
        {keys.issuer: keys.public, SITE: keys.site_public},
        audience=[SITE, NETWORK_AUDIENCE],
        site=SITE,
    )


@pytest.fixture
def gate(store: SiteStore, trust: TrustStore) -> Gate:
    return Gate(store, SitePolicy(), trust, site=SITE, datasets=[DATASET], sampler=SeededLaplace(7))
