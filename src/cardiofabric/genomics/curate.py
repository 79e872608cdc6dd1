"""VCF curation: one representation per variant before anything counts or compares variants.

``normalise`` runs ``bcftools norm`` (through ``pysam.bcftools``; nothing here re-implements
it): multiallelic records are split into biallelic ones (``-m -any``) and, when a reference
FASTA is given, indels are trimmed and left-aligned (``-f``; Tan, Abecasis & Kang 2015, the
algorithm bcftools implements). Without normalisation the same deletion written at two
positions in a repeat counts as two variants and fails to match a database entry.

REF is checked against the FASTA (``--check-ref``): by default a mismatch is an error, since it
almost always means the VCF was called on another build or another contig naming. The other
modes are bcftools' own: ``warn`` (keep and report), ``exclude`` (drop and count), ``set``
(rewrite REF from the FASTA).

The output is bgzipped and tabix-indexed (VCF 4.3 §1; SAM/BAM spec §4.1 for BGZF) and written
atomically: a temporary file beside the target is renamed into place only when bcftools and
the indexing succeeded, so a failed run leaves no half-written file. ``--no-version`` keeps
bcftools from stamping the command line and date into the header, so a re-run is byte-identical.

The genome build is read from the header (``##contig`` length of chromosome 1, or
``##reference``) and recorded; :func:`check_builds` refuses a set of files of mixed builds.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.genomics.builds import build_of_chr1, detect_build

__all__ = ["CheckRef", "NormaliseReport", "check_builds", "normalise", "read_build"]

#: How REF is checked against the FASTA (bcftools norm ``--check-ref e|w|x|s``).
CheckRef = Literal["error", "warn", "exclude", "set"]
_CHECK_REF_FLAG = {"error": "e", "warn": "w", "exclude": "x", "set": "s"}
# Chromosome 1 length per assembly (GRC), to tell the FASTA's build.
_EXAMPLES = 20  # REF mismatches listed in the report; the rest are counted
# bcftools norm prints "Lines total/split/joined/realigned/mismatch_removed/dup_removed/skipped:"
_STATS = re.compile(r"Lines\s+([a-z_/]+):\s*([\d/]+)")
_REF_ALT = re.compile(r"REF/ALT total/modified/added:\s*([\d/]+)")


@dataclass(frozen=True)
class NormaliseReport:
    """What :func:`normalise` did: the files, the build, and bcftools norm's own counts."""

    source: str
    output: str
    index: str
    build: str | None
    reference: str | None = None
    reference_build: str | None = None
    check_ref: CheckRef = "error"
    records_read: int = 0
    split: int = 0
    realigned: int = 0
    ref_mismatches: int = 0
    ref_mismatch_examples: list[str] = field(default_factory=list)
    #: Contigs declared in the VCF header that the FASTA lacks (no record on them was hit).
    unknown_contigs: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _pysam() -> Any:
    try:
        import pysam
        from pysam import bcftools
    except ImportError:
        raise MissingDependencyError("pysam", "genomics", "VCF normalisation") from None
    return pysam, bcftools


def read_build(vcf: Path) -> tuple[str | None, list[str]]:
    """``(build, contigs)`` from a VCF/BCF header; the build is None when it cannot be told."""
    # Imported here: ``ingest`` sits below ``genomics`` and may import it; a module-level
    # import the other way would close a cycle the day ingest uses curation.

    pysam, _ = _pysam()
    if not vcf.is_file():
        raise InputError("VCF file not found", path=vcf)
    try:
        with pysam.VariantFile(str(vcf)) as fh:
            header = str(fh.header)
            contigs = list(fh.header.contigs)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"htslib cannot read this as VCF/BCF ({exc})",
            path=vcf,
            hint="check that the file is VCF 4.x text, bgzipped VCF or BCF (VCF 4.3 §1.5)",
        ) from None
    return detect_build(header), contigs


def check_builds(vcfs: Iterable[Path]) -> str | None:
    """The one genome build of ``vcfs``; :class:`InputError` when they mix builds.

    Files whose build cannot be told from the header are not held against the others.
    """
    by_build: dict[str, list[str]] = {}
    for vcf in vcfs:
        build, _ = read_build(vcf)
        if build is not None:
            by_build.setdefault(build, []).append(str(vcf))
    if len(by_build) > 1:
        listing = "; ".join(f"{b}: {', '.join(files)}" for b, files in sorted(by_build.items()))
        raise InputError(
            f"the VCFs are on different genome builds ({listing})",
            hint="lift the files over to one build (e.g. bcftools +liftover or CrossMap) "
            "before combining them",
        )
    return next(iter(by_build), None)


def _fasta_contigs(fasta: Path) -> dict[str, int]:
    pysam, _ = _pysam()
    if not fasta.is_file():
        raise InputError("reference FASTA not found", path=fasta)
    try:
        # Builds FASTA.fai when missing, as bcftools norm would.
        with pysam.FastaFile(str(fasta)) as fa:
            return dict(zip(fa.references, fa.lengths, strict=True))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot index or read the reference FASTA ({exc})",
            path=fasta,
            hint="a compressed FASTA must be bgzipped (bgzip, not gzip); check it with "
            "samtools faidx",
        ) from None


def _failure(stderr: str, vcf: Path, fasta: Path | None) -> InputError:
    """bcftools norm's message turned into one that says what to do."""
    mismatch = re.search(
        r"Reference allele mismatch at (\S+):(\d+) \.\. REF_SEQ:'(\w*)' vs VCF:'(\w*)'", stderr
    )
    if mismatch:
        chrom, pos, ref_seq, vcf_ref = mismatch.groups()
        return InputError(
            f"REF does not match the reference FASTA at {chrom}:{pos}: the VCF has "
            f"{vcf_ref!r}, {fasta} has {ref_seq!r}",
            path=vcf,
            hint="check that the VCF and the FASTA are the same build; or choose what to do "
            "with mismatches: check_ref='warn' (keep), 'exclude' (drop) or 'set' (fix REF), "
            "on the command line --check-ref",
        )
    missing = re.search(
        r"(?:faidx_fetch_seq failed at|from the reference sequence at) (\S+):(\d+)", stderr
    )
    if missing:
        chrom, pos = missing.groups()
        return InputError(
            f"contig {chrom!r} (first record at {chrom}:{pos}) is not in the reference "
            f"FASTA {fasta}",
            path=vcf,
            hint="the VCF and the FASTA name contigs differently ('chr1' vs '1') or are "
            "different builds; rename with bcftools annotate --rename-chrs, or use the FASTA "
            "the VCF was called against",
        )
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    return InputError(
        "bcftools norm failed: " + (" | ".join(lines[-3:]) or "no message"),
        path=vcf,
        hint="check the file with: bcftools view FILE > /dev/null (records must be sorted "
        "for indexing; VCF 4.3 §1.6)",
    )


def normalise(
    vcf: Path,
    out: Path,
    *,
    fasta: Path | None = None,
    threads: int = 1,
    check_ref: CheckRef = "error",
) -> NormaliseReport:
    """Split multiallelics, and trim/left-align against ``fasta`` when given, into ``out``.

    ``out`` must end in ``.vcf.gz``; its tabix index ``out.tbi`` is written beside it.
    """
    _, bcftools = _pysam()
    vcf, out = Path(vcf), Path(out)
    if not out.name.endswith((".vcf.gz", ".vcf.bgz")):
        raise InputError(
            f"the output is bgzipped VCF, so its name should end in .vcf.gz; got {out.name!r}",
            path=out,
        )
    if check_ref not in _CHECK_REF_FLAG:
        raise InputError(
            f"check_ref must be one of {', '.join(_CHECK_REF_FLAG)}; got {check_ref!r}"
        )
    if threads < 1:
        raise InputError(f"threads must be at least 1; got {threads}")
    build, vcf_contigs = read_build(vcf)
    args = ["-m", "-any", "--no-version", "--threads", str(threads)]
    unknown: list[str] = []
    reference_build = None
    if fasta is not None:
        fasta = Path(fasta)
        ref_contigs = _fasta_contigs(fasta)
        unknown = [c for c in vcf_contigs if c not in ref_contigs]
        reference_build = next(
            (
                build_of_chr1(n)
                for c, n in ref_contigs.items()
                if c in ("1", "chr1") and build_of_chr1(n)
            ),
            None,
        )
        if build and reference_build and build != reference_build:
            raise InputError(
                f"the VCF is {build} but the reference FASTA {fasta} is {reference_build}",
                path=vcf,
                hint="normalise against the FASTA of the build the VCF was called on",
            )
        args += ["-f", str(fasta), "--check-ref", _CHECK_REF_FLAG[check_ref]]

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".vcf.gz")
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the result is an ordinary data file
    tmp_index = Path(tmp_name + ".tbi")
    try:
        try:
            bcftools.norm(
                *args, "-Oz", "-o", str(tmp), "--write-index=tbi", str(vcf), catch_stdout=False
            )
        except Exception as exc:  # pysam.utils.SamtoolsError carries bcftools' stderr
            raise _failure(str(exc), vcf, fasta) from None
        messages = str(bcftools.norm.get_messages() or "")
        if not tmp_index.is_file():
            raise InputError("bcftools norm wrote no index", path=vcf)
        index = Path(str(out) + ".tbi")
        # Data first, index last: the index is then never older than the data it indexes.
        os.replace(tmp, out)
        os.replace(tmp_index, index)
    except BaseException:
        tmp.unlink(missing_ok=True)
        tmp_index.unlink(missing_ok=True)
        raise

    stats: dict[str, int] = {}
    m = _STATS.search(messages)
    if m:
        stats = dict(zip(m.group(1).split("/"), map(int, m.group(2).split("/")), strict=False))
    examples = [
        "{}:{} VCF {} FASTA {}".format(*ln.split("\t")[1:5])
        for ln in messages.splitlines()
        if ln.startswith("REF_MISMATCH\t") and ln.count("\t") >= 4
    ]
    mismatches = len(examples)
    if check_ref == "exclude":
        mismatches = stats.get("mismatch_removed", 0)
    elif check_ref == "set" and (ra := _REF_ALT.search(messages)):
        # "set" rewrites REF from the FASTA ("modified") or swaps REF/ALT ("added").
        _, modified, added = (int(x) for x in ra.group(1).split("/"))
        mismatches = modified + added
    return NormaliseReport(
        source=str(vcf),
        output=str(out),
        index=str(index),
        build=build,
        reference=str(fasta) if fasta is not None else None,
        reference_build=reference_build,
        check_ref=check_ref,
        records_read=stats.get("total", 0),
        split=stats.get("split", 0),
        realigned=stats.get("realigned", 0),
        ref_mismatches=mismatches,
        ref_mismatch_examples=examples[:_EXAMPLES],
        unknown_contigs=unknown,
    )
