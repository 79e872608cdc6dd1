"""What a generated Pathfinder site is configured with: its ``site.toml`` (sources, the
knowledge base, the node's ``[node]`` and ``[policy]`` tables) and its deterministic keys (the
pseudonym secret and the Crypt4GH key pair; the Ed25519 signing keys are drawn at random by
:func:`~cardiofabric.pathfinder.generate.generate_network`)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

from cardiofabric.pathfinder.cohort import SiteSpec

__all__ = [
    "DAC_DIR",
    "DAC_ISSUER",
    "DAC_ISSUER_KEY",
    "DEMO_EPSILON_BUDGET",
    "NODE_KEY",
    "SITE_KNOWLEDGE_DB",
    "site_toml",
    "toml_value",
    "write_site_keys",
]

#: The network's data access committee: its issuer id and the folder of its key pair.
DAC_ISSUER = "pathfinder-dac"
DAC_DIR = "dac"
DAC_ISSUER_KEY = "dac"  # dac/dac.key, dac/dac.pub, and <site>/keys/dac.pub
NODE_KEY = "node"  # <site>/keys/node.key, node.pub


def write_site_keys(keys: Path, seed: int, site: str) -> None:
    """A pseudonym secret and a Crypt4GH key pair derived from the seed (synthetic only)."""
    from crypt4gh.keys import c4gh
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    keys.mkdir(parents=True, exist_ok=True)
    material = hashlib.sha256(f"pathfinder:{seed}:{site}".encode()).digest()
    secret = keys / "pseudonym.secret"
    secret.write_text(hashlib.sha256(material + b"pseudonym").hexdigest() + "\n")
    os.chmod(secret, 0o600)
    sk = hashlib.sha256(material + b"crypt4gh").digest()
    pk = (
        X25519PrivateKey.from_private_bytes(sk)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    sec = keys / "site.sec"
    with contextlib.redirect_stderr(io.StringIO()):  # crypt4gh warns that it is unlocked
        encoded = c4gh.encode_private_key(sk, None, b"pathfinder synthetic")
    sec.write_bytes(
        b"-----BEGIN CRYPT4GH PRIVATE KEY-----\n"
        + base64.b64encode(encoded)
        + b"\n-----END CRYPT4GH PRIVATE KEY-----\n"
    )
    os.chmod(sec, 0o600)
    (keys / "site.pub").write_bytes(
        b"-----BEGIN CRYPT4GH PUBLIC KEY-----\n"
        + base64.b64encode(pk)
        + b"\n-----END CRYPT4GH PUBLIC KEY-----\n"
    )


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    return json.dumps(str(v), ensure_ascii=False)


#: Each site's knowledge base of variant resources, relative to its site.toml.
SITE_KNOWLEDGE_DB = "knowledge.duckdb"


#: The privacy budget (ε) of each researcher per dataset in the synthetic network's policy. The
#: governance default is 5.0 (ten noised counts; see cardiofabric.governance.policy); the demo
#: spends 1.5 of it per run (three counts of ε 0.5), so the synthetic sites allow more for the
#: demo to be run again and again. A real site states its own.
DEMO_EPSILON_BUDGET = 50.0


def _node_tables(spec: SiteSpec, port: int) -> list[str]:
    """The site node's ``[node]`` and ``[policy]`` tables (fictional organisation and contact).

    The node trusts the network's data access committee (its public key copied beside the
    site's keys, as a site would receive it) and its own key, which signs patient tokens.
    """
    city = spec.name.split("-", 1)[-1].replace("-", " ").title()
    host = f"{spec.name}.pathfinder.example"  # .example is reserved for examples (RFC 2606)
    return [
        "",
        "# Site node: cardiofabric node serve site.toml (after ingest)",
        "[node]",
        'host = "127.0.0.1"',
        f"port = {port}",
        'environment = "test"',
        f"dataset = {toml_value(spec.name)}",
        "",
        "# Contract issuers the node trusts: issuer id = its Ed25519 public key",
        "[node.issuers]",
        f'"{DAC_ISSUER}" = "keys/{DAC_ISSUER_KEY}.pub"',
        f'"{spec.name}" = "keys/{NODE_KEY}.pub"',
        "",
        "[node.catalog]",
        f"organisation = {toml_value(f'Pathfinder Heart Centre {city} (fictional)')}",
        f'url = "https://{host}"',
        f'contact = "mailto:datasteward@{host}"',
        f'title = "Pathfinder cardiology cohort, {city}"',
        "description = "
        + toml_value(
            f"Synthetic cardiology cohort of the Pathfinder network ({spec.country}): "
            "multimodal records (clinical, ECG, imaging, genomic) of fictional patients."
        ),
        'keywords = ["cardiology", "synthetic data", "Pathfinder"]',
        "",
        "# Disclosure policy (cardiofabric.governance.policy, where each default is sourced),",
        "# stated in full so that the steward sees it: the defaults but for the budget.",
        "[policy]",
        "min_cell_count = 5",
        'anonymous_granularity = "boolean"',
        'max_granularity = "count"',
        f"country = {toml_value(spec.country)}",
        "",
        "[policy.dp]",
        "epsilon_per_query = 0.5",
        f"epsilon_budget = {DEMO_EPSILON_BUDGET!r}  # default 5.0; the demo spends 1.5 a run",
    ]


def site_toml(
    spec: SiteSpec, sources: list[dict[str, Any]], code_map: str | None, port: int
) -> str:
    lines = [
        f"# Configuration of the synthetic Pathfinder site {spec.name} ({spec.country}).",
        "# Run: cardiofabric ingest site.toml",
        "",
        "[site]",
        f"name = {toml_value(spec.name)}",
        f"country = {toml_value(spec.country)}",
        f"language = {toml_value(spec.language)}",
        'store = "store"',
        'secret_file = "keys/pseudonym.secret"',
        'recipients = ["keys/site.pub"]',
    ]
    if code_map:
        lines.append(f"code_map = {toml_value(code_map)}")
    lines += [
        "",
        "# Variant interpretation: gnomAD, ClinVar, REVEL, CADD, SpliceAI "
        "(cardiofabric genomics resource add)",
        "[genomics]",
        f"knowledge = {toml_value(SITE_KNOWLEDGE_DB)}",
    ]
    for src in sources:
        lines += ["", "[[sources]]"]
        for key in ("name", "path", "format", "system"):
            if key in src:
                lines.append(f"{key} = {toml_value(src[key])}")
        if src.get("options"):
            lines.append(f"options = {toml_value(src['options'])}")
    lines += _node_tables(spec, port)
    return "\n".join(lines) + "\n"
