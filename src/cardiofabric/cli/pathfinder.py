"""``cardiofabric pathfinder``: the synthetic five-site network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from cardiofabric.cli._common import EXIT_FAILED, console, handle_errors, print_json, progress_bars

app = typer.Typer(help="The synthetic five-site Pathfinder network.", no_args_is_help=True)


@app.command("generate")
@handle_errors
def generate(
    out: Path = typer.Option(..., "--out", help="An empty or new folder for the network."),
    sites: int = typer.Option(5, "--sites", help="How many sites (1–5)."),
    patients: int = typer.Option(200, "--patients", help="Patients per site."),
    seed: int = typer.Option(0, "--seed", help="Random seed: same seed, same network."),
    node_port_base: int = typer.Option(
        8701, "--node-port-base", help="Site i's node listens on this port + i (i from 0)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write the sites' sources (FHIR, OMOP, CSV, ECG, DICOM, VCF, wearables), their node
    settings and keys, the data access committee's keys, and the truth."""
    from cardiofabric.pathfinder.generate import generate_network

    with progress_bars(not json_out) as hook:
        result = generate_network(
            out,
            sites=sites,
            patients=patients,
            seed=seed,
            node_port_base=node_port_base,
            progress=hook,
        )
    if json_out:
        print_json(result.to_json())
        return
    console.print(
        f"[bold]Pathfinder network[/] in {result.root}: {len(result.sites)} sites, "
        f"{result.patients} patients, {result.files} files",
        highlight=False,
    )
    for s in result.sites:
        console.print(f"  {s}: {result.root / s / 'site.toml'}", highlight=False)
    console.print(f"next: cardiofabric pathfinder ingest {result.root}", highlight=False)


@app.command("ingest")
@handle_errors
def ingest(
    root: Path = typer.Argument(..., help="The network folder (with network.toml)."),
    strict: bool = typer.Option(False, "--strict", help="Fail a site on any rejection."),
    json_out: bool = typer.Option(False, "--json", help="Print the reports as JSON."),
    workers: int | None = typer.Option(
        None, "--workers", help="Processes reading many-file sources (default: the CPU count)."
    ),
) -> None:
    """Ingest every site of the network into its own store, as each site's steward would."""

    from cardiofabric.ingest.config import load_site_config
    from cardiofabric.ingest.runner import FilePool, run_ingest
    from cardiofabric.pathfinder.generate import load_network, network_knowledge
    from cardiofabric.pathfinder.knowledge import install_site_knowledge

    network = load_network(root)
    reports = []
    with progress_bars(not json_out) as bars, FilePool(workers) as pool:
        for entry in network["sites"]:
            config = load_site_config(root / entry["config"])

            def hook(label: str, done: int, total: int | None, site: str = entry["name"]) -> None:
                bars(f"{site}: {label}", done, total)

            report = run_ingest(config, strict=strict, progress=hook, pool=pool)
            done = report.to_json()
            if config.knowledge_path is not None:  # the site's knowledge base, added once
                done["knowledge"] = install_site_knowledge(
                    network_knowledge(root, network), config.knowledge_path, progress=hook
                )
            reports.append(done)
    if json_out:
        print_json({"network": str(root), "sites": reports})
    else:
        t = Table(title="Pathfinder ingest")
        for col in (
            "site",
            "patients",
            "read",
            "accepted",
            "rejected",
            "added",
            "unchanged",
            "replaced",
            "knowledge added",
            "seconds",
        ):
            t.add_column(col, justify="left" if col == "site" else "right")
        for d in reports:
            r, o = d["records"], d["objects"]
            t.add_row(
                d["site"],
                str(d["patients"]),
                str(r["read"]),
                str(r["accepted"]),
                str(r["rejected"]),
                str(o["added"]),
                str(o["unchanged"]),
                str(o["replaced"]),
                str(sum(k["action"] == "added" for k in d.get("knowledge", []))),
                str(d["seconds"]),
            )
        console.print(t)
        console.print("per-site reports: <site>/store/last-ingest.json", highlight=False)
    if strict and any(not d["stored"] for d in reports):
        raise typer.Exit(EXIT_FAILED)


@app.command("demo")
@handle_errors
def demo(
    out: Path = typer.Option(
        Path("demo-out"), "--out", help="The network folder (reused if there)."
    ),
    patients: int = typer.Option(40, "--patients", help="Patients per site (first run only)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (first run only)."),
    nodes: bool = typer.Option(
        True,
        "--nodes/--no-nodes",
        help="Start the five site nodes on their ports and query them (--no-nodes: skip, "
        "e.g. where the ports are not free).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    workers: int | None = typer.Option(
        None, "--workers", help="Processes reading many-file sources (default: the CPU count)."
    ),
) -> None:
    """The Pathfinder demo: five hospitals, five ways of keeping data, one harmonised fabric."""
    from cardiofabric.pathfinder.demo import run_network_demo

    with progress_bars(not json_out) as hook:
        result = run_network_demo(
            out, patients=patients, seed=seed, workers=workers, nodes=nodes, progress=hook
        )
    broken = any(not s["audit"]["ok"] for s in result.sites)
    if json_out:
        print_json(result.to_json())
        if broken:
            raise typer.Exit(EXIT_FAILED)
        return
    t = Table(title=f"Pathfinder network in {result.root}")
    for col in (
        "site",
        "lang",
        "patients",
        "clinical",
        "ecg",
        "imaging",
        "genomic",
        "wearable",
        "consent active/withdrawn",
        "rejected",
        "verified",
    ):
        t.add_column(col, justify="left" if col in ("site", "lang") else "right")
    for s in result.sites:
        m, c = s["modalities"], s["consent"]
        t.add_row(
            s["site"],
            str(s["language"]),
            str(s["patients"]),
            *(str(m.get(k, 0)) for k in ("clinical", "ecg", "imaging", "genomic", "wearable")),
            f"{c.get('active', 0)}/{c.get('withdrawn', 0)}",
            str(s["rejected"]),
            str(s["verified_objects"]),
        )
    console.print(t)
    console.print(
        "every site's records are pseudonymised, harmonised to LOINC/SNOMED CT/ICD-10/"
        "HPO and UCUM units beside their originals, sealed as encrypted MMIOs."
    )
    _print_genomics(result.sites)
    if result.nodes_skipped:
        console.print("site nodes: skipped (--no-nodes)", highlight=False)
    else:
        _print_discovery(result.to_json()["nodes"])
    _print_audit(result.sites)
    for p in result.exports:
        console.print(f"export of one patient (GA4GH Phenopacket v2): {p}", highlight=False)
    console.print(
        f"ground truth: {result.root / 'truth'}   ingest reports: "
        f"{result.root}/<site>/store/last-ingest.json",
        highlight=False,
    )
    if broken:  # the demo's own check failed: say so by the exit code too
        raise typer.Exit(EXIT_FAILED)


def _print_genomics(sites: list[dict[str, Any]]) -> None:
    t = Table(title="Variant classification (ACMG/AMP, each site's VCF and knowledge base)")
    for col in ("site", "alleles", "P", "LP", "VUS", "LB/B", "P/LP genes"):
        t.add_column(col, justify="left" if col in ("site", "P/LP genes") else "right")
    for s in sites:
        g = s["genomics"]
        tiers = g["by_tier"]
        genes = ", ".join(f"{gene} ({tier})" for gene, tier in g["pathogenic_genes"].items())
        t.add_row(
            s["site"],
            str(g["alleles"]),
            str(tiers["P"]),
            str(tiers["LP"]),
            str(tiers["VUS"]),
            str(tiers["LB"] + tiers["B"]),
            genes or "-",
        )
    console.print(t)


def _print_discovery(nodes: dict[str, Any]) -> None:
    console.print(
        f"site nodes: {len(nodes['sites'])} 'cardiofabric node serve' processes; contract for "
        f"{nodes['researcher']} (HMB, discover-count, 1 day): {nodes['contract']}",
        highlight=False,
    )
    for q in nodes["queries"]:
        t = Table(title=f"Beacon v2 {q['endpoint']}: {q['label']}")
        for col in (
            "site",
            "anonymous",
            "with the contract",
            "returnedGranularity (anon / contract)",
        ):
            t.add_column(col)
        for site in nodes["sites"]:
            anon, con = (site["answers"][q["name"]][k] for k in ("anonymous", "contract"))
            t.add_row(
                site["site"],
                anon["text"] if anon["problem"] else str(anon["exists"]).lower(),
                con["text"],
                f"{anon['returnedGranularity'] or '-'} / {con['returnedGranularity'] or '-'}",
            )
        console.print(t)
    console.print(
        "as the sites' policy says: anonymous callers get booleans (true only at 5 or more "
        "individuals); the contract gets counts with differential-privacy noise (discrete "
        "Laplace, ε 0.5 each), 'fewer than 5' below the minimum cell count. "
        f"Node logs: {nodes['logs']}",
        highlight=False,
    )


def _print_audit(sites: list[dict[str, Any]]) -> None:
    for s in sites:
        a = s["audit"]
        if a["ok"]:
            console.print(
                f"audit {s['site']}: chain intact, {a['entries']} entries", highlight=False
            )
        else:
            console.print(
                f"[bold red]audit {s['site']}: chain broken[/] ({a['entries']} entries): "
                + "; ".join(p["problem"] for p in a["problems"][:3]),
                highlight=False,
            )
