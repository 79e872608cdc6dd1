"""Run every benchmark: ``python benchmarks/run.py`` (figures go to docs/performance.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

RUNS = (
    ("bench_mmio.py", []),
    ("bench_mmio.py", ["--encrypt", "--objects", "2000"]),
    ("bench_ingest.py", []),
    ("bench_prs.py", []),
    ("bench_node.py", []),
    ("bench_classify.py", []),
    ("eval_prioritise.py", []),
)
for script, args in RUNS:
    print(f"== {script} {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, str(HERE / script), *args], check=True)
