"""Benchmark: Beacon count queries against a running site node, over loopback.

    python benchmarks/bench_node.py [--patients 100000] [--variants 1000000] [--json]

A store is synthesised directly with SQL (an ingest of this size takes minutes and is measured
by bench_ingest.py): ``--patients`` patients (sex, birth year, five consent profiles with every
50th withdrawn, an LDL-cholesterol result each, hypertension for about a third, ECG and genomic
modalities for some) and ``--variants`` variant rows, then the allele counts are rebuilt. A real
uvicorn serves the node on a free port; clients use httpx over loopback with a contract token
(actions discover-count; a DP budget large enough for the run).

Measured:

- the individuals count query ``sex = female AND LDL > 160 mg/dL AND hypertension (with
  descendants)`` at 1 and 32 concurrent clients: p50/p95 latency and throughput;
- the same count run directly in DuckDB: the very SQL text and parameters the node executes for
  it (consent clause included, built from the node's own grant), and the ratio of the node's
  p50 to it: what the HTTP layer, the token check, the gate (consent, DP noise, budget and
  audit writes) and building the SQL (the filters' unit lookup) add;
- a g_variants count by gene (allele-count tables) at 1 client.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from cardiofabric.governance.contracts import generate_keys, issue_contract, load_private_key
from cardiofabric.governance.purpose import Purpose
from cardiofabric.store import SiteStore

SITE = "bench-site"
QUERY = {
    "meta": {"apiVersion": "v2.0"},
    "query": {
        "requestedGranularity": "count",
        "filters": [
            {"id": "NCIT:C16576"},
            {"id": "LOINC:2089-1", "operator": ">", "value": "160 mg/dL"},
            {"id": "SNOMED:38341003"},
        ],
    },
}


def synthesise(store: SiteStore, patients: int, variants: int) -> None:
    con = store.connection
    con.execute(
        "INSERT INTO mmio_index SELECT 'p' || i, 'E' || i, ?, "
        "CASE WHEN i % 4 = 0 THEN ['clinical', 'ecg', 'genomic'] ELSE ['clinical', 'ecg'] END, "
        "['M' || i], 'objects/x', now()::TIMESTAMP FROM range(?) t(i)",
        [store.site, patients],
    )
    con.execute(
        "INSERT INTO consent SELECT 'p' || i, "
        "CASE WHEN i % 50 = 0 THEN 'withdrawn' ELSE 'active' END, 1, "
        "[['DUO:0000042'], ['DUO:0000006'], ['DUO:0000007'], ['DUO:0000042'], []][i % 5 + 1], "
        "[[], [], [], ['DUO:0000016'], []][i % 5 + 1], NULL FROM range(?) t(i)",
        [patients],
    )
    con.execute(
        "INSERT INTO person (pseudonym, object_digest, modality_digest, sex, birth_year, "
        "ancestry, index_date) SELECT 'p' || i, 'E' || i, 'M' || i, "
        "CASE WHEN hash(i) % 2 = 0 THEN 'male' ELSE 'female' END, 1940 + (hash(i, 'y') % 45), "
        "'unknown', DATE '2015-01-01' + (hash(i, 'd') % 1000)::INTEGER FROM range(?) t(i)",
        [patients],
    )
    # LDL in mmol/L (canonical), about N(3.4, 1.0): ~12% above 160 mg/dL (4.14 mmol/L).
    con.execute(
        "INSERT INTO measurement (pseudonym, object_digest, modality_digest, code_system, code, "
        "label, value, unit, category, date) SELECT 'p' || i, 'E' || i, 'M' || i, 'LOINC', "
        "'2089-1', 'Cholesterol in LDL', 3.4 + ((hash(i, 'l') % 2000)::DOUBLE - 1000) / 800, "
        "'mmol/L', 'laboratory', TIMESTAMP '2016-01-01' FROM range(?) t(i)",
        [patients],
    )
    con.execute(
        "INSERT INTO condition (pseudonym, object_digest, modality_digest, code_system, code, "
        "label, status) SELECT 'p' || i, 'E' || i, 'M' || i, 'SNOMEDCT', '38341003', "
        "'Hypertensive disorder', 'active' FROM range(?) t(i) WHERE hash(i, 'h') % 3 = 0",
        [patients],
    )
    genomic = max(1, patients // 4)
    distinct = max(1, variants // 5)
    con.execute(
        """INSERT INTO variant (pseudonym, object_digest, modality_digest, sample, build, chrom,
               pos, ref, alt, genotype, zygosity, gene, filter, qual)
           SELECT 'p' || ((hash(i, 'p') % ?::UBIGINT) * 4), 'E', 'M', 'SAMPLE', 'GRCh38',
                  (1 + v % 22)::VARCHAR, 1000000 + v * 37, 'A', 'G', '0/1', 'heterozygous',
                  'G' || (v % 2000), 'PASS', 50.0
           FROM (SELECT i, hash(i, 'v') % ? AS v FROM range(?) t(i))""",
        [genomic, distinct, variants],
    )
    store.refresh_allele_counts()
    con.execute("CHECKPOINT")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def _run(
    url: str, headers: dict[str, str], body: dict[str, Any], clients: int, n: int
) -> dict[str, float]:
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(count: int) -> None:
        with httpx.Client(timeout=60) as c:
            for _ in range(count):
                t0 = time.perf_counter()
                r = c.post(url, json=body, headers=headers)
                dt = time.perf_counter() - t0
                r.raise_for_status()
                with lock:
                    latencies.append(dt)

    per = max(1, n // clients)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, [per] * clients))
    wall = time.perf_counter() - t0
    return {
        "requests": len(latencies),
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * _pct(latencies, 0.95),
        "throughput_rps": len(latencies) / wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--variants", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=200, help="requests per measurement")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from cardiofabric.node.app import create_app
    from cardiofabric.node.beacon import entries
    from cardiofabric.node.beacon.request import parse_post
    from cardiofabric.node.config import load_node_settings

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        with SiteStore.create(root / "store", site=SITE) as store:
            synthesise(store, args.patients, args.variants)
        build_s = time.perf_counter() - t0
        keys = generate_keys(root / "keys", "dac")
        port = _free_port()
        (root / "site.toml").write_text(
            f'[site]\nname = "{SITE}"\nstore = "store"\n\n[node]\nport = {port}\n'
            f'[node.issuers]\n"dac" = "{keys.public}"\n\n[policy]\nmin_cell_count = 5\n'
            "[policy.dp]\nepsilon_per_query = 0.5\nepsilon_budget = 1000000.0\n"
        )
        settings = load_node_settings(root / "site.toml", log_level="WARNING")
        token = issue_contract(
            load_private_key(keys.private),
            issuer="dac",
            researcher="bench",
            datasets=[SITE],
            purpose=Purpose(("DUO:0000006",), irb_approved=True, commercial=False),
            actions=["discover-count"],
            audience=SITE,
            valid_for=timedelta(hours=2),
        )
        headers = {"Authorization": f"Bearer {token}"}
        app = create_app(settings)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        url = f"{base}/api/individuals"
        try:
            for _ in range(5):  # warm-up (HPO ontology, caches)
                httpx.post(url, json=QUERY, headers=headers, timeout=60).raise_for_status()
            one = _run(url, headers, QUERY, 1, args.requests)
            many = _run(url, headers, QUERY, 32, max(args.requests, 32 * 10))
            gene = {
                "meta": {},
                "query": {"requestedGranularity": "count", "requestParameters": {"geneId": "G42"}},
            }
            variants = _run(f"{base}/api/g_variants", headers, gene, 1, max(20, args.requests // 4))
            answer = httpx.post(url, json=QUERY, headers=headers).json()
            # The same count straight in DuckDB: the SQL and parameters the node runs for it.
            ctx = app.state.ctx
            caller = ctx.gate.authenticate(headers["Authorization"])
            grant = ctx.gate.authorise(caller, action="discover-count", dataset=SITE)
            req = parse_post(QUERY, max_filters=32, max_limit=1000)
            scope = entries.Scope(grant.consent_keys, grant.profiles, consents=grant.consents)
            direct: list[float] = []
            con = ctx.cursor()
            try:
                sql, params = entries.count_individuals_sql(con, req, scope)
                for _ in range(max(20, args.requests // 4)):
                    t0 = time.perf_counter()
                    row = con.execute(sql, params).fetchone()
                    direct.append(time.perf_counter() - t0)
                true_count = int(row[0]) if row else 0
                assert true_count == entries.count_individuals(con, req, scope)
            finally:
                con.close()
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    direct_p50 = 1000 * statistics.median(direct)
    result = {
        "patients": args.patients,
        "variant_rows": args.variants,
        "store_build_s": round(build_s, 1),
        "true_count": true_count,
        "released": answer["responseSummary"],
        "count_1_client": {k: round(v, 2) for k, v in one.items()},
        "count_32_clients": {k: round(v, 2) for k, v in many.items()},
        "g_variants_gene_1_client": {k: round(v, 2) for k, v in variants.items()},
        "duckdb_direct_p50_ms": round(direct_p50, 2),
        "node_to_duckdb_p50_ratio": round(one["p50_ms"] / direct_p50, 1),
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(
        f"store: {args.patients:,} patients, {args.variants:,} variant rows "
        f"(built in {build_s:.1f} s); true count {true_count}, released {answer['responseSummary']}"
    )
    for name in ("count_1_client", "count_32_clients", "g_variants_gene_1_client"):
        r = result[name]
        print(
            f"{name:26} p50 {r['p50_ms']:8.2f} ms  p95 {r['p95_ms']:8.2f} ms  "
            f"{r['throughput_rps']:7.1f} req/s  ({r['requests']} requests)"
        )
    print(
        f"DuckDB direct p50 {direct_p50:.2f} ms; node p50 / direct = "
        f"{result['node_to_duckdb_p50_ratio']}x"
    )


if __name__ == "__main__":
    main()
