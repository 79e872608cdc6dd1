"""``cardiofabric mmio``: verify, show and export Multimodal Integration Objects."""

from __future__ import annotations

import json
import os
from enum import StrEnum
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
    write_output,
)
from cardiofabric.errors import DigestMismatchError, InputError, ObjectFormatError

app = typer.Typer(
    help="Verify, show and export Multimodal Integration Objects.", no_args_is_help=True
)

KeyOption = typer.Option(
    None,
    "--key",
    help="Crypt4GH secret key to open encrypted payloads (repeatable). Its passphrase, if any, "
    "is read from CARDIOFABRIC_KEY_PASSPHRASE.",
)


def _secret_keys(paths: list[Path] | None) -> list[bytes]:
    from cardiofabric.mmio.crypto import load_private_key

    phrase = os.environ.get("CARDIOFABRIC_KEY_PASSPHRASE")
    return [load_private_key(p, phrase) for p in paths or []]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such file or directory", path=path) from None
    except OSError as exc:
        raise InputError(
            f"cannot read the file ({exc.strerror or exc})",
            path=path,
            hint="check the path and its permissions",
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ObjectFormatError(
            f"not valid JSON ({exc})",
            path=path,
            hint="the file is truncated or was edited by hand; restore it from the source",
        ) from None


def _must_exist(path: Path) -> None:
    # Say so plainly: "no manifest.json here" for a path that is not there at all misleads.
    if not path.exists():
        raise InputError(
            "no such file or directory",
            path=path,
            hint="check the path; an object is a '.mmio' directory or its manifest.json",
        )


def _kind_of(path: Path) -> tuple[str, Any, str]:
    """What PATH holds, the document to check, and the JSON pointer of that document in the
    file: ('object', None, '') | ('oca', bundle, '' or '/bundle') | ('nextgen', doc, '')."""
    _must_exist(path)
    if path.is_dir() or path.name == "manifest.json":
        return "object", None, ""
    doc = _read_json(path)
    if isinstance(doc, dict):
        if "encoding-type" in doc:
            return "object", None, ""
        if isinstance(doc.get("bundle"), dict):
            # Published OCA files wrap the bundle as {"bundle": ..., "meta": ...}; locations
            # must point into the file as it is on disk, so they start at /bundle.
            return "oca", doc["bundle"], "/bundle"
        if "capture_base" in doc:
            return "oca", doc, ""
        if doc.get("version") == "0.1" and isinstance(doc.get("data"), list):
            return "nextgen", doc, ""
    raise ObjectFormatError(
        "not an MMIO object, an OCA bundle or an MMIO 0.1 JSON document",
        path=path,
        hint="give a '.mmio' directory, its manifest.json, an OCA bundle JSON or MMIO 0.1 JSON",
    )


@app.command("verify")
@handle_errors
def verify(
    path: Path = typer.Argument(
        ...,
        help="An MMIO object (directory or manifest.json), an OCA "
        "bundle JSON, or a NextGen MMIO 0.1 JSON document.",
    ),
    key: list[Path] | None = KeyOption,
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check every digest. Exit 0 when all hold; 1 and the first bad digest's path otherwise."""
    from cardiofabric.mmio.container import MMIO
    from cardiofabric.mmio.oca import verify_bundle

    kind, doc, prefix = _kind_of(path)
    result: dict[str, Any] = {"path": str(path), "kind": kind}
    try:
        if kind == "oca":
            verify_bundle(doc, path=str(path), prefix=prefix)
            result.update(
                digest=doc.get("digest"),
                overlays=sum(
                    len(v) if isinstance(v, list) else 1 for v in doc.get("overlays", {}).values()
                ),
            )
        elif kind == "nextgen":
            from cardiofabric.mmio.nextgen import verify_nextgen

            verify_nextgen(doc, path=str(path))
            result.update(digest=doc.get("id"), items=len(doc["data"]))
        else:
            report = MMIO.open(path).verify(secret_keys=_secret_keys(key))
            result.update(
                digest=report.digest,
                modalities=report.modalities,
                bundles=report.bundles,
                payloads_checked=report.payloads_checked,
                payloads_skipped_encrypted=len(report.skipped),
            )
    except DigestMismatchError as exc:
        result.update(ok=False, location=exc.location, error=exc.message)
        if json_out:
            print_json(result)
        else:
            err_console.print(f"[bold red]FAILED[/] {path}#{exc.location}", highlight=False)
            err_console.print(f"  {exc.message}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    result["ok"] = True
    if json_out:
        print_json(result)
        return
    console.print(f"[bold green]OK[/] {path}", highlight=False)
    for k, v in result.items():
        if k not in ("ok", "path"):
            console.print(f"  {k}: {v}", highlight=False)
    if result.get("payloads_skipped_encrypted"):
        console.print("  (encrypted payloads were not opened: pass --key to check them too)")


@app.command("show")
@handle_errors
def show(
    path: Path = typer.Argument(..., help="An MMIO object directory or its manifest.json."),
    json_out: bool = typer.Option(False, "--json", help="Print the whole manifest as JSON."),
) -> None:
    """Show an object's patient pseudonym, consent and modalities (reads the manifest only)."""
    from cardiofabric.mmio.container import MMIO

    _must_exist(path)
    obj = MMIO.open(path)
    m = obj.manifest
    if json_out:
        print_json(m.to_json())
        return
    console.print(f"[bold]MMIO[/] {m.digest}", highlight=False)
    console.print(f"  patient  {m.pseudonym}   site {m.site}", highlight=False)
    c = m.consent
    terms = (
        ", ".join(t.code + (f" ({t.label})" if t.label else "") for t in c.permissions) or "none"
    )
    console.print(f"  consent  {c.status} v{c.version}: {terms}", highlight=False)
    if c.prohibitions:
        console.print("  prohibits " + ", ".join(t.code for t in c.prohibitions), highlight=False)
    table = Table(title="modalities", show_lines=False)
    for col in ("kind", "media type", "digest", "payloads", "rows", "semantics", "source"):
        table.add_column(col)
    for mod in m.modalities:
        rows = ", ".join(f"{t}:{len(r)}" for t, r in mod.content.items()) or "-"
        enc = " (encrypted)" if any(p.encryption for p in mod.payloads) else ""
        sem = mod.semantics.type if mod.semantics else "-"
        table.add_row(
            mod.kind.value,
            mod.media_type,
            mod.digest[:16] + "…",
            f"{len(mod.payloads)}{enc}",
            rows,
            sem,
            f"{mod.provenance.adapter} {mod.provenance.adapter_version}",
        )
    console.print(table)


class ExportFormat(StrEnum):
    phenopacket = "phenopacket"
    fhir = "fhir"
    mmio_json = "mmio-json"


@app.command("export")
@handle_errors
def export(
    path: Path = typer.Argument(..., help="An MMIO object directory or its manifest.json."),
    fmt: ExportFormat = typer.Option(..., "--format", "-f", help="Export format."),
    out: Path | None = typer.Option(None, "-o", "--output", help="Write here (default: stdout)."),
    key: list[Path] | None = KeyOption,
) -> None:
    """Export as a GA4GH Phenopacket v2, a FHIR R4 Bundle, or NextGen MMIO 0.1 JSON."""
    from cardiofabric.mmio.container import MMIO

    _must_exist(path)
    obj = MMIO.open(path)
    doc: dict[str, Any]
    if fmt is ExportFormat.phenopacket:
        from cardiofabric.mmio.export.phenopacket import to_phenopacket, validate_phenopacket

        doc = to_phenopacket(obj)
        validate_phenopacket(doc)
    elif fmt is ExportFormat.fhir:
        from cardiofabric.mmio.export.fhir import to_fhir_bundle, validate_fhir_bundle

        doc = to_fhir_bundle(obj)
        validate_fhir_bundle(doc)
    else:
        from cardiofabric.mmio.nextgen import export_nextgen

        _secret_keys(key)  # fail early on a bad key, before writing anything
        doc = export_nextgen(obj)
    write_output(json.dumps(doc, indent=2, ensure_ascii=False), out)
    if out is not None:
        err_console.print(f"wrote {fmt.value} to {out}", highlight=False)
