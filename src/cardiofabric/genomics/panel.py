"""The cardiac gene panel: which genes cause which cardiac conditions, and how to read them.

The bundled panel (``data/cardiac_panel.toml``) holds, per gene, the ClinGen gene–disease validity
curations of the cardiac expert panels (HCM, DCM, ARVC, LQTS, Brugada, CPVT, FH, heritable
thoracic aortic disease, transthyretin amyloidosis), the MANE Select transcripts, the disease
mechanisms that decide whether PVS1, PP2 and BP1 apply, PM1 regions defined by expert panels, and
per condition the allele-frequency thresholds for BA1, BS1 and PM2_Supporting. The file's header
says where every figure comes from and which ones still need re-checking.

:func:`load_panel` reads and validates a panel file (the bundled one by default, read once):
an unknown condition, inheritance or classification, a malformed transcript id, a domain whose
start lies after its end, or thresholds out of order raise :class:`InputError` naming the gene
and the field.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cardiofabric.errors import InputError

__all__ = [
    "CLASSIFICATIONS",
    "CONDITIONS",
    "INHERITANCE",
    "Domain",
    "FrequencySpec",
    "GeneDisease",
    "Panel",
    "PanelGene",
    "load_panel",
]

#: Conditions of the panel (short codes used throughout genomics).
CONDITIONS = ("HCM", "DCM", "ARVC", "LQTS", "BrS", "CPVT", "FH", "HTAD", "ATTR")
#: ClinGen gene–disease validity classifications (Strande et al., Am J Hum Genet 2017;100:895).
CLASSIFICATIONS = ("Definitive", "Strong", "Moderate", "Limited", "Disputed", "Refuted")
#: Modes of inheritance: autosomal dominant/recessive, X-linked, semidominant.
INHERITANCE = ("AD", "AR", "XL", "SD")

_REFSEQ = re.compile(r"^NM_\d+\.\d+$")
_ENSEMBL = re.compile(r"^ENST\d{11}\.\d+$")
_HGNC = re.compile(r"^HGNC:\d+$")
_OMIM = re.compile(r"^OMIM:\d{6}$")
_MONDO = re.compile(r"^MONDO:\d{7}$")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_CHROMS = frozenset([*(str(i) for i in range(1, 23)), "X", "Y", "MT"])
_RECESSIVE = frozenset({"AR", "SD"})


@dataclass(frozen=True)
class GeneDisease:
    """One ClinGen gene–disease validity curation."""

    condition: str
    disease: str
    mondo: str | None
    omim: tuple[str, ...]
    classification: str
    inheritance: str
    curation_date: str
    source: str


@dataclass(frozen=True)
class Domain:
    """A protein region (1-based residues, inclusive) where missense variants meet PM1."""

    start: int
    end: int
    label: str
    source: str

    def __contains__(self, position: object) -> bool:
        return isinstance(position, int) and self.start <= position <= self.end


@dataclass(frozen=True)
class FrequencySpec:
    """Allele-frequency thresholds on the gnomAD filtering allele frequency (faf95).

    BA1 if faf ≥ ``ba1``, BS1 if faf ≥ ``bs1``, PM2_Supporting if faf ≤ ``pm2`` or absent.
    ``mcaf`` is the maximum credible allele frequency (Whiffin et al., Genet Med 2017) when the
    thresholds were derived from one.
    """

    condition: str
    ba1: float
    bs1: float
    pm2: float
    source: str
    mcaf: float | None = None
    #: Whether gnomAD homozygotes may count as BS2 ("observed in a healthy adult ... with full
    #: penetrance expected at an early age", Richards 2015). False for late-onset, reduced-
    #: penetrance conditions, where unaffected homozygous carriers are expected.
    bs2: bool = True


@dataclass(frozen=True)
class PanelGene:
    """A panel gene: its curations, MANE Select transcripts, mechanisms and PM1 regions."""

    symbol: str
    hgnc_id: str
    chrom: str
    mane_refseq: str
    mane_ensembl: str
    diseases: tuple[GeneDisease, ...]
    lof_mechanism: bool
    missense_mechanism: bool
    truncating_only: bool
    domains: tuple[Domain, ...]

    @property
    def conditions(self) -> tuple[str, ...]:
        """The gene's conditions, in the order curated, without repeats."""
        return tuple(dict.fromkeys(d.condition for d in self.diseases))

    def domain_at(self, protein_position: int | None) -> Domain | None:
        """The PM1 region holding ``protein_position``, if any."""
        if protein_position is None:
            return None
        for domain in self.domains:
            if domain.start <= protein_position <= domain.end:
                return domain
        return None


class Panel:
    """A validated gene panel (read-only mappings)."""

    def __init__(
        self,
        genes: Mapping[str, PanelGene],
        conditions: Mapping[str, FrequencySpec],
        *,
        recessive: FrequencySpec | None = None,
        name: str = "",
        version: str = "",
        mane_release: str = "",
    ) -> None:
        self.genes: Mapping[str, PanelGene] = MappingProxyType(dict(genes))
        self.conditions: Mapping[str, FrequencySpec] = MappingProxyType(dict(conditions))
        #: Thresholds added for genes with a recessive (AR/SD) disease.
        self.recessive = recessive
        self.name = name
        self.version = version
        self.mane_release = mane_release
        self._upper = {s.upper(): g for s, g in self.genes.items()}

    def __repr__(self) -> str:
        return f"Panel({self.name!r} {self.version}, {len(self.genes)} genes)"

    def __contains__(self, symbol: object) -> bool:
        return isinstance(symbol, str) and symbol.upper() in self._upper

    def gene(self, symbol: str | None) -> PanelGene | None:
        """The panel gene of an HGNC symbol (case-insensitive), or None."""
        if not symbol:
            return None
        return self._upper.get(symbol.upper())

    def frequency_spec(self, symbol: str) -> FrequencySpec:
        """The thresholds for a gene: the highest of each over the gene's conditions.

        Taking the most permissive value means a variant is never called benign (BA1/BS1) while
        it is rare enough to cause any of the gene's conditions, and PM2 is given wherever any
        condition's spec would give it. Genes with a recessive disease also take the
        :attr:`recessive` thresholds, since carrier alleles are far more frequent than patients.
        """
        gene = self.gene(symbol)
        if gene is None:
            raise InputError(
                f"gene {symbol!r} is not in the panel {self.name!r}",
                hint="check panel.gene(symbol) first; only panel genes have frequency thresholds",
            )
        specs = [self.conditions[c] for c in gene.conditions]
        if self.recessive is not None and any(d.inheritance in _RECESSIVE for d in gene.diseases):
            specs.append(self.recessive)
        if len(specs) == 1:
            return specs[0]
        mcafs = [s.mcaf for s in specs if s.mcaf is not None]
        return FrequencySpec(
            condition="+".join(s.condition for s in specs),
            ba1=max(s.ba1 for s in specs),
            bs1=max(s.bs1 for s in specs),
            pm2=max(s.pm2 for s in specs),
            source="highest of: " + " | ".join(f"{s.condition}: {s.source}" for s in specs),
            mcaf=max(mcafs) if mcafs else None,
            bs2=all(s.bs2 for s in specs),
        )

    def preferred_transcripts(self) -> dict[str, str]:
        """Transcript preferences for :func:`cardiofabric.genomics.annotation.pick`.

        Each symbol maps to its MANE Select RefSeq id, and each MANE transcript id (RefSeq and
        Ensembl, without version) maps to its symbol, so a RefSeq- or an Ensembl-annotated file
        finds the panel's transcript either way.
        """
        out: dict[str, str] = {}
        for symbol, gene in self.genes.items():
            out[symbol] = gene.mane_refseq
            out[gene.mane_refseq.split(".", 1)[0]] = symbol
            out[gene.mane_ensembl.split(".", 1)[0]] = symbol
        return out


# ---------------------------------------------------------------------- loading


def _default_text() -> tuple[str, str]:
    ref = resources.files("cardiofabric.genomics").joinpath("data/cardiac_panel.toml")
    return ref.read_text(encoding="utf-8"), "cardiofabric/genomics/data/cardiac_panel.toml"


@lru_cache(maxsize=1)
def _bundled() -> Panel:
    text, where = _default_text()
    return _parse(text, where)


def load_panel(path: Path | None = None) -> Panel:
    """Read and validate a panel file; the bundled cardiac panel (read once) by default."""
    if path is None:
        return _bundled()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            "panel file not found", path=path, hint="give the path of a panel TOML file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the panel file: {exc}",
            path=path,
            hint="the panel must be a readable UTF-8 TOML file",
        ) from None
    return _parse(text, str(path))


def _parse(text: str, where: str) -> Panel:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"the panel file is not valid TOML: {exc}",
            path=where,
            hint="fix the syntax (see cardiac_panel.toml in the package for the expected layout)",
        ) from None
    meta = data.get("panel", {})
    if not isinstance(meta, dict):
        raise _err(where, "[panel]", "a table", meta)
    conditions_raw = data.get("conditions")
    if not isinstance(conditions_raw, dict) or not conditions_raw:
        raise _err(
            where, "[conditions]", "a table of frequency specs per condition", conditions_raw
        )
    conditions: dict[str, FrequencySpec] = {}
    for code, spec in conditions_raw.items():
        if code not in CONDITIONS:
            raise InputError(
                f"[conditions.{code}]: unknown condition {code!r}",
                path=where,
                hint=f"conditions are {', '.join(CONDITIONS)}",
            )
        conditions[code] = _spec(where, f"conditions.{code}", code, spec, recessive=False)
    recessive = None
    if "recessive" in data:
        recessive = _spec(where, "recessive", "AR", data["recessive"], recessive=True)

    genes_raw = data.get("genes")
    if not isinstance(genes_raw, list) or not genes_raw:
        raise _err(where, "[[genes]]", "a list of gene tables", genes_raw)
    genes: dict[str, PanelGene] = {}
    for i, raw in enumerate(genes_raw):
        gene = _gene(where, i, raw)
        if gene.symbol.upper() in (s.upper() for s in genes):
            raise InputError(
                f"gene {gene.symbol}: listed twice", path=where, hint="merge the two entries"
            )
        for disease in gene.diseases:
            if disease.condition not in conditions:
                raise InputError(
                    f"gene {gene.symbol}, field diseases.condition: condition "
                    f"{disease.condition!r} has no [conditions.{disease.condition}] spec",
                    path=where,
                    hint="add the condition's frequency thresholds to the file",
                )
        genes[gene.symbol] = gene
    return Panel(
        genes,
        conditions,
        recessive=recessive,
        name=str(meta.get("name", "")),
        version=str(meta.get("version", "")),
        mane_release=str(meta.get("mane_release", "")),
    )


def _err(where: str, field: str, expected: str, found: Any) -> InputError:
    return InputError(
        f"{field}: expected {expected}, found {found!r}",
        path=where,
        hint="see cardiac_panel.toml in the package for the expected layout",
    )


def _number(where: str, ctx: str, field: str, value: Any, *, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise _err(where, f"{ctx}, field {field}", "a number", value)
    if not lo < value <= hi:
        raise _err(where, f"{ctx}, field {field}", f"a number in ({lo}, {hi}]", value)
    return float(value)


def _spec(where: str, ctx: str, code: str, raw: Any, *, recessive: bool) -> FrequencySpec:
    if not isinstance(raw, dict):
        raise _err(where, f"[{ctx}]", "a table", raw)
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise _err(where, f"[{ctx}], field source", "a citation", source)
    mcaf = None
    inputs = ("prevalence", "max_allelic_contribution", "penetrance")
    if all(k in raw for k in inputs):
        prevalence, contribution, penetrance = (
            _number(where, f"[{ctx}]", k, raw[k], lo=0.0, hi=1.0) for k in inputs
        )
        # Whiffin et al., Genet Med 2017;19:1151: for a dominant condition one allele can reach
        # prevalence × contribution / penetrance / 2; for a recessive one the square root of
        # prevalence × contribution / penetrance.
        if recessive:
            mcaf = math.sqrt(prevalence * contribution / penetrance)
        else:
            mcaf = prevalence * contribution / penetrance / 2
    thresholds = ("ba1", "bs1", "pm2")
    if all(k in raw for k in thresholds):
        ba1, bs1, pm2 = (_number(where, f"[{ctx}]", k, raw[k], lo=0.0, hi=1.0) for k in thresholds)
    elif mcaf is not None and not any(k in raw for k in thresholds):
        # The HCM expert panel's thresholds (Kelly 2018) are 1, 5 and 25 times Whiffin's HCM
        # MCAF; conditions without expert-panel thresholds are scaled the same way.
        pm2, bs1, ba1 = mcaf, 5 * mcaf, 25 * mcaf
    else:
        raise _err(
            where,
            f"[{ctx}]",
            "ba1, bs1 and pm2, or prevalence, max_allelic_contribution and penetrance",
            sorted(raw),
        )
    if not pm2 <= bs1 <= ba1:
        raise _err(
            where, f"[{ctx}], fields pm2 <= bs1 <= ba1", "ordered thresholds", (pm2, bs1, ba1)
        )
    bs2 = raw.get("bs2_homozygotes", True)
    if not isinstance(bs2, bool):
        raise _err(where, f"[{ctx}], field bs2_homozygotes", "true or false", bs2)
    return FrequencySpec(
        condition=code, ba1=ba1, bs1=bs1, pm2=pm2, source=source.strip(), mcaf=mcaf, bs2=bs2
    )


def _text(
    where: str, ctx: str, raw: dict[str, Any], field: str, pattern: re.Pattern[str] | None = None
) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value.strip():
        raise _err(where, f"{ctx}, field {field}", "text", value)
    if pattern is not None and not pattern.match(value):
        raise _err(where, f"{ctx}, field {field}", f"text matching {pattern.pattern}", value)
    return value.strip()


def _flag(where: str, ctx: str, raw: dict[str, Any], field: str) -> bool:
    value = raw.get(field)
    if not isinstance(value, bool):
        raise _err(where, f"{ctx}, field {field}", "true or false", value)
    return value


def _gene(where: str, index: int, raw: Any) -> PanelGene:
    if not isinstance(raw, dict):
        raise _err(where, f"genes[{index}]", "a table", raw)
    symbol = raw.get("symbol")
    if not isinstance(symbol, str) or not symbol.strip():
        raise _err(where, f"genes[{index}], field symbol", "a gene symbol", symbol)
    ctx = f"gene {symbol}"
    chrom = _text(where, ctx, raw, "chrom")
    if chrom not in _CHROMS:
        raise _err(where, f"{ctx}, field chrom", "1-22, X, Y or MT (no 'chr')", chrom)
    diseases_raw = raw.get("diseases")
    if not isinstance(diseases_raw, list) or not diseases_raw:
        raise _err(where, f"{ctx}, field diseases", "at least one [[genes.diseases]]", diseases_raw)
    domains_raw = raw.get("domains", [])
    if not isinstance(domains_raw, list):
        raise _err(where, f"{ctx}, field domains", "a list of [[genes.domains]]", domains_raw)
    domains: list[Domain] = []
    for d in domains_raw:
        domains.extend(_domains(where, ctx, d))
    return PanelGene(
        symbol=symbol.strip(),
        hgnc_id=_text(where, ctx, raw, "hgnc_id", _HGNC),
        chrom=chrom,
        mane_refseq=_text(where, ctx, raw, "mane_refseq", _REFSEQ),
        mane_ensembl=_text(where, ctx, raw, "mane_ensembl", _ENSEMBL),
        diseases=tuple(_disease(where, ctx, d) for d in diseases_raw),
        lof_mechanism=_flag(where, ctx, raw, "lof_mechanism"),
        missense_mechanism=_flag(where, ctx, raw, "missense_mechanism"),
        truncating_only=_flag(where, ctx, raw, "truncating_only"),
        domains=tuple(sorted(domains, key=lambda x: (x.start, x.end))),
    )


def _disease(where: str, ctx: str, raw: Any) -> GeneDisease:
    if not isinstance(raw, dict):
        raise _err(where, f"{ctx}, field diseases", "a table", raw)
    condition = _text(where, ctx, raw, "condition")
    if condition not in CONDITIONS:
        raise _err(where, f"{ctx}, field diseases.condition", f"one of {CONDITIONS}", condition)
    classification = _text(where, ctx, raw, "classification")
    if classification not in CLASSIFICATIONS:
        raise _err(
            where,
            f"{ctx}, field diseases.classification",
            f"one of {CLASSIFICATIONS}",
            classification,
        )
    inheritance = _text(where, ctx, raw, "inheritance")
    if inheritance not in INHERITANCE:
        raise _err(
            where, f"{ctx}, field diseases.inheritance", f"one of {INHERITANCE}", inheritance
        )
    mondo = raw.get("mondo")
    if mondo is not None and (not isinstance(mondo, str) or not _MONDO.match(mondo)):
        raise _err(where, f"{ctx}, field diseases.mondo", "MONDO:nnnnnnn or absent", mondo)
    omim = raw.get("omim", [])
    if not isinstance(omim, list) or not all(isinstance(o, str) and _OMIM.match(o) for o in omim):
        raise _err(where, f"{ctx}, field diseases.omim", "a list of OMIM:nnnnnn ids", omim)
    return GeneDisease(
        condition=condition,
        disease=_text(where, ctx, raw, "disease"),
        mondo=mondo,
        omim=tuple(omim),
        classification=classification,
        inheritance=inheritance,
        curation_date=_text(where, ctx, raw, "curation_date", _DATE),
        source=_text(where, ctx, raw, "source"),
    )


def _domains(where: str, ctx: str, raw: Any) -> list[Domain]:
    """A ``[[genes.domains]]`` entry: a ``start``–``end`` range or a list of ``residues``."""
    if not isinstance(raw, dict):
        raise _err(where, f"{ctx}, field domains", "a table", raw)
    label = _text(where, ctx, raw, "label")
    source = _text(where, ctx, raw, "source")
    if "residues" in raw:
        residues = raw["residues"]
        if not isinstance(residues, list) or not residues:
            raise _err(where, f"{ctx}, field domains.residues", "a list of residues", residues)
        spans = [(r, r) for r in residues]
    else:
        spans = [(raw.get("start"), raw.get("end"))]
    out = []
    for start, end in spans:
        for name, value in (("start", start), ("end", end)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise _err(where, f"{ctx}, field domains.{name}", "a residue number ≥ 1", value)
        assert isinstance(start, int) and isinstance(end, int)
        if start > end:
            raise _err(where, f"{ctx}, field domains.start", f"start ≤ end ({end})", start)
        out.append(Domain(start=start, end=end, label=label, source=source))
    return out
