"""Recognising a resource file from its first lines, and naming what it looks like instead.

:func:`sniff` reads the VCF header or a table's first lines and checks that they are one of the
layouts of the kind asked for; a file given as the wrong kind is refused with a message naming
the kind it looks like.
"""

from __future__ import annotations

import re
from pathlib import Path

from cardiofabric.errors import InputError
from cardiofabric.genomics.builds import detect_build
from cardiofabric.genomics.resource_formats.common import KINDS, Sniffed, _open_text
from cardiofabric.genomics.resource_formats.scores import _spliceai_columns

__all__ = ["sniff"]

_EXPECTED = {
    "gnomad": "a gnomAD or ExAC sites VCF (INFO AC and AN, or AC_Adj and AN_Adj)",
    "clinvar": "a ClinVar VCF (INFO CLNSIG) or ClinVar's variant_summary.txt",
    "revel": "REVEL's CSV (chr,hg19_pos,grch38_pos,ref,alt,aaref,aaalt,REVEL,...)",
    "cadd": "a CADD TSV ('## CADD ...' then '#Chrom Pos Ref Alt RawScore PHRED')",
    "spliceai": "a SpliceAI VCF (INFO SpliceAI) or a TSV with chrom, pos, ref, alt and the "
    "maximum delta score",
}


def _head(path: Path, limit: int = 200_000) -> list[str]:
    lines: list[str] = []
    try:
        with _open_text(path) as fh:
            for line in fh:
                lines.append(line.rstrip("\n").rstrip("\r"))
                if not line.startswith("##") or len(lines) >= limit:
                    break
            # one data line more for tables, for the description of what was found
            nxt = fh.readline()
            if nxt:
                lines.append(nxt.rstrip("\n"))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file ({exc})", path=path) from None
    return lines


def _looks_like(s: Sniffed) -> str:
    if s.layout == "vcf":
        if "CLNSIG" in s.info:
            return "a ClinVar VCF (clinvar)"
        if "SpliceAI" in s.info:
            return "a SpliceAI VCF (spliceai)"
        if {"AC", "AN"} <= s.info or {"AC_Adj", "AN_Adj"} <= s.info:
            return "a sites VCF with allele counts (gnomad)"
        return "a VCF without the INFO fields of any known resource"
    if s.layout == "variant_summary":
        return "ClinVar's variant_summary.txt (clinvar)"
    if s.layout == "revel_csv":
        return "REVEL's CSV (revel)"
    if s.layout == "cadd_tsv":
        return "a CADD TSV (cadd)"
    first = s.header.splitlines()[0] if s.header else ""
    return f"a table whose first line is {first[:120]!r}"


def _guess_kind(s: Sniffed) -> str | None:
    m = re.search(r"\((\w+)\)$", _looks_like(s))
    return m.group(1) if m else None


def sniff(kind: str, path: Path) -> Sniffed:
    """Recognise ``path`` as one of ``kind``'s formats; InputError naming what it is instead."""
    if kind not in KINDS:
        raise InputError(
            f"unknown resource kind {kind!r}",
            hint=f"use one of: {', '.join(KINDS)}",
        )
    if not path.is_file():
        raise InputError("the resource file does not exist", path=path)
    lines = _head(path)
    if not lines:
        raise InputError("the file is empty", path=path, hint=f"expected {_EXPECTED[kind]}")
    s = _classify(lines)
    ok = {
        "gnomad": s.layout == "vcf"
        and ({"AC", "AN"} <= s.info or {"AC_Adj", "AN_Adj"} <= s.info)
        and "CLNSIG" not in s.info
        and "SpliceAI" not in s.info,
        "clinvar": (s.layout == "vcf" and "CLNSIG" in s.info) or s.layout == "variant_summary",
        "revel": s.layout == "revel_csv",
        "cadd": s.layout == "cadd_tsv",
        "spliceai": (s.layout == "vcf" and "SpliceAI" in s.info)
        or (s.layout == "tsv" and _spliceai_columns(s.columns) is not None),
    }[kind]
    if not ok:
        guess = _guess_kind(s)
        hint = (
            f"this looks like {guess} data: add it as that kind "
            f"(cardiofabric genomics resource add {guess} FILE)"
            if guess and guess != kind
            else "check the file and the KIND argument"
        )
        raise InputError(
            f"expected {_EXPECTED[kind]} for kind {kind!r}; found {_looks_like(s)}",
            path=path,
            hint=hint,
        )
    return s


def _classify(lines: list[str]) -> Sniffed:
    first = lines[0]
    if first.startswith("##fileformat=VCF"):
        header = "\n".join(ln for ln in lines if ln.startswith("#"))
        info = frozenset(re.findall(r"^##INFO=<ID=([^,>]+)", header, flags=re.M))
        return Sniffed("vcf", detect_build(header), header, info=info)
    text = "\n".join(lines[:3])
    if first.startswith("## CADD") or first.startswith("#Chrom\tPos\tRef\tAlt"):
        skip = 0
        while skip < len(lines) and lines[skip].startswith("#"):
            skip += 1
        cols = tuple(lines[skip - 1].lstrip("#").split("\t")) if skip else ()
        m = re.search(r"CADD\s+(GRCh3[78])", first)
        if {"Chrom", "Pos", "Ref", "Alt", "PHRED"} <= set(cols):
            return Sniffed(
                "cadd_tsv", m.group(1) if m else None, text, columns=cols, skip_lines=skip
            )
    lowered = first.lower()
    if lowered.startswith("chr,hg19_pos,grch38_pos,ref,alt") and "revel" in lowered:
        return Sniffed("revel_csv", None, text, columns=tuple(first.split(",")), skip_lines=1)
    if "\t" in first:
        cols = tuple(first.split("\t"))
        names = {c.lstrip("#") for c in cols}
        if {"AlleleID", "PositionVCF", "ReferenceAlleleVCF", "Assembly"} <= names:
            return Sniffed("variant_summary", None, text, columns=cols, skip_lines=1)
        return Sniffed("tsv", None, text, columns=cols, skip_lines=1)
    return Sniffed("unknown", None, text)
