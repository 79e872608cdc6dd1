"""Benchmark: score a synthetic VCF with a synthetic PGS Catalog score; variants/s, peak memory.

    python benchmarks/bench_prs.py [--weights 1000000] [--samples 1000] [--plain] [--json]

The score has ``--weights`` SNPs over chromosomes 1–22 (80 % stated on the VCF's strand as
ALT/REF, 5 % REF/ALT, 5 % on the opposite strand, 10 % palindromic A/T or C/G, which are
excluded); half give ``allelefrequency_effect``. The VCF has one record per score SNP and
``--samples`` samples, genotypes drawn under Hardy–Weinberg with 1 % missing calls (so both
imputation sources are used). It is generated as text with numpy a block at a time and, unless
``--plain``, compressed as BGZF with pysam while it is written.

Generation and scoring each run in a fresh interpreter, so the scorer's peak resident memory
(``getrusage`` ``ru_maxrss``) is its own: reported beside that process's memory after its
imports. Records/s count every VCF record streamed (here each is a score variant).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

BLOCK = 5_000  # records generated at a time
_COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A"}
# Two non-palindromic alternatives per REF, and its palindromic one.
_ALTS = {"A": "CG", "C": "AT", "G": "AT", "T": "CG"}
_CELLS = np.frombuffer(b"0/0\t0/1\t1/1\t./.\t", dtype=np.uint8).reshape(4, 4)


def _variants(n: int, rng: np.random.Generator) -> dict[str, Any]:
    chrom = np.sort(rng.integers(1, 23, size=n))
    pos = np.zeros(n, dtype=np.int64)
    for c in range(1, 23):
        idx = np.flatnonzero(chrom == c)
        pos[idx] = 10_000 + np.arange(len(idx)) * 200 + rng.integers(0, 150, size=len(idx))
    ref = rng.choice(list("ACGT"), size=n)
    kind = rng.choice(4, size=n, p=[0.8, 0.05, 0.05, 0.1])  # altref, refalt, flip, palindromic
    pick = rng.integers(0, 2, size=n)
    alt = np.array(
        [
            _COMPLEMENT[r] if k == 3 else _ALTS[r][p]
            for r, k, p in zip(ref.tolist(), kind.tolist(), pick.tolist(), strict=True)
        ]
    )
    return {
        "chrom": chrom,
        "pos": pos,
        "ref": ref,
        "alt": alt,
        "kind": kind,
        "af": rng.uniform(0.05, 0.6, size=n),
        "weight": rng.normal(0.0, 0.01, size=n),
    }


def write_score(path: Path, v: dict[str, Any]) -> None:
    header = [
        "#format_version=2.0",
        "#pgs_id=PGS_BENCH",
        "#genome_build=GRCh38",
        f"#variants_number={len(v['pos'])}",
        "#weight_type=beta",
        "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\tallelefrequency_effect",
    ]
    with path.open("w", encoding="utf-8") as fh:
        fh.write("\n".join(header) + "\n")
        rows = zip(
            v["chrom"].tolist(),
            v["pos"].tolist(),
            v["ref"].tolist(),
            v["alt"].tolist(),
            v["kind"].tolist(),
            v["weight"].tolist(),
            v["af"].tolist(),
            strict=True,
        )
        for i, (c, p, r, a, k, w, af) in enumerate(rows):
            effect, other = (r, a) if k == 1 else (a, r)
            if k == 2:  # stated on the opposite strand
                effect, other = _COMPLEMENT[effect], _COMPLEMENT[other]
            freq = f"{af:.4f}" if i % 2 == 0 else ""
            fh.write(f"{c}\t{p}\t{effect}\t{other}\t{w:.6g}\t{freq}\n")


def write_vcf(path: Path, v: dict[str, Any], samples: int, plain: bool, seed: int) -> None:
    import pysam

    rng = np.random.default_rng(seed)
    header = (
        "##fileformat=VCFv4.2\n"
        + "".join(f"##contig=<ID={c},length=248956422>\n" for c in range(1, 23))
        + '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
        + "\t".join(f"S{i:05d}" for i in range(samples))
        + "\n"
    )
    out: Any = path.open("wb") if plain else pysam.BGZFile(str(path), "wb")
    with out:
        out.write(header.encode())
        n = len(v["pos"])
        for start in range(0, n, BLOCK):
            stop = min(n, start + BLOCK)
            af = v["af"][start:stop, None].astype(np.float32)
            u = rng.random((stop - start, samples), dtype=np.float32)
            codes = (u > (1 - af) ** 2).astype(np.uint8) + (u > 1 - af**2)
            codes[rng.random(codes.shape, dtype=np.float32) < 0.01] = 3
            cells = _CELLS[codes].reshape(stop - start, samples * 4)
            cells[:, -1] = ord("\n")
            parts = []
            for j, i in enumerate(range(start, stop)):
                parts.append(
                    f"{v['chrom'][i]}\t{v['pos'][i]}\t.\t{v['ref'][i]}\t{v['alt'][i]}\t.\tPASS\t.\tGT\t".encode()
                )
                parts.append(cells[j].tobytes())
            out.write(b"".join(parts))


def score_only(vcf: Path, score: Path) -> dict[str, Any]:
    """Runs in the child process: read the score, stream the VCF, report time and memory."""
    from cardiofabric.genomics import pgs
    from cardiofabric.genomics.prs import score_vcf

    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    sf = pgs.read(score)
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = score_vcf(vcf, sf)
    t_score = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    import cyvcf2

    t0 = time.perf_counter()
    for _ in cyvcf2.VCF(str(vcf), threads=2):  # the floor: htslib parsing every record
        pass
    t_parse = time.perf_counter() - t0
    return {
        "score_read_seconds": t_read,
        "score_read_variants_per_s": len(sf) / t_read,
        "vcf_records": result.vcf_records,
        "score_seconds": t_score,
        "vcf_records_per_s": result.vcf_records / t_score,
        "cyvcf2_parse_only_records_per_s": result.vcf_records / t_parse,
        "matched": result.match.matched,
        "by_rule": result.match.by_rule,
        "excluded_ambiguous": result.match.excluded_ambiguous,
        "match_rate": result.match.match_rate,
        "genotypes_imputed": result.match.imputation,
        "rss_after_imports_mb": base_kb / 1024,
        "peak_rss_mb": peak_kb / 1024,
    }


def generate(root: Path, weights: int, samples: int, plain: bool) -> dict[str, Any]:
    """Runs in a child process (so the scorer's memory is not measured on top of it)."""
    t0 = time.perf_counter()
    v = _variants(weights, np.random.default_rng(7))
    vcf = root / ("bench.vcf" if plain else "bench.vcf.gz")
    write_score(root / "PGS_BENCH.txt", v)
    write_vcf(vcf, v, samples, plain, seed=8)
    kinds = np.bincount(v["kind"], minlength=4).tolist()
    return {
        "vcf": "plain text" if plain else "BGZF",
        "vcf_mb": vcf.stat().st_size / 2**20,
        "generate_seconds": time.perf_counter() - t0,
        "expected_by_kind": dict(
            zip(("altref", "refalt", "altref_flip", "palindromic"), kinds, strict=True)
        ),
    }


def _child(*args: str) -> dict[str, Any]:
    # A fresh interpreter each time: a child forked from a big process would inherit its
    # peak RSS in getrusage (Linux keeps ru_maxrss across fork and exec).
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--weights", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--plain", action="store_true", help="write the VCF uncompressed")
    ap.add_argument("--keep", type=Path, default=None, help="generate into this folder and keep it")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--generate-only", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--score-only", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate_only:
        print(json.dumps(generate(args.generate_only, args.weights, args.samples, args.plain)))
        return
    if args.score_only:
        print(json.dumps(score_only(*args.score_only)))
        return
    root = args.keep or Path(tempfile.mkdtemp(prefix="cf-prs-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        flags = ["--weights", str(args.weights), "--samples", str(args.samples)]
        made = _child("--generate-only", str(root), *flags, *(["--plain"] if args.plain else []))
        vcf = root / ("bench.vcf" if args.plain else "bench.vcf.gz")
        scored = _child("--score-only", str(vcf), str(root / "PGS_BENCH.txt"))
        result = {"weights": args.weights, "samples": args.samples, **made, **scored}
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for k, val in result.items():
        print(f"{k:28s} {val:,.2f}" if isinstance(val, float) else f"{k:28s} {val}")


if __name__ == "__main__":
    main()
