"""VCF/BCF, single- or multi-sample, plain, gzipped or bgzipped, read with ``cyvcf2`` (htslib).

One genomic modality per sample that carries at least one alternate allele: a ``variant`` row
per called alternate allele, and as payload the sample's own non-reference records as a
single-sample VCF (its column renamed ``SAMPLE``, since a sample name is often the local id).

Scale. The file is read once, streaming. Which samples carry a record is found from the
genotype array in one vectorised step (VCF 4.3 §1.6.2 ``GT``), so the per-sample work is done
for carriers only. What is gathered per sample (payload lines and compact row tuples) stays in
memory up to a budget (option ``memory_mb``, default 256) and is spilled to one temporary file
beyond it; each sample's record is assembled when the file has been read. Memory is then the
budget plus the largest single sample, whatever the number of samples.

Options (``ctx.options``): ``build`` (GRCh37 | GRCh38; otherwise detected from the header),
``sample_map`` (sample name → local patient id, inline or as a two-column TSV/CSV file, also
``sample_map_file``: samples not in it are reported and skipped), ``memory_mb``.

Bad input. A record htslib cannot parse is a rejection naming its line (``line 17``; for BCF
``record 12``) and saying what is wrong; a damaged or truncated compressed file is an
:class:`~cardiofabric.errors.InputError` before anything is read.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import re
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.genomics.builds import detect_build
from cardiofabric.ingest.base import ModalityRecord, SourceContext, register
from cardiofabric.mmio.container import PayloadSpec
from cardiofabric.mmio.model import ModalityKind

__all__ = ["VcfAdapter", "detect_build"]

# The empty BGZF block that ends every complete BGZF file (SAM/BAM spec v1 §4.1.2).
_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_MAX_CONSECUTIVE_ERRORS = 20
_ZYGOSITY = ("hemizygous", "homozygous", "heterozygous")
_ROW_BYTES = 160  # about what a row tuple and its strings hold in memory
_EXPLAINED = 100  # bad lines explained in detail; later ones get the short reason
# A row before it becomes a dict: chrom, pos, ref, alt, genotype, zygosity, gene, filter, qual.
_Row = tuple[str, int, str, str, str, str, str | None, str | None, float | None]


def _open_text(path: Path, gz: bool) -> gzip.GzipFile | io.BufferedReader:
    return gzip.open(path, "rb") if gz else path.open("rb")


def _inspect(path: Path) -> tuple[bool, int | None]:
    """``(is_bcf, header_lines)`` after checking that a compressed file is whole.

    A BGZF file ends with the empty EOF block; a gzip file without it (plain gzip, or BGZF
    written by an old bgzip) is decompressed once to the end, so truncation is found here
    rather than as a half-read source.
    """
    with path.open("rb") as fh:
        head = fh.read(18)
        gz = head[:2] == b"\x1f\x8b"
        eof = False
        if gz and len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC":
            fh.seek(max(0, path.stat().st_size - len(_BGZF_EOF)))
            eof = fh.read() == _BGZF_EOF
    try:
        if gz and not eof:
            with gzip.open(path, "rb") as z:
                while z.read(1 << 20):
                    pass
        with _open_text(path, gz) as fh:
            if fh.read(3) == b"BCF":
                return True, None
            fh.seek(0)
            n = 0
            for line in fh:
                if not line.startswith(b"#"):
                    break
                n += 1
            return False, n
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(
            f"the compressed file is damaged or truncated ({exc})",
            path=path,
            hint="copy or download the file again; check it with: bgzip --test FILE",
        ) from None


def _sample_map(options: dict[str, Any], path: Path) -> dict[str, str]:
    value = options.get("sample_map") or options.get("sample_map_file")
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    file = Path(str(value))
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read the sample map ({exc})", path=file) from None
    out: dict[str, str] = {}
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = [c.strip() for c in line.split("\t" if "\t" in line else ",")]
        if len(cols) < 2 or not cols[0] or not cols[1]:
            raise InputError(
                f"sample map line {n}: expected 'sample<TAB>local_id', found {line!r}", path=file
            )
        out[cols[0]] = cols[1]
    return out


def _info_gene(variant: Any) -> str | None:
    """The gene an INFO ``GENE`` or ``GENEINFO`` (dbSNP/ClinVar: ``SYMBOL:GeneID|...``) names."""
    for key in ("GENE", "GENEINFO"):
        val = variant.INFO.get(key)
        if val:
            return str(val).split(":")[0].split("|")[0] or None
    return None


def _gene_reader(vcf: Any) -> Callable[[Any, list[str]], list[str | None]]:
    """A function giving a record's gene symbol per ALT allele.

    From the VEP ``CSQ`` or SnpEff ``ANN`` annotation when the file carries one: the gene of the
    transcript consequence :func:`~cardiofabric.genomics.annotation.pick` chooses for that
    allele (MANE Select, the cardiac panel's transcript, canonical, then the most severe), so
    that a variant in overlapping genes gets the gene its interpretation uses. Otherwise, or
    when the annotation names no gene for the allele (intergenic) or cannot be read, from
    INFO ``GENE``/``GENEINFO``. An unreadable annotation never rejects the call: the variant is
    stored without the gene rather than lost.
    """
    from cardiofabric.genomics.annotation import AnnotationReader
    from cardiofabric.genomics.panel import load_panel

    reader = AnnotationReader.from_vcf(vcf)
    if reader is None:

        def from_info(variant: Any, alts: list[str]) -> list[str | None]:
            return [_info_gene(variant)] * len(alts)

        return from_info
    preferred = load_panel().preferred_transcripts()

    def annotated(variant: Any, alts: list[str]) -> list[str | None]:
        try:
            # One consequence per allele, chosen on the raw fields: the same choice as
            # pick(parse(...)) (proved in the annotation tests), without building the rest.
            picked = reader.pick_variant(variant, variant.REF, alts, preferred=preferred)
        except InputError:
            picked = [None] * len(alts)
        out: list[str | None] = []
        fallback: str | None = None
        for c in picked:
            if c is not None and c.gene:
                out.append(c.gene)
            else:
                fallback = fallback or _info_gene(variant)
                out.append(fallback)
        return out

    return annotated


class _Spool:
    """Per-sample payload lines and rows: in memory up to a budget, then in one temp file."""

    def __init__(self, n: int, budget: int) -> None:
        self.lines: list[list[str]] = [[] for _ in range(n)]
        self.rows: list[list[_Row]] = [[] for _ in range(n)]
        self.segments: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        self.budget = budget
        self.held = 0
        self.spilled = 0
        self._file: IO[bytes] | None = None

    def account(self, size: int) -> None:
        """Count what was appended to ``lines``/``rows``; spill when over the budget."""
        self.held += size
        if self.held > self.budget:
            self._spill()

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="cardiofabric-vcf-")  # noqa: SIM115 (close())
        f = self._file
        for i, lines in enumerate(self.lines):
            if lines:
                blob = pickle.dumps((lines, self.rows[i]), protocol=pickle.HIGHEST_PROTOCOL)
                self.segments[i].append((f.seek(0, os.SEEK_END), len(blob)))
                f.write(blob)
                self.spilled += len(blob)
                self.lines[i], self.rows[i] = [], []
        self.held = 0

    def take(self, i: int) -> tuple[list[str], list[_Row]]:
        lines: list[str] = []
        rows: list[_Row] = []
        for offset, size in self.segments[i]:
            assert self._file is not None
            self._file.seek(offset)
            got_lines, got_rows = pickle.loads(self._file.read(size))  # our own temp file
            lines += got_lines
            rows += got_rows
        lines += self.lines[i]
        rows += self.rows[i]
        self.lines[i], self.rows[i], self.segments[i] = [], [], []
        return lines, rows

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _row(r: _Row, build: str | None) -> dict[str, Any]:
    return {
        "sample": "SAMPLE",
        "build": build,
        "chrom": r[0],
        "pos": r[1],
        "ref": r[2],
        "alt": r[3],
        "genotype": r[4],
        "zygosity": r[5],
        "gene": r[6],
        "filter": r[7],
        "qual": r[8],
    }


def _explain(path: Path, bad: list[int], header_lines: int, n_samples: int) -> dict[int, str]:
    """Why htslib refused some lines of a text VCF (VCF 4.3 §1.6: tab-separated columns)."""
    wanted = {header_lines + k: k for k in bad[:_EXPLAINED]}
    out: dict[int, str] = {}
    expected = 9 + n_samples if n_samples else 8
    with path.open("rb") as probe:
        gz = probe.read(2) == b"\x1f\x8b"
    with _open_text(path, gz) as fh:
        for n, raw in enumerate(fh, start=1):
            if n in wanted:
                cols = raw.rstrip(b"\r\n").split(b"\t")
                if len(cols) < expected:
                    why = f"{len(cols)} tab-separated columns, expected {expected}"
                elif not cols[1].isdigit():
                    why = f"POS {cols[1][:20].decode(errors='replace')!r} is not a position"
                elif b"" in cols:
                    why = f"column {cols.index(b'') + 1} is empty (a missing value is '.')"
                else:
                    why = "htslib cannot parse this record"
                out[wanted[n]] = f"malformed VCF record: {why} (VCF 4.3 §1.6)"
            if n >= max(wanted, default=0):
                break
    return out


@register("vcf")
class VcfAdapter:
    format = "vcf"
    version = "2"

    def read(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        try:
            from cyvcf2 import VCF
        except ImportError:
            raise MissingDependencyError("cyvcf2", "genomics", "VCF ingest") from None
        if not path.is_file():
            raise InputError("VCF file not found", path=path)
        is_bcf, header_lines = _inspect(path)
        try:
            vcf = VCF(str(path), gts012=False, lazy=True)
        except Exception as exc:  # cyvcf2 raises OSError or plain Exception
            raise InputError(
                f"htslib cannot open this as VCF/BCF ({exc})",
                path=path,
                hint="check that the file is VCF 4.x text, (b)gzipped VCF or BCF, and that its "
                "header lines and #CHROM line are tab-separated (VCF 4.3 §1.5)",
            ) from None
        try:
            yield from self._read(vcf, path, ctx, is_bcf, header_lines)
        finally:
            vcf.close()

    def _read(
        self, vcf: Any, path: Path, ctx: SourceContext, is_bcf: bool, header_lines: int | None
    ) -> Iterator[ModalityRecord]:
        samples = list(vcf.samples)
        if not samples:
            raise InputError(
                "the VCF has no sample columns; nothing to ingest per patient", path=path
            )
        mapping = _sample_map(ctx.options, path)
        if mapping:
            for s in samples:
                if s not in mapping:
                    ctx.reject(f"sample {s}", "not in the sample map: not ingested")
            samples = [s for s in samples if s in mapping]
            if not samples:
                raise InputError("none of the VCF's samples is in the sample map", path=path)
            vcf.set_samples(samples)
        header = vcf.raw_header
        build = ctx.options.get("build") or detect_build(header)
        date = re.search(r"##fileDate=(\d{4})(\d{2})(\d{2})", header)
        time = f"{date.group(1)}-{date.group(2)}-{date.group(3)}" if date else None
        gene_of = _gene_reader(vcf)
        spool = _Spool(len(samples), int(float(ctx.options.get("memory_mb", 256)) * 2**20))
        bad: list[int] = []
        k = 0
        try:
            it = iter(vcf)
            consecutive = 0
            while True:
                try:
                    v = next(it)
                except StopIteration:
                    break
                except Exception:  # cyvcf2: "error parsing variant with htslib::bcf_read"
                    k += 1
                    consecutive += 1
                    bad.append(k)
                    if consecutive >= _MAX_CONSECUTIVE_ERRORS:
                        where = f"record {k}" if is_bcf else f"line {(header_lines or 0) + k}"
                        raise InputError(
                            f"htslib cannot read past {where}: {consecutive} records in a "
                            "row fail to parse",
                            path=path,
                            hint="the file is damaged or not VCF; check it with bcftools view",
                        ) from None
                    continue
                k += 1
                consecutive = 0
                try:
                    gt = v.genotype
                except Exception:  # cyvcf2: "couldn't get genotypes" when FORMAT has no GT
                    gt = None
                if gt is None:
                    continue  # no GT (VCF 4.3 §1.6.2): nothing is called per sample
                arr = gt.array()
                alleles = arr[:, :-1]
                carriers = np.flatnonzero((alleles > 0).any(axis=1))
                if carriers.size:
                    self._gather(v, carriers, alleles, arr[:, -1], spool, gene_of)
            ctx.count_read(k)
            self._reject_bad(bad, path, ctx, is_bcf, header_lines, len(samples))
            yield from self._records(samples, header, spool, mapping, build, time)
        finally:
            spool.close()

    @staticmethod
    def _gather(
        v: Any, carriers: Any, alleles: Any, phased: Any, spool: _Spool, gene_of: Any
    ) -> None:
        cols = str(v).rstrip("\n").split("\t")
        fixed = "\t".join(cols[:9])
        chrom, pos, ref, alts = v.CHROM.removeprefix("chr"), v.POS, v.REF, v.ALT
        filters = v.FILTERS
        filt = ";".join(filters) if filters else None  # "." = filters not applied
        qual = None if v.QUAL is None else float(v.QUAL)
        genes = gene_of(v, alts)
        n_alts = len(alts)
        sub = alleles[carriers]
        valid = sub != -2  # -2: the end of a shorter ploidy (htslib vector end)
        same = ((sub == sub[:, :1]) | ~valid).all(axis=1)
        zygosity = np.where(valid.sum(axis=1) == 1, 0, np.where(same, 1, 2)).tolist()
        idx = carriers.tolist()
        if cols[8].startswith("GT"):  # GT, when present, is the first FORMAT key (VCF 4.3 §1.6.2)
            genotypes = [cols[9 + i].partition(":")[0] for i in idx]
        else:
            genotypes = [
                ("|" if ph else "/").join("." if a < 0 else str(a) for a in row if a != -2)
                for row, ph in zip(sub.tolist(), phased[carriers].tolist(), strict=True)
            ]
        lines, rows = spool.lines, spool.rows
        size = 0
        if n_alts == 1:  # biallelic: one row per carrier
            alt, gene = alts[0], genes[0]
            for i, gt, z in zip(idx, genotypes, zygosity, strict=True):
                line = f"{fixed}\t{cols[9 + i]}"
                lines[i].append(line)
                rows[i].append((chrom, pos, ref, alt, gt, _ZYGOSITY[z], gene, filt, qual))
                size += len(line)
            size += _ROW_BYTES * len(idx)
        else:
            for i, gt, z, called in zip(idx, genotypes, zygosity, sub.tolist(), strict=True):
                line = f"{fixed}\t{cols[9 + i]}"
                lines[i].append(line)
                for a in sorted({a for a in called if 0 < a <= n_alts}):
                    rows[i].append(
                        (chrom, pos, ref, alts[a - 1], gt, _ZYGOSITY[z], genes[a - 1], filt, qual)
                    )
                    size += _ROW_BYTES
                size += len(line)
        spool.account(size)

    @staticmethod
    def _reject_bad(
        bad: list[int],
        path: Path,
        ctx: SourceContext,
        is_bcf: bool,
        header_lines: int | None,
        n_samples: int,
    ) -> None:
        if not bad:
            return
        reasons = {} if is_bcf else _explain(path, bad, header_lines or 0, n_samples)
        for k in bad:
            where = f"record {k}" if is_bcf else f"line {(header_lines or 0) + k}"
            ctx.reject(where, reasons.get(k, "malformed VCF record: htslib cannot parse it"))

    @staticmethod
    def _records(
        samples: list[str],
        header: str,
        spool: _Spool,
        mapping: dict[str, str],
        build: str | None,
        time: str | None,
    ) -> Iterator[ModalityRecord]:
        head = [ln for ln in header.rstrip("\n").split("\n") if not ln.startswith("##SAMPLE")]
        head[-1] = "\t".join([*head[-1].split("\t")[:9], "SAMPLE"])
        head_text = "\n".join(head) + "\n"
        for i, s in enumerate(samples):
            lines, rows = spool.take(i)
            if not rows:
                continue
            payload = head_text + "\n".join(lines) + "\n"
            yield ModalityRecord(
                local_id=mapping.get(s, s),
                kind=ModalityKind.GENOMIC,
                media_type="text/vcf",
                content={"variant": [_row(r, build) for r in rows]},
                payloads=[PayloadSpec(payload.encode(), "text/vcf")],
                time=time,
            )
