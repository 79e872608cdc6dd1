"""The demo: build a small site from example sources, store it, verify and export it.

It grows into the five-site Pathfinder demo; today it runs the foundation end to end:
sources → adapters → pseudonymised, encrypted MMIOs → site store → verification → exports.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cardiofabric.ingest.pipeline import Source, build_objects, read_sources
from cardiofabric.mmio.consent import consent_from_terms
from cardiofabric.mmio.container import MMIO
from cardiofabric.mmio.crypto import generate_keypair, load_private_key, load_public_key
from cardiofabric.pathfinder.example import PATIENTS, write_example_site
from cardiofabric.store import SiteStore

__all__ = ["DemoResult", "NetworkDemoResult", "run_demo", "run_network_demo"]

SITE = "example-site"


@dataclass
class DemoResult:
    out: Path
    store: Path
    objects: list[Path] = field(default_factory=list)
    exports: list[Path] = field(default_factory=list)
    verified: int = 0
    store_info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "store": str(self.store),
            "objects": [str(p) for p in self.objects],
            "exports": [str(p) for p in self.exports],
            "verified": self.verified,
            "store_info": self.store_info,
        }


def _secret(out: Path) -> str:
    """The site's pseudonym secret: made once, kept beside the keys (never printed)."""
    path = out / "keys" / "pseudonym.secret"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    # Created owner-only from the start: write-then-chmod would leave it readable by others
    # for a moment under the usual 022 umask.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    return value


def run_demo(out: Path, *, encrypt: bool = True) -> DemoResult:
    """Run the foundation demo into ``out``; running it again changes nothing."""
    from cardiofabric.mmio.export.fhir import to_fhir_bundle, validate_fhir_bundle
    from cardiofabric.mmio.export.phenopacket import to_phenopacket, validate_phenopacket
    from cardiofabric.mmio.nextgen import export_nextgen

    out.mkdir(parents=True, exist_ok=True)
    sources = write_example_site(out / "sources")
    keys_dir = out / "keys"
    if not (keys_dir / "site.sec").exists():
        generate_keypair(keys_dir, "site")
    recipients = [load_public_key(keys_dir / "site.pub")] if encrypt else []
    secret_key = load_private_key(keys_dir / "site.sec")

    consents = {
        PATIENTS[0].local_id: consent_from_terms(["GRU"]),
        PATIENTS[1].local_id: consent_from_terms(["HMB"], ["NCU"]),
        PATIENTS[2].local_id: consent_from_terms(["DS"], ["IRB"]),
    }
    records = read_sources([Source(p, fmt, "example-ehr") for p, fmt in sources], site=SITE)
    objects = build_objects(
        records, site=SITE, secret=_secret(out), consents=consents, recipients=recipients
    )

    store_path = out / "store"
    result = DemoResult(out=out, store=store_path)
    store = (
        SiteStore.open(store_path)
        if store_path.exists()
        else SiteStore.create(store_path, site=SITE)
    )
    with store:
        for obj in objects:
            store.add(obj)
        for pseudonym in store.pseudonyms():
            opened = store.get(pseudonym)
            opened.verify(secret_keys=[secret_key])
            result.verified += 1
            if opened.location is not None:
                result.objects.append(opened.location)
        result.store_info = store.info().to_json()

    exports = out / "exports"
    exports.mkdir(exist_ok=True)
    first = MMIO.open(result.objects[0])
    pheno = to_phenopacket(first)
    validate_phenopacket(pheno)
    fhir = to_fhir_bundle(first)
    validate_fhir_bundle(fhir)
    for name, doc in (
        ("phenopacket.json", pheno),
        ("fhir-bundle.json", fhir),
        ("mmio-0.1.json", export_nextgen(first)),
    ):
        path = exports / name
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        result.exports.append(path)
    return result


@dataclass
class NetworkDemoResult:
    root: Path
    sites: list[dict[str, Any]] = field(default_factory=list)
    exports: list[Path] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "network": str(self.root),
            "sites": self.sites,
            "exports": [str(p) for p in self.exports],
        }


def run_network_demo(
    out: Path,
    *,
    patients: int = 40,
    seed: int = 0,
    workers: int | None = None,
    progress: Any = None,
) -> NetworkDemoResult:
    """Generate (once) and ingest the five-site network, verify objects, export one patient.

    Running it again reuses the network and changes nothing in the stores.
    """
    from cardiofabric.ingest.config import load_site_config
    from cardiofabric.ingest.runner import FilePool, run_ingest
    from cardiofabric.mmio.export.phenopacket import to_phenopacket, validate_phenopacket
    from cardiofabric.pathfinder.generate import generate_network, load_network, network_knowledge
    from cardiofabric.pathfinder.knowledge import install_site_knowledge

    if not (out / "network.toml").exists():
        generate_network(out, patients=patients, seed=seed, progress=progress)
    network = load_network(out)
    result = NetworkDemoResult(root=out)
    with FilePool(workers) as pool:
        for entry in network["sites"]:
            config = load_site_config(out / entry["config"])
            report = run_ingest(config, pool=pool, progress=progress)
            knowledge = (
                install_site_knowledge(
                    network_knowledge(out, network), config.knowledge_path, progress=progress
                )
                if config.knowledge_path is not None
                else []
            )
            secret_key = load_private_key(config.resolve("keys/site.sec"))
            with SiteStore.open(config.store_path, read_only=True) as store:
                info = store.info().to_json()
                verified = 0
                for pseudonym in store.pseudonyms()[:5]:
                    store.get(pseudonym).verify(secret_keys=[secret_key])
                    verified += 1
                if not result.exports:
                    first = store.get(store.pseudonyms()[0])
                    packet = to_phenopacket(first)
                    validate_phenopacket(packet)
                    path = out / "exports" / f"{entry['name']}-phenopacket.json"
                    path.parent.mkdir(exist_ok=True)
                    path.write_text(json.dumps(packet, indent=2) + "\n", encoding="utf-8")
                    result.exports.append(path)
            result.sites.append(
                {
                    "site": entry["name"],
                    "country": entry.get("country"),
                    "language": entry.get("language"),
                    "patients": info["patients"],
                    "modalities": info["modalities"],
                    "consent": info["consent"],
                    "rejected": report.rejected,
                    "added": report.added,
                    "unchanged": report.unchanged,
                    "verified_objects": verified,
                    "knowledge": knowledge,
                    "seconds": round(report.seconds, 1),
                }
            )
    return result
