"""``cardiofabric ingest``: every source of a site into its store, with a report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from cardiofabric.cli._common import (
    EXIT_FAILED,
    console,
    err_console,
    handle_errors,
    print_json,
    progress_bars,
)


def print_report(data: dict[str, Any]) -> None:
    """A steward's view of an ingest report: per source, then objects."""
    t = Table(title=f"ingest of {data['site']}")
    for col in (
        "source",
        "format",
        "files",
        "read",
        "accepted",
        "rejected",
        "modalities",
        "mapped",
    ):
        t.add_column(col, justify="right" if col not in ("source", "format") else "left")
    for s in data["sources"]:
        cov = s["coverage"]
        mapped = (
            ", ".join(f"{sys} {c['mapped']}/{c['total']}" for sys, c in sorted(cov.items())) or "-"
        )
        t.add_row(
            s["source"],
            s["format"],
            str(s["files"]),
            str(s["read"]),
            str(s["accepted"]),
            str(s["rejected"]),
            str(s["modalities"]),
            mapped,
        )
    console.print(t)
    for s in data["sources"]:
        for r in s["rejections"][:10]:
            console.print(
                f"  [yellow]rejected[/] {s['source']}: {r['record']}: {r['reason']}",
                highlight=False,
            )
        if s["rejected"] > 10:
            console.print(f"  … and {s['rejected'] - 10} more (see --json)")
        for u in s["unmapped"][:5]:
            console.print(
                f"  [cyan]unmapped[/] {u['code_system']} {u['code']} {u['label']!r} ×{u['count']}"
                " (kept with its source code; add it to the site's code map)",
                highlight=False,
            )
    objs = data["objects"]
    console.print(
        f"patients {data['patients']}: added {objs['added']}, unchanged {objs['unchanged']}, "
        f"replaced {objs['replaced']} in {data['seconds']} s → {data['store']}",
        highlight=False,
    )


@handle_errors
def ingest(
    site_config: Path = typer.Argument(..., help="The site's TOML configuration."),
    strict: bool = typer.Option(
        False, "--strict", help="Fail (and store nothing) on any rejection."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Do not show progress bars."),
    workers: int | None = typer.Option(
        None, "--workers", help="Processes reading many-file sources (default: the CPU count)."
    ),
) -> None:
    """Ingest every source of a site into its store: idempotent, atomic per batch, reported.

    The configuration names the site, its language, its store, its pseudonym secret, its
    encryption recipients and its sources (path, format, options); see the README.
    """
    from cardiofabric.ingest.config import load_site_config
    from cardiofabric.ingest.runner import run_ingest

    config = load_site_config(site_config)
    show = not (no_progress or json_out)
    with progress_bars(show) as hook:
        report = run_ingest(config, strict=strict, progress=hook, workers=workers)
    data = report.to_json()
    if json_out:
        print_json(data)
    else:
        print_report(data)
    if strict and report.rejected:
        err_console.print(
            f"[bold red]strict:[/] {report.rejected} records rejected; nothing was stored",
            highlight=False,
        )
        raise typer.Exit(EXIT_FAILED)
