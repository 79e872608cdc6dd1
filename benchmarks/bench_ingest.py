"""Benchmark: generate and ingest the Pathfinder network; patients/s per modality; VCF vs bcftools.

    python benchmarks/bench_ingest.py [--sites 5] [--patients 1000] [--workers N] [--json]

Per-modality rates are patients (modalities made) per second of reading that kind of source,
across all sites; the VCF ratio compares our adapter (parse, per-sample payloads and rows)
with ``bcftools view`` decompressing and printing the same file.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from cardiofabric.ingest.base import SourceReport
from cardiofabric.ingest.config import load_site_config
from cardiofabric.ingest.pipeline import read_source
from cardiofabric.ingest.runner import FilePool, run_ingest
from cardiofabric.pathfinder.generate import generate_network, load_network

KIND = {
    "fhir-bundle": "clinical",
    "fhir-ndjson": "clinical",
    "omop": "clinical",
    "tabular": "clinical",
    "dicom-ecg": "ecg",
    "wfdb": "ecg",
    "edf": "ecg",
    "dicom": "imaging",
    "vcf": "genomic",
    "wearable": "wearable",
}


def best_of(n: int, fn: Any) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def vcf_ratio(root: Path) -> dict[str, float]:
    vcfs = sorted(root.glob("*/sources/genomics/*.vcf.gz"))
    if not vcfs or shutil.which("bcftools") is None:
        return {}
    vcf = max(vcfs, key=lambda p: p.stat().st_size)
    ours = best_of(
        3, lambda: list(read_source(vcf, "vcf", site="bench", report=SourceReport(str(vcf), "vcf")))
    )
    ref = best_of(
        3,
        lambda: subprocess.run(
            ["bcftools", "view", str(vcf)], check=True, stdout=subprocess.DEVNULL
        ),
    )
    n = int(
        subprocess.run(
            ["bcftools", "view", "-H", str(vcf)], check=True, capture_output=True, text=True
        ).stdout.count("\n")
    )
    return {
        "vcf_records": n,
        "vcf_ours_records_per_s": n / ours,
        "vcf_bcftools_records_per_s": n / ref,
        "vcf_ours_over_bcftools": ref / ours,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sites", type=int, default=5)
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="generate into this folder and keep it")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="cf-ingest-")) / "net"
    try:
        t0 = time.perf_counter()
        generate_network(root, sites=args.sites, patients=args.patients, seed=1)
        t_gen = time.perf_counter() - t0
        per_kind_s: dict[str, float] = defaultdict(float)
        per_kind_n: dict[str, int] = defaultdict(int)
        t0 = time.perf_counter()
        with FilePool(args.workers) as pool:
            for entry in load_network(root)["sites"]:
                report = run_ingest(load_site_config(root / entry["config"]), pool=pool)
                for src in report.sources:
                    per_kind_s[KIND.get(src.format, src.format)] += src.seconds
                    per_kind_n[KIND.get(src.format, src.format)] += src.modalities
        t_ingest = time.perf_counter() - t0
        total = args.sites * args.patients
        result: dict[str, Any] = {
            "sites": args.sites,
            "patients": total,
            "generate_seconds": t_gen,
            "generate_patients_per_s": total / t_gen,
            "ingest_seconds": t_ingest,
            "ingest_patients_per_s": total / t_ingest,
            **{
                f"{k}_patients_per_s": per_kind_n[k] / per_kind_s[k]
                for k in sorted(per_kind_s)
                if per_kind_s[k] > 0
            },
            **{f"{k}_modalities": per_kind_n[k] for k in sorted(per_kind_n)},
            **vcf_ratio(root),
        }
    finally:
        if args.keep is None:
            shutil.rmtree(root.parent, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for k, v in result.items():
        print(f"{k:36s} {v:,.2f}" if isinstance(v, float) else f"{k:36s} {v}")


if __name__ == "__main__":
    main()
