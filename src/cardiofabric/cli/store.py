"""``cardiofabric store``: the site store."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from cardiofabric.cli._common import console, handle_errors, print_json

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
