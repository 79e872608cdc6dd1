"""``cardiofabric audit``: the site's hash-chained audit log."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from cardiofabric.cli._common import EXIT_FAILED, console, handle_errors, print_json

app = typer.Typer(help="Check and read the site's hash-chained audit log.", no_args_is_help=True)


@app.command("verify")
@handle_errors
def verify(
    store: Path = typer.Argument(..., help="The site store directory."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check the audit chain; exit 1 naming each edited, inserted or deleted entry."""
    from cardiofabric.governance.audit import verify as check
    from cardiofabric.store import SiteStore

    with SiteStore.open(store, read_only=True) as s:
        report = check(s.connection)
    if json_out:
        print_json(report.to_json())
    elif report.ok:
        console.print(f"[green]ok[/] {report.entries} entries; head {report.head}", highlight=False)
    else:
        console.print(f"[bold red]the audit log was tampered with[/] ({report.entries} entries)")
        for seq, what in report.problems:
            console.print(f"  entry {seq}: {what}", highlight=False)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


@app.command("show")
@handle_errors
def show(
    store: Path = typer.Argument(..., help="The site store directory."),
    limit: int = typer.Option(20, "--limit", min=0, help="Show the newest N entries."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """The newest audit entries: who asked what, for which purpose, and what was decided."""
    from cardiofabric.governance.audit import show as newest
    from cardiofabric.store import SiteStore

    with SiteStore.open(store, read_only=True) as s:
        entries = newest(s.connection, limit=limit)
    if json_out:
        print_json([e.to_json() for e in entries])
        return
    t = Table(title="audit log")
    for col in ("seq", "time (UTC)", "caller", "contract", "endpoint", "decision", "size"):
        t.add_column(col, justify="right" if col in ("seq", "size") else "left")
    for e in entries:
        t.add_row(
            str(e.seq),
            e.logged_at.isoformat(sep=" ", timespec="seconds"),
            e.caller,
            e.contract_id or "",
            e.endpoint,
            e.decision,
            "" if e.result_size is None else str(e.result_size),
        )
    console.print(t)
    if entries:
        console.print(f"head {entries[-1].hash}", highlight=False)
