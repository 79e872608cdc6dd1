"""VCF/BCF (single- or multi-sample, bgzipped or not), read with ``cyvcf2`` (htslib).

One genomic modality per sample: the sample's non-reference calls as a single-sample VCF
payload (its column renamed, since a sample name is often the local id) and one ``variant`` row
per called alternate allele.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, register
from cardiofabric.mmio.container import PayloadSpec
from cardiofabric.mmio.model import ModalityKind

__all__ = ["VcfAdapter", "detect_build"]

# Length of chromosome 1 in each assembly (GRC): the surest build signal in a header.
_CHR1 = {249250621: "GRCh37", 248956422: "GRCh38"}
_ZYGOSITY = {
    1: "heterozygous",
    3: "homozygous",
}  # cyvcf2 gt_types: 0 hom-ref, 1 het, 2 unknown, 3 hom-alt


def detect_build(header: str) -> str | None:
    """GRCh37/GRCh38 from ``##contig`` lengths or the ``##reference`` line; None when unknown."""
    for m in re.finditer(r"##contig=<ID=(?:chr)?1,length=(\d+)", header):
        build = _CHR1.get(int(m.group(1)))
        if build:
            return build
    ref = re.search(r"##reference=(.*)", header)
    if ref:
        text = ref.group(1).lower()
        if "38" in text:
            return "GRCh38"
        if "37" in text or "hg19" in text or "b37" in text:
            return "GRCh37"
    return None


def _gene(variant: Any) -> str | None:
    for key in ("GENE", "GENEINFO"):
        val = variant.INFO.get(key)
        if val:
            return str(val).split(":")[0].split("|")[0]
    ann = variant.INFO.get("ANN")
    if ann:
        parts = str(ann).split(",")[0].split("|")
        if len(parts) > 3 and parts[3]:
            return parts[3]
    return None


@register("vcf")
class VcfAdapter:
    format = "vcf"
    version = "1"

    def read(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        try:
            from cyvcf2 import VCF
        except ImportError:
            raise MissingDependencyError("cyvcf2", "genomics", "VCF ingest") from None
        if not path.exists():
            raise InputError("VCF file not found", path=path)
        try:
            vcf = VCF(str(path), gts012=False)
        except (OSError, Exception) as exc:
            raise InputError(
                f"htslib cannot open this as VCF/BCF ({exc})",
                path=path,
                hint="check that the file is VCF 4.x text, bgzipped VCF or BCF",
            ) from None
        samples = list(vcf.samples)
        if not samples:
            raise InputError(
                "the VCF has no sample columns; nothing to ingest per patient", path=path
            )
        header = vcf.raw_header
        build = ctx.options.get("build") or detect_build(header)
        sample_map: dict[str, str] = ctx.options.get("sample_map", {})
        rows: dict[str, list[dict[str, Any]]] = {s: [] for s in samples}
        lines: dict[str, list[str]] = {s: [] for s in samples}
        try:
            for v in vcf:
                fields = str(v).rstrip("\n").split("\t")
                gts = v.genotypes
                for i, s in enumerate(samples):
                    alleles = [a for a in gts[i][:-1] if a is not None and a > 0]
                    if not alleles:
                        continue
                    lines[s].append("\t".join([*fields[:9], fields[9 + i]]))
                    gt_sep = "|" if gts[i][-1] else "/"
                    gt = gt_sep.join("." if a < 0 else str(a) for a in gts[i][:-1])
                    for a in sorted(set(alleles)):
                        rows[s].append(
                            {
                                "sample": "SAMPLE",
                                "build": build,
                                "chrom": v.CHROM.removeprefix("chr"),
                                "pos": v.POS,
                                "ref": v.REF,
                                "alt": v.ALT[a - 1],
                                "genotype": gt,
                                "zygosity": _ZYGOSITY.get(int(v.gt_types[i]), "heterozygous")
                                if len(gts[i]) > 2
                                else "hemizygous",
                                "gene": _gene(v),
                                "filter": v.FILTER or "PASS",
                                "qual": None if v.QUAL is None else float(v.QUAL),
                            }
                        )
        except Exception as exc:
            raise InputError(f"malformed VCF record ({exc})", path=path) from None
        finally:
            vcf.close()
        head = [ln for ln in header.rstrip("\n").split("\n") if not ln.startswith("##SAMPLE")]
        head[-1] = "\t".join([*head[-1].split("\t")[:9], "SAMPLE"])
        for s in samples:
            if not rows[s]:
                continue
            text = "\n".join(head + lines[s]) + "\n"
            yield ModalityRecord(
                local_id=sample_map.get(s, s),
                kind=ModalityKind.GENOMIC,
                media_type="text/vcf",
                content={"variant": rows[s]},
                payloads=[PayloadSpec(text.encode(), "text/vcf")],
            )
