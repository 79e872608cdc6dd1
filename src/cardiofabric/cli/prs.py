"""``cardiofabric prs``: polygenic risk scores of a VCF's samples from a PGS Catalog score."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from cardiofabric.cli._common import console, handle_errors, print_json, progress_bars, write_output

app = typer.Typer(help="Polygenic risk scores (PGS Catalog scoring files).", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Polygenic risk scores (PGS Catalog scoring files)."""


def _num(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def print_match_report(data: dict[str, Any]) -> None:
    m, imp, ref = data["match"], data["imputation"], data["reference"]
    t = Table(title=f"variants of {data['pgs_id']} matched in the VCF")
    t.add_column("variants")
    t.add_column("count", justify="right")
    t.add_row("in the score", str(m["variants_in_score"]))
    for rule, n in m["by_rule"].items():
        if n:
            t.add_row(f"  matched: {rule}", str(n))
    t.add_row("matched (used)", str(m["matched"]))
    if not m["keep_ambiguous"]:
        t.add_row("excluded: ambiguous A/T, C/G", str(m["excluded_ambiguous"]))
    t.add_row("unmatched", str(m["unmatched"]))
    if m["duplicates"]:
        t.add_row("duplicate records ignored", str(m["duplicates"]))
    console.print(t)
    console.print(
        f"match rate {m['match_rate']:.1%} (minimum {m['min_match']:.0%})   "
        f"builds: score {data['genome_build']['score'] or '?'}, "
        f"VCF {data['genome_build']['vcf'] or '?'}",
        highlight=False,
    )
    if imp["variants_with_missing_genotypes"]:
        console.print(
            f"missing genotypes mean-imputed at {imp['variants_with_missing_genotypes']} "
            f"variants, frequency from {imp['frequency_from']}",
            highlight=False,
        )
    against = "the scored samples" if ref["kind"] == "sample set" else f"reference {ref['source']}"
    n = f", n = {ref['n']}" if ref["n"] else ""
    console.print(
        f"z against {against}: mean {ref['mean']:.4g}, sd {ref['sd']:.4g}{n}", highlight=False
    )


@app.command("score")
@handle_errors
def score(
    vcf: Path = typer.Argument(..., help="Multi-sample VCF or BCF (plain, gzipped or bgzipped)."),
    pgs: Path = typer.Option(
        ..., "--pgs", help="PGS Catalog scoring file (.txt or .txt.gz, harmonised or not)."
    ),
    min_match: float = typer.Option(
        0.75,
        "--min-match",
        help="Refuse when fewer than this share of the score's variants match (pgsc_calc's "
        "default).",
    ),
    keep_ambiguous: bool = typer.Option(
        False, "--keep-ambiguous", help="Keep palindromic A/T and C/G SNPs (excluded by default)."
    ),
    reference: Path | None = typer.Option(
        None,
        "--reference",
        help="Reference distribution for z: a table with mean and sd, or reference scores (a "
        "'raw' column, as -o writes). Default: the scored samples.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    out: Path | None = typer.Option(None, "-o", "--out", help="Write per-sample scores as TSV."),
) -> None:
    """Score every sample of a VCF with a PGS Catalog score: raw, z and the match report."""
    from cardiofabric.genomics.prs import score_vcf

    with progress_bars(not json_out) as hook:
        result = score_vcf(
            vcf,
            pgs,
            min_match=min_match,
            keep_ambiguous=keep_ambiguous,
            reference=reference,
            progress=hook,
        )
    if out is not None:
        write_output(result.to_tsv(), out)
    data = result.to_dict()
    if json_out:
        print_json(data)
        return
    t = Table(title=f"{data['pgs_id']} on {len(data['samples'])} samples")
    t.add_column("sample")
    t.add_column("raw", justify="right")
    t.add_column("z", justify="right")
    t.add_column("variants used", justify="right")
    t.add_column("imputed", justify="right")
    for s in data["samples"]:
        t.add_row(
            s["sample"],
            _num(s["raw"]),
            _num(s["z"], 3),
            str(s["variants_used"]),
            str(s["variants_imputed"]),
        )
    console.print(t)
    print_match_report(data)
    if out is not None:
        console.print(f"wrote {len(data['samples'])} scores to {out}", highlight=False)
