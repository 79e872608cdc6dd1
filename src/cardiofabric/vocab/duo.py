"""GA4GH Data Use Ontology (DUO) terms used for patient consent.

Codes and labels from the Data Use Ontology release 2021-02-23 (EBISPOT/DUO,
http://purl.obolibrary.org/obo/duo.owl); abbreviations as in GA4GH's DUO documentation.
Permissions say what data may be used for; modifiers add conditions or prohibitions.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardiofabric.errors import InputError

__all__ = ["DUO_TERMS", "DuoTerm", "resolve"]


@dataclass(frozen=True)
class DuoTerm:
    code: str
    abbreviation: str
    label: str
    kind: str  # permission | modifier


_TERMS = (
    ("DUO:0000004", "NRES", "no restriction", "permission"),
    ("DUO:0000042", "GRU", "general research use", "permission"),
    ("DUO:0000006", "HMB", "health or medical or biomedical research", "permission"),
    ("DUO:0000007", "DS", "disease specific research", "permission"),
    ("DUO:0000011", "POA", "population origins or ancestry research only", "permission"),
    ("DUO:0000043", "CC", "clinical care use", "modifier"),
    ("DUO:0000012", "RS", "research specific restrictions", "modifier"),
    ("DUO:0000015", "NMDS", "no general methods research", "modifier"),
    ("DUO:0000016", "GSO", "genetic studies only", "modifier"),
    ("DUO:0000018", "NPUNCU", "not for profit, non commercial use only", "modifier"),
    ("DUO:0000019", "PUB", "publication required", "modifier"),
    ("DUO:0000020", "COL", "collaboration required", "modifier"),
    ("DUO:0000021", "IRB", "ethics approval required", "modifier"),
    ("DUO:0000022", "GS", "geographical restriction", "modifier"),
    ("DUO:0000024", "MOR", "publication moratorium", "modifier"),
    ("DUO:0000025", "TS", "time limit on use", "modifier"),
    ("DUO:0000026", "US", "user specific restriction", "modifier"),
    ("DUO:0000027", "PS", "project specific restriction", "modifier"),
    ("DUO:0000028", "IS", "institution specific restriction", "modifier"),
    ("DUO:0000029", "RTN", "return to database or resource", "modifier"),
    ("DUO:0000044", "NPOA", "population origins or ancestry research prohibited", "modifier"),
    ("DUO:0000045", "NPU", "not for profit organisation use only", "modifier"),
    ("DUO:0000046", "NCU", "non-commercial use only", "modifier"),
)

DUO_TERMS: dict[str, DuoTerm] = {
    code: DuoTerm(code, abbr, label, kind) for code, abbr, label, kind in _TERMS
}
_BY_ABBR = {t.abbreviation: t for t in DUO_TERMS.values()}


def resolve(term: str) -> DuoTerm:
    """A DUO term from its code (``DUO:0000042``) or abbreviation (``GRU``)."""
    t = DUO_TERMS.get(term.strip()) or _BY_ABBR.get(term.strip().upper())
    if t is None:
        raise InputError(
            f"unknown DUO term {term!r}",
            hint="use a DUO code such as DUO:0000042 or an abbreviation such as GRU, HMB, DS, NPU",
        )
    return t
