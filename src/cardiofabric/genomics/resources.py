"""The site's knowledge base: gnomAD, ClinVar, REVEL, CADD and SpliceAI in one DuckDB file.

A steward adds each resource from the file its publisher distributes (formats:
:mod:`cardiofabric.genomics.resource_formats`); the classifier then asks, in one batched join,
what every resource says about a list of variant alleles::

    with KnowledgeBase.open("knowledge.duckdb", read_only=False, create=True) as kb:
        kb.add("gnomad", Path("gnomad.sites.vcf.bgz"))
        kb.add("clinvar", Path("clinvar.vcf.gz"))
    with KnowledgeBase.open("knowledge.duckdb") as kb:
        facts = kb.lookup([VariantKey("14", 23425813, "C", "T")])

One genome build per knowledge base: the first resource fixes it (read from a VCF header or
CADD's comment line, or given), and a resource of another build is refused. Adding a kind
again replaces it in one transaction: a reader never sees half a resource. The ``resource``
table records each kind's source file name, BLAKE3 digest, rows, build, skips and time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from cardiofabric.errors import InputError, StoreError
from cardiofabric.genomics import resource_formats as fmt
from cardiofabric.genomics.model import Knowledge, VariantKey

__all__ = [
    "KINDS",
    "ClinvarProtein",
    "KnowledgeBase",
    "ResourceInfo",
    "file_digest",
    "filtering_allele_frequency",
]

KINDS = fmt.KINDS
filtering_allele_frequency = fmt.filtering_allele_frequency

#: Written into the ``meta`` table; a file without it is not a knowledge base.
FORMAT = "cardiofabric-knowledge"
FORMAT_VERSION = "1"
_BUILDS = ("GRCh37", "GRCh38")

# A ClinVar significance counts as pathogenic or likely pathogenic when one of its terms is
# exactly that (``Pathogenic/Likely_pathogenic``, ``Likely_pathogenic,_low_penetrance``), and
# the aggregate is not a conflict.
_PLP_SQL = (
    "(regexp_matches(lower(significance), '(^|[/|,_])(likely_)?pathogenic($|[/|,])') "
    "AND NOT contains(lower(significance), 'conflicting'))"
)

# Per kind: the order that decides which row is kept when a file lists an allele twice.
_KEEP = {
    "gnomad": "an DESC NULLS LAST, af DESC NULLS LAST",
    "clinvar": "stars DESC NULLS LAST, variation_id",
    "revel": "score DESC NULLS LAST",
    "cadd": "phred DESC NULLS LAST",
    "spliceai": "max_ds DESC NULLS LAST",
}


@dataclass(frozen=True)
class ResourceInfo:
    """One resource in the knowledge base: where it came from and what was loaded.

    ``skipped`` counts records read but not loaded; ``skip_reasons`` says why, by reason
    (malformed lines, symbolic alleles, rows of the other assembly, ...).
    """

    kind: str
    source: str
    digest: str
    rows: int
    build: str | None
    added_at: str
    skipped: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ClinvarProtein:
    """A ClinVar pathogenic/likely pathogenic assertion at a protein residue (for PS1/PM5)."""

    key: VariantKey
    gene: str
    protein_position: int
    ref_aa: str | None
    alt_aa: str | None
    hgvsp: str | None
    significance: str
    stars: int


def file_digest(path: Path) -> str:
    """BLAKE3-256 of the file's bytes, hex (memory-mapped, multithreaded for large files)."""
    import blake3

    h = blake3.blake3(max_threads=blake3.blake3.AUTO)
    h.update_mmap(str(path))
    return h.hexdigest()


class KnowledgeBase:
    """One DuckDB file holding the site's knowledge resources. Open with :meth:`open`."""

    def __init__(self, con: Any, path: Path, read_only: bool) -> None:
        self._con = con
        self.path = path
        self.read_only = read_only
        # resources() is asked by every lookup() and clinvar_at_residue() call (once per batch
        # and per gene of a batch when classifying); the table changes only through add(),
        # which clears this. Another connection writing the same file is not seen.
        self._resources: list[ResourceInfo] | None = None

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: Path | str, *, read_only: bool = True, create: bool = False
    ) -> KnowledgeBase:
        """Open the knowledge base at ``path``; ``create`` makes a new one (writable)."""
        import duckdb

        p = Path(path)
        if not p.exists():
            if not create:
                raise InputError(
                    "no knowledge base here",
                    path=p,
                    hint="create it by adding a resource: "
                    f"cardiofabric genomics resource add KIND FILE --db {p}",
                )
            read_only = False
            p.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(p), read_only=read_only)
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot open the knowledge base ({exc})",
                path=p,
                hint="another process may hold it open for writing; close it and try again",
            ) from None
        kb = cls(con, p, read_only)
        try:
            kb._check_or_init()
        except BaseException:
            con.close()
            raise
        return kb

    def _check_or_init(self) -> None:
        tables = {
            r[0] for r in self._con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        if "meta" in tables:
            meta = dict(self._con.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("format") != FORMAT:
                raise StoreError(
                    "this DuckDB file is not a CardioFabric knowledge base",
                    path=self.path,
                    hint="give the path of a knowledge base (or a new file name)",
                )
            if meta.get("version") != FORMAT_VERSION:
                raise StoreError(
                    f"knowledge base format version {meta.get('version')} is not the "
                    f"version {FORMAT_VERSION} this release reads",
                    path=self.path,
                    hint="rebuild it: add the resources again into a new file",
                )
            return
        if tables:
            raise StoreError(
                "this DuckDB file is not a CardioFabric knowledge base",
                path=self.path,
                hint="give the path of a knowledge base (or a new file name)",
            )
        if self.read_only:
            raise StoreError("the knowledge base is empty and opened read-only", path=self.path)
        self._con.execute("BEGIN TRANSACTION")
        self._con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        self._con.execute(
            "INSERT INTO meta VALUES ('format', ?), ('version', ?)", [FORMAT, FORMAT_VERSION]
        )
        self._con.execute(
            "CREATE TABLE resource (kind VARCHAR PRIMARY KEY, source VARCHAR, digest VARCHAR, "
            "rows BIGINT, build VARCHAR, added_at VARCHAR, skipped BIGINT, skip_reasons VARCHAR)"
        )
        self._con.execute("COMMIT")

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- what is in it ------------------------------------------------------------------------

    @property
    def build(self) -> str | None:
        # fetchall, not fetchone: DuckDB refuses register() on a connection with an unfinished
        # result, and lookup() registers its keys.
        rows = self._con.execute("SELECT value FROM meta WHERE key = 'build'").fetchall()
        return str(rows[0][0]) if rows else None

    def resources(self) -> list[ResourceInfo]:
        """The resources in the base, by kind (read once, again after :meth:`add`)."""
        if self._resources is None:
            self._resources = self._read_resources()
        return list(self._resources)

    def _read_resources(self) -> list[ResourceInfo]:
        rows = self._con.execute(
            "SELECT kind, source, digest, rows, build, added_at, skipped, skip_reasons "
            "FROM resource ORDER BY kind"
        ).fetchall()
        return [
            ResourceInfo(
                kind=r[0],
                source=r[1],
                digest=r[2],
                rows=int(r[3]),
                build=r[4],
                added_at=r[5],
                skipped=int(r[6] or 0),
                skip_reasons=json.loads(r[7]) if r[7] else {},
            )
            for r in rows
        ]

    def current(self, kind: str) -> ResourceInfo | None:
        """The resource of ``kind`` now in the base, or None."""
        return next((r for r in self.resources() if r.kind == kind), None)

    def _kinds(self) -> set[str]:
        return {r.kind for r in self.resources()}

    # -- adding -------------------------------------------------------------------------------

    def add(
        self,
        kind: str,
        file: Path,
        *,
        build: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ResourceInfo:
        """Load ``file`` as the resource ``kind``, replacing any earlier one atomically.

        ``progress`` is called with the number of records read so far. The build comes from
        the file (VCF header, CADD comment) or ``build``; it must agree with the base's.
        """
        if self.read_only:
            raise StoreError(
                "the knowledge base is open read-only",
                path=self.path,
                hint="open it with read_only=False to add resources",
            )
        file = Path(file)
        if build is not None and build not in _BUILDS:
            raise InputError(f"unknown build {build!r}", hint="use GRCh37 or GRCh38")
        sniffed = fmt.sniff(kind, file)
        if build and sniffed.build and build != sniffed.build:
            raise InputError(
                f"the file says it is on {sniffed.build}, but --build {build} was given",
                path=file,
                hint="drop --build, or give the file of the other build",
            )
        use = build or sniffed.build or self.build
        if self.build and use and use != self.build:
            raise InputError(
                f"this knowledge base holds {self.build} resources; the file is on {use}",
                path=file,
                hint=f"use the {self.build} release of the resource, or a separate knowledge "
                "base (--db) for the other build",
            )
        digest = file_digest(file)
        stage = f"_stage_{kind}"
        con = self._con
        cols = fmt.COLUMNS[kind]
        self._resources = None
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"DROP TABLE IF EXISTS {stage}")
            con.execute(f"CREATE TABLE {stage} ({', '.join(f'{n} {t}' for n, t in cols)})")
            loaded = fmt.load(con, kind, file, sniffed, stage, build=use, progress=progress)
            extra = f", {_PLP_SQL} AS pathogenic" if kind == "clinvar" else ""
            con.execute(f"DROP TABLE IF EXISTS {kind}")
            con.execute(
                f"CREATE TABLE {kind} AS SELECT *{extra} FROM {stage} "
                "QUALIFY row_number() OVER (PARTITION BY chrom, pos, ref, alt "
                f"ORDER BY {_KEEP[kind]}) = 1 ORDER BY chrom, pos, ref, alt"
            )
            con.execute(f"DROP TABLE {stage}")
            con.execute(f"CREATE INDEX {kind}_pos ON {kind} (chrom, pos)")
            if kind == "clinvar":
                con.execute("CREATE INDEX clinvar_residue ON clinvar (gene, protein_position)")
            rows = int(con.execute(f"SELECT count(*) FROM {kind}").fetchall()[0][0])
            info = ResourceInfo(
                kind=kind,
                source=file.name,
                digest=digest,
                rows=rows,
                build=use,
                added_at=datetime.now(UTC).isoformat(timespec="seconds"),
                skipped=sum(loaded.skipped.values()),
                skip_reasons=dict(sorted(loaded.skipped.items())),
            )
            con.execute("DELETE FROM resource WHERE kind = ?", [kind])
            con.execute(
                "INSERT INTO resource VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    info.kind,
                    info.source,
                    info.digest,
                    info.rows,
                    info.build,
                    info.added_at,
                    info.skipped,
                    json.dumps(info.skip_reasons),
                ],
            )
            if use and not self.build:
                con.execute("INSERT INTO meta VALUES ('build', ?)", [use])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            self._resources = None
        return info

    # -- asking -------------------------------------------------------------------------------

    def lookup(self, keys: Sequence[VariantKey]) -> dict[VariantKey, Knowledge]:
        """What every resource says about each allele, in one batched join.

        Keys no resource lists are absent from the result. Contigs are compared without
        ``chr``; alleles as given (normalise the VCF first: ``variants normalise``).
        """
        kinds = self._kinds()
        unique = list(dict.fromkeys(keys))
        if not unique or not kinds:
            return {}
        batch = {
            "chrom": np.array([k.chrom for k in unique], dtype=object),
            "pos": np.array([k.pos for k in unique], dtype=np.int64),
            "ref": np.array([k.ref for k in unique], dtype=object),
            "alt": np.array([k.alt for k in unique], dtype=object),
            "i": np.arange(len(unique), dtype=np.int64),
        }
        select = ["k.i"]
        joins = []
        present = []
        fields = {
            "gnomad": ("af", "faf95", "ac", "an", "nhomalt", "filter"),
            "clinvar": ("significance", "stars", "hgvsp", "variation_id"),
            "revel": ("score",),
            "cadd": ("phred",),
            "spliceai": ("max_ds",),
        }
        for kind in KINDS:
            if kind not in kinds:
                select += ["NULL"] * len(fields[kind])
                continue
            alias = kind[:2] + "_t"
            select += [f"{alias}.{f}" for f in fields[kind]]
            joins.append(
                f"LEFT JOIN {kind} {alias} ON {alias}.chrom = k.chrom AND {alias}.pos = k.pos "
                f"AND {alias}.ref = k.ref AND {alias}.alt = k.alt"
            )
            present.append(f"{alias}.chrom IS NOT NULL")
        sql = (
            f"SELECT {', '.join(select)} FROM _cf_keys k {' '.join(joins)} "
            f"WHERE {' OR '.join(present)}"
        )
        self._con.register("_cf_keys", batch)
        try:
            rows = self._con.execute(sql).fetchall()
        finally:
            self._con.unregister("_cf_keys")
        out: dict[VariantKey, Knowledge] = {}
        for r in rows:
            (i, af, faf, ac, an, nhom, filt, sig, stars, hgvsp, vid, revel, cadd, sai) = r
            out[unique[i]] = Knowledge(
                af=af,
                faf95=faf,
                ac=ac,
                an=an,
                nhomalt=nhom,
                clinvar_significance=sig,
                clinvar_stars=stars,
                clinvar_hgvsp=hgvsp,
                clinvar_id=vid,
                revel=revel,
                cadd_phred=cadd,
                spliceai=sai,
                gnomad_filter=filt,
            )
        return out

    def clinvar_at_residue(
        self, gene: str, protein_positions: Iterable[int]
    ) -> dict[int, list[ClinvarProtein]]:
        """ClinVar pathogenic/likely pathogenic alleles of ``gene`` at these protein residues.

        Needs the protein change: from ClinVar's ``variant_summary.txt`` or a ClinVar VCF
        annotated with VEP or SnpEff (ClinVar's own VCF names no protein change). Each list is
        ordered by review stars (most first), then position and alleles.
        """
        return self.clinvar_at_residues({gene: protein_positions}).get(gene, {})

    def clinvar_at_residues(
        self, wanted: Mapping[str, Iterable[int]]
    ) -> dict[str, dict[int, list[ClinvarProtein]]]:
        """:meth:`clinvar_at_residue` for several genes in one query: gene → residue → alleles.

        Genes and residues with no pathogenic allele are absent from the result.
        """
        genes: list[str] = []
        positions: list[int] = []
        for gene, residues in wanted.items():
            for p in sorted({int(p) for p in residues}):
                genes.append(gene)
                positions.append(p)
        if not genes or "clinvar" not in self._kinds():
            return {}
        asked = {
            "gene": np.array(genes, dtype=object),
            "protein_position": np.array(positions, dtype=np.int64),
        }
        self._con.register("_cf_residues", asked)
        try:
            rows = self._con.execute(
                "SELECT c.chrom, c.pos, c.ref, c.alt, c.gene, c.protein_position, c.ref_aa, "
                "c.alt_aa, c.hgvsp, c.significance, c.stars FROM clinvar c "
                "JOIN (SELECT DISTINCT gene, protein_position FROM _cf_residues) r "
                "ON c.gene = r.gene AND c.protein_position = r.protein_position "
                "WHERE c.pathogenic "
                "ORDER BY c.gene, c.protein_position, c.stars DESC, c.pos, c.ref, c.alt"
            ).fetchall()
        finally:
            self._con.unregister("_cf_residues")
        out: dict[str, dict[int, list[ClinvarProtein]]] = {}
        for chrom, pos, ref, alt, g, ppos, raa, aaa, hgvsp, sig, stars in rows:
            out.setdefault(g, {}).setdefault(int(ppos), []).append(
                ClinvarProtein(
                    key=VariantKey(chrom, int(pos), ref, alt),
                    gene=g,
                    protein_position=int(ppos),
                    ref_aa=raa,
                    alt_aa=aaa,
                    hgvsp=hgvsp,
                    significance=sig,
                    stars=int(stars or 0),
                )
            )
        return out
