"""``cardiofabric node``: run a site's node (Beacon v2, catalogue, patient consent)."""

from __future__ import annotations

from pathlib import Path

import typer

from cardiofabric.cli._common import err_console, handle_errors

app = typer.Typer(help="Run the site node: Beacon v2 API, DCAT-AP catalogue, consent.",
                  no_args_is_help=True)  # fmt: skip


@app.command("serve")
@handle_errors
def serve(
    site_toml: Path = typer.Argument(
        ..., help="The site's TOML (the ingest configuration with its [node] and [policy])."
    ),
    host: str | None = typer.Option(
        None, "--host", help="Interface to listen on (default: [node] host, else 127.0.0.1)."
    ),
    port: int | None = typer.Option(
        None,
        "--port",
        help="Port to listen on (default: [node] port, else 8701).",
        min=1,
        max=65535,
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
) -> None:
    """Serve the site's node until interrupted; the settings are checked before it listens."""
    from cardiofabric.node.app import create_app
    from cardiofabric.node.config import load_node_settings

    settings = load_node_settings(site_toml, host=host, port=port, log_level=log_level.upper())
    import uvicorn

    err_console.print(
        f"[bold]node[/] {settings.site} on http://{settings.host}:{settings.port} "
        f"(store {settings.store})",
        highlight=False,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level.lower(),
        access_log=False,  # the node logs every request itself, as JSON without personal data
    )
