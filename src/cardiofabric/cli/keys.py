"""``cardiofabric keys``: Crypt4GH key pairs for encryption at rest."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from cardiofabric.cli._common import console, handle_errors, print_json
from cardiofabric.errors import InputError

app = typer.Typer(help="Crypt4GH key pairs for encrypting payloads at rest.", no_args_is_help=True)


@app.command("generate")
@handle_errors
def generate(
    name: str = typer.Argument(..., help="Base name of the key files (NAME.sec, NAME.pub)."),
    directory: Path = typer.Option(Path("."), "--dir", help="Where to write the key files."),
    passphrase_env: str | None = typer.Option(
        None,
        "--passphrase-env",
        help="Name of an environment variable holding the passphrase that locks the secret key.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Generate a Crypt4GH key pair (standard format, readable by the crypt4gh tool)."""
    from cardiofabric.mmio.crypto import generate_keypair, key_id, load_public_key

    passphrase = os.environ.get(passphrase_env) if passphrase_env else None
    if passphrase_env and not passphrase:
        # Asked for a locked key: writing an unlocked one instead would fail open.
        raise InputError(
            f"the environment variable {passphrase_env} is not set or empty",
            hint=f"export {passphrase_env}=<passphrase>, or leave out --passphrase-env "
            "for a key without a passphrase",
        )
    pair = generate_keypair(directory, name, passphrase)
    kid = key_id(load_public_key(pair.public))
    if json_out:
        print_json({"secret": str(pair.secret), "public": str(pair.public), "key_id": kid})
        return
    console.print(f"secret key: {pair.secret} (keep it on the site; mode 0400)")
    console.print(f"public key: {pair.public}   key id {kid}")
    if not passphrase:
        console.print("[yellow]the secret key is not locked with a passphrase[/]")
