"""Evaluate variant prioritisation by spiking known pathogenic variants into real genotypes.

    python benchmarks/eval_prioritise.py [--cases 200] [--seed 7] [--json] [--background VCF ...]

Backgrounds default to the real VCFs Debian ships in its packages (skipped if absent):
``vcfanno-examples`` (Platinum Genomes trio NA12877/NA12889/NA12890), ``python3-vcf``'s
1000 Genomes extract (629 samples) and its GoNL chr20 release (sites only: reported as skipped).
See :mod:`cardiofabric.pathfinder.spike` for what a case is and what the figures do and do not
show. The scoring parameters were fixed beforehand (``benchmarks/tune_prioritise.py`` on
non-cardiovascular OMIM diseases); nothing here is tuned on these cases.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from cardiofabric.pathfinder.spike import run_harness

# Debian package locations (python3-vcf, vcfanno-examples), as the tests use them.
DEBIAN_BACKGROUNDS = (
    Path("/usr/share/doc/vcfanno-examples/example/query.vcf.gz"),
    Path("/usr/share/doc/python3-vcf/test/1kg.vcf.gz"),
    Path("/usr/share/doc/python3-vcf/test/gonl.chr20.release4.gtc.vcf.gz"),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--background", type=Path, action="append", help="a background VCF")
    ap.add_argument("--json", action="store_true", help="print every figure as JSON")
    args = ap.parse_args()
    backgrounds = args.background or [p for p in DEBIAN_BACKGROUNDS if p.is_file()]
    if not backgrounds:
        sys.exit("no background VCF: install python3-vcf / vcfanno-examples or pass --background")
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = run_harness(args.cases, backgrounds=backgrounds, workdir=Path(tmp), seed=args.seed)
    seconds = time.perf_counter() - t
    data = result.to_json()
    data["seconds"] = round(seconds, 1)
    if args.json:
        print(json.dumps(data, indent=2))
        return
    print(
        f"{data['cases']} cases, seed {data['seed']}, backgrounds {data['backgrounds']}, "
        f"skipped {data['skipped_backgrounds']}, {data['mean_genes_ranked']} genes ranked per "
        f"case on average, {seconds:.1f} s"
    )
    print(result.table())


if __name__ == "__main__":
    main()
