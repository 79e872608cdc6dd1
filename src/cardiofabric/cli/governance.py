"""``cardiofabric governance``: signing keys, data access contracts, revocations, budgets.

Tokens are bearer credentials: they are written to files readable by their owner only and
printed only when asked (``--print``); private keys are never printed.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import typer
from rich.table import Table

from cardiofabric.cli._common import console, handle_errors, print_json
from cardiofabric.errors import InputError

app = typer.Typer(
    help="Signing keys, data access contracts, revocations and privacy budgets.",
    no_args_is_help=True,
)


def _write_token(token: str, out: Path | None, show: bool) -> str | None:
    """Write ``token`` to ``out`` (mode 0600, atomically); None when only printed."""
    if out is None:
        if not show:
            raise InputError(
                "say where the token goes: --out FILE (kept private), or --print",
                hint="tokens are credentials; prefer --out and hand the file over securely",
            )
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(token + "\n")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return str(out)


@app.command("keygen")
@handle_errors
def keygen(
    out: Path = typer.Option(..., "--out", help="Directory for the key files."),
    issuer: str = typer.Option(
        "issuer", "--issuer", help="Issuer id (or site id): the files are ID.key and ID.pub."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Make an Ed25519 key pair for signing contracts (ID.key mode 0600, ID.pub to share)."""
    from cardiofabric.governance.contracts import generate_keys

    pair = generate_keys(out, issuer)
    data = {"private": str(pair.private), "public": str(pair.public), "key_id": pair.key_id}
    if json_out:
        print_json(data)
        return
    console.print(f"private key: {pair.private} (keep it with the issuer; mode 0600)")
    console.print(f"public key:  {pair.public}   key id {pair.key_id}")


@app.command("issue-contract")
@handle_errors
def issue_contract(
    key: Path = typer.Option(..., "--key", help="The issuer's private key (ID.key)."),
    issuer: str = typer.Option(..., "--issuer", help="The issuer's id, as sites know it."),
    researcher: str = typer.Option(..., "--researcher", help="The researcher's id (sub)."),
    dataset: list[str] = typer.Option(..., "--dataset", help="A dataset id; repeat for more."),
    purpose: list[str] = typer.Option(
        ..., "--purpose", help="DUO purpose of the research: GRU, HMB, DS or POA (or code)."
    ),
    action: list[str] = typer.Option(
        ...,
        "--action",
        help="An allowed action: discover-boolean, discover-count, analyse, train, record.",
    ),
    days: float = typer.Option(365.0, "--days", help="Days the contract is valid."),
    audience: list[str] = typer.Option(
        ["cardiofabric:network"],
        "--audience",
        help="A site id the contract is for; default the whole network.",
    ),
    disease: str | None = typer.Option(
        None, "--disease", help="The disease of DS research (MONDO or ICD-10 code)."
    ),
    commercial: bool = typer.Option(False, "--commercial", help="The research is commercial."),
    irb_approved: bool = typer.Option(
        False, "--irb-approved", help="The research has ethics (IRB) approval."
    ),
    country: str | None = typer.Option(
        None, "--country", help="ISO 3166 country where the data are used (DUO GS)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the token here (mode 0600)."),
    show: bool = typer.Option(False, "--print", help="Also print the token itself."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Sign a data access contract (an EdDSA JWT) for a researcher."""
    from cardiofabric.governance.contracts import issue_contract as issue
    from cardiofabric.governance.contracts import load_private_key
    from cardiofabric.governance.purpose import Purpose

    if out is None and not show:
        _write_token("", None, False)  # the same clear refusal, before any signing
    if not days > 0:
        raise InputError(f"expected --days above 0, found {days}")
    p = Purpose(
        tuple(purpose),
        disease=disease,
        commercial=commercial,
        irb_approved=irb_approved,
        country=country,
    )
    token = issue(
        load_private_key(key),
        issuer=issuer,
        researcher=researcher,
        datasets=dataset,
        purpose=p,
        actions=action,
        audience=audience,
        valid_for=timedelta(days=days),
    )
    import jwt

    claims = jwt.decode(token, options={"verify_signature": False})
    path = _write_token(token, out, show)
    data = {
        "contract_id": claims["jti"],
        "token_file": path,
        "expires": claims["exp"],
        "researcher": researcher,
        "actions": claims["actions"],
        "purpose": claims["purpose"],
        "audience": claims["aud"],
    }
    if json_out:
        print_json({**data, **({"token": token} if show else {})})
        return
    console.print(f"contract {claims['jti']} for {researcher}", highlight=False)
    if path:
        console.print(f"token written to {path} (mode 0600)", highlight=False)
    if show:
        console.print(token, highlight=False, soft_wrap=True)


@app.command("patient-token")
@handle_errors
def patient_token(
    key: Path = typer.Option(..., "--key", help="The site's own private key (SITE.key)."),
    site: str = typer.Option(..., "--site", help="The site id (the key's issuer id)."),
    pseudonym: str = typer.Option(..., "--pseudonym", help="The patient's pseudonym."),
    days: float = typer.Option(30.0, "--days", help="Days the token is valid."),
    out: Path | None = typer.Option(None, "--out", help="Write the token here (mode 0600)."),
    show: bool = typer.Option(False, "--print", help="Also print the token itself."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Issue a patient the token with which they change their own consent at this site."""
    from cardiofabric.governance.contracts import issue_patient_token, load_private_key

    if out is None and not show:
        _write_token("", None, False)
    if not days > 0:
        raise InputError(f"expected --days above 0, found {days}")
    token = issue_patient_token(
        load_private_key(key), site=site, pseudonym=pseudonym, valid_for=timedelta(days=days)
    )
    path = _write_token(token, out, show)
    if json_out:
        print_json({"token_file": path, **({"token": token} if show else {})})
        return
    if path:
        console.print(f"patient token written to {path} (mode 0600)", highlight=False)
    if show:
        console.print(token, highlight=False, soft_wrap=True)


@app.command("revoke")
@handle_errors
def revoke(
    contract_id: list[str] = typer.Argument(..., help="Contract ids (jti) to revoke."),
    key: Path = typer.Option(..., "--key", help="The issuer's private key (ID.key)."),
    list_file: Path = typer.Option(
        ..., "--list", help="The revocation list file (created when missing)."
    ),
    issuer: str | None = typer.Option(
        None,
        "--issuer",
        help="The issuer id; default the list's own, or the key file's name for a new list.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Add contracts to the signed revocation list that sites re-read."""
    import jwt

    from cardiofabric.governance.contracts import load_private_key
    from cardiofabric.governance.contracts import revoke as do_revoke

    if issuer is None:
        issuer = key.stem
        if list_file.exists():
            try:
                text = list_file.read_text(encoding="utf-8").strip()
                issuer = str(jwt.decode(text, options={"verify_signature": False})["iss"])
            except (jwt.InvalidTokenError, KeyError, OSError, UnicodeDecodeError):
                pass  # read_revocation_list gives the clear error
    listed = do_revoke(list_file, load_private_key(key), contract_id, issuer=issuer)
    data = {
        "list": str(list_file),
        "issuer": listed.issuer,
        "issued_at": listed.issued_at,
        "revoked": sorted(listed.revoked),
    }
    if json_out:
        print_json(data)
        return
    console.print(
        f"{list_file}: {len(listed.revoked)} revoked contracts, signed by {listed.issuer}",
        highlight=False,
    )


@app.command("budget")
@handle_errors
def budget(
    store: Path = typer.Argument(..., help="The site store directory."),
    researcher: str | None = typer.Option(None, "--researcher", help="Only this researcher."),
    dataset: str | None = typer.Option(None, "--dataset", help="The dataset (with --total)."),
    total: float | None = typer.Option(
        None, "--total", help="Set the researcher's total ε on the dataset (a steward's call)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Show privacy budgets, or set a researcher's total ε on a dataset."""
    from cardiofabric.governance.budget import budgets, set_budget
    from cardiofabric.store import SiteStore

    if total is not None and (researcher is None or dataset is None):
        raise InputError(
            "--total needs --researcher and --dataset",
            hint="e.g. --researcher alice --dataset site-a-cohort --total 10",
        )
    with SiteStore.open(store, read_only=total is None) as s:
        if total is not None:
            assert researcher is not None and dataset is not None
            set_budget(s.connection, researcher, dataset, total)
        rows = budgets(s.connection, researcher)
    if json_out:
        print_json([b.to_json() for b in rows])
        return
    t = Table(title="privacy budgets (ε)")
    for col in ("researcher", "dataset", "total", "spent", "left", "answers"):
        t.add_column(
            col, justify="right" if col in ("total", "spent", "left", "answers") else "left"
        )
    for b in rows:
        t.add_row(
            b.researcher,
            b.dataset,
            f"{b.epsilon_total:g}",
            f"{b.epsilon_spent:g}",
            f"{b.epsilon_left:g}",
            str(b.queries),
        )
    console.print(t)
