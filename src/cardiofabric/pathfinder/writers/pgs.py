"""The Pathfinder CAD polygenic score as a PGS Catalog scoring file (format version 2.0).

Layout as the PGS Catalog publishes scoring files (https://www.pgscatalog.org/downloads/): a
header of ``#key=value`` lines (``format_version``, ``pgs_id``, ``pgs_name``, trait,
``genome_build``, ``variants_number``, ``weight_type``), then a tab-separated table with
``chr_name``, ``chr_position``, ``effect_allele``, ``other_allele``, ``effect_weight`` and the
optional ``allelefrequency_effect``. The score is synthetic: its id is not a Catalog id.
"""

from __future__ import annotations

import os
from pathlib import Path

from cardiofabric.pathfinder.cohort import PGS_SNPS

__all__ = ["PGS_ID", "write_pgs_scoring_file"]

#: The score's id in the header (not a PGS Catalog accession: the score is synthetic).
PGS_ID = "PATHFINDER_CAD"


def write_pgs_scoring_file(path: Path) -> Path:
    """Write the CAD score of ``PGS_SNPS`` to ``path`` (atomically); return ``path``."""
    header = [
        "###PGS CATALOG SCORING FILE - see https://www.pgscatalog.org/downloads/#dl_ftp_scoring "
        "for additional information",
        "#format_version=2.0",
        "##POLYGENIC SCORE (PGS) INFORMATION",
        f"#pgs_id={PGS_ID}",
        "#pgs_name=pathfinder_cad_40",
        "#trait_reported=Coronary artery disease",
        "#trait_mapped=coronary artery disease",
        "#trait_efo=EFO_0001645",
        "#genome_build=GRCh38",
        f"#variants_number={len(PGS_SNPS)}",
        "#weight_type=beta",
        "##SOURCE INFORMATION",
        "#citation=CardioFabric Pathfinder synthetic network (cardiofabric.pathfinder.cohort)",
    ]
    columns = [
        "chr_name",
        "chr_position",
        "effect_allele",
        "other_allele",
        "effect_weight",
        "allelefrequency_effect",
    ]
    rows = [f"{s.chrom}\t{s.pos}\t{s.alt}\t{s.ref}\t{s.weight}\t{s.eaf}" for s in PGS_SNPS]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join([*header, "\t".join(columns), *rows]) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
