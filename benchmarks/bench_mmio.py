"""Benchmark: create, write and verify MMIOs of a realistic size; SAID vs raw BLAKE3.

Each object is one patient: a clinical modality (FHIR-derived payload, 40 measurement rows,
4 conditions), a 12-lead 10 s 500 Hz ECG (float32, 240 kB) with 6 feature rows, and a genomic
modality (single-sample VCF text with 200 calls and their variant rows).

    python benchmarks/bench_mmio.py [--objects 10000] [--encrypt] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import blake3
import numpy as np

from cardiofabric.mmio import MMIO, MMIOBuilder, PayloadSpec, Provenance
from cardiofabric.mmio.consent import consent_from_terms
from cardiofabric.mmio.said import canonical_json, digest_bytes, said_of

LOINC = [
    ("2089-1", "mmol/L"),
    ("2093-3", "mmol/L"),
    ("2085-9", "mmol/L"),
    ("8480-6", "mm[Hg]"),
    ("8462-4", "mm[Hg]"),
    ("8867-4", "/min"),
    ("4548-4", "%"),
    ("2160-0", "umol/L"),
]


def make_inputs(i: int, rng: np.random.Generator) -> dict[str, Any]:
    measurements = [
        {
            "code_system": "LOINC",
            "code": c,
            "value": float(rng.normal(5, 1)),
            "unit": u,
            "source_value": "5.1",
            "source_unit": u,
            "source_code": c,
            "source_language": "nld",
            "source_label": "LDL-cholesterol",
            "mapped": True,
            "date": f"2024-01-{1 + j % 28:02d}",
        }
        for j in range(40)
        for c, u in [LOINC[j % len(LOINC)]]
    ]
    conditions = [
        {"code_system": "SNOMEDCT", "code": c, "source_code": c, "mapped": True}
        for c in ("45227007", "49436004", "38341003", "84114007")
    ]
    ecg = rng.normal(0, 0.1, (12, 5000)).astype("<f4").tobytes()
    calls = [(str(1 + k % 22), 100000 + 1000 * k + i, "A", "G") for k in range(200)]
    vcf = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tSAMPLE\n"
    vcf += "".join(f"{c}\t{p}\t.\t{r}\t{a}\t50\tPASS\t.\tGT\t0/1\n" for c, p, r, a in calls)
    variants = [
        {
            "chrom": c,
            "pos": p,
            "ref": r,
            "alt": a,
            "genotype": "0/1",
            "zygosity": "heterozygous",
            "build": "GRCh38",
        }
        for c, p, r, a in calls
    ]
    return {"m": measurements, "c": conditions, "ecg": ecg, "vcf": vcf.encode(), "v": variants}


def build(i: int, inp: dict[str, Any], recipients: list[bytes]) -> MMIO:
    prov = Provenance(
        source_digest=digest_bytes(str(i).encode()),
        source_system="bench",
        adapter="bench",
        adapter_version="1",
        time="2024-01-01T00:00:00Z",
    )
    b = MMIOBuilder(
        pseudonym=f"pt-{i:032x}",
        site="bench",
        consent=consent_from_terms(["GRU"]),
        recipients=recipients,
    )
    fhir = canonical_json({"resourceType": "Bundle", "entry": inp["m"]})
    b.add(
        kind="clinical",
        media_type="application/fhir+json",
        provenance=prov,
        payloads=[PayloadSpec(fhir, "application/fhir+json")],
        content={"measurement": inp["m"], "condition": inp["c"]},
    )
    b.add(
        kind="ecg",
        media_type="application/octet-stream",
        provenance=prov,
        payloads=[PayloadSpec(inp["ecg"], "application/octet-stream", "signal")],
        content={"ecg_feature": [{"feature": "heart_rate", "value": 60.0, "unit": "/min"}] * 6},
    )
    b.add(
        kind="genomic",
        media_type="text/vcf",
        provenance=prov,
        payloads=[PayloadSpec(inp["vcf"], "text/vcf")],
        content={"variant": inp["v"]},
    )
    return b.build()


def said_ratio(objs: list[MMIO], repeat: int = 3) -> dict[str, float]:
    """Throughput of SAID hashing relative to raw BLAKE3 over the same bytes."""
    manifests = [o.manifest.to_json() for o in objs]
    blobs = [canonical_json(m) for m in manifests]
    nbytes = sum(len(b) for b in blobs)

    def best(fn: Any) -> float:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    t_raw = best(lambda: [blake3.blake3(b).digest() for b in blobs])
    # As verify() computes it: over a manifest parsed by a reader that refuses NaN.
    t_said = best(lambda: [said_of(m, assume_finite=True) for m in manifests])
    sample = objs[:200]
    scale = len(objs) / len(sample)  # payload timings describe `sample`; scale to all objects
    payloads = [o._blobs[n] for o in sample for n in o._blobs]
    pbytes = sum(len(p) for p in payloads)
    t_praw = best(lambda: [blake3.blake3(p).digest() for p in payloads])
    t_psaid = best(lambda: [digest_bytes(p) for p in payloads])
    return {
        "manifest_bytes": nbytes,
        "manifest_said_MBps": nbytes / t_said / 1e6,
        "manifest_raw_blake3_MBps": nbytes / t_raw / 1e6,
        "manifest_said_over_raw": t_raw / t_said,
        "payload_said_MBps": pbytes / t_psaid / 1e6,
        "payload_raw_blake3_MBps": pbytes / t_praw / 1e6,
        "payload_said_over_raw": t_praw / t_psaid,
        # Every byte of the same objects hashed once: payloads and manifests together.
        "object_said_over_raw": (t_raw + t_praw * scale) / (t_said + t_psaid * scale),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--encrypt", action="store_true", help="seal payloads with Crypt4GH")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    tmp = Path(tempfile.mkdtemp(prefix="cf-bench-"))
    recipients: list[bytes] = []
    secret: list[bytes] = []
    if args.encrypt:
        from cardiofabric.mmio.crypto import generate_keypair, load_private_key, load_public_key

        kp = generate_keypair(tmp / "keys", "bench")
        recipients, secret = [load_public_key(kp.public)], [load_private_key(kp.secret)]
    inputs = [make_inputs(i, rng) for i in range(min(args.objects, 100))]
    try:
        t0 = time.perf_counter()
        objs = [build(i, inputs[i % len(inputs)], recipients) for i in range(args.objects)]
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        paths = [o.write(tmp / "objects") for o in objs]
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        for p in paths:
            MMIO.open(p).verify(secret_keys=secret)
        t_verify = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in (tmp / "objects").rglob("*") if f.is_file())
        n = args.objects
        result = {
            "objects": n,
            "encrypted": args.encrypt,
            "mean_object_bytes": size / n,
            "build_objects_per_s": n / t_build,
            "write_objects_per_s": n / t_write,
            "verify_objects_per_s": n / t_verify,
            "end_to_end_objects_per_s": n / (t_build + t_write + t_verify),
            **said_ratio(objs[:1000]),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for k, v in result.items():
        print(f"{k:32s} {v:,.2f}" if isinstance(v, float) else f"{k:32s} {v}")
    print(
        f"\nSAID/raw BLAKE3 throughput: payloads {result['payload_said_over_raw']:.2f}, "
        f"manifests {result['manifest_said_over_raw']:.2f} (aim >= 0.5)"
    )


if __name__ == "__main__":
    main()
