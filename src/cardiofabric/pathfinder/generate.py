"""Generate the five-site Pathfinder network: sources as real hospitals keep them, and the truth.

Layout written under ``DIR``::

    network.toml                 the sites, their configurations and node ports (for the hub)
    truth/patients.csv           the ground truth per patient (never ingested)
    truth/model.json             the generating model: hazard ratios, carrier variants, sites
    pgs/cad_pgs.txt              the CAD polygenic score in PGS Catalog scoring-file format
    knowledge/                   gnomAD, ClinVar, REVEL, CADD and SpliceAI files (synthetic, in
                                 each publisher's layout) for the sites' knowledge bases
    dac/dac.key, dac/dac.pub     the data access committee's Ed25519 signing key pair (the
                                 private key mode 0600; it signs researchers' contracts)
    <site>/site.toml             the steward's ingest and node configuration ([node], [policy])
    <site>/keys/                 the site's pseudonym secret and Crypt4GH key pair, its node's
                                 Ed25519 key pair (it signs patient tokens) and the committee's
                                 public key, which the node trusts
    <site>/sources/...           clinical export, ECGs, imaging, VCF, wearables as the site has them

Everything is deterministic by seed (the files, the pseudonym secrets and the Crypt4GH keys)
except the Ed25519 signing keys, which are drawn at random once, when the network is generated,
and never again: a contract signing key derived from a public seed would let anyone sign. This
is a synthetic network all the same, and none of its keys may protect real data.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cardiofabric import __version__
from cardiofabric.errors import InputError
from cardiofabric.pathfinder.cohort import (
    CARRIER_VARIANTS,
    HAZARD_RATIOS,
    SITES,
    SimPatient,
    SiteSpec,
    simulate_network,
)
from cardiofabric.pathfinder.knowledge import CATALOGUE
from cardiofabric.pathfinder.siteconfig import (
    DAC_DIR,
    DAC_ISSUER,
    DAC_ISSUER_KEY,
    NODE_KEY,
    site_toml,
    toml_value,
    write_site_keys,
)

__all__ = [
    "DAC_DIR",
    "DAC_ISSUER",
    "NODE_PORT_BASE",
    "GeneratedNetwork",
    "generate_network",
    "load_network",
    "network_knowledge",
]

#: Site i's node listens on NODE_PORT_BASE + i (``cardiofabric node serve <site>/site.toml``).
NODE_PORT_BASE = 8701
_ECG_GLOBS = {"dicom-ecg": "*.dcm", "wfdb": "*.hea", "edf": "*.edf"}

ProgressHook = Callable[[str, int, int], None]


@dataclass
class GeneratedNetwork:
    root: Path
    sites: list[str] = field(default_factory=list)
    patients: int = 0
    files: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "sites": self.sites,
            "patients": self.patients,
            "files": self.files,
        }


def _seed(seed: int, *parts: object) -> int:
    text = ":".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def _rel(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix()


def _clinical(
    spec: SiteSpec, patients: list[SimPatient], src: Path, seed: int
) -> tuple[list[dict[str, Any]], str | None, int]:
    """Write the site's clinical export; return its source entries and code map (if any)."""
    base = src.parent
    sources: list[dict[str, Any]] = []
    code_map: str | None = None
    written: list[Path] = []
    fmt = spec.clinical_format
    if fmt == "fhir-bundle":
        from cardiofabric.pathfinder.writers.fhir import write_fhir_bundle

        written = write_fhir_bundle(patients, src / "fhir" / "patients.json", spec, seed=seed)
        sources.append(
            {
                "name": "ehr-fhir",
                "path": "sources/fhir/patients.json",
                "format": "fhir-bundle",
                "system": "EPR FHIR export",
            }
        )
    elif fmt == "fhir-ndjson":
        from cardiofabric.pathfinder.writers.fhir import write_fhir_ndjson

        written = write_fhir_ndjson(patients, src / "fhir-ndjson", spec, seed=seed)
        sources.append(
            {
                "name": "ehr-bulk",
                "path": "sources/fhir-ndjson",
                "format": "fhir-ndjson",
                "system": "FHIR Bulk Data export",
            }
        )
    elif fmt in ("omop", "omop+wearable"):
        from cardiofabric.pathfinder.writers.omop import write_omop

        written = write_omop(patients, src / "omop", spec, seed=seed)
        sources.append(
            {
                "name": "omop",
                "path": "sources/omop",
                "format": "omop",
                "system": "OMOP CDM v5.4 extract",
            }
        )
    elif fmt == "tabular":
        from cardiofabric.pathfinder.writers.tabular import write_tabular

        written = write_tabular(patients, src / "extract", spec, seed=seed)
        tables = [p for p in written if p.suffix in (".csv", ".parquet")]
        mapping = next((p for p in written if p.name.endswith(".mapping.toml")), None)
        bundle = next((p for p in written if p.name.endswith(".oca.json")), None)
        for table in tables:
            options: dict[str, Any] = {}
            if mapping is not None:
                options["mapping"] = _rel(mapping, base)
            elif bundle is not None:
                options["mapping"] = _rel(bundle, base)
            sources.append(
                {
                    "name": "research-extract",
                    "path": _rel(table, base),
                    "format": "tabular",
                    "system": "research extract",
                    "options": options,
                }
            )
    else:  # pragma: no cover - SiteSpec is a closed set
        raise InputError(f"unknown clinical format {fmt!r}")
    maps = [p for p in written if p.name.endswith(".codemap.toml")]
    if maps:
        code_map = _rel(maps[0], base)
    if fmt == "omop+wearable":
        from cardiofabric.pathfinder.writers.wearable import write_wearables

        wear = [p for p in patients if p.has_wearable]
        if wear:
            more = write_wearables(wear, src / "wearables", spec, seed=seed)
            written += more
            sources.append(
                {
                    "name": "wearables",
                    "path": "sources/wearables",
                    "format": "wearable",
                    "system": "consumer wearable exports",
                }
            )
    return sources, code_map, len(written)


def _signals(
    spec: SiteSpec, patients: list[SimPatient], src: Path, seed: int, progress: ProgressHook | None
) -> tuple[list[dict[str, Any]], int]:
    from cardiofabric.pathfinder.writers.ecg import write_ecg
    from cardiofabric.pathfinder.writers.imaging import write_imaging
    from cardiofabric.pathfinder.writers.vcf import write_vcf

    sources: list[dict[str, Any]] = []
    files = 0
    used: set[str] = set()
    todo = [p for p in patients if p.has_ecg or p.has_imaging]
    for i, p in enumerate(todo):
        if p.has_ecg and p.ecg_format:
            files += len(write_ecg(p, src / "ecg", p.ecg_format, seed=_seed(seed, p.local_id)))
            used.add(p.ecg_format)
        if p.has_imaging:
            files += len(
                write_imaging(
                    p, src / "imaging", spec.imaging_modality, seed=_seed(seed, p.local_id, "img")
                )
            )
        if progress:
            progress(f"{spec.name} signals", i + 1, len(todo))
    for fmt in sorted(used):
        sources.append(
            {
                "name": f"ecg-{fmt}",
                "path": f"sources/ecg/{_ECG_GLOBS[fmt]}",
                "format": fmt,
                "system": "ECG management system",
            }
        )
    if any(p.has_imaging for p in patients):
        sources.append(
            {
                "name": "imaging",
                "path": "sources/imaging",
                "format": "dicom",
                "system": "PACS export",
            }
        )
    carriers = [p for p in patients if p.has_vcf]
    if carriers:
        vcfs = write_vcf(carriers, src / "genomics" / f"{spec.name}.vcf.gz", spec, seed=seed)
        files += len(vcfs)
        sources.append(
            {
                "name": "genomics",
                "path": "sources/genomics/*.vcf.gz",
                "format": "vcf",
                "system": "sequencing pipeline",
            }
        )
    return sources, files


def _write_truth(
    root: Path, network: dict[str, list[SimPatient]], sites: tuple[SiteSpec, ...], seed: int
) -> None:
    truth = root / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    rows = [p for ps in network.values() for p in ps]
    skip = {"carriers", "pgs_dosages", "conditions", "medications", "incidental"}
    fields = [f for f in asdict(rows[0]) if f not in skip] + [
        "qt",
        "carrier_genes",
        "carrier_variants",
        "incidental_variants",
        "incidental_genotypes",
        "conditions",
        "medications",
    ]
    with (truth / "patients.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for p in rows:
            d = {k: v for k, v in asdict(p).items() if k not in skip}
            d.update(
                qt=round(p.qt, 3),
                carrier_genes=";".join(c.gene for c in p.carriers),
                carrier_variants=";".join(f"{c.chrom}-{c.pos}-{c.ref}-{c.alt}" for c in p.carriers),
                incidental_variants=";".join(sorted(p.incidental)),
                incidental_genotypes=";".join(
                    {1: "0/1", 2: "1/1"}[p.incidental[k]] for k in sorted(p.incidental)
                ),
                conditions=";".join(p.conditions),
                medications=";".join(p.medications),
            )
            w.writerow({k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()})
    model = {
        "seed": seed,
        "generator": f"cardiofabric {__version__}",
        "log_hazard_ratios": HAZARD_RATIOS,
        "hazard_ratios": {k: round(2.718281828459045**v, 4) for k, v in HAZARD_RATIOS.items()},
        "carrier_variants": [asdict(c) for c in CARRIER_VARIANTS],
        "variant_catalogue": [
            {
                "variant": str(v.key),
                "gene": v.gene,
                "category": v.category,
                "consequence": v.terms[0],
                "hgvsc": f"{v.transcript}:{v.hgvsc}",
                "hgvsp": v.hgvsp,
                "clinvar": v.clinvar_significance,
                "seeded": v.seeded,
            }
            for v in CATALOGUE
        ],
        "sites": [asdict(s) for s in sites],
        "see": "cardiofabric.pathfinder.cohort (module docstring) for the full model",
    }
    (truth / "model.json").write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")


def generate_network(
    out: Path,
    *,
    sites: int = 5,
    patients: int = 200,
    seed: int = 0,
    node_port_base: int = NODE_PORT_BASE,
    progress: ProgressHook | None = None,
) -> GeneratedNetwork:
    """Write the Pathfinder network into ``out`` (refuses a non-empty folder).

    Site ``i``'s node listens on ``node_port_base + i``.
    """
    if not 1 <= sites <= len(SITES):
        raise InputError(f"--sites must be between 1 and {len(SITES)}, found {sites}")
    if patients < 1:
        raise InputError(f"--patients must be at least 1, found {patients}")
    if not 1024 <= node_port_base <= 65535 - sites:
        raise InputError(
            f"--node-port-base must be between 1024 and {65535 - sites}, found {node_port_base}",
            hint="ports below 1024 need root; the default is 8701",
        )
    if out.exists() and any(out.iterdir()):
        raise InputError(
            "the output folder is not empty",
            path=out,
            hint="choose a new folder (generation never overwrites a network)",
        )
    from cardiofabric.governance.contracts import generate_keys
    from cardiofabric.pathfinder.writers.knowledge import write_knowledge
    from cardiofabric.pathfinder.writers.pgs import write_pgs_scoring_file

    specs = SITES[:sites]
    out.mkdir(parents=True, exist_ok=True)
    # The committee's key pair first: generate_keys creates the private key exclusively, mode
    # 0600, so a network folder never holds a second or a readable one.
    dac = generate_keys(out / DAC_DIR, DAC_ISSUER_KEY)
    network = simulate_network(patients, seed=seed, sites=specs)
    result = GeneratedNetwork(root=out)
    write_pgs_scoring_file(out / "pgs" / "cad_pgs.txt")
    write_knowledge(out / "knowledge")
    net_lines = [
        "# The synthetic Pathfinder network (cardiofabric pathfinder generate).",
        "",
        "[network]",
        'name = "pathfinder"',
        f"seed = {seed}",
        f"patients_per_site = {patients}",
        f'generator = "cardiofabric {__version__}"',
        'pgs_scoring_file = "pgs/cad_pgs.txt"',
        'knowledge = "knowledge"',
        f"dac_issuer = {toml_value(DAC_ISSUER)}",
        f"dac_key = {toml_value(f'{DAC_DIR}/{DAC_ISSUER_KEY}.key')}",
    ]
    for i, spec in enumerate(specs):
        site_dir = out / spec.name
        s_seed = _seed(seed, spec.name)
        port = node_port_base + i
        write_site_keys(site_dir / "keys", seed, spec.name)
        generate_keys(site_dir / "keys", NODE_KEY)
        shutil.copyfile(dac.public, site_dir / "keys" / f"{DAC_ISSUER_KEY}.pub")
        src = site_dir / "sources"
        src.mkdir(parents=True, exist_ok=True)
        clinical, code_map, n1 = _clinical(spec, network[spec.name], src, s_seed)
        signal_sources, n2 = _signals(spec, network[spec.name], src, s_seed, progress)
        (site_dir / "site.toml").write_text(
            site_toml(spec, clinical + signal_sources, code_map, port), encoding="utf-8"
        )
        net_lines += [
            "",
            "[[sites]]",
            f'name = "{spec.name}"',
            f'country = "{spec.country}"',
            f'language = "{spec.language}"',
            f'config = "{spec.name}/site.toml"',
            f"node_port = {port}",
        ]
        result.sites.append(spec.name)
        result.patients += len(network[spec.name])
        result.files += n1 + n2
        if progress:
            progress("sites", i + 1, len(specs))
    (out / "network.toml").write_text("\n".join(net_lines) + "\n", encoding="utf-8")
    _write_truth(out, network, specs, seed)
    return result


def load_network(root: Path) -> dict[str, Any]:
    """Read ``network.toml`` with its site entries; a clear error when it is not there."""
    import tomllib

    path = root / "network.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            "no network.toml here: not a Pathfinder network folder",
            path=root,
            hint="create one with: cardiofabric pathfinder generate --out DIR",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"network.toml is not valid TOML ({exc})", path=path) from None
    if not isinstance(data.get("sites"), list) or not data["sites"]:
        raise InputError("network.toml lists no [[sites]]", path=path)
    return data


def network_knowledge(root: Path, network: dict[str, Any]) -> Path:
    """The network's folder of knowledge resource files (``[network] knowledge``)."""
    return root / str(network.get("network", {}).get("knowledge", "knowledge"))
