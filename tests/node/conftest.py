"""A node over a small generated Pathfinder site (built once per session), and contracts.

The site is nl-amsterdam of the synthetic network (FHIR bundle, DICOM/WFDB ECGs, cardiac MR
with SR, VCF), ingested by the real runner. The node's trusted issuer is the network's data
access committee, whose keys the generator made (``dac/``); the site's own key signs patient
tokens. The generated node and policy tables are replaced by the tests' own (a smaller minimum
cell count, record-level answers, a large privacy budget).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cardiofabric.governance.contracts import (
    issue_contract,
    issue_patient_token,
    load_private_key,
)
from cardiofabric.governance.purpose import Purpose
from cardiofabric.ingest.config import load_site_config
from cardiofabric.ingest.runner import FilePool, run_ingest
from cardiofabric.pathfinder.generate import generate_network

SITE = "nl-amsterdam"
PATIENTS = 40
DAC = "pathfinder-dac"

NODE_TABLE = f"""
[node]
environment = "test"
base_url = "http://testserver"

[node.issuers]
"{DAC}" = "keys/dac.pub"
"{SITE}" = "keys/node.pub"

[node.catalog]
organisation = "Pathfinder site Amsterdam"
url = "https://pathfinder.example/nl-amsterdam"
contact = "mailto:steward@pathfinder.example"
description = "Synthetic cardiology cohort (Pathfinder)"

[policy]
min_cell_count = 3
max_granularity = "record"

[policy.dp]
epsilon_per_query = 0.5
epsilon_budget = 1000.0
"""


@dataclass(frozen=True)
class Site:
    root: Path
    toml: Path
    store: Path
    dac_key: Path
    node_key: Path


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    root = tmp_path_factory.mktemp("node") / "net"
    generate_network(root, sites=1, patients=PATIENTS, seed=5)
    toml = root / SITE / "site.toml"
    with FilePool(workers=1) as pool:
        report = run_ingest(load_site_config(toml), pool=pool)
    assert report.stored
    keys = root / SITE / "keys"
    generated = toml.read_text(encoding="utf-8")
    toml.write_text(generated[: generated.index("\n[node]\n")] + NODE_TABLE, encoding="utf-8")
    return Site(root, toml, root / SITE / "store", root / "dac" / "dac.key", keys / "node.key")


Token = Callable[..., str]


@pytest.fixture(scope="session")
def token(site: Site) -> Token:
    """``token(actions=[...], purpose=("HMB",), datasets=(SITE,), audience=SITE, ...)``."""
    key = load_private_key(site.dac_key)

    def make(
        actions: tuple[str, ...] = ("discover-boolean", "discover-count"),
        *,
        purpose: tuple[str, ...] = ("DUO:0000006",),
        datasets: tuple[str, ...] = (SITE,),
        audience: str = SITE,
        researcher: str = "researcher-1",
        valid_for: timedelta = timedelta(days=1),
        **claims: Any,
    ) -> str:
        return issue_contract(
            key,
            issuer=DAC,
            researcher=researcher,
            datasets=datasets,
            purpose=Purpose(purpose, irb_approved=True, commercial=False, **claims),
            actions=actions,
            audience=audience,
            valid_for=valid_for,
        )

    return make


@pytest.fixture(scope="session")
def patient_token(site: Site) -> Callable[[str], str]:
    key = load_private_key(site.node_key)
    return lambda pseudonym: issue_patient_token(key, site=SITE, pseudonym=pseudonym)


@pytest.fixture(scope="session")
def client(site: Site) -> Iterator[TestClient]:
    from cardiofabric.node.app import create_app
    from cardiofabric.node.config import load_node_settings

    os.environ.pop("CARDIOFABRIC_NODE_PORT", None)
    settings = load_node_settings(site.toml)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c
