"""The demos: the MMIO foundation on three example patients, and the five-site Pathfinder network.

:func:`run_demo` runs the foundation end to end: sources → adapters → pseudonymised, encrypted
MMIOs → site store → verification → exports. :func:`run_network_demo` runs the network: each
site ingested into its store with its knowledge base, its VCF classified (ACMG/AMP), then every
site's node started and asked the same Beacon v2 questions anonymously and under a data access
contract, and finally every store's audit chain checked.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.ingest.pipeline import Source, build_objects, read_sources
from cardiofabric.mmio.consent import consent_from_terms
from cardiofabric.mmio.container import MMIO
from cardiofabric.mmio.crypto import generate_keypair, load_private_key, load_public_key
from cardiofabric.pathfinder.example import PATIENTS, write_example_site
from cardiofabric.store import SiteStore

__all__ = [
    "DEMO_RESEARCHER",
    "DemoResult",
    "NetworkDemoResult",
    "classify_site",
    "issue_demo_contract",
    "run_demo",
    "run_network_demo",
    "verify_audit",
]

SITE = "example-site"
#: The researcher the network's data access committee grants the demo's contract.
DEMO_RESEARCHER = "demo-researcher"


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
    #: The demo researcher's contract (None when the node step was skipped).
    contract: Path | None = None
    queries: list[dict[str, Any]] = field(default_factory=list)
    #: Each site's answers (:class:`~cardiofabric.pathfinder.discovery.SiteAnswers` as JSON).
    answers: list[dict[str, Any]] = field(default_factory=list)
    nodes_ready_s: dict[str, float] = field(default_factory=dict)
    nodes_skipped: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "network": str(self.root),
            "sites": self.sites,
            "exports": [str(p) for p in self.exports],
            "nodes": None
            if self.nodes_skipped
            else {
                "contract": str(self.contract) if self.contract else None,
                "researcher": DEMO_RESEARCHER,
                "queries": self.queries,
                "sites": self.answers,
                "ready_after_s": self.nodes_ready_s,
                "logs": str(self.root / "logs"),
            },
        }


_TIERS = {  # the summary's tier names -> the short names the table prints
    "Pathogenic": "P",
    "Likely pathogenic": "LP",
    "Uncertain significance": "VUS",
    "Likely benign": "LB",
    "Benign": "B",
}


def classify_site(config: Any) -> dict[str, Any]:
    """Classify every allele of the site's VCF sources with its knowledge base (ACMG/AMP).

    Returns counts per tier and the genes with a pathogenic or likely pathogenic allele, never
    a sample: the whole file is classified without decoding genotypes.
    """
    from cardiofabric.genomics.classify import classify_vcf
    from cardiofabric.genomics.model import Tier
    from cardiofabric.genomics.resources import KnowledgeBase

    vcfs = [p for src in config.sources if src.format == "vcf" for p in config.source_paths(src)]
    result: dict[str, Any] = {
        "vcfs": [p.relative_to(config.base).as_posix() for p in vcfs],
        "alleles": 0,
        "by_tier": {short: 0 for short in _TIERS.values()},
        "pathogenic_genes": {},
        "skipped": 0,
    }
    if not vcfs or config.knowledge_path is None:
        return result
    genes: dict[str, str] = {}
    with KnowledgeBase.open(config.knowledge_path) as kb:
        for path in vcfs:
            stream = classify_vcf(path, knowledge=kb)
            for record in stream:
                c = record.classification
                if c.gene and c.tier in (Tier.PATHOGENIC, Tier.LIKELY_PATHOGENIC):
                    tier = _TIERS[str(c.tier)]
                    genes[c.gene] = "P" if "P" in (tier, genes.get(c.gene)) else tier
            summary = stream.summary
            result["alleles"] += summary.classified
            result["skipped"] += summary.skipped_total
            for name, n in summary.by_tier.items():
                result["by_tier"][_TIERS[name]] += n
    result["pathogenic_genes"] = dict(sorted(genes.items()))
    return result


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically, readable by the owner only (a token is a credential)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def issue_demo_contract(root: Path, network: dict[str, Any]) -> tuple[Path, str]:
    """The committee signs the demo researcher a one-day contract for every site's dataset.

    Purpose HMB (health/medical/biomedical research, DUO:0000006) with ethics approval, not
    commercial; action ``discover-count`` only; audience the whole network. Written to
    ``dac/<researcher>.jwt`` (mode 0600); a new one each run, as a committee would issue it.
    """
    from datetime import timedelta

    from cardiofabric.governance.contracts import NETWORK_AUDIENCE, issue_contract
    from cardiofabric.governance.contracts import load_private_key as load_signing_key
    from cardiofabric.governance.purpose import Purpose
    from cardiofabric.pathfinder.generate import DAC_DIR, DAC_ISSUER

    meta = network.get("network", {})
    key_path = root / str(meta.get("dac_key", f"{DAC_DIR}/dac.key"))
    if not key_path.is_file():
        raise InputError(
            "the network has no data access committee key to sign the demo's contract",
            path=key_path,
            hint="generate a new network (pathfinder demo --out NEW_FOLDER), or run the demo "
            "with --no-nodes",
        )
    token = issue_contract(
        load_signing_key(key_path),
        issuer=str(meta.get("dac_issuer", DAC_ISSUER)),
        researcher=DEMO_RESEARCHER,
        datasets=[str(s["name"]) for s in network["sites"]],
        purpose=Purpose(("HMB",), irb_approved=True, commercial=False),
        actions=("discover-count",),
        audience=NETWORK_AUDIENCE,
        valid_for=timedelta(days=1),
    )
    path = key_path.parent / f"{DEMO_RESEARCHER}.jwt"
    _write_private(path, token + "\n")
    return path, token


def verify_audit(store_path: Path) -> dict[str, Any]:
    """Check the store's hash-chained audit log (``cardiofabric audit verify``)."""
    from cardiofabric.governance.audit import verify

    with SiteStore.open(store_path, read_only=True) as store:
        return verify(store.connection).to_json()


def _node_step(
    out: Path, network: dict[str, Any], result: NetworkDemoResult, progress: Any
) -> None:
    """Issue the contract, start the nodes, ask every query, stop the nodes (always)."""
    from cardiofabric.pathfinder.discovery import DEMO_QUERIES, ask_network
    from cardiofabric.pathfinder.nodes import NetworkNodes, node_endpoints

    endpoints = node_endpoints(out, network)  # settings and keys checked before anything runs
    result.contract, token = issue_demo_contract(out, network)
    result.queries = [q.to_json() for q in DEMO_QUERIES]
    if progress:
        progress("starting the site nodes", 0, len(endpoints))
    with NetworkNodes(endpoints, out / "logs") as nodes:  # stopped however the block ends
        if progress:
            progress("starting the site nodes", len(endpoints), len(endpoints))
        result.nodes_ready_s = nodes.ready_after_s
        result.answers = [a.to_json() for a in ask_network(endpoints, token)]


def run_network_demo(
    out: Path,
    *,
    patients: int = 40,
    seed: int = 0,
    workers: int | None = None,
    nodes: bool = True,
    progress: Any = None,
) -> NetworkDemoResult:
    """Generate (once) and ingest the network, classify each site's variants, verify objects,
    export one patient, ask every site's node (unless ``nodes`` is False), check the audit.

    Running it again reuses the network and changes nothing in the stores but the audit log
    (one entry per answer) and the demo researcher's privacy budget (ε spent by the counts).
    """
    from cardiofabric.ingest.config import load_site_config
    from cardiofabric.ingest.runner import FilePool, run_ingest
    from cardiofabric.mmio.export.phenopacket import to_phenopacket, validate_phenopacket
    from cardiofabric.pathfinder.generate import generate_network, load_network, network_knowledge
    from cardiofabric.pathfinder.knowledge import install_site_knowledge

    if not (out / "network.toml").exists():
        generate_network(out, patients=patients, seed=seed, progress=progress)
    network = load_network(out)
    if nodes:  # a taken port is found now, not after minutes of ingest
        from cardiofabric.pathfinder.nodes import check_ports

        check_ports(out, network)
    result = NetworkDemoResult(root=out, nodes_skipped=not nodes)
    stores: list[Path] = []
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
            genomics = classify_site(config)
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
            stores.append(config.store_path)
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
                    "genomics": genomics,
                    "seconds": round(report.seconds, 1),
                }
            )
    if nodes:  # every store is closed here: each node opens its own for writing
        _node_step(out, network, result, progress)
    for site, store_path in zip(result.sites, stores, strict=True):
        site["audit"] = verify_audit(store_path)
    return result
