"""``cardiofabric store``: the site store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer
from rich.table import Table

from cardiofabric.cli._common import console, handle_errors, print_json

if TYPE_CHECKING:
    from cardiofabric.store.alleles import Stratum

app = typer.Typer(help="Inspect a site store.", no_args_is_help=True)


@app.command("info")
@handle_errors
def info(
    store: Path = typer.Argument(..., help="The site store directory."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Patients, objects, modalities, table sizes and consent of a site store."""
    from cardiofabric.store import SiteStore

    with SiteStore.open(store, read_only=True) as s:
        data = s.info().to_json()
    if json_out:
        print_json(data)
        return
    console.print(f"[bold]site store[/] {data['path']}   site {data['site']}", highlight=False)
    console.print(
        f"  schema v{data['schema_version']}   {data['patients']} patients   "
        f"{data['objects']} objects",
        highlight=False,
    )
    t = Table(title="contents")
    t.add_column("what")
    t.add_column("count", justify="right")
    for k, v in sorted(data.get("modalities", {}).items()):
        t.add_row(f"modality {k}", str(v))
    for k, v in sorted(data.get("tables", {}).items()):
        t.add_row(f"table {k}", str(v))
    for k, v in sorted(data.get("consent", {}).items()):
        t.add_row(f"consent {k}", str(v))
    console.print(t)


@app.command("refresh")
@handle_errors
def refresh(
    store: Path = typer.Argument(..., help="The site store directory (opened writable)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Rebuild the store's allele counts (the cohort view of variants Beacon answers from)."""
    from cardiofabric.store import SiteStore

    with SiteStore.open(store) as s:
        stats = s.refresh_allele_counts()
    assert stats is not None  # always rebuilt without only_if_stale
    if json_out:
        print_json(stats.to_json())
        return
    console.print(
        f"allele counts rebuilt: {stats.variants} variants, {stats.rows} rows over "
        f"{stats.profiles} consent profiles, {stats.genotyped} patients genotyped "
        f"({stats.seconds:.2f} s)",
        highlight=False,
    )


@app.command("alleles")
@handle_errors
def alleles(
    store: Path = typer.Argument(..., help="The site store directory."),
    chrom: str | None = typer.Option(None, "--chrom", help="Contig: 1..22, X, Y, MT (or chr1)."),
    start: int | None = typer.Option(
        None, "--start", help="1-based position; alone, the variants at this position."
    ),
    end: int | None = typer.Option(
        None, "--end", help="With --start: variants overlapping start..end (inclusive)."
    ),
    gene: str | None = typer.Option(None, "--gene", help="HGNC gene symbol, e.g. MYBPC3."),
    build: str | None = typer.Option(None, "--build", help="GRCh37 or GRCh38 (hg19/hg38)."),
    by: str | None = typer.Option(None, "--by", help="Stratify: sex or ancestry."),
    by_profile: bool = typer.Option(
        False, "--by-profile", help="One row per consent profile (with the profile's key)."
    ),
    limit: int = typer.Option(200, "--limit", help="Most rows to show."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """A steward's view of the allele counts: every consent profile summed, no consent filter."""
    from cardiofabric.errors import InputError
    from cardiofabric.store import SiteStore, allele_counts
    from cardiofabric.store.alleles import counts_are_current

    if by is not None and by not in ("sex", "ancestry"):
        raise InputError(f"expected --by sex or --by ancestry, found {by!r}")
    if by is not None and by_profile:
        raise InputError(
            "expected one stratification, found both --by and --by-profile",
            hint="leave one of them out",
        )
    stratum: Stratum | None = "profile" if by_profile else cast("Stratum | None", by)
    with SiteStore.open(store, read_only=True) as s:
        current = counts_are_current(s.connection)
        rows = allele_counts(
            s.connection,
            build=build,
            chrom=chrom,
            start=start,
            end=end,
            gene=gene,
            by=stratum,
            limit=limit,
        )
    stale = "the counts are older than the store's objects or consents; rebuild them with: "
    stale += f"cardiofabric store refresh {store}"
    if json_out:
        print_json({"current": current, "alleles": [r.to_json() for r in rows]})
        return
    if not current:
        console.print(f"[yellow]note:[/] {stale}", highlight=False)
    t = Table(title=f"allele counts ({len(rows)} rows, all consent profiles)")
    for col in ("variant", "gene", "stratum", "AC", "AN", "AF", "het", "hom", "hemi", "carriers"):
        t.add_column(col, justify="left" if col in ("variant", "gene", "stratum") else "right")
    for r in rows:
        t.add_row(
            f"{r.build} {r.chrom}:{r.pos} {r.ref}>{r.alt}",
            r.gene or "",
            r.stratum or "all",
            str(r.ac),
            str(r.an),
            "–" if r.af is None else f"{r.af:.4g}",
            str(r.het),
            str(r.hom),
            str(r.hemi),
            str(r.carriers),
        )
    console.print(t)
