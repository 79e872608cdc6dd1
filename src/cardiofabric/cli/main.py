"""The ``cardiofabric`` command."""

from __future__ import annotations

import typer

from cardiofabric import __version__
from cardiofabric.cli import (
    audit,
    demo,
    ecg,
    genomics,
    governance,
    ingest,
    keys,
    mmio,
    node,
    pathfinder,
    prs,
    store,
    variants,
)

app = typer.Typer(
    name="cardiofabric",
    help="Genomic, imaging, ECG, clinical and wearable cardiology data, usable together across "
    "hospitals without moving patient data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(mmio.app, name="mmio")
app.add_typer(store.app, name="store")
app.add_typer(keys.app, name="keys")
app.add_typer(governance.app, name="governance")
app.add_typer(audit.app, name="audit")
app.add_typer(node.app, name="node")
app.add_typer(ecg.app, name="ecg")
app.add_typer(pathfinder.app, name="pathfinder")
app.add_typer(prs.app, name="prs")
app.add_typer(variants.app, name="variants")
app.add_typer(genomics.app, name="genomics")
app.command("demo")(demo.demo)
app.command("ingest")(ingest.ingest)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cardiofabric {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """CardioFabric command line."""


if __name__ == "__main__":  # pragma: no cover
    app()
