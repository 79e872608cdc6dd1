"""Reading transcript consequences from Ensembl VEP ``CSQ`` and SnpEff ``ANN`` INFO fields.

Both tools write one INFO value per record holding every transcript of every ALT allele:
entries are ``,``-separated, sub-fields ``|``-separated in the order the header declares, and
several Sequence Ontology terms of one entry are ``&``-joined.

- VEP (``--vcf``): ``##INFO=<ID=CSQ,...,Description="Consequence annotations from Ensembl VEP.
  Format: Allele|Consequence|IMPACT|SYMBOL|...">``. Field order depends on the options and
  plugins used, so every field is looked up by name from the header (once, when the reader is
  built). VEP percent-encodes characters that would break the VCF (``%3D`` for ``=`` as in
  ``p.%3D``, ``%3B`` for ``;``, ``%2C`` for ``,``); they are decoded.
- SnpEff: ``##INFO=<ID=ANN,...,Description="Functional annotations: 'Allele | Annotation |
  Annotation_Impact | Gene_Name | ...'">`` (the VCF annotation standard, Cingolani et al.,
  "ANN field" spec v1.0). SnpEff's gene-level ``LOF``/``NMD`` INFO tags are read by
  :meth:`AnnotationReader.parse_variant`.

Alleles. ``Consequence.allele`` is kept as written. VEP (``Parser/VCF.pm``) strips the first
base of an indel when REF and ALT share it (``CA``→``A`` is written ``-``); at a multi-allelic
site only when *every* allele shares the first base; with ``--minimal`` each ALT is trimmed of
the prefix and suffix it shares with REF. SnpEff writes the ALT as in the VCF (``ALT-REF`` in
cancer mode). :func:`allele_matches` accepts each of those spellings.

Choosing a transcript. :func:`pick` takes the MANE Select transcript (Morales et al., Nature
2022;604:310), then the panel's transcript of the gene, then VEP's canonical, then the most
severe consequence by VEP's ranking (:data:`SEVERITY`).

NMD. ``Consequence.nmd_escape`` is filled for premature-stop consequences (``stop_gained``,
``frameshift_variant``) from, best first: LOFTEE's ``LoF_info`` ``50_BP_RULE`` and
``LoF_flags``/``LoF_filter`` (``SINGLE_EXON``, ``END_TRUNC``); the VEP NMD plugin's ``NMD``
field (``NMD_escaping_variant``; an empty value is not read as "NMD expected"); SnpEff's
``NMD``/``LOF`` tags; and the exon number (last exon → escapes, an exon before the penultimate →
NMD expected; the penultimate exon is left unknown because the 50-nt rule needs the distance to
the last junction; Abou Tayoun et al., Hum Mutat 2018;39:1517, the ClinGen PVS1 decision tree).
LOFTEE's other flags (``NAGNAG_SITE`` ...) are not kept: ``Consequence`` has no field for them.

Speed. The reader resolves field positions once; per entry it does one ``split("|")`` and list
indexing, and caches the parsing of repeating values (term lists, ``n/N`` ranks, positions).
About 200,000 transcript entries (≈ 58,000 records) per second on one core for the ExAC
extract Debian ships (VEP, 49 sub-fields per entry, 3.5 transcripts per record). Where only the
chosen transcript is wanted, ``pick_variant``, ``pick_each`` and ``pick_from`` rank the entries
on their split sub-fields and build a :class:`Consequence` for the winner only, with the skipping,
warnings and errors of :meth:`AnnotationReader.parse` and the choice of :func:`pick` (tested
record for record); about 1.8 times the records per second of parsing every entry, then picking.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from cardiofabric.errors import InputError
from cardiofabric.genomics.model import Consequence

if TYPE_CHECKING:  # cyvcf2 is an optional dependency (the ``genomics`` extra)
    from cyvcf2 import VCF, Variant

__all__ = [
    "INFRAME_TERMS",
    "LOF_TERMS",
    "MISSENSE_TERMS",
    "PTC_TERMS",
    "SEVERITY",
    "SNPEFF_EQUIVALENT",
    "SPLICE_REGION_TERMS",
    "SYNONYMOUS_TERMS",
    "AnnotationReader",
    "allele_matches",
    "amino_acids_from_hgvsp",
    "pick",
    "severity",
]

# Ensembl VEP's consequence ranking, most severe first ("Ensembl Variation - Calculated variant
# consequences", the table VEP's --pick / --most_severe order follows).
_VEP_ORDER = (
    "transcript_ablation",
    "splice_acceptor_variant",
    "splice_donor_variant",
    "stop_gained",
    "frameshift_variant",
    "stop_lost",
    "start_lost",
    "transcript_amplification",
    "feature_elongation",
    "feature_truncation",
    "inframe_insertion",
    "inframe_deletion",
    "missense_variant",
    "protein_altering_variant",
    "splice_donor_5th_base_variant",
    "splice_region_variant",
    "splice_donor_region_variant",
    "splice_polypyrimidine_tract_variant",
    "incomplete_terminal_codon_variant",
    "start_retained_variant",
    "stop_retained_variant",
    "synonymous_variant",
    "coding_sequence_variant",
    "mature_miRNA_variant",
    "5_prime_UTR_variant",
    "3_prime_UTR_variant",
    "non_coding_transcript_exon_variant",
    "intron_variant",
    "NMD_transcript_variant",
    "non_coding_transcript_variant",
    "coding_transcript_variant",
    "upstream_gene_variant",
    "downstream_gene_variant",
    "TFBS_ablation",
    "TFBS_amplification",
    "TF_binding_site_variant",
    "regulatory_region_ablation",
    "regulatory_region_amplification",
    "regulatory_region_variant",
    "intergenic_variant",
    "sequence_variant",
)

#: SnpEff terms that VEP does not use, and the VEP term whose rank (and meaning, for the term
#: sets below) each takes. SnpEff's own names come from its ``EffectType`` → SO table
#: (SnpEff manual, "Effect prediction details"). ``exon_loss_variant`` (a deleted exon) ranks with
#: ``frameshift_variant``: both are HIGH impact and usually disrupt the reading frame.
SNPEFF_EQUIVALENT: dict[str, str] = {
    "exon_loss_variant": "frameshift_variant",
    "feature_ablation": "transcript_ablation",
    "chromosome_number_variation": "transcript_ablation",
    "duplication": "transcript_amplification",
    "gene_fusion": "feature_truncation",
    "bidirectional_gene_fusion": "feature_truncation",
    "feature_fusion": "feature_truncation",
    "conservative_inframe_insertion": "inframe_insertion",
    "disruptive_inframe_insertion": "inframe_insertion",
    "conservative_inframe_deletion": "inframe_deletion",
    "disruptive_inframe_deletion": "inframe_deletion",
    "rare_amino_acid_variant": "protein_altering_variant",
    "splice_branch_variant": "splice_polypyrimidine_tract_variant",
    "initiator_codon_variant": "start_retained_variant",
    "non_canonical_start_codon": "start_retained_variant",
    "5_prime_UTR_premature_start_codon_gain_variant": "5_prime_UTR_variant",
    "5_prime_UTR_truncation": "5_prime_UTR_variant",
    "3_prime_UTR_truncation": "3_prime_UTR_variant",
    "miRNA": "mature_miRNA_variant",
    "exon_variant": "non_coding_transcript_exon_variant",
    "non_coding_exon_variant": "non_coding_transcript_exon_variant",
    "conserved_intron_variant": "intron_variant",
    "intergenic_region": "intergenic_variant",
    "conserved_intergenic_variant": "intergenic_variant",
    # Gene-level or protein-feature annotations (no transcript consequence of their own): rank
    # them last so that they are never chosen over a transcript's consequence.
    "intragenic_variant": "sequence_variant",
    "gene_variant": "sequence_variant",
    "sequence_feature": "sequence_variant",
    "protein_protein_contact": "sequence_variant",
    "structural_interaction_variant": "sequence_variant",
}

#: SO term → rank, 0 most severe (VEP's order; SnpEff's own terms take their equivalent's rank).
SEVERITY: dict[str, int] = {term: rank for rank, term in enumerate(_VEP_ORDER)}
SEVERITY.update({term: SEVERITY[vep] for term, vep in SNPEFF_EQUIVALENT.items()})
_UNKNOWN_RANK = len(_VEP_ORDER)


def severity(term: str) -> int:
    """The rank of an SO term (0 most severe); unknown terms rank after every known one."""
    return SEVERITY.get(term, _UNKNOWN_RANK)


def _with_snpeff(terms: set[str]) -> frozenset[str]:
    return frozenset(terms | {t for t, vep in SNPEFF_EQUIVALENT.items() if vep in terms})


#: Loss of function: the null variants of ACMG/AMP PVS1 (Richards 2015; Abou Tayoun 2018).
LOF_TERMS: frozenset[str] = frozenset(
    {
        "transcript_ablation",
        "splice_acceptor_variant",
        "splice_donor_variant",
        "stop_gained",
        "frameshift_variant",
        "start_lost",
        "exon_loss_variant",
        "feature_ablation",
    }
)
#: Consequences that introduce a premature termination codon (where NMD is judged).
PTC_TERMS: frozenset[str] = frozenset({"stop_gained", "frameshift_variant"})
MISSENSE_TERMS: frozenset[str] = frozenset({"missense_variant"})
#: In-frame insertions/deletions (PM4 also counts ``stop_lost``; that is the classifier's call).
INFRAME_TERMS: frozenset[str] = _with_snpeff({"inframe_insertion", "inframe_deletion"})
SYNONYMOUS_TERMS: frozenset[str] = frozenset(
    {"synonymous_variant", "stop_retained_variant", "start_retained_variant"}
)
SPLICE_REGION_TERMS: frozenset[str] = _with_snpeff(
    {
        "splice_region_variant",
        "splice_donor_5th_base_variant",
        "splice_donor_region_variant",
        "splice_polypyrimidine_tract_variant",
    }
)

_AA3 = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Sec": "U",
    "Pyl": "O", "Ter": "*", "Xaa": "X", "*": "*",
}  # fmt: skip
# HGVS protein substitution, synonymous or nonsense: p.Arg403Gln, p.(Arg403Gln), p.Leu10=,
# p.Arg403Ter, p.Arg403*.
_HGVSP_SUB = re.compile(r"^p\.\(?([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2}|\*|=)\)?$")


@lru_cache(maxsize=65536)
def amino_acids_from_hgvsp(hgvsp: str | None) -> str | None:
    """VEP's ``Amino_acids`` form from an HGVS protein substitution.

    ``p.Arg403Gln`` → ``R/Q``; ``p.Arg403Ter`` → ``R/*``; synonymous ``p.Leu10=`` → ``L`` (VEP
    writes a single letter when the residue is unchanged); anything else (frameshifts,
    deletions, ``p.?``) → None.
    """
    if not hgvsp:
        return None
    m = _HGVSP_SUB.match(hgvsp)
    if m is None:
        return None
    ref = _AA3.get(m.group(1))
    if ref is None:
        return None
    alt_raw = m.group(3)
    if alt_raw == "=":
        return ref
    alt = _AA3.get(alt_raw)
    return None if alt is None else f"{ref}/{alt}"


@lru_cache(maxsize=8192)
def _terms(raw: str) -> tuple[str, ...]:
    """``a&b`` → the terms most severe first (stable for equal ranks)."""
    if "&" not in raw:
        return (raw,) if raw else ()
    return tuple(sorted((t for t in raw.split("&") if t), key=severity))


@lru_cache(maxsize=8192)
def _rank(raw: str) -> tuple[int, int] | None:
    """``3/27`` (VEP EXON/INTRON, SnpEff Rank) → (3, 27); ``3-4/27`` → (3, 27); else None."""
    if not raw:
        return None
    num, sep, total = raw.partition("/")
    if not sep:
        return None
    first = num.split("-", 1)[0]
    if first.isdigit() and total.isdigit():
        return int(first), int(total)
    return None


@lru_cache(maxsize=65536)
def _position(raw: str) -> int | None:
    """First known residue of ``403``, ``403-404``, ``?-5``, ``5-?`` or SnpEff's ``403/1935``."""
    if not raw:
        return None
    if raw.isdigit():
        return int(raw)
    head = raw.split("/", 1)[0]
    for part in head.split("-"):
        if part.isdigit():
            return int(part)
    return None


def _local(hgvs: str) -> str | None:
    """``ENSP00000347507.3:p.Arg403Gln`` → ``p.Arg403Gln`` (the id is the transcript's)."""
    if not hgvs:
        return None
    return hgvs.split(":", 1)[1] if ":" in hgvs else hgvs


def _exon_nmd(exon: tuple[int, int] | None) -> bool | None:
    # ClinGen PVS1 tree (Abou Tayoun 2018): a premature stop in the last exon escapes NMD; one in
    # an exon before the penultimate triggers it; the penultimate needs the 50-nt rule.
    if exon is None:
        return None
    number, total = exon
    if number >= total:
        return True
    if number < total - 1:
        return False
    return None


def _loftee_nmd(flags: str, filters: str, info: str) -> bool | None:
    # LOFTEE (Karczewski et al., Nature 2020;581:434): SINGLE_EXON — no exon junction, no NMD;
    # END_TRUNC is only raised where the 50-bp rule fails; 50_BP_RULE FAIL means the stop lies in
    # the last exon or the last 50 bp of the penultimate.
    if "SINGLE_EXON" in flags or "END_TRUNC" in filters:
        return True
    if "50_BP_RULE:FAIL" in info:
        return True
    if "50_BP_RULE:PASS" in info:
        return False
    return None


# Names VEP has used for the MANE Select column: MANE_SELECT since release 104, MANE before.
_MANE_COLUMNS = ("MANE_SELECT", "MANE")
_SNPEFF_COLUMNS = {
    "allele": "Allele",
    "annotation": "Annotation",
    "annotation_impact": "Annotation_Impact",
    "gene_name": "Gene_Name",
    "gene_id": "Gene_ID",
    "feature_type": "Feature_Type",
    "feature_id": "Feature_ID",
    "transcript_biotype": "Transcript_BioType",
    "rank": "Rank",
    "hgvs.c": "HGVS.c",
    "hgvs.p": "HGVS.p",
    "aa.pos/aa.length": "AA.pos / AA.length",
}
_INTRONIC_HGVSC = re.compile(r"c\.[-*]?\d+[+-]\d")


class AnnotationReader:
    """Parses one VCF's ``CSQ`` (VEP) or ``ANN`` (SnpEff) values into :class:`Consequence`.

    Build it from the header (:meth:`from_vcf`, :meth:`from_header`); field positions are
    resolved once. A transcript entry whose field count differs from the header's is skipped
    and counted in :attr:`warnings`; a value in which no entry can be read raises
    :class:`InputError`.
    """

    def __init__(self, source: str, fields: Sequence[str], *, info_id: str | None = None) -> None:
        if source not in ("VEP", "SnpEff"):
            raise InputError(
                f"annotation source must be 'VEP' or 'SnpEff', found {source!r}",
                hint="build the reader with AnnotationReader.from_vcf(vcf)",
            )
        self.source = source
        self.fields: tuple[str, ...] = tuple(fields)
        self.info_id = info_id or ("CSQ" if source == "VEP" else "ANN")
        #: Counts of skipped entries and unreadable sub-values, by reason.
        self.warnings: Counter[str] = Counter()
        index = {name: i for i, name in enumerate(self.fields)}
        if source == "SnpEff":
            norm = {name.replace(" ", "").lower(): i for i, name in enumerate(self.fields)}
            index = {
                canonical: norm[key.replace(" ", "")]
                for key, canonical in _SNPEFF_COLUMNS.items()
                if key.replace(" ", "") in norm
            }
        required: tuple[str, ...] = (
            ("Allele", "Consequence") if source == "VEP" else ("Allele", "Annotation")
        )
        if source == "VEP" and "Allele" not in index and "Consequence" in index:
            # VEP run with a --fields list without Allele (seen in old files): the allele is not
            # written; consequences carry allele "" and match only single-ALT records.
            required = ("Consequence",)
        missing = [f for f in required if f not in index]
        if missing:
            raise InputError(
                f"the {self.info_id} header declares no {', '.join(missing)} sub-field "
                f"(declared: {'|'.join(self.fields) or 'nothing'})",
                hint=f"re-annotate with {source}'s default fields, which include {missing[0]}",
            )
        self._n = len(self.fields)

        # Positions of each field; -1 reads the empty string appended to every entry's parts.
        def at(*names: str) -> int:
            for name in names:
                if name in index:
                    return index[name]
            return -1

        if source == "VEP":
            self._i = (
                at("Allele"),
                at("Consequence"),
                at("IMPACT"),
                at("SYMBOL"),
                at("Gene"),
                at("Feature"),
                at("BIOTYPE"),
                at("HGVSc"),
                at("HGVSp"),
                at("Protein_position"),
                at("Amino_acids"),
                at("EXON"),
                at("INTRON"),
                at(*_MANE_COLUMNS),
                at("CANONICAL"),
                at("LoF"),
            )
            self._i_nmd = at("NMD")
            self._i_loftee = (at("LoF_flags"), at("LoF_filter"), at("LoF_info"))
            self._has_loftee = any(i >= 0 for i in self._i_loftee)
        else:
            self._i = (
                at("Allele"),
                at("Annotation"),
                at("Annotation_Impact"),
                at("Gene_Name"),
                at("Gene_ID"),
                at("Feature_ID"),
                at("Transcript_BioType"),
                at("HGVS.c"),
                at("HGVS.p"),
                at("AA.pos / AA.length"),
                -1,
                at("Rank"),
                -1,
                -1,
                -1,
                -1,
            )
            self._i_nmd = -1
            self._i_loftee = (-1, -1, -1)
            self._has_loftee = False

    def __repr__(self) -> str:
        return (
            f"AnnotationReader(source={self.source!r}, info_id={self.info_id!r}, fields={self._n})"
        )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_vcf(cls, vcf: VCF, *, prefer: str | None = None) -> AnnotationReader | None:
        """The reader for a cyvcf2 ``VCF``'s header; None when it declares neither CSQ nor ANN.

        When both are declared VEP is used, unless ``prefer="SnpEff"``.
        """
        return cls.from_header(str(vcf.raw_header), prefer=prefer)

    @classmethod
    def from_header(cls, header: str, *, prefer: str | None = None) -> AnnotationReader | None:
        """The reader for raw VCF header text (the ``##`` lines); None without CSQ or ANN."""
        declared: dict[str, str] = {}
        for line in header.splitlines():
            if line.startswith("##INFO=<ID=CSQ,") or line.startswith("##INFO=<ID=ANN,"):
                declared[line[11:14]] = _description(line)
        found: list[AnnotationReader] = []
        if "CSQ" in declared:
            found.append(cls("VEP", _vep_fields(declared["CSQ"]), info_id="CSQ"))
        if "ANN" in declared:
            found.append(cls("SnpEff", _snpeff_fields(declared["ANN"]), info_id="ANN"))
        if not found:
            return None
        if prefer is not None:
            for reader in found:
                if reader.source == prefer:
                    return reader
        return found[0]

    # ------------------------------------------------------------------ parsing
    @property
    def malformed(self) -> int:
        """How many transcript entries have been skipped so far."""
        return sum(n for reason, n in self.warnings.items() if reason.startswith("skipped"))

    def parse_variant(self, variant: Variant) -> list[Consequence]:
        """The consequences of a cyvcf2 record (its CSQ/ANN value, plus SnpEff's LOF/NMD tags)."""
        value = variant.INFO.get(self.info_id)
        if value is None:
            return []
        if self.source == "SnpEff":
            return self._parse(str(value), nmd=variant.INFO.get("NMD"), lof=variant.INFO.get("LOF"))
        return self._parse(str(value))

    def parse(self, info_value: str | None) -> list[Consequence]:
        """Every transcript entry of every allele in one CSQ/ANN value, in the order written."""
        if info_value is None:
            return []
        return self._parse(info_value)

    def _readable(
        self, entries: list[str], decode: bool
    ) -> Iterator[tuple[list[str], tuple[str, ...]]]:
        """Each well-formed entry's sub-fields (percent-decoded, plus one empty field that
        stands for absent optional columns) with its consequence terms; an entry with the wrong
        number of fields or no consequence term is counted in ``warnings`` and skipped."""
        n, i_csq = self._n, self._i[1]
        for entry in entries:
            parts = entry.split("|")
            if len(parts) != n:
                self.warnings[
                    f"skipped {self.info_id} entries with {len(parts)} fields, header declares {n}"
                ] += 1
                continue
            if decode and "%" in entry:
                parts = [unquote(p) if "%" in p else p for p in parts]
            parts.append("")
            terms = _terms(parts[i_csq])
            if not terms:
                self.warnings[f"skipped {self.info_id} entries without a consequence term"] += 1
                continue
            yield parts, terms

    def _parse(self, value: str, *, nmd: Any = None, lof: Any = None) -> list[Consequence]:
        if not isinstance(value, str):
            raise InputError(
                f"the {self.info_id} INFO value is not text (found {type(value).__name__})",
                hint=f"declare {self.info_id} as Type=String in the header",
            )
        if value in ("", "."):
            return []
        decode = "%" in value
        snpeff_nmd = _snpeff_gene_tags(nmd, lof) if self.source == "SnpEff" else None
        out: list[Consequence] = []
        entries = value.split(",")
        build = self._consequence
        for parts, terms in self._readable(entries, decode):
            out.append(build(parts, terms, snpeff_nmd))
        if not out and entries:
            raise self._unreadable(value, len(entries))
        return out

    def _unreadable(self, value: str, entries: int) -> InputError:
        return InputError(
            f"the {self.info_id} INFO value cannot be read as {self.source} annotation: none "
            f"of its {entries} entries has the {self._n} '|'-separated fields the header "
            f"declares (value starts {value[:60]!r})",
            hint=f"check that the file was annotated by {self.source} with this header, "
            "or re-annotate it",
        )

    def _consequence(
        self, parts: list[str], terms: tuple[str, ...], snpeff_nmd: dict[str, bool] | None
    ) -> Consequence:
        """One entry's :class:`Consequence` from its split (decoded, ``""``-padded) fields."""
        (i_allele, _, i_impact, i_symbol, i_gene, i_feature, i_biotype, i_hgvsc, i_hgvsp,
         i_pos, i_aa, i_exon, i_intron, i_mane, i_canonical, i_lof) = self._i  # fmt: skip
        hgvsc = parts[i_hgvsc]
        hgvsp = _local(parts[i_hgvsp])
        rank = _rank(parts[i_exon])
        if self.source == "VEP":
            exon, intron = rank, _rank(parts[i_intron])
            amino_acids = parts[i_aa] or None
            mane = parts[i_mane] or None
            canonical = parts[i_canonical] == "YES"
        else:
            # SnpEff's Rank is the exon's or, for intronic positions, the intron's.
            if "intron_variant" in terms or _INTRONIC_HGVSC.match(hgvsc):
                exon, intron = None, rank
            else:
                exon, intron = rank, None
            amino_acids = amino_acids_from_hgvsp(hgvsp)
            mane, canonical = None, False
        nmd_escape: bool | None = None
        if not PTC_TERMS.isdisjoint(terms):
            if self._has_loftee:
                i_flags, i_filter, i_info = self._i_loftee
                nmd_escape = _loftee_nmd(parts[i_flags], parts[i_filter], parts[i_info])
            # The NMD plugin marks escapers only; an empty value leaves the exon rule.
            i_nmd = self._i_nmd
            if nmd_escape is None and i_nmd >= 0 and "NMD_escaping_variant" in parts[i_nmd]:
                nmd_escape = True
            gene_name = parts[i_symbol]
            if nmd_escape is None and snpeff_nmd is not None and gene_name in snpeff_nmd:
                nmd_escape = snpeff_nmd[gene_name]
            if nmd_escape is None:
                nmd_escape = _exon_nmd(exon)
        return Consequence(
            allele=parts[i_allele],
            terms=terms,
            impact=parts[i_impact] or None,
            gene=parts[i_symbol] or None,
            gene_id=parts[i_gene] or None,
            transcript=parts[i_feature] or None,
            biotype=parts[i_biotype] or None,
            hgvsc=_local(hgvsc),
            hgvsp=hgvsp,
            protein_position=_position(parts[i_pos]),
            amino_acids=amino_acids,
            exon=exon,
            intron=intron,
            mane_select=mane,
            canonical=canonical,
            lof=parts[i_lof] or None,
            nmd_escape=nmd_escape,
            source=self.source,
        )

    # ------------------------------------------------------------------ picking without parsing
    def pick_from(
        self,
        info_value: str | None,
        ref: str,
        alt: str,
        alts: Sequence[str] | None = None,
        preferred: Mapping[str, str] | None = None,
    ) -> Consequence | None:
        """``pick(self.parse(info_value), alt, ref, preferred=preferred, alts=alts)``, faster.

        The choice is made on the split sub-fields; only the chosen entry becomes a
        :class:`Consequence`. Skipped entries are counted in :attr:`warnings` and a value with
        no readable entry raises :class:`InputError`, exactly as :meth:`parse` does.
        """
        if info_value is None:
            return None
        return self._pick(info_value, ref, (alt,), alts, preferred, None, None)[0]

    def pick_each(
        self,
        info_value: str | None,
        ref: str,
        alts: Sequence[str],
        *,
        preferred: Mapping[str, str] | None = None,
        genes: Collection[str] | None = None,
    ) -> list[Consequence | None]:
        """The pick for each of a record's ``alts``, reading the value once.

        Item ``j`` equals ``pick(candidates, alts[j], ref, preferred=preferred, alts=alts)``
        where ``candidates`` is ``self.parse(info_value)``, kept to entries whose gene symbol
        (upper-cased, ``""`` when absent) is in ``genes`` when ``genes`` is given (give it
        upper-cased). Warnings are counted once per entry, as one :meth:`parse` would.
        """
        if info_value is None:
            return [None] * len(alts)
        return self._pick(info_value, ref, alts, alts, preferred, genes, None)

    def pick_variant(
        self,
        variant: Variant,
        ref: str,
        alts: Sequence[str],
        *,
        preferred: Mapping[str, str] | None = None,
        genes: Collection[str] | None = None,
    ) -> list[Consequence | None]:
        """:meth:`pick_each` on a cyvcf2 record, with SnpEff's LOF/NMD tags as
        :meth:`parse_variant` reads them. ``ref`` and ``alts`` are given (the caller may have
        upper-cased them)."""
        value = variant.INFO.get(self.info_id)
        if value is None:
            return [None] * len(alts)
        snpeff_nmd: dict[str, bool] | None = None
        if self.source == "SnpEff":
            snpeff_nmd = _snpeff_gene_tags(variant.INFO.get("NMD"), variant.INFO.get("LOF"))
        return self._pick(str(value), ref, alts, alts, preferred, genes, snpeff_nmd)

    def _pick(
        self,
        value: str,
        ref: str,
        targets: Sequence[str],
        alts: Sequence[str] | None,
        preferred: Mapping[str, str] | None,
        genes: Collection[str] | None,
        snpeff_nmd: dict[str, bool] | None,
    ) -> list[Consequence | None]:
        # The same steps as _parse (entry skipping, decoding, warnings, the error for a value
        # with no readable entry) and the same key as pick(), on the raw sub-fields.
        if not isinstance(value, str):
            raise InputError(
                f"the {self.info_id} INFO value is not text (found {type(value).__name__})",
                hint=f"declare {self.info_id} as Type=String in the header",
            )
        k = len(targets)
        if value in ("", "."):
            return [None] * k
        decode = "%" in value
        i = self._i
        i_allele, i_symbol, i_feature, i_biotype, i_mane, i_canonical = (
            i[0], i[3], i[5], i[6], i[13], i[14]
        )  # fmt: skip
        snpeff = self.source == "SnpEff"
        matched: dict[str, tuple[int, ...]] = {}
        best_key: list[tuple[int, int, int, int, int] | None] = [None] * k
        best: list[tuple[list[str], tuple[str, ...]] | None] = [None] * k
        readable = 0
        entries = value.split(",")
        for parts, terms in self._readable(entries, decode):
            readable += 1
            written = parts[i_allele]
            hits = matched.get(written)
            if hits is None:
                if k == 1 and written == targets[0]:
                    hits = _FIRST
                else:
                    hits = _matching(written, snpeff, ref, targets, alts)
                matched[written] = hits
            if not hits:
                continue
            gene = parts[i_symbol]
            if genes is not None and gene.upper() not in genes:
                continue
            mane = 0 if parts[i_mane] else 1
            if mane:
                # Keys compare MANE first: once every allele this entry annotates has a MANE
                # Select entry, it cannot win and the rest of its key is not needed.
                for h in hits:
                    b = best_key[h]
                    if b is None or b[0]:
                        break
                else:
                    continue
            transcript = parts[i_feature]
            panel = 1
            if preferred and transcript and _is_preferred(preferred, gene or None, transcript):
                panel = 0
            key = (
                mane,
                panel,
                0 if parts[i_canonical] == "YES" else 1,
                SEVERITY.get(terms[0], _UNKNOWN_RANK),
                0 if parts[i_biotype] == "protein_coding" else 1,
            )
            for h in hits:
                b = best_key[h]
                if b is None or key < b:
                    best_key[h] = key
                    best[h] = (parts, terms)
        if not readable:
            raise self._unreadable(value, len(entries))
        out: list[Consequence | None] = [None] * k
        built: dict[int, Consequence] = {}
        for h, chosen in enumerate(best):
            if chosen is None:
                continue
            parts, terms = chosen
            c = built.get(id(parts))
            if c is None:
                c = built[id(parts)] = self._consequence(parts, terms, snpeff_nmd)
            out[h] = c
        return out


def _description(line: str) -> str:
    key = 'Description="'
    start = line.find(key)
    if start < 0:
        return ""
    start += len(key)
    end = line.rfind('"')
    return line[start:end] if end > start else line[start:]


def _vep_fields(description: str) -> list[str]:
    # "Consequence annotations from Ensembl VEP. Format: Allele|Consequence|..."
    _, sep, fmt = description.partition("Format: ")
    if not sep:
        _, sep, fmt = description.partition("Format:")
    if not sep:
        raise InputError(
            "the CSQ header line has no 'Format: ' list of sub-fields "
            f"(description: {description[:80]!r})",
            hint="the CSQ header must be the one Ensembl VEP writes with --vcf",
        )
    return [f.strip() for f in fmt.strip().split("|")]


def _snpeff_fields(description: str) -> list[str]:
    # "Functional annotations: 'Allele | Annotation | ... | ERRORS / WARNINGS / INFO'"
    _, sep, fmt = description.partition(":")
    if not sep:
        raise InputError(
            f"the ANN header line lists no sub-fields (description: {description[:80]!r})",
            hint="the ANN header must be the one SnpEff writes",
        )
    fmt = fmt.strip().strip("'\" ")
    return [f.strip() for f in fmt.split("|")]


def _snpeff_gene_tags(nmd: Any, lof: Any) -> dict[str, bool] | None:
    """Gene symbol → NMD escape from SnpEff's ``NMD``/``LOF`` INFO tags.

    Both are ``(Gene_Name|Gene_ID|Number_of_transcripts_in_gene|Percent_of_transcripts_affected)``
    lists. SnpEff predicts NMD for a premature stop more than 50 bases before the last exon
    junction (SnpEff manual, "Loss of function (LOF) and nonsense-mediated decay (NMD)
    predictions"). A gene with LOF but no NMD tag: no transcript is predicted to decay (True);
    NMD in every transcript: False; in some: unknown, left to the exon rule.
    """
    if not nmd and not lof:
        return None
    nmd_share = {g: share for g, share in _gene_tag(nmd)}
    out: dict[str, bool] = {}
    for gene, _share in _gene_tag(lof):
        if gene not in nmd_share:
            out[gene] = True
    for gene, share in nmd_share.items():
        if share >= 1.0:
            out[gene] = False
    return out


def _gene_tag(value: Any) -> list[tuple[str, float]]:
    if not value:
        return []
    items = value if isinstance(value, tuple | list) else str(value).split(",")
    out: list[tuple[str, float]] = []
    for item in items:
        parts = str(item).strip().strip("()").split("|")
        if len(parts) != 4:
            continue
        try:
            out.append((parts[0], float(parts[3])))
        except ValueError:
            continue
    return out


# ---------------------------------------------------------------------- alleles and picking


def _trim(ref: str, alt: str) -> str:
    """VEP ``--minimal``: drop the prefix, then the suffix, ALT shares with REF ("-" if empty)."""
    i = 0
    while i < len(ref) and i < len(alt) and ref[i] == alt[i]:
        i += 1
    r, a = ref[i:], alt[i:]
    while r and a and r[-1] == a[-1]:
        r, a = r[:-1], a[:-1]
    return a or "-"


def _vep_spelling(ref: str, alt: str, alts: Sequence[str] | None) -> str:
    """The allele as VEP writes it without ``--minimal`` (``Parser/VCF.pm``)."""
    if alts is not None and len(alts) > 1:
        if not any(len(a) != len(ref) for a in alts):
            return alt
        firsts = {a[:1] for a in (ref, *alts) if "*" not in a}
        if len(firsts) != 1 or "*" in alt:
            return alt
        return alt[1:] or "-"
    if len(alt) != len(ref) and ref[:1] == alt[:1]:
        return alt[1:] or "-"
    return alt


def _spellings(ref: str, alt: str, alts: Sequence[str] | None) -> frozenset[str]:
    forms = {_vep_spelling(ref, alt, alts), _trim(ref, alt)}
    if alts is None:
        forms.add(alt)
    return frozenset(forms)


def allele_matches(
    consequence: Consequence, ref: str, alt: str, *, alts: Sequence[str] | None = None
) -> bool:
    """Whether ``consequence`` annotates the VCF allele ``ref``→``alt``.

    SnpEff: the ALT as written (or ``ALT-REF`` in cancer mode). VEP: the allele after VEP's
    first-base stripping or ``--minimal`` trimming. Give the record's ``alts`` (all ALT alleles)
    to apply VEP's multi-allelic rule exactly: VEP strips the shared first base only when every
    allele of the record has it, so ``A``→``T,ATT`` is written ``T`` and ``ATT`` (or ``TT`` with
    ``--minimal``). A VEP file written without an ``Allele`` sub-field matches single-ALT
    records only.
    """
    written = consequence.allele
    if not written:
        return alts is None or len(alts) <= 1
    if written == alt:
        return True
    if consequence.source == "SnpEff":
        head, sep, _ = written.partition("-")
        return bool(sep) and head == alt
    return written in _spellings(ref, alt, alts)


def _versionless(transcript: str | None) -> str:
    if not transcript:
        return ""
    return transcript.split(".", 1)[0]


def _is_preferred(preferred: Mapping[str, str], gene: str | None, transcript: str) -> bool:
    """Whether ``transcript`` is the panel's for ``gene`` (see :func:`pick`); versionless.

    ``gene`` is None when no symbol was written.
    """
    tx = _versionless(transcript)
    want = preferred.get(gene or "")
    return (want is not None and _versionless(want) == tx) or (
        tx in preferred and (gene is None or preferred[tx] == gene)
    )


_FIRST = (0,)


def _matching(
    written: str, snpeff: bool, ref: str, targets: Sequence[str], alts: Sequence[str] | None
) -> tuple[int, ...]:
    """The indexes of ``targets`` whose allele an entry written ``written`` annotates (as
    :func:`pick` matches them)."""
    out: list[int] = []
    for h, alt in enumerate(targets):
        if written == alt:
            out.append(h)
        elif not written:
            if alts is None or len(alts) <= 1:
                out.append(h)
        elif snpeff:
            head, sep, _ = written.partition("-")
            if sep and head == alt:
                out.append(h)
        elif written in _spellings(ref, alt, alts):
            out.append(h)
    return tuple(out)


def pick(
    consequences: Sequence[Consequence],
    alt: str,
    ref: str,
    *,
    preferred: Mapping[str, str] | None = None,
    alts: Sequence[str] | None = None,
) -> Consequence | None:
    """The one transcript consequence of ``ref``→``alt`` to interpret, or None.

    Among the entries of this allele (:func:`allele_matches`), in order: MANE Select; the
    ``preferred`` transcript of the gene; VEP's canonical; then the most severe consequence.
    ``preferred`` maps a gene symbol to a transcript id (``Panel.preferred_transcripts()``);
    a transcript id (versionless) may also be a key, mapping to its gene's symbol, so RefSeq
    and Ensembl annotations both find the panel's transcript. Versions are ignored. Ties go to
    the more severe consequence, then to protein-coding transcripts, then to file order.
    """
    best: Consequence | None = None
    best_key: tuple[int, int, int, int, int] | None = None
    forms: frozenset[str] | None = None
    for c in consequences:
        written = c.allele
        if written != alt:
            if not written:
                if alts is not None and len(alts) > 1:
                    continue
            elif c.source == "SnpEff":
                head, sep, _ = written.partition("-")
                if not (sep and head == alt):
                    continue
            else:
                if forms is None:
                    forms = _spellings(ref, alt, alts)
                if written not in forms:
                    continue
        key = (
            0 if c.mane_select else 1,
            0
            if preferred and c.transcript and _is_preferred(preferred, c.gene, c.transcript)
            else 1,
            0 if c.canonical else 1,
            severity(c.terms[0]) if c.terms else _UNKNOWN_RANK,
            0 if c.biotype == "protein_coding" else 1,
        )
        if best_key is None or key < best_key:
            best, best_key = c, key
    return best
