"""Benchmark: ACMG/AMP classification of a synthetic VEP-annotated VCF; variants/s, memory.

    python benchmarks/bench_classify.py [--n 1000000] [--keep DIR] [--json]

The VCF has ``--n`` records over chromosomes 1–22 (5 % of them multi-allelic), one sample, and a
VEP ``CSQ`` of 3–5 transcript entries per allele in VEP's usual 29 sub-fields (with LOFTEE's):
the MANE Select transcript first, then other transcripts of the gene (intronic, NMD,
non-coding) and a neighbouring gene's upstream/downstream entry. 5 % of the records fall in
panel genes (the bundled cardiac panel's symbols and MANE transcripts); consequences are drawn
from a realistic mix (missense 40 %, synonymous 25 %, intronic 20 %, 3'UTR 5 %, splice region
3 %, in-frame 2 %, stop/frameshift/splice site 5 %). It is written as BGZF by pysam.

The knowledge database covers a fraction of the alleles, in each resource's own format: gnomAD
(a sites VCF, 30 % of alleles), REVEL (CSV, half of the missense alleles), SpliceAI (TSV, 20 %),
and ClinVar (VCF with CSQ, 2,000 pathogenic missense alleles in panel genes, for PS1/PM5).

Measured, each in a fresh interpreter (so ``ru_maxrss`` is that pass's own): a bare cyvcf2 loop
reading ``INFO/CSQ`` of every record (the floor); the same loop picking one transcript per
allele from the raw CSQ with ``AnnotationReader.pick_variant`` (parse + annotate, as
``classify_vcf`` does); the general path that parses every entry into a ``Consequence`` and then
``pick``s (parse all, then pick); and ``classify_vcf`` with the knowledge database (annotate,
batched look-ups, criteria). Records/s count VCF records; variants/s count
classified alleles. Peak memory is ``getrusage`` ``ru_maxrss`` next to the process's RSS after
its imports.
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

BLOCK = 20_000
CSQ_FIELDS = (
    "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|HGVSp|"
    "cDNA_position|CDS_position|Protein_position|Amino_acids|Codons|Existing_variation|DISTANCE|"
    "STRAND|FLAGS|SYMBOL_SOURCE|HGNC_ID|MANE_SELECT|CANONICAL|LoF|LoF_filter|LoF_flags|LoF_info"
)
# (term, impact, share); the coding ones get a protein change
KINDS = (
    ("missense_variant", "MODERATE", 0.40),
    ("synonymous_variant", "LOW", 0.25),
    ("intron_variant", "MODIFIER", 0.20),
    ("3_prime_UTR_variant", "MODIFIER", 0.05),
    ("splice_region_variant&intron_variant", "LOW", 0.03),
    ("inframe_deletion", "MODERATE", 0.02),
    ("stop_gained", "HIGH", 0.02),
    ("frameshift_variant", "HIGH", 0.02),
    ("splice_donor_variant", "HIGH", 0.01),
)
AA = "ACDEFGHIKLMNPQRSTVWY"
AA3 = {
    "A": "Ala", "C": "Cys", "D": "Asp", "E": "Glu", "F": "Phe", "G": "Gly", "H": "His",
    "I": "Ile", "K": "Lys", "L": "Leu", "M": "Met", "N": "Asn", "P": "Pro", "Q": "Gln",
    "R": "Arg", "S": "Ser", "T": "Thr", "V": "Val", "W": "Trp", "Y": "Tyr",
}  # fmt: skip
BASES = "ACGT"


def _entry(
    allele: str,
    term: str,
    impact: str,
    symbol: str,
    tx: str,
    *,
    mane: str = "",
    exon: str = "",
    intron: str = "",
    hgvsc: str = "",
    hgvsp: str = "",
    ppos: str = "",
    aa: str = "",
    lof: str = "",
    biotype: str = "protein_coding",
) -> str:
    return "|".join(
        (
            allele,
            term,
            impact,
            symbol,
            f"ENSG{abs(hash(symbol)) % 10**11:011d}",
            "Transcript",
            tx,
            biotype,
            exon,
            intron,
            f"{tx}:{hgvsc}" if hgvsc else "",
            f"ENSP{tx[4:]}:{hgvsp}" if hgvsp else "",
            "",
            "",
            ppos,
            aa,
            "",
            "",
            "",
            "1",
            "",
            "HGNC",
            "HGNC:1",
            mane,
            "YES" if mane else "",
            lof,
            "",
            "",
            "",
        )
    )


def _panel_genes() -> list[tuple[str, str, str, str]]:
    from cardiofabric.genomics.panel import load_panel

    p = load_panel()
    return [(g.symbol, g.chrom, g.mane_ensembl, g.mane_refseq) for g in p.genes.values()]


def write_vcf(path: Path, n: int, seed: int) -> dict[str, Any]:
    """The VCF, and the alleles each knowledge resource will list."""
    import pysam

    rng = np.random.default_rng(seed)
    panel = [g for g in _panel_genes() if g[1].isdigit()]
    chrom = np.sort(rng.integers(1, 23, size=n))
    pos = np.zeros(n, dtype=np.int64)
    for c in range(1, 23):
        idx = np.flatnonzero(chrom == c)
        pos[idx] = 100_000 + np.arange(len(idx)) * 50 + rng.integers(0, 40, size=len(idx))
    in_panel = rng.random(n) < 0.05
    multi = rng.random(n) < 0.05
    shares = np.array([k[2] for k in KINDS])
    kind = rng.choice(len(KINDS), size=n, p=shares / shares.sum())
    extra = rng.integers(2, 5, size=n)  # 2–4 more entries: 3–5 in all
    ppos = rng.integers(1, 2000, size=n)
    exon_total = rng.integers(5, 40, size=n)
    exon_no = (rng.random(n) * exon_total).astype(int) + 1
    ref_i = rng.integers(0, 4, size=n)
    alt_i = (ref_i + rng.integers(1, 4, size=n)) % 4
    aa_ref = rng.integers(0, 20, size=n)
    aa_alt = (aa_ref + rng.integers(1, 20, size=n)) % 20
    gnomad, revel, spliceai, clinvar = [], [], [], []
    header = (
        "##fileformat=VCFv4.2\n"
        "##contig=<ID=1,length=248956422>\n"
        + "".join(f"##contig=<ID={c},length=150000000>\n" for c in range(2, 23))
        + '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from '
        f'Ensembl VEP. Format: {CSQ_FIELDS}">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
    )
    gts = ("0/1", "1/1", "0/0", "0/1")
    with pysam.BGZFile(str(path), "wb") as out:
        out.write(header.encode())
        lines: list[str] = []
        for i in range(n):
            c, p = int(chrom[i]), int(pos[i])
            ref = BASES[ref_i[i]]
            term, impact, _ = KINDS[kind[i]]
            if in_panel[i]:
                symbol, _, tx, refseq = panel[i % len(panel)]
                mane = refseq
            else:
                symbol, tx, mane = (
                    f"G{c}_{p // 50_000}",
                    f"ENST{(c * 10**8 + p // 50):011d}.1",
                    "NM_1.1",
                )
            alt = BASES[alt_i[i]]
            if term in ("inframe_deletion",):
                ref, alt = ref + "GCA", ref
            elif term == "frameshift_variant":
                ref, alt = ref, ref + "T"
            alts = [alt]
            if multi[i] and len(ref) == 1:
                alts.append(
                    BASES[
                        (alt_i[i] + 1) % 4 if (alt_i[i] + 1) % 4 != ref_i[i] else (alt_i[i] + 2) % 4
                    ]
                )
            entries = []
            for j, a in enumerate(alts):
                vep_allele = a[1:] if len(a) != len(ref) and a[0] == ref[0] else a
                if len(a) < len(ref):
                    vep_allele = "-"
                t = term if j == 0 else "missense_variant"
                coding = t in ("missense_variant", "synonymous_variant", "stop_gained")
                pp = int(ppos[i])
                r3, a3 = AA3[AA[aa_ref[i]]], AA3[AA[aa_alt[i]]]
                hgvsp = ""
                aa = ""
                if t == "missense_variant":
                    hgvsp, aa = f"p.{r3}{pp}{a3}", f"{AA[aa_ref[i]]}/{AA[aa_alt[i]]}"
                elif t == "synonymous_variant":
                    hgvsp, aa = f"p.{r3}{pp}=", AA[aa_ref[i]]
                elif t == "stop_gained":
                    hgvsp, aa = f"p.{r3}{pp}Ter", f"{AA[aa_ref[i]]}/*"
                elif t == "frameshift_variant":
                    hgvsp, aa = f"p.{r3}{pp}fs", f"{AA[aa_ref[i]]}/X"
                intronic = "intron" in t or "splice_donor" in t
                ex = "" if intronic else f"{exon_no[i]}/{exon_total[i]}"
                it = f"{max(1, exon_no[i] - 1)}/{exon_total[i] - 1}" if intronic else ""
                hgvsc = (
                    f"c.{pp * 3}+{50 if t == 'intron_variant' else 1}{ref[0]}>{a[0]}"
                    if intronic
                    else f"c.{pp * 3}{ref[0]}>{a[0]}"
                )
                lof = (
                    "HC"
                    if t in ("stop_gained", "frameshift_variant", "splice_donor_variant")
                    else ""
                )
                entries.append(
                    _entry(
                        vep_allele,
                        t,
                        impact,
                        symbol,
                        tx,
                        mane=mane,
                        exon=ex,
                        intron=it,
                        hgvsc=hgvsc,
                        hgvsp=hgvsp,
                        ppos=str(pp) if coding or hgvsp else "",
                        aa=aa,
                        lof=lof,
                    )
                )
                for k in range(int(extra[i])):
                    other_tx = f"{tx[:-2]}{k + 2}.1"
                    if k == int(extra[i]) - 1:
                        entries.append(
                            _entry(
                                vep_allele,
                                "upstream_gene_variant",
                                "MODIFIER",
                                f"N{c}_{p // 50_000}",
                                f"ENST9{c:02d}{p:08d}.1",
                            )
                        )
                    elif k % 2:
                        entries.append(
                            _entry(
                                vep_allele,
                                "intron_variant&NMD_transcript_variant",
                                "MODIFIER",
                                symbol,
                                other_tx,
                                biotype="nonsense_mediated_decay",
                                intron="2/9",
                            )
                        )
                    else:
                        entries.append(
                            _entry(
                                vep_allele,
                                t,
                                impact,
                                symbol,
                                other_tx,
                                exon=ex,
                                intron=it,
                                hgvsp=hgvsp,
                                aa=aa,
                                ppos=str(pp + 12) if hgvsp else "",
                            )
                        )
                key = (str(c), p, ref, a)
                u = rng.random()
                if u < 0.30:
                    gnomad.append(key)
                if t == "missense_variant" and u < 0.5:
                    revel.append(key)
                if u > 0.8:
                    spliceai.append(key)
                if in_panel[i] and t == "missense_variant" and len(clinvar) < 2000 and u < 0.2:
                    clinvar.append((key, symbol, tx, pp, hgvsp, aa))
            info = ",".join(entries)
            lines.append(
                f"{c}\t{p}\t.\t{ref}\t{','.join(alts)}\t50\tPASS\tCSQ={info}\tGT\t{gts[i % 4]}\n"
            )
            if len(lines) >= BLOCK:
                out.write("".join(lines).encode())
                lines = []
        out.write("".join(lines).encode())
    return {"gnomad": gnomad, "revel": revel, "spliceai": spliceai, "clinvar": clinvar}


def write_knowledge(root: Path, listed: dict[str, Any], seed: int) -> Path:
    from cardiofabric.genomics.resources import KnowledgeBase

    rng = np.random.default_rng(seed)
    g = root / "gnomad.vcf"
    with g.open("w") as fh:
        fh.write(
            "##fileformat=VCFv4.2\n##contig=<ID=1,length=248956422>\n"
            '##INFO=<ID=AC,Number=A,Type=Integer,Description="AC">\n'
            '##INFO=<ID=AN,Number=1,Type=Integer,Description="AN">\n'
            '##INFO=<ID=AF,Number=A,Type=Float,Description="AF">\n'
            '##INFO=<ID=nhomalt,Number=A,Type=Integer,Description="hom">\n'
            '##INFO=<ID=faf95_popmax,Number=A,Type=Float,Description="faf">\n'
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        )
        ac = rng.integers(1, 20_000, size=len(listed["gnomad"])) ** 2 // 20_000 + 1
        for (c, p, r, a), x in zip(listed["gnomad"], ac.tolist(), strict=True):
            af = x / 150_000
            fh.write(
                f"{c}\t{p}\t.\t{r}\t{a}\t.\tPASS\tAC={x};AN=150000;AF={af:.6g};"
                f"nhomalt={int(x * af / 2)};faf95_popmax={af * 0.8:.6g}\n"
            )
    rv = root / "revel.csv"
    with rv.open("w") as fh:
        fh.write("chr,hg19_pos,grch38_pos,ref,alt,aaref,aaalt,REVEL,Ensembl_transcriptid\n")
        for (c, p, r, a), s in zip(listed["revel"], rng.random(len(listed["revel"])), strict=True):
            fh.write(f"{c},.,{p},{r},{a},R,Q,{s:.3f},ENST\n")
    sp = root / "spliceai.tsv"
    with sp.open("w") as fh:
        fh.write("chrom\tpos\tref\talt\tmax_delta\n")
        for (c, p, r, a), s in zip(
            listed["spliceai"], rng.random(len(listed["spliceai"])) ** 3, strict=True
        ):
            fh.write(f"{c}\t{p}\t{r}\t{a}\t{s:.2f}\n")
    cv = root / "clinvar.vcf"
    with cv.open("w") as fh:
        fh.write(
            "##fileformat=VCFv4.1\n"
            '##INFO=<ID=CLNSIG,Number=.,Type=String,Description="sig">\n'
            '##INFO=<ID=CLNREVSTAT,Number=.,Type=String,Description="rev">\n'
            '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="gene">\n'
            '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from '
            f'Ensembl VEP. Format: {CSQ_FIELDS}">\n'
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        )
        for n, ((c, p, r, a), sym, tx, pp, hgvsp, aa) in enumerate(listed["clinvar"]):
            # a different nucleotide change at the same residue: PS1 or PM5 for the VCF allele
            alt = "ACGT"[("ACGT".index(a) + 1) % 4]
            alt = alt if alt != r else "ACGT"[("ACGT".index(a) + 2) % 4]
            e = _entry(
                alt,
                "missense_variant",
                "MODERATE",
                sym,
                tx,
                mane="NM_1.1",
                hgvsp=hgvsp,
                ppos=str(pp),
                aa=aa,
            )
            fh.write(
                f"{c}\t{p + 1}\t{n}\t{r}\t{alt}\t.\t.\tCLNSIG=Pathogenic;CLNREVSTAT=criteria_"
                f"provided,_multiple_submitters,_no_conflicts;GENEINFO={sym}:1;CSQ={e}\n"
            )
    db = root / "knowledge.duckdb"
    with KnowledgeBase.open(db, read_only=False, create=True) as kb:
        kb.add("gnomad", g)
        kb.add("clinvar", cv)
        kb.add("revel", rv, build="GRCh38")
        kb.add("spliceai", sp)
    return db


def generate(root: Path, n: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    vcf = root / "bench.vcf.gz"
    listed = write_vcf(vcf, n, seed=11)
    t_vcf = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_knowledge(root, listed, seed=12)
    return {
        "vcf_mb": vcf.stat().st_size / 2**20,
        "generate_vcf_seconds": t_vcf,
        "build_knowledge_seconds": time.perf_counter() - t0,
        "knowledge_rows": {k: len(v) for k, v in listed.items()},
    }


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bare(vcf: Path) -> dict[str, Any]:
    """The floor: htslib parses every record and Python reads its CSQ string."""
    import cyvcf2

    base = _rss()
    t0 = time.perf_counter()
    n = chars = 0
    for rec in cyvcf2.VCF(str(vcf), lazy=True, samples=[]):
        value = rec.INFO.get("CSQ")
        chars += len(value) if value else 0
        n += 1
    t = time.perf_counter() - t0
    return {
        "records": n,
        "seconds": t,
        "records_per_s": n / t,
        "csq_mb": chars / 2**20,
        "rss_after_imports_mb": base,
        "peak_rss_mb": _rss(),
    }


def annotate(vcf: Path) -> dict[str, Any]:
    """Pick one transcript per allele from each CSQ (what classify does before lookups):
    ``AnnotationReader.pick_variant``, which builds a Consequence for the chosen entry only."""
    import cyvcf2

    from cardiofabric.genomics.annotation import AnnotationReader
    from cardiofabric.genomics.panel import load_panel

    preferred = load_panel().preferred_transcripts()
    base = _rss()
    t0 = time.perf_counter()
    v = cyvcf2.VCF(str(vcf), lazy=True, samples=[])
    reader = AnnotationReader.from_vcf(v)
    assert reader is not None
    n = picked = 0
    for rec in v:
        chosen = reader.pick_variant(rec, rec.REF, rec.ALT, preferred=preferred)
        picked += sum(c is not None for c in chosen)
        n += 1
    t = time.perf_counter() - t0
    return {
        "records": n,
        "seconds": t,
        "records_per_s": n / t,
        "alleles_picked": picked,
        "rss_after_imports_mb": base,
        "peak_rss_mb": _rss(),
    }


def parse_all(vcf: Path) -> dict[str, Any]:
    """Parse every transcript entry of every CSQ into a Consequence, then ``pick`` per allele
    (the general path, for readers that need all transcripts)."""
    import cyvcf2

    from cardiofabric.genomics.annotation import AnnotationReader, pick
    from cardiofabric.genomics.panel import load_panel

    preferred = load_panel().preferred_transcripts()
    base = _rss()
    t0 = time.perf_counter()
    v = cyvcf2.VCF(str(vcf), lazy=True, samples=[])
    reader = AnnotationReader.from_vcf(v)
    assert reader is not None
    n = entries = picked = 0
    for rec in v:
        cs = reader.parse_variant(rec)
        entries += len(cs)
        ref = rec.REF
        alts = rec.ALT
        for alt in alts:
            picked += pick(cs, alt, ref, preferred=preferred, alts=alts) is not None
        n += 1
    t = time.perf_counter() - t0
    return {
        "records": n,
        "seconds": t,
        "records_per_s": n / t,
        "transcript_entries": entries,
        "entries_per_s": entries / t,
        "alleles_picked": picked,
        "rss_after_imports_mb": base,
        "peak_rss_mb": _rss(),
    }


def classify(vcf: Path, db: Path) -> dict[str, Any]:
    from collections import Counter

    from cardiofabric.genomics.classify import classify_vcf
    from cardiofabric.genomics.resources import KnowledgeBase

    base = _rss()
    t0 = time.perf_counter()
    tiers: Counter[str] = Counter()
    with KnowledgeBase.open(db) as kb:
        stream = classify_vcf(vcf, knowledge=kb)
        for r in stream:
            tiers[str(r.classification.tier)] += 1
    t = time.perf_counter() - t0
    s = stream.summary
    return {
        "records": s.records,
        "alleles_classified": s.classified,
        "seconds": t,
        "records_per_s": s.records / t,
        "variants_per_s": s.classified / t,
        "by_tier": dict(tiers),
        "panel_alleles": s.classified - s.frequency_only,
        "by_criterion": dict(s.by_criterion.most_common(12)),
        "rss_after_imports_mb": base,
        "peak_rss_mb": _rss(),
    }


def _child(*args: str) -> dict[str, Any]:
    # A fresh interpreter each time, so ru_maxrss is that measurement's own.
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=1_000_000, help="VCF records")
    ap.add_argument("--keep", type=Path, default=None, help="generate into this folder, keep it")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        what, *paths = args.step
        fn = {
            "generate": lambda: generate(Path(paths[0]), args.n),
            "bare": lambda: bare(Path(paths[0])),
            "annotate": lambda: annotate(Path(paths[0])),
            "parse_all": lambda: parse_all(Path(paths[0])),
            "classify": lambda: classify(Path(paths[0]), Path(paths[1])),
        }[what]
        print(json.dumps(fn()))
        return
    root = args.keep or Path(tempfile.mkdtemp(prefix="cf-classify-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        vcf, db = root / "bench.vcf.gz", root / "knowledge.duckdb"
        made = (
            _child("--n", str(args.n), "--step", "generate", str(root))
            if not (vcf.is_file() and db.is_file())
            else {"reused": str(root)}
        )
        floor = _child("--step", "bare", str(vcf))
        ann = _child("--step", "annotate", str(vcf))
        full = _child("--step", "parse_all", str(vcf))
        cls = _child("--step", "classify", str(vcf), str(db))
        result = {
            "records": args.n,
            **made,
            "bare_cyvcf2_csq": floor,
            "parse_annotate": ann,
            "parse_all_then_pick": full,
            "classify": cls,
            "parse_annotate_vs_bare_time_ratio": ann["seconds"] / floor["seconds"],
            "parse_all_vs_bare_time_ratio": full["seconds"] / floor["seconds"],
            "classify_vs_bare_time_ratio": cls["seconds"] / floor["seconds"],
        }
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for k, val in result.items():
        if isinstance(val, dict):
            print(k)
            for k2, v2 in val.items():
                print(f"  {k2:28s} {v2:,.2f}" if isinstance(v2, float) else f"  {k2:28s} {v2}")
        else:
            print(f"{k:30s} {val:,.2f}" if isinstance(val, float) else f"{k:30s} {val}")


if __name__ == "__main__":
    main()
