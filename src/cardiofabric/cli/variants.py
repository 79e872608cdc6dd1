"""``cardiofabric variants``: curate a VCF (normalise), check its quality (qc) and classify
its alleles (classify)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from cardiofabric.cli._common import console, handle_errors, print_json
from cardiofabric.cli.classify import classify_command
from cardiofabric.cli.prioritise import prioritise_command

app = typer.Typer(help="VCF curation, quality control and interpretation.", no_args_is_help=True)
app.command("classify")(classify_command)
app.command("prioritise")(prioritise_command)


@app.callback()
def main() -> None:
    """VCF curation, quality control and interpretation."""


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


@app.command("qc")
@handle_errors
def qc(
    vcf: Path = typer.Argument(..., help="A VCF, bgzipped VCF or BCF file."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    per_sample: bool = typer.Option(False, "--per-sample", help="Add one row per sample."),
    min_gq: float = typer.Option(20.0, "--min-gq", help="Lowest acceptable mean GQ."),
    min_dp: float = typer.Option(10.0, "--min-dp", help="Lowest acceptable mean DP."),
    min_ab: float = typer.Option(0.2, "--min-ab", help="Lowest het allele balance."),
    max_ab: float = typer.Option(0.8, "--max-ab", help="Highest het allele balance."),
    max_missing: float = typer.Option(
        0.05, "--max-missing", help="Highest share of missing genotypes."
    ),
    min_hwe_p: float = typer.Option(
        1e-6, "--min-hwe-p", help="Hardy–Weinberg exact test p-value below which a site fails."
    ),
) -> None:
    """Per-variant and per-sample QC of a VCF in one streaming pass."""
    from cardiofabric.genomics.qc import QcThresholds, run_qc

    thresholds = QcThresholds(
        min_gq=min_gq,
        min_dp=min_dp,
        min_ab=min_ab,
        max_ab=max_ab,
        max_missing=max_missing,
        min_hwe_p=min_hwe_p,
    )
    report = run_qc(vcf, thresholds, per_sample=per_sample)
    if json_out:
        print_json(report.to_json())
        return
    console.print(
        f"[bold]{vcf}[/]: {report.variants} variants, {report.samples} samples, "
        f"FILTER pass rate {_num(report.filter_pass_rate, 3)}, Ti/Tv {_num(report.ti_tv)}",
        highlight=False,
    )
    rules = Table(title="Variants by rule")
    for col in ("rule", "judged", "failing"):
        rules.add_column(col, justify="left" if col == "rule" else "right")
    for rule, failing in report.failing.items():
        rules.add_row(rule, str(report.evaluated[rule]), str(failing))
    rules.add_row("any rule", str(report.variants), str(report.failing_any), style="bold")
    console.print(rules)
    console.print(
        f"samples failing: {report.samples_failing_any} of {report.samples} "
        + ", ".join(f"{k} {v}" for k, v in report.samples_failing.items()),
        highlight=False,
    )
    if report.per_sample:
        table = Table(title="Samples")
        for col in ("sample", "call rate", "het/hom", "mean DP", "mean GQ", "Ti/Tv", "fails"):
            table.add_column(col, justify="left" if col in ("sample", "fails") else "right")
        for row in report.per_sample:
            table.add_row(
                row.sample,
                _num(row.call_rate, 3),
                _num(row.het_hom_ratio),
                _num(row.mean_dp, 1),
                _num(row.mean_gq, 1),
                _num(row.ti_tv),
                ", ".join(row.failed),
            )
        console.print(table)


@app.command("normalise")
@handle_errors
def normalise(
    vcf: Path = typer.Argument(..., help="A VCF, bgzipped VCF or BCF file."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .vcf.gz (indexed beside it)."),
    fasta: Path | None = typer.Option(
        None, "--fasta", "-f", help="Reference FASTA: trim and left-align indels, check REF."
    ),
    check_ref: str = typer.Option(
        "error",
        "--check-ref",
        help="A REF that differs from the FASTA: error, warn (keep), exclude or set.",
    ),
    threads: int = typer.Option(1, "--threads", help="Compression threads."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Split multiallelic records and left-align indels (bcftools norm) into an indexed file."""
    from cardiofabric.errors import InputError
    from cardiofabric.genomics.curate import normalise as run_normalise

    if check_ref not in ("error", "warn", "exclude", "set"):
        raise InputError(f"--check-ref must be error, warn, exclude or set; got {check_ref!r}")
    report = run_normalise(
        vcf,
        out,
        fasta=fasta,
        threads=threads,
        check_ref=check_ref,  # type: ignore[arg-type]  # checked just above
    )
    if json_out:
        print_json(report.to_json())
        return
    console.print(
        f"[bold]{report.output}[/] (+ .tbi): {report.records_read} records read, "
        f"{report.split} split, {report.realigned} trimmed or left-aligned; "
        f"build {report.build or 'unknown'}",
        highlight=False,
    )
    if report.ref_mismatches:
        console.print(
            f"REF differs from the FASTA at {report.ref_mismatches} records "
            f"({report.check_ref}): " + "; ".join(report.ref_mismatch_examples[:5]),
            highlight=False,
        )
    if report.unknown_contigs:
        console.print(
            "contigs in the VCF header but not in the FASTA: "
            + ", ".join(report.unknown_contigs[:20]),
            highlight=False,
        )
