"""Genome builds: which assembly a VCF header or a reference describes.

The length of chromosome 1 is the surest signal (GRC assembly reports: GRCh37 249,250,621 bp;
GRCh38 248,956,422 bp; NCBI36 247,249,719 bp); a ``##reference`` line is the fallback.
"""

from __future__ import annotations

import re

__all__ = ["CHR1_LENGTH", "build_of_chr1", "detect_build"]

CHR1_LENGTH: dict[int, str] = {249250621: "GRCh37", 248956422: "GRCh38", 247249719: "NCBI36"}


def build_of_chr1(length: int) -> str | None:
    """The assembly whose chromosome 1 has this length, if it is one we know."""
    return CHR1_LENGTH.get(length)


def detect_build(header: str) -> str | None:
    """GRCh37/GRCh38 from ``##contig`` lengths or the ``##reference`` line; None when unknown."""
    for m in re.finditer(r"##contig=<ID=(?:chr)?1,\s*length=(\d+)", header):
        build = build_of_chr1(int(m.group(1)))
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
