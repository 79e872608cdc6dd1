"""``cardiofabric variants prioritise``: rank a patient's genes by variants and phenotype."""

from __future__ import annotations

import contextlib
from pathlib import Path

import typer
from rich.table import Table

from cardiofabric.cli._common import (
    console,
    err_console,
    handle_errors,
    open_knowledge_base,
    print_json,
    progress_bars,
    write_output,
)
from cardiofabric.errors import InputError

__all__ = ["prioritise_command", "read_hpo_file"]


def read_hpo_file(path: Path) -> list[str]:
    """HPO ids from a text file: one or more per line (spaces, commas or tabs between), the
    first word of each item counted, ``#`` starting a comment."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the HPO file ({exc})",
            path=path,
            hint="give a UTF-8 text file with one HPO id (HP:0001639) per line",
        ) from None
    ids: list[str] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        ids += [w for w in line.replace(",", " ").split() if w.upper().startswith("HP")]
    return ids


@handle_errors
def prioritise_command(
    vcf: Path = typer.Argument(..., help="A VCF, bgzipped VCF or BCF, ideally VEP-annotated."),
    sample: str = typer.Option(..., "--sample", "-s", help="The patient: a sample of the VCF."),
    hpo: list[str] | None = typer.Option(
        None, "--hpo", help="A patient HPO term, e.g. HP:0001639 (repeat for several)."
    ),
    hpo_file: Path | None = typer.Option(
        None, "--hpo-file", help="A text file of HPO ids (one per line; # comments)."
    ),
    db: Path | None = typer.Option(
        None,
        "--db",
        help="Knowledge database (DuckDB) with gnomAD, ClinVar, REVEL, CADD and SpliceAI.",
    ),
    top: int = typer.Option(20, "--top", "-n", help="How many genes to report."),
    json_out: bool = typer.Option(False, "--json", help="Print the ranking as JSON."),
    html_out: Path | None = typer.Option(
        None, "--html", help="Write a self-contained HTML report to this file."
    ),
) -> None:
    """Rank the sample's genes by ACMG variant evidence and HPO phenotype match."""
    from cardiofabric.genomics.prioritise import prioritise_vcf, render_html

    if json_out and html_out is not None:
        raise InputError("choose one of --json and --html")
    terms = list(hpo or [])
    if hpo_file is not None:
        terms += read_hpo_file(hpo_file)
    with contextlib.ExitStack() as stack:
        kb = open_knowledge_base(stack, db)
        hook = stack.enter_context(progress_bars(show=err_console.is_terminal and not json_out))
        result = prioritise_vcf(
            vcf,
            sample=sample,
            hpo=terms,
            knowledge=kb,
            top=top,
            progress=lambda n: hook("VCF records classified", n, None),
        )
    if json_out:
        print_json(result.to_json())
        return
    if html_out is not None:
        write_output(render_html(result), html_out)
        err_console.print(f"wrote {html_out}", highlight=False)
        return
    if result.hpo is not None:
        console.print(
            "phenotype: "
            + ", ".join(
                f"{t} {lab}" for t, lab in zip(result.hpo.terms, result.hpo.labels, strict=True)
            ),
            highlight=False,
        )
        for note in result.hpo.notes:
            console.print(f"  note: {note}", highlight=False)
    else:
        console.print("no HPO terms: ranked on the variant score alone", highlight=False)
    table = Table(title=f"Genes of {sample}, best first ({result.genes_considered} with alleles)")
    for col in (
        "rank",
        "gene",
        "disease",
        "variant",
        "classification",
        "variant score",
        "phenotype score",
        "combined",
    ):
        table.add_column(
            col, justify="right" if col.endswith(("rank", "score", "combined")) else "left"
        )
    for g in result.genes:
        hit = g.variants[0]
        table.add_row(
            str(g.rank),
            g.gene,
            g.disease or "–",
            hit.label,
            str(hit.record.classification.tier),
            f"{g.variant_score:.3f}",
            "–" if g.phenotype_score is None else f"{g.phenotype_score:.3f}",
            f"{g.combined:.4f}",
        )
    console.print(table)
