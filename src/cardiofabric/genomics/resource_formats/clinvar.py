"""ClinVar: the VCF (``CLNSIG``, ``CLNREVSTAT``, ``GENEINFO``) and ``variant_summary.txt``.

:class:`_ClinvarRows` reads a ClinVar VCF record (with the protein change from a VEP ``CSQ``
or SnpEff ``ANN`` when the file was annotated); :func:`_load_variant_summary` loads ClinVar's
tab-delimited summary with DuckDB. Both grade the review status with :func:`clinvar_stars`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.genomics.resource_formats.common import Loaded, Progress, Sniffed, _Skip
from cardiofabric.genomics.resource_formats.tables import (
    _allele_bad,
    _contig,
    _csv,
    _num_bad,
    _table_load,
)

__all__ = ["clinvar_stars"]

#: ClinVar review status → stars (ClinVar "Review status in ClinVar", NCBI help pages).
_STARS = {
    "practice_guideline": 4,
    "reviewed_by_expert_panel": 3,
    "criteria_provided,_multiple_submitters,_no_conflicts": 2,
    "criteria_provided,_single_submitter": 1,
    "criteria_provided,_conflicting_classifications": 1,
    "criteria_provided,_conflicting_interpretations": 1,  # the spelling before 2024
}

_AA3 = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Sec": "U",
    "Pyl": "O", "Ter": "*", "Xaa": "X",
}  # fmt: skip


def clinvar_stars(review_status: str | None) -> int:
    """ClinVar review status (VCF ``CLNREVSTAT`` or ``variant_summary`` spelling) → 0–4 stars."""
    if not review_status:
        return 0
    key = review_status.strip().lower().replace(" ", "_").replace(",_", ",").replace(",", ",_")
    return _STARS.get(key, 0)


class _ClinvarRows:
    """ClinVar VCF INFO → significance, stars, gene, and the protein change from CSQ/ANN."""

    def __init__(self, vcf: Any, sniffed: Sniffed) -> None:
        self.reader: Any = None
        self.pick: Any = None
        if "CSQ" in sniffed.info or "ANN" in sniffed.info:
            from cardiofabric.genomics import annotation

            self.reader = annotation.AnnotationReader.from_vcf(vcf)
            self.pick = annotation.pick

    def row(self, rec: Any, i: int, n: int, key: tuple[str, int, str, str]) -> tuple[Any, ...]:
        get = rec.INFO.get
        sig = get("CLNSIG")
        if not sig:
            raise _Skip("no CLNSIG (ClinVar lists the allele only within a haplotype)")
        sig = ",".join(sig) if isinstance(sig, tuple) else str(sig)
        rev = get("CLNREVSTAT")
        rev = ",".join(rev) if isinstance(rev, tuple) else (str(rev) if rev else None)
        geneinfo = get("GENEINFO")
        gene = str(geneinfo).split("|")[0].split(":")[0] if geneinfo else None
        mc = get("MC")
        hgvs = get("CLNHGVS")
        hgvsp = ppos = ref_aa = alt_aa = None
        if self.reader is not None:
            try:
                consequences = self.reader.parse_variant(rec)
            except InputError:  # an unreadable CSQ/ANN: the ClinVar facts still hold
                consequences = []
            chosen = (
                self.pick(consequences, rec.ALT[i], rec.REF, alts=rec.ALT) if consequences else None
            )
            if chosen is not None:
                hgvsp = chosen.hgvsp
                ppos = chosen.protein_position
                ref_aa, alt_aa = chosen.ref_aa, chosen.alt_aa
                gene = chosen.gene or gene
        return (
            *key,
            str(rec.ID) if rec.ID else None,
            sig,
            rev,
            clinvar_stars(rev),
            gene,
            hgvsp,
            ppos,
            ref_aa,
            alt_aa,
            str(mc) if mc else None,
            str(hgvs) if hgvs else None,
        )


def _load_variant_summary(
    con: Any,
    path: Path,
    sniffed: Sniffed,
    stage: str,
    build: str | None,
    progress: Progress | None,
) -> Loaded:
    if build not in ("GRCh37", "GRCh38"):
        raise InputError(
            "variant_summary.txt lists GRCh37 and GRCh38 rows: say which build to load",
            path=path,
            hint="add it with --build GRCh38 (or GRCh37), or add a VCF resource first",
        )
    cols = [c.lstrip("#") for c in sniffed.columns]
    names = [f"c{j}" for j in range(len(cols))]
    at = {c: f"c{j}" for j, c in enumerate(cols)}
    sig_col = at.get("ClinicalSignificance") or at.get("GermlineClassification")
    needed = (
        "Name",
        "GeneSymbol",
        "ReviewStatus",
        "Assembly",
        "Chromosome",
        "PositionVCF",
        "ReferenceAlleleVCF",
        "AlternateAlleleVCF",
        "VariationID",
    )
    missing = [c for c in needed if c not in at] + ([] if sig_col else ["ClinicalSignificance"])
    if missing:
        raise InputError(
            f"variant_summary.txt lacks the columns {', '.join(missing)}",
            path=path,
            hint="use the file as ClinVar publishes it "
            "(ftp.ncbi.nlm.nih.gov/pub/clinvar/tab_delimited)",
        )
    source = _csv(path, delim="\t", skip=1, columns=names, header=False)
    c = at
    p_re = r"\(p\.([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2}|=)\)"
    name = c["Name"]
    stars_case = (
        f"CASE replace(lower(trim({c['ReviewStatus']})), ' ', '_') "
        + " ".join(f"WHEN '{k}' THEN {v}" for k, v in _STARS.items())
        + " ELSE 0 END"
    )
    gene = (
        f"coalesce(nullif(regexp_extract({name}, '^[^(]*\\(([^)]+)\\):', 1), ''), "
        f"nullif(nullif(split_part({c['GeneSymbol']}, ';', 1), '-'), ''))"
    )
    r3 = f"regexp_extract({name}, '{p_re}', 1)"
    a3 = f"regexp_extract({name}, '{p_re}', 3)"
    select = (
        f"{_contig(c['Chromosome'])}, CAST({c['PositionVCF']} AS BIGINT), "
        f"upper({c['ReferenceAlleleVCF']}), upper({c['AlternateAlleleVCF']}), "
        f"{c['VariationID']}, replace(trim({sig_col}), ' ', '_'), "
        f"replace(trim({c['ReviewStatus']}), ' ', '_'), {stars_case}, {gene}, "
        f"nullif(regexp_extract({name}, '\\((p\\.[^)]+)\\)', 1), ''), "
        f"TRY_CAST(nullif(regexp_extract({name}, '{p_re}', 2), '') AS INTEGER), "
        f"{_aa1(r3)}, CASE WHEN {a3} = '=' THEN {_aa1(r3)} ELSE {_aa1(a3)} END, "
        "NULL, NULL"
    )
    assembly = c["Assembly"]
    bad = {
        f"other assembly than {build}": f"{assembly} IS DISTINCT FROM '{build}'",
        "no VCF position": _num_bad(c["PositionVCF"], "BIGINT")
        + f" OR TRY_CAST({c['PositionVCF']} AS BIGINT) < 1",
        "no VCF alleles ('na')": f"{_allele_bad(c['ReferenceAlleleVCF'])} OR "
        f"{_allele_bad(c['AlternateAlleleVCF'])}",
        "no clinical significance": f"{sig_col} IS NULL OR trim({sig_col}) IN ('', '-')",
    }
    return _table_load(con, stage, source, select, bad, Loaded(), progress)


def _aa1(code3_sql: str) -> str:
    """SQL: a three-letter amino-acid code → the one-letter code VEP writes."""
    return (
        f"CASE {code3_sql} "
        + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _AA3.items())
        + " ELSE NULL END"
    )
