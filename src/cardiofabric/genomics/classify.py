"""Classify every allele of a VCF: stream, annotate, look up, apply the ACMG/AMP criteria.

One pass with ``cyvcf2``. Each record is split into its ALT alleles (a multi-allelic record is
several variants, as after ``bcftools norm -m-``); the VEP ``CSQ`` or SnpEff ``ANN`` field is
read with :class:`~cardiofabric.genomics.annotation.AnnotationReader` and one transcript is kept
per allele (:func:`~cardiofabric.genomics.annotation.pick`'s choice: MANE Select, the panel's
MANE transcript, canonical, most severe; made on the raw sub-fields by
:meth:`~cardiofabric.genomics.annotation.AnnotationReader.pick_variant`, which builds only the
chosen entry). Alleles wait in a batch of ``batch_size`` keys, so the knowledge database
answers one join per batch (gnomAD, ClinVar, predictors) and one ClinVar residue query for the
batch's missense alleles in panel genes; then each allele is classified by
:class:`~cardiofabric.genomics.acmg.Classifier` and yielded. Memory is one batch, whatever the
length of the file.

With ``sample``, only that sample's genotypes are decoded (htslib subsets the columns) and only
the alleles it carries are classified, each with its genotype and zygosity. Without CSQ/ANN
every allele is classified on frequency alone (no gene). A record htslib cannot parse, an
unreadable annotation or a symbolic allele is skipped and counted in the summary, never
silently dropped; a knowledge database on another genome build than the VCF is refused.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.genomics.acmg import Classifier, ClassifierOptions
from cardiofabric.genomics.builds import detect_build
from cardiofabric.genomics.model import (
    Classification,
    Consequence,
    Knowledge,
    Tier,
    VariantKey,
    normalise_contig,
)
from cardiofabric.genomics.resource_formats import minimal_alleles

if TYPE_CHECKING:
    from cardiofabric.genomics.annotation import AnnotationReader
    from cardiofabric.genomics.panel import Panel
    from cardiofabric.genomics.resources import ClinvarProtein, KnowledgeBase

__all__ = [
    "MAX_CONSECUTIVE_ERRORS",
    "SAMPLE_COLUMNS",
    "TSV_COLUMNS",
    "ClassificationStream",
    "ClassificationSummary",
    "ClassifiedRecord",
    "classify_vcf",
    "tsv_header",
]

#: Columns of the tab-separated output; ``sample``, ``genotype``, ``zygosity`` follow in
#: sample mode.
TSV_COLUMNS = (
    "chrom",
    "pos",
    "ref",
    "alt",
    "gene",
    "transcript",
    "hgvsc",
    "hgvsp",
    "consequence",
    "classification",
    "points",
    "criteria",
)
SAMPLE_COLUMNS = ("sample", "genotype", "zygosity")
#: After this many unparseable records in a row the file is taken to be damaged, not dirty.
MAX_CONSECUTIVE_ERRORS = 1000
_PROGRESS_EVERY = 10_000
_EMPTY = Knowledge()
_VUS = str(Tier.VUS)


@dataclass(frozen=True, slots=True)
class ClassifiedRecord:
    """One classified allele with its VCF context (sample fields when a sample was asked for)."""

    classification: Classification
    sample: str | None = None
    genotype: str | None = None
    zygosity: str | None = None
    filter: str | None = None
    qual: float | None = None

    def to_json(self) -> dict[str, Any]:
        data = self.classification.to_json()
        data.update(
            sample=self.sample,
            genotype=self.genotype,
            zygosity=self.zygosity,
            filter=self.filter,
            qual=self.qual,
        )
        return data

    def to_tsv_row(self, *, with_sample: bool = False) -> str:
        """One line (no newline) under :func:`tsv_header`; missing values are ``.``."""
        cl = self.classification
        c = cl.consequence
        v = cl.variant
        cells: list[object] = [
            v.chrom,
            v.pos,
            v.ref,
            v.alt,
            cl.gene,
            c.transcript if c else None,
            c.hgvsc if c else None,
            c.hgvsp if c else None,
            c.terms[0] if c and c.terms else None,
            str(cl.tier),
            cl.points,
            ",".join(cl.criteria),
        ]
        if with_sample:
            cells += [self.sample, self.genotype, self.zygosity]
        return "\t".join("." if x is None or x == "" else str(x) for x in cells)


def tsv_header(*, with_sample: bool = False) -> str:
    return "\t".join(TSV_COLUMNS + (SAMPLE_COLUMNS if with_sample else ()))


@dataclass
class ClassificationSummary:
    """Counts of a run, filled as the stream is read (final once it is exhausted).

    ``records``: VCF records read; ``alleles``: ALT alleles seen; ``classified``: alleles
    yielded; ``frequency_only``: of those, classified without a panel gene; ``not_carried``:
    alleles the asked-for sample does not carry; ``gene_filtered``: alleles outside ``genes``;
    ``skipped``: alleles or records left out, by reason, with a few ``skipped_examples``.
    """

    source: str
    annotation: str | None = None
    build: str | None = None
    sample: str | None = None
    records: int = 0
    alleles: int = 0
    classified: int = 0
    frequency_only: int = 0
    not_carried: int = 0
    gene_filtered: int = 0
    by_tier: dict[str, int] = field(default_factory=lambda: {str(t): 0 for t in Tier})
    by_criterion: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_examples: list[str] = field(default_factory=list)
    #: Transcript entries of CSQ/ANN the reader had to skip (their alleles were classified).
    annotation_warnings: Counter[str] = field(default_factory=Counter)
    complete: bool = False

    def add(self, record: ClassifiedRecord) -> None:
        cl = record.classification
        self.classified += 1
        if cl.evidence:
            self.by_tier[str(cl.tier)] += 1
            self.by_criterion.update(cl.criteria)
        else:  # no evidence: 0 points
            self.by_tier[_VUS] += 1
        if cl.disease is None:
            self.frequency_only += 1

    def skip(self, reason: str, where: str) -> None:
        self.skipped[reason] += 1
        if len(self.skipped_examples) < 10:
            self.skipped_examples.append(f"{where}: {reason}")

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "annotation": self.annotation,
            "build": self.build,
            "sample": self.sample,
            "records": self.records,
            "alleles": self.alleles,
            "classified": self.classified,
            "frequency_only": self.frequency_only,
            "not_carried": self.not_carried,
            "gene_filtered": self.gene_filtered,
            "by_tier": dict(self.by_tier),
            "by_criterion": dict(sorted(self.by_criterion.items())),
            "skipped": dict(self.skipped),
            "skipped_total": self.skipped_total,
            "skipped_examples": list(self.skipped_examples),
            "annotation_warnings": dict(self.annotation_warnings),
            "complete": self.complete,
        }


class ClassificationStream(Iterator[ClassifiedRecord]):
    """The records of :func:`classify_vcf` as they are classified; ``summary`` counts them."""

    def __init__(self, records: Iterator[ClassifiedRecord], summary: ClassificationSummary):
        self._records = records
        self.summary = summary

    def __iter__(self) -> ClassificationStream:
        return self

    def __next__(self) -> ClassifiedRecord:
        return next(self._records)


@dataclass(slots=True)
class _Pending:
    key: VariantKey
    consequence: Consequence | None
    genotype: str | None
    zygosity: str | None
    filter: str | None
    qual: float | None


def _open(path: Path, sample: str | None) -> Any:
    try:
        import cyvcf2
    except ImportError:
        raise MissingDependencyError("cyvcf2", "genomics", "classifying VCF files") from None
    if not path.is_file():
        raise InputError("no such VCF file", path=path)
    try:
        probe = cyvcf2.VCF(str(path), lazy=True)
    except Exception as exc:  # cyvcf2 raises OSError or a bare Exception
        raise InputError(
            f"htslib cannot open this as VCF/BCF ({exc})",
            path=path,
            hint="check that the file is VCF 4.x text, (b)gzipped VCF or BCF (VCF 4.3 §1.5)",
        ) from None
    names = list(probe.samples)
    probe.close()
    if sample is not None and sample not in names:
        shown = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
        raise InputError(
            f"sample {sample!r} is not in the VCF (samples: {shown or 'none'})",
            path=path,
            hint="name one of the VCF's samples, or leave out --sample to classify every allele",
        )
    # Only the asked-for sample's columns are decoded; none at all without one.
    return cyvcf2.VCF(str(path), lazy=True, samples=[sample] if sample else [])


def classify_vcf(
    path: Path,
    *,
    knowledge: KnowledgeBase | None = None,
    panel: Panel | None = None,
    sample: str | None = None,
    options: ClassifierOptions | None = None,
    genes: Collection[str] | None = None,
    batch_size: int = 20000,
    progress: Callable[[int], None] | None = None,
) -> ClassificationStream:
    """Classify the alleles of ``path`` (VCF, bgzipped VCF or BCF); see the module docstring.

    The file is opened and checked (sample present, genome build matching the knowledge
    database) before this returns, so those errors come at once; records then stream as the
    result is iterated. ``progress(records_read)`` is called every 10,000 records and at the end.
    """
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1, not {batch_size}")
    path = Path(path)
    vcf = _open(path, sample)
    try:
        header = vcf.raw_header
        build = detect_build(header)
        if knowledge is not None and knowledge.build and build and knowledge.build != build:
            raise InputError(
                f"the VCF is on {build} but the knowledge database is on {knowledge.build}",
                path=path,
                hint=f"use a knowledge database built from {build} resources, or lift the VCF "
                f"over to {knowledge.build} (e.g. bcftools +liftover) first",
            )
        from cardiofabric.genomics.annotation import AnnotationReader

        reader = AnnotationReader.from_vcf(vcf)
    except BaseException:
        vcf.close()
        raise
    opts = options or ClassifierOptions()
    kinds = {r.kind for r in knowledge.resources()} if knowledge is not None else set()
    opts = dataclasses.replace(opts, population_data=opts.population_data and "gnomad" in kinds)
    classifier = Classifier(panel, opts)
    summary = ClassificationSummary(
        source=str(path),
        annotation=reader.source if reader is not None else None,
        build=build or (knowledge.build if knowledge is not None else None),
        sample=sample,
    )
    run = _Run(vcf, path, reader, classifier, knowledge, sample, genes, summary)
    return ClassificationStream(run.stream(batch_size, progress), summary)


class _Run:
    """The state of one pass: the reader, the batch and the counters."""

    def __init__(
        self,
        vcf: Any,
        path: Path,
        reader: AnnotationReader | None,
        classifier: Classifier,
        knowledge: KnowledgeBase | None,
        sample: str | None,
        genes: Collection[str] | None,
        summary: ClassificationSummary,
    ) -> None:
        self.vcf = vcf
        self.path = path
        self.reader = reader
        self.tag: str | None = reader.info_id if reader is not None else None
        self.classifier = classifier
        self.knowledge = knowledge
        self.sample = sample
        self.genes = {g.upper() for g in genes} if genes else None
        # A cheap test on the raw CSQ/ANN text before parsing it: any asked-for symbol between
        # field separators (a gene filter with no annotation matches nothing).
        self.genes_seen: re.Pattern[str] | None = None
        if self.genes is not None:
            alternatives = "|".join(re.escape(g) for g in sorted(self.genes))
            self.genes_seen = re.compile(rf"(?i)(?:^|[|,]){'(?:' + alternatives + ')'}(?:[|,]|$)")
        self.summary = summary
        self.preferred = classifier.panel.preferred_transcripts()
        #: ClinVar P/LP by gene and residue, and the residues already asked (see _ask_residues)
        self.residues: dict[str, dict[int, list[ClinvarProtein]]] = {}
        self.asked: dict[str, set[int]] = {}

    def stream(
        self, batch_size: int, progress: Callable[[int], None] | None
    ) -> Iterator[ClassifiedRecord]:
        try:
            yield from self._stream(batch_size, progress)
        finally:
            self.vcf.close()

    def _stream(
        self, batch_size: int, progress: Callable[[int], None] | None
    ) -> Iterator[ClassifiedRecord]:
        s = self.summary
        contigs: dict[str, str] = {}
        batch: list[_Pending] = []
        records = iter(self.vcf)
        errors_in_row = 0
        name, pos = "the start of the file", 0
        n = 0
        while True:
            try:
                rec = next(records)
            except StopIteration:
                break
            except Exception:  # htslib's parse errors reach Python as bare Exceptions
                n += 1
                errors_in_row += 1
                s.records = n
                after = f"{name}:{pos}" if pos else name
                s.skip("record htslib cannot parse", f"record {n} (after {after})")
                if errors_in_row >= MAX_CONSECUTIVE_ERRORS:
                    raise InputError(
                        f"{errors_in_row} records in a row cannot be parsed (from record "
                        f"{n - errors_in_row + 1}); the file looks damaged or is not a VCF",
                        path=self.path,
                        hint="check it with: bcftools view FILE > /dev/null",
                    ) from None
                continue
            errors_in_row = 0
            n += 1
            if progress is not None and n % _PROGRESS_EVERY == 0:
                progress(n)
            name = rec.CHROM
            chrom = contigs.get(name) or contigs.setdefault(name, normalise_contig(name))
            pos = rec.POS
            ref = rec.REF.upper()
            alts = rec.ALT
            s.alleles += len(alts)
            if not alts:
                s.skip("no ALT allele (reference-only site)", f"{name}:{pos}")
                continue
            gt: list[int] | None = None
            genotype: str | None = None
            if self.sample is not None:
                gt, genotype = _genotype(rec)
                if not any(a > 0 for a in gt):  # the sample carries no ALT: nothing to read
                    s.not_carried += len(alts)
                    continue
            if self.genes_seen is not None and not self.genes_seen.search(
                rec.INFO.get(self.tag) or ""
            ):
                # No asked-for gene symbol anywhere in the annotation: skip parsing it.
                s.gene_filtered += len(alts)
                continue
            upper = [a.upper() for a in alts]
            picked: list[Consequence | None] | None = None
            if self.reader is not None:
                # One transcript per allele, chosen on the raw sub-fields (the same choice as
                # pick() over the parsed entries, gene filter included); only it is built.
                try:
                    picked = self.reader.pick_variant(
                        rec, ref, upper, preferred=self.preferred, genes=self.genes
                    )
                except Exception as exc:  # InputError: no entry of the value can be read
                    why = getattr(exc, "message", str(exc))[:160]
                    s.skip(f"unreadable {self.tag} annotation", f"{name}:{pos} ({why})")
                    continue
            filt = rec.FILTERS
            filter_text = ";".join(filt) if filt else None
            qual = rec.QUAL
            for j, alt in enumerate(upper, start=1):
                if not alt or alt[0] in "<*." or "[" in alt or "]" in alt:
                    s.skip("symbolic, breakend or spanning-deletion allele", f"{name}:{pos} {alt}")
                    continue
                zygosity: str | None = None
                if gt is not None:
                    zygosity = _zygosity(gt, j)
                    if zygosity is None:
                        s.not_carried += 1
                        continue
                chosen = picked[j - 1] if picked is not None else None
                if self.genes is not None and chosen is None:
                    s.gene_filtered += 1
                    continue
                # The key is the allele's minimal form (as bcftools norm -m- writes a split
                # allele), which is how the knowledge base stores it.
                kpos, kref, kalt = (
                    (pos, ref, alt)
                    if len(ref) == 1 and len(alt) == 1
                    else minimal_alleles(pos, ref, alt)
                )
                batch.append(
                    _Pending(
                        VariantKey(chrom, kpos, kref, kalt),
                        chosen,
                        genotype,
                        zygosity,
                        filter_text,
                        qual,
                    )
                )
            if len(batch) >= batch_size:
                yield from self._classify(batch)
                batch = []
        s.records = n
        if batch:
            yield from self._classify(batch)
        if self.reader is not None:
            s.annotation_warnings.update(self.reader.warnings)
        if progress is not None:
            progress(n)
        s.complete = True

    def _classify(self, batch: list[_Pending]) -> Iterator[ClassifiedRecord]:
        kb = self.knowledge
        found: dict[VariantKey, Knowledge] = {}
        residues = self.residues
        if kb is not None:
            found = kb.lookup([p.key for p in batch])
            self._ask_residues(kb, batch)
        classify = self.classifier.classify
        summary = self.summary
        none: list[ClinvarProtein] = []
        for p in batch:
            c = p.consequence
            at = none
            if residues and c is not None and c.gene and c.protein_position is not None:
                at = residues.get(c.gene, {}).get(c.protein_position, none)
            cl = classify(p.key, c, found.get(p.key, _EMPTY), at, zygosity=p.zygosity)
            record = ClassifiedRecord(
                cl,
                self.sample,
                p.genotype,
                p.zygosity,
                p.filter,
                p.qual,
            )
            summary.add(record)
            yield record

    def _ask_residues(self, kb: KnowledgeBase, batch: list[_Pending]) -> None:
        """ClinVar P/LP at the residues of the batch's missense alleles in panel genes.

        Answers are kept for the run (a few residues per panel gene, found or not), so a
        residue is asked once and a batch whose residues were all asked before costs no query.
        """
        from cardiofabric.genomics.annotation import MISSENSE_TERMS

        wanted: dict[str, set[int]] = {}
        panel = self.classifier.panel
        for p in batch:
            c = p.consequence
            if (
                c is not None
                and c.protein_position is not None
                and c.gene
                and not MISSENSE_TERMS.isdisjoint(c.terms)
                and panel.gene(c.gene) is not None
            ):
                asked = self.asked.setdefault(c.gene, set())
                if c.protein_position not in asked:
                    wanted.setdefault(c.gene, set()).add(c.protein_position)
        for gene, positions in wanted.items():
            self.asked[gene] |= positions
        # One query for every gene of the batch.
        for gene, found in kb.clinvar_at_residues(wanted).items():
            self.residues.setdefault(gene, {}).update(found)


def _genotype(rec: Any) -> tuple[list[int], str]:
    """The sample's allele indices (-1 missing) and its GT as written (``0/1``, ``1|1``)."""
    try:
        row = rec.genotypes[0]
    except Exception:  # no GT in FORMAT: nothing is called
        return [], "."
    alleles = [a for a in row[:-1] if a is not None and a >= -1]
    sep = "|" if row[-1] else "/"
    text = sep.join("." if a < 0 else str(a) for a in alleles) or "."
    return alleles, text


def _zygosity(alleles: list[int], j: int) -> str | None:
    """How the sample carries ALT ``j``; None when it does not."""
    copies = alleles.count(j)
    if copies == 0:
        return None
    if len(alleles) == 1:
        return "hemizygous"
    return "homozygous" if copies == len(alleles) else "heterozygous"
