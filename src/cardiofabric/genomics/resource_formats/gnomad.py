"""gnomAD (v2, v3, v4) and ExAC sites VCFs: allele frequencies, counts and the filtering AF.

:class:`_GnomadRows` turns one VCF record's INFO into a ``gnomad`` staging row; where a file
gives no filtering allele frequency, :func:`filtering_allele_frequency` computes it as gnomAD
does. Records split out of multiallelic ones (``OLD_MULTIALLELIC``) are matched to their
original ``Number=A`` values.
"""

from __future__ import annotations

import math
from typing import Any

from cardiofabric.errors import MissingDependencyError
from cardiofabric.genomics.resource_formats.common import Sniffed, _Skip, minimal_alleles

__all__ = ["FAF_GROUPS", "filtering_allele_frequency"]

#: Genetic ancestry groups over which gnomAD takes the maximum filtering allele frequency. The
#: founder or bottlenecked groups (Ashkenazi Jewish, Finnish, Amish, Middle Eastern) and the
#: unassigned "other/remaining" group are left out, as gnomAD does for ``faf95_popmax`` and
#: ``fafmax_faf95_max`` (gnomAD v2.1 and v4.0 release notes; Whiffin et al., Genet Med 2017).
FAF_GROUPS = ("afr", "amr", "eas", "nfe", "sas")


def filtering_allele_frequency(ac: int, an: int, confidence: float = 0.95) -> float:
    """The filtering allele frequency of one group: the highest true allele frequency at which
    observing ``ac`` or more alleles among ``an`` still has probability ``1 − confidence``.

    This is the lower bound of the one-sided ``confidence`` interval of a Poisson allele count
    (Whiffin et al., "Using high-resolution variant frequencies to empower clinical genome
    interpretation", Genet Med 2017;19:1151; gnomAD computes its ``faf95`` this way with
    Hail's ``filtering_allele_frequency``). With the Poisson–gamma identity
    ``P(X ≥ k | λ) = P(Γ(k) ≤ λ)`` the bound is ``λ = Γ⁻¹(k; 1 − confidence)``, so
    ``faf = gammaincinv(ac, 1 − confidence) / an``. Zero when ``ac`` or ``an`` is 0.
    """
    if ac <= 0 or an <= 0:
        return 0.0
    try:
        from scipy.special import gammaincinv  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - scipy comes with the genomics extra
        raise MissingDependencyError(
            "scipy", "genomics", "computing gnomAD filtering allele frequencies"
        ) from None
    return float(gammaincinv(ac, 1.0 - confidence)) / an


def _g7(x: Any) -> float | None:
    """A VCF float as written: cyvcf2 gives float32 values; 7 significant digits undo that."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    if math.isnan(v):
        return None
    return float(f"{v:.7g}")


def _int(x: Any) -> int | None:
    if x is None:
        return None
    try:
        return int(x)
    except (TypeError, ValueError):
        return None


def _per_alt(value: Any, i: int, n: int) -> Any:
    """The ``i``-th ALT's value of a Number=A INFO field as cyvcf2 returns it."""
    if value is None:
        return None
    if isinstance(value, tuple | list):
        return value[i] if i < len(value) else None
    if isinstance(value, str) and n > 1:
        parts = value.split(",")
        if len(parts) == 1:
            return parts[0]
        return parts[i] if i < len(parts) else None
    return value


def _alt_index(rec: Any, i: int, n: int) -> tuple[int, int]:
    """Where the ``i``-th ALT's values sit in Number=A fields, and how many there are.

    A record split out of a multiallelic one by ``vt decompose`` keeps the original
    ``Number=A`` values and names the original alleles in ``OLD_MULTIALLELIC``
    (``1:13404:G/A/T``), as ExAC's files do: the ALT's position in that list is the index.
    """
    old = rec.INFO.get("OLD_MULTIALLELIC") if n == 1 else None
    if not old:
        return i, n
    where, _, alleles = str(old).rpartition(":")
    parts = alleles.split("/")
    try:
        pos0 = int(where.rsplit(":", 1)[-1])
    except ValueError:
        raise _Skip("OLD_MULTIALLELIC not chrom:pos:REF/ALT/...") from None
    mine = minimal_alleles(rec.POS, rec.REF.upper(), rec.ALT[i].upper())
    for j, alt in enumerate(parts[1:]):
        if minimal_alleles(pos0, parts[0].upper(), alt.upper()) == mine:
            return j, len(parts) - 1
    raise _Skip("ALT allele not found in OLD_MULTIALLELIC")


class _GnomadRows:
    """gnomAD v2/v3/v4 and ExAC INFO layouts → (af, faf95, ac, an, nhomalt, filter)."""

    def __init__(self, vcf: Any, sniffed: Sniffed) -> None:
        info = sniffed.info
        self.exac = "AC_Adj" in info and "AN_Adj" in info
        self.ac = "AC_Adj" if self.exac else "AC"
        self.an = "AN_Adj" if self.exac else "AN"
        self.af = None if self.exac or "AF" not in info else "AF"
        self.nhomalt = next((f for f in ("nhomalt", "AC_Hom", "Hom") if f in info), None)
        self.faf_max = next((f for f in ("fafmax_faf95_max", "faf95_popmax") if f in info), None)
        lower = {i.lower(): i for i in info}
        self.faf_groups = [lower[f"faf95_{g}"] for g in FAF_GROUPS if f"faf95_{g}" in lower]
        self.groups: list[tuple[str, str]] = []
        for g in FAF_GROUPS:
            for sep in ("_", "-"):
                ac, an = lower.get(f"ac{sep}{g}"), lower.get(f"an{sep}{g}")
                if ac and an:
                    self.groups.append((ac, an))
                    break
        self.faf_overall = "faf95" if "faf95" in info else None
        self.as_filter = "AS_FilterStatus" if "AS_FilterStatus" in info else None

    def row(self, rec: Any, i: int, n: int, key: tuple[str, int, str, str]) -> tuple[Any, ...]:
        get = rec.INFO.get
        i, n = _alt_index(rec, i, n)
        ac = _int(_per_alt(get(self.ac), i, n))
        an = _int(get(self.an))
        if ac is None or an is None:
            raise _Skip(f"no {self.ac}/{self.an}")
        if ac < 0 or an < 0 or ac > an:
            raise _Skip(f"{self.ac} outside 0…{self.an}")
        af = _g7(_per_alt(get(self.af), i, n)) if self.af else None
        if af is None:
            af = ac / an if an else None
        faf = self._faf(rec, i, n, ac, an)
        nhomalt = _int(_per_alt(get(self.nhomalt), i, n)) if self.nhomalt else None
        filt = None
        if self.as_filter:
            filt = _per_alt(get(self.as_filter), i, n)
        if not filt:
            filt = rec.FILTER or "PASS"
        return (*key, af, faf, ac, an, nhomalt, str(filt))

    def _faf(self, rec: Any, i: int, n: int, ac: int, an: int) -> float | None:
        get = rec.INFO.get
        if self.faf_max:
            v = _g7(_per_alt(get(self.faf_max), i, n))
            if v is not None:
                return v
        values = [_g7(_per_alt(get(f), i, n)) for f in self.faf_groups]
        given = [v for v in values if v is not None]
        if given:
            return max(given)
        if self.groups:
            fafs = []
            for acf, anf in self.groups:
                g_ac = _int(_per_alt(get(acf), i, n))
                g_an = _int(get(anf))
                if g_ac is not None and g_an:
                    fafs.append(filtering_allele_frequency(g_ac, g_an))
            if fafs:
                return float(f"{max(fafs):.7g}")
        if self.faf_overall:
            v = _g7(_per_alt(get(self.faf_overall), i, n))
            if v is not None:
                return v
        return float(f"{filtering_allele_frequency(ac, an):.7g}") if an else None
