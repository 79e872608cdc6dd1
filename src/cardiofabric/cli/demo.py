"""``cardiofabric demo``: the foundation demo on a small example site."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from cardiofabric.cli._common import console, handle_errors, print_json


@handle_errors
def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Where to write the demo's files."),
    no_encrypt: bool = typer.Option(False, "--no-encrypt", help="Store payloads unencrypted."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Build MMIOs from an example FHIR Bundle, VCF and ECGs; store, verify and export them."""
    from cardiofabric.mmio.container import MMIO
    from cardiofabric.pathfinder.demo import run_demo

    with console.status("building the example site…"):
        result = run_demo(out, encrypt=not no_encrypt)
    if json_out:
        print_json(result.to_json())
        return
    t = Table(title=f"example site: {len(result.objects)} patients, one MMIO each")
    for col in ("pseudonym", "object SAID", "modalities", "consent"):
        t.add_column(col)
    for path in result.objects:
        m = MMIO.open(path).manifest
        consent = ", ".join(c.code for c in m.consent.permissions)
        t.add_row(m.pseudonym, m.digest, ", ".join(m.kinds), consent)
    console.print(t)
    console.print(f"[green]verified[/] {result.verified} objects (every digest and payload)")
    info = result.store_info
    console.print(
        f"site store [bold]{result.store}[/]: {info.get('patients')} patients, "
        f"tables {info.get('tables')}",
        highlight=False,
    )
    for p in result.exports:
        console.print(f"export: {p}", highlight=False)
    console.print("\nnext: cardiofabric mmio show " + str(result.objects[0]), highlight=False)
