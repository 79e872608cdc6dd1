"""Benchmark: rebuilding a store's allele counts and answering allele-count queries.

    python benchmarks/bench_alleles.py [--patients 20000] [--rows 1000000] [--json]

The store's tables are synthesised directly with SQL (an ingest of this size would take
minutes and is measured by bench_ingest.py): ``--patients`` patients with a genomic modality,
five consent profiles (one of them withdrawn), sex and five ancestry groups, and ``--rows``
variant rows over about a fifth as many distinct variants, 4% of them on chrX. Figures are the
best of three rebuilds, and the median of 20 runs of each query.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from cardiofabric.store import SiteStore, allele_counts


def synthesise(store: SiteStore, patients: int, rows: int) -> None:
    con = store.connection
    con.execute(
        "INSERT INTO mmio_index SELECT 'p' || i, 'E' || i, ?, ['clinical', 'genomic'], "
        "['M' || i], 'objects/x', now()::TIMESTAMP FROM range(?) t(i)",
        [store.site, patients],
    )
    # Five consent profiles in turn (GRU, HMB, DS, GRU without genomic use, none); every
    # 50th patient has withdrawn.
    con.execute(
        "INSERT INTO consent SELECT 'p' || i, "
        "CASE WHEN i % 50 = 0 THEN 'withdrawn' ELSE 'active' END, 1, "
        "[['DUO:0000042'], ['DUO:0000006'], ['DUO:0000007'], ['DUO:0000042'], []][i % 5 + 1], "
        "[[], [], [], ['DUO:0000016'], []][i % 5 + 1], NULL FROM range(?) t(i)",
        [patients],
    )
    con.execute(
        "INSERT INTO person (pseudonym, object_digest, modality_digest, sex, ancestry) "
        "SELECT 'p' || i, 'E' || i, 'M' || i, CASE WHEN hash(i) % 2 = 0 THEN 'male' "
        "ELSE 'female' END, ['AFR', 'AMR', 'EAS', 'EUR', 'SAS'][(hash(i, 'a') % 5)::BIGINT + 1] "
        "FROM range(?) t(i)",
        [patients],
    )
    distinct = max(1, rows // 5)
    con.execute(
        """INSERT INTO variant (pseudonym, object_digest, modality_digest, sample, build, chrom,
               pos, ref, alt, genotype, zygosity, gene, filter, qual)
           SELECT 'p' || (hash(i, 'p') % ?::UBIGINT), 'E', 'M', 'SAMPLE', 'GRCh38',
                  CASE WHEN v % 25 = 0 THEN 'X' ELSE (1 + v % 22)::VARCHAR END,
                  1000000 + v * 37, 'A', 'G',
                  CASE WHEN hash(i) % 10 = 0 THEN '1/1' ELSE '0/1' END,
                  CASE WHEN hash(i) % 10 = 0 THEN 'homozygous' ELSE 'heterozygous' END,
                  'G' || (v % 2000), 'PASS', 50.0
           FROM (SELECT i, hash(i, 'v') % ? AS v FROM range(?) t(i))""",
        [patients, distinct, rows],
    )


def timed(n: int, fn: Any) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--patients", type=int, default=20_000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        SiteStore.create(Path(tmp) / "store", site="bench") as store,
    ):
        t0 = time.perf_counter()
        synthesise(store, args.patients, args.rows)
        t_synth = time.perf_counter() - t0
        rebuilds = timed(3, store.refresh_allele_counts)
        stats = store.refresh_allele_counts()
        assert stats is not None
        con = store.connection
        allowed = [
            r["profile"]
            for r in store.query("SELECT profile FROM consent_profile WHERE status = 'active'")
        ]
        queries = {
            "one position, all profiles": lambda: allele_counts(
                con, chrom="1", start=1000000 + 37 * 22
            ),
            "one position, allowed profiles, by sex": lambda: allele_counts(
                con, chrom="chr1", start=1000000 + 37 * 22, profiles=allowed, by="sex"
            ),
            "gene (about 100 variants), allowed profiles": lambda: allele_counts(
                con, gene="G22", profiles=allowed
            ),
            "1 Mb range, by ancestry": lambda: allele_counts(
                con, chrom="X", start=1_000_000, end=2_000_000, by="ancestry"
            ),
        }
        result = {
            "patients": args.patients,
            "variant_rows": args.rows,
            "synthesise_seconds": round(t_synth, 2),
            "refresh_seconds_best_of_3": round(min(rebuilds), 3),
            "refresh_seconds_each": [round(t, 3) for t in rebuilds],
            "refresh_variant_rows_per_s": round(args.rows / min(rebuilds)),
            "allele_count_rows": stats.rows,
            "distinct_variants": stats.variants,
            "profiles": stats.profiles,
            "query_ms_median_of_20": {
                name: round(1000 * statistics.median(timed(20, fn)), 2)
                for name, fn in queries.items()
            },
        }
    if args.json:
        print(json.dumps(result, indent=1))
        return
    for k, v in result.items():
        print(f"{k:32} {v}")


if __name__ == "__main__":
    main()
