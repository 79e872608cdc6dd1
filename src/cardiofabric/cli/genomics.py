"""``cardiofabric genomics``: the site's knowledge base of variant resources, and the panel."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.table import Table

from cardiofabric.cli._common import console, handle_errors, print_json, progress_bars

app = typer.Typer(
    help="Variant interpretation resources: the knowledge base and the cardiac gene panel.",
    no_args_is_help=True,
)
resource_app = typer.Typer(
    help="The knowledge base: gnomAD, ClinVar, REVEL, CADD and SpliceAI in one DuckDB file.",
    no_args_is_help=True,
)
app.add_typer(resource_app, name="resource")

#: The knowledge base when --db is not given: $CARDIOFABRIC_KNOWLEDGE, else this file.
DEFAULT_DB = "knowledge.duckdb"
ENV_DB = "CARDIOFABRIC_KNOWLEDGE"

_DB_HELP = f"The knowledge base file (default: ${ENV_DB}, else ./{DEFAULT_DB})."


def _db(path: Path | None) -> Path:
    if path is not None:
        return path
    return Path(os.environ.get(ENV_DB) or DEFAULT_DB)


@app.callback()
def main() -> None:
    """Variant interpretation resources: the knowledge base and the cardiac gene panel."""


@resource_app.callback()
def resource_main() -> None:
    """The knowledge base: gnomAD, ClinVar, REVEL, CADD and SpliceAI in one DuckDB file."""


@resource_app.command("add")
@handle_errors
def add(
    kind: str = typer.Argument(..., help="gnomad, clinvar, revel, cadd or spliceai."),
    file: Path = typer.Argument(..., help="The resource file as its publisher distributes it."),
    db: Path | None = typer.Option(None, "--db", help=_DB_HELP),
    build: str | None = typer.Option(
        None, "--build", help="GRCh37 or GRCh38, for files that do not say (REVEL, TSVs)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Add (or replace) one resource in the knowledge base, creating the base if needed."""
    from cardiofabric.genomics.resources import KnowledgeBase

    path = _db(db)
    with (
        KnowledgeBase.open(path, read_only=False, create=True) as kb,
        progress_bars(not json_out) as bars,
    ):
        info = kb.add(
            kind.lower(), file, build=build, progress=lambda n: bars(f"{kind} records", n, None)
        )
    if json_out:
        print_json({"knowledge": str(path), **info.to_json()})
        return
    console.print(
        f"[bold]{info.kind}[/] from {info.source}: {info.rows} alleles, build "
        f"{info.build or 'unknown'}, BLAKE3 {info.digest[:16]}… → {path}",
        highlight=False,
    )
    if info.skipped:
        console.print(
            f"skipped {info.skipped} records: "
            + "; ".join(f"{why} ({n})" for why, n in info.skip_reasons.items()),
            highlight=False,
        )


@resource_app.command("list")
@handle_errors
def list_resources(
    db: Path | None = typer.Option(None, "--db", help=_DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the resources as JSON."),
) -> None:
    """List the resources in the knowledge base: source, digest, rows, build, skips."""
    from cardiofabric.genomics.resources import KnowledgeBase

    path = _db(db)
    with KnowledgeBase.open(path) as kb:
        infos = kb.resources()
        build = kb.build
    if json_out:
        print_json(
            {"knowledge": str(path), "build": build, "resources": [i.to_json() for i in infos]}
        )
        return
    table = Table(title=f"{path} ({build or 'no build yet'})")
    for col in ("kind", "source", "alleles", "skipped", "build", "BLAKE3", "added"):
        table.add_column(col, justify="right" if col in ("alleles", "skipped") else "left")
    for i in infos:
        table.add_row(
            i.kind,
            i.source,
            str(i.rows),
            str(i.skipped),
            i.build or "–",
            i.digest[:16] + "…",
            i.added_at,
        )
    console.print(table)
    if not infos:
        console.print("no resources yet: cardiofabric genomics resource add KIND FILE")


@app.command("panel")
@handle_errors
def panel(
    condition: str | None = typer.Option(
        None, "--condition", help="Only genes of this condition (HCM, DCM, ARVC, LQTS, ...)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the panel as JSON."),
) -> None:
    """List the bundled cardiac gene panel: genes, MANE transcripts, conditions, mechanisms."""
    from cardiofabric.errors import InputError
    from cardiofabric.genomics.panel import load_panel

    p = load_panel()
    genes = list(p.genes.values())
    if condition is not None:
        want = condition.strip().upper()
        known = {c.upper(): c for c in p.conditions}
        if want not in known:
            raise InputError(
                f"unknown condition {condition!r}",
                hint=f"use one of: {', '.join(p.conditions)}",
            )
        genes = [g for g in genes if known[want] in g.conditions]
    if json_out:
        print_json(
            {
                "panel": p.name,
                "version": p.version,
                "condition": condition,
                "genes": [
                    {
                        "symbol": g.symbol,
                        "hgnc_id": g.hgnc_id,
                        "chrom": g.chrom,
                        "mane_refseq": g.mane_refseq,
                        "mane_ensembl": g.mane_ensembl,
                        "conditions": list(g.conditions),
                        "diseases": [
                            {
                                "condition": d.condition,
                                "disease": d.disease,
                                "classification": d.classification,
                                "inheritance": d.inheritance,
                            }
                            for d in g.diseases
                        ],
                        "lof_mechanism": g.lof_mechanism,
                        "missense_mechanism": g.missense_mechanism,
                        "truncating_only": g.truncating_only,
                    }
                    for g in genes
                ],
            }
        )
        return
    title = f"{p.name or 'cardiac panel'} {p.version}".strip()
    table = Table(title=title + (f" — {condition}" if condition else ""))
    for col in ("gene", "MANE Select", "conditions", "ClinGen", "inheritance", "mechanism"):
        table.add_column(col)
    for g in genes:
        mech = [m for m, on in (("LOF", g.lof_mechanism), ("missense", g.missense_mechanism)) if on]
        table.add_row(
            g.symbol,
            f"{g.mane_refseq} / {g.mane_ensembl}",
            ", ".join(g.conditions),
            ", ".join(dict.fromkeys(d.classification for d in g.diseases)),
            ", ".join(dict.fromkeys(d.inheritance for d in g.diseases)),
            ", ".join(mech) + (" (truncating only)" if g.truncating_only else ""),
        )
    console.print(table)
    console.print(f"{len(genes)} genes", highlight=False)
