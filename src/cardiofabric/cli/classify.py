"""``cardiofabric variants classify``: ACMG/AMP classification of a VCF's alleles."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import typer
from rich.table import Table

from cardiofabric.cli._common import (
    console,
    err_console,
    handle_errors,
    open_knowledge_base,
    progress_bars,
)
from cardiofabric.errors import InputError
from cardiofabric.genomics.model import Tier

if TYPE_CHECKING:
    from cardiofabric.genomics.classify import ClassificationSummary, ClassifiedRecord

__all__ = ["classify_command", "parse_tier"]

# Tiers from benign (0) to pathogenic (4), and the short names a user may type.
_RANK = {
    Tier.BENIGN: 0,
    Tier.LIKELY_BENIGN: 1,
    Tier.VUS: 2,
    Tier.LIKELY_PATHOGENIC: 3,
    Tier.PATHOGENIC: 4,
}
_SHORT = {
    "B": Tier.BENIGN,
    "LB": Tier.LIKELY_BENIGN,
    "VUS": Tier.VUS,
    "LP": Tier.LIKELY_PATHOGENIC,
    "P": Tier.PATHOGENIC,
}
_STYLE = {
    Tier.PATHOGENIC: "bold red",
    Tier.LIKELY_PATHOGENIC: "red",
    Tier.VUS: "yellow",
    Tier.LIKELY_BENIGN: "green",
    Tier.BENIGN: "green",
}


def parse_tier(text: str) -> Tier:
    """``P``, ``LP``, ``VUS``, ``LB``, ``B`` or a tier's full name (any case)."""
    t = text.strip()
    if t.upper() in _SHORT:
        return _SHORT[t.upper()]
    for tier in Tier:
        if tier.value.lower() == t.lower():
            return tier
    raise InputError(
        f"--min-tier must be one of P, LP, VUS, LB, B (or a tier's full name); got {text!r}"
    )


@contextlib.contextmanager
def _sink(out: Path | None) -> Iterator[TextIO]:
    """stdout, or a temporary file beside ``out`` renamed over it once complete."""
    if out is None:
        yield sys.stdout
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yield fh
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@handle_errors
def classify_command(
    vcf: Path = typer.Argument(..., help="A VCF, bgzipped VCF or BCF, ideally VEP-annotated."),
    db: Path | None = typer.Option(
        None,
        "--db",
        help="Knowledge database (DuckDB) with gnomAD, ClinVar, REVEL, CADD and SpliceAI.",
    ),
    sample: str | None = typer.Option(
        None, "--sample", "-s", help="Classify only the alleles this sample carries."
    ),
    gene: list[str] | None = typer.Option(
        None, "--gene", "-g", help="Only alleles in this gene (repeat for several)."
    ),
    panel_only: bool = typer.Option(
        False,
        "--panel-only",
        help="Only alleles in the panel's genes (much faster on exomes and genomes).",
    ),
    clinvar_assertions: bool = typer.Option(
        False,
        "--clinvar-assertions",
        help="Count ClinVar's own P/LP or B/LB call as PP5/BP6 (off: ClinGen SVI advice).",
    ),
    min_stars: int = typer.Option(
        2, "--min-stars", help="ClinVar review stars needed for PS1, PM5, PP5 and BP6."
    ),
    min_tier: str | None = typer.Option(
        None,
        "--min-tier",
        help="Lowest tier to output: P, LP, VUS, LB or B (default VUS for the table, every "
        "tier for --json/--tsv).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print records and summary as JSON."),
    tsv_out: bool = typer.Option(False, "--tsv", help="Print a tab-separated table."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the --json/--tsv output (TSV by default) to this file."
    ),
    limit: int = typer.Option(50, "--limit", help="Most rows in the on-screen table."),
) -> None:
    """Classify a VCF's alleles by ACMG/AMP with the cardiac gene panel."""
    from cardiofabric.genomics.acmg import ClassifierOptions
    from cardiofabric.genomics.classify import classify_vcf

    if json_out and tsv_out:
        raise InputError("choose one of --json and --tsv")
    if out is not None and not json_out:
        tsv_out = True
    floor = (
        parse_tier(min_tier)
        if min_tier
        else (Tier.VUS if not (json_out or tsv_out) else Tier.BENIGN)
    )
    options = ClassifierOptions(clinvar_assertions=clinvar_assertions, min_clinvar_stars=min_stars)
    genes = list(gene or ())
    if panel_only and not genes:  # --gene already names panel genes or others on purpose
        from cardiofabric.genomics.panel import load_panel

        genes = list(load_panel().genes)
    with contextlib.ExitStack() as stack:
        kb = open_knowledge_base(stack, db)
        hook = stack.enter_context(progress_bars(show=err_console.is_terminal))
        stream = classify_vcf(
            vcf,
            knowledge=kb,
            sample=sample,
            options=options,
            genes=genes or None,
            progress=lambda n: hook("VCF records read", n, None),
        )
        wanted = (r for r in stream if _RANK[r.classification.tier] >= _RANK[floor])
        if json_out:
            with _sink(out) as fh:
                _write_json(fh, wanted, stream.summary)
        elif tsv_out:
            from cardiofabric.genomics.classify import tsv_header

            with _sink(out) as fh:
                fh.write(tsv_header(with_sample=sample is not None) + "\n")
                for r in wanted:
                    fh.write(r.to_tsv_row(with_sample=sample is not None) + "\n")
        else:
            _print_table(wanted, stream.summary, limit, sample)
    summary = stream.summary
    if summary.skipped_total:
        err_console.print(
            f"skipped {summary.skipped_total}: "
            + "; ".join(f"{k} {v}" for k, v in summary.skipped.items()),
            highlight=False,
        )
    if out is not None:
        err_console.print(f"wrote {out}", highlight=False)


def _write_json(
    fh: TextIO, records: Iterator[ClassifiedRecord], summary: ClassificationSummary
) -> None:
    # Streamed record by record so a whole genome does not sit in memory as one list.
    fh.write('{\n  "records": [')
    first = True
    for r in records:
        fh.write(
            ("\n    " if first else ",\n    ")
            + json.dumps(r.to_json(), ensure_ascii=False, default=str)
        )
        first = False
    fh.write('\n  ],\n  "summary": ')
    fh.write(json.dumps(summary.to_json(), ensure_ascii=False, default=str))
    fh.write("\n}\n")


def _print_table(
    records: Iterator[ClassifiedRecord],
    summary: ClassificationSummary,
    limit: int,
    sample: str | None,
) -> None:
    table = Table(title="Classified variants (panel genes)")
    cols = ["variant", "gene", "HGVS", "consequence", "classification", "points", "criteria"]
    if sample:
        cols.insert(1, "genotype")
    for col in cols:
        table.add_column(col, justify="right" if col == "points" else "left")
    shown = hidden = 0
    for r in records:
        cl = r.classification
        # Alleles outside the panel carry no evidence but BA1: not calls worth a row.
        if cl.disease is None and not cl.evidence:
            continue
        if shown >= limit:
            hidden += 1
            continue
        c = cl.consequence
        hgvs = " ".join(x for x in (c.hgvsc if c else None, c.hgvsp if c else None) if x)
        row: list[Any] = [
            str(cl.variant),
            cl.gene or "–",
            hgvs or "–",
            c.terms[0] if c and c.terms else "–",
            f"[{_STYLE[cl.tier]}]{cl.tier}[/]",
            str(cl.points),
            " ".join(cl.criteria) or "–",
        ]
        if sample:
            row.insert(1, f"{r.genotype} ({r.zygosity})")
        table.add_row(*row)
        shown += 1
    console.print(table)
    if hidden:
        console.print(
            f"... and {hidden} more (raise --limit, or use --tsv/--json)", highlight=False
        )
    s = summary
    console.print(
        f"[bold]{s.source}[/]: {s.records} records, {s.alleles} alleles, {s.classified} "
        f"classified ({s.frequency_only} outside the panel: frequency only); annotation "
        f"{s.annotation or 'none'}; build {s.build or 'unknown'}",
        highlight=False,
    )
    console.print(
        "by tier: " + ", ".join(f"{k} {v}" for k, v in s.by_tier.items()),
        highlight=False,
    )
    if s.by_criterion:
        console.print(
            "by criterion: " + ", ".join(f"{k} {v}" for k, v in sorted(s.by_criterion.items())),
            highlight=False,
        )
    if s.sample:
        console.print(f"sample {s.sample}: {s.not_carried} alleles not carried", highlight=False)
