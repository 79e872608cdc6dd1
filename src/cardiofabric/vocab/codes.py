"""The curated cardiology vocabulary: lookup, hierarchy and cross-maps across code systems.

The entries live in :mod:`~cardiofabric.vocab.loinc` (LOINC 2.77), :mod:`~.conditions`
(SNOMED CT International Edition, WHO ICD-10 2019, ICD-10-CM FY2024, HPO 2025-11-24),
:mod:`~.atc` (WHO ATC/DDD Index 2024) and :mod:`~.study` (the Pathfinder study's outcome);
each module's docstring names its sources. Each entry is a code a harmonised row may carry,
with its English label and, where numeric, the canonical UCUM unit and the analyte used for
molar conversions.

Query helpers, in the spirit of Beacon v2 ``includeDescendantTerms`` and FHIR ``$translate``:

- :func:`descendants` / :func:`ancestors`: is-a closure within one system;
- :func:`crossmap`: the codes of another system for the same condition, with ConceptMap
  equivalence (``equivalent``, ``wider``, ``narrower``);
- :func:`expand`: every ``(system, code)`` that a query for one code should match, across
  systems, so that a site that recorded ICD-10 and one that recorded SNOMED CT answer alike.
"""

from __future__ import annotations

from collections import defaultdict

from cardiofabric.vocab.atc import ATC_CODES
from cardiofabric.vocab.conditions import CONDITION_CODES, CROSSMAP
from cardiofabric.vocab.loinc import LOINC_CODES
from cardiofabric.vocab.study import STUDY_CODES
from cardiofabric.vocab.systems import (
    SYSTEM_URIS,
    Code,
    normalise_code,
    normalise_system,
)

__all__ = [
    "CODES",
    "SYSTEM_URIS",
    "Code",
    "ancestors",
    "crossmap",
    "crossmap_entries",
    "descendants",
    "expand",
    "lookup",
    "preferred",
]

CODES: dict[tuple[str, str], Code] = {
    (c.system, c.code): c for c in (*LOINC_CODES, *CONDITION_CODES, *ATC_CODES, *STUDY_CODES)
}

_CHILDREN: dict[tuple[str, str], set[str]] = defaultdict(set)
for _c in CODES.values():
    for _p in _c.parents:
        _CHILDREN[(_c.system, _p)].add(_c.code)


def _key(system: str | None, code: str | None) -> tuple[str, str] | None:
    short = normalise_system(system)
    norm = normalise_code(short, code)
    return (short, norm) if short and norm else None


def lookup(system: str, code: str) -> Code | None:
    """The vocabulary entry for ``(system, code)``; ``system`` may be a short name or a URI."""
    key = _key(system, code)
    return CODES.get(key) if key else None


def preferred(system: str, code: str) -> tuple[str, str]:
    """The ``(system, code)`` a row is harmonised to: the entry's ``preferred`` twin, if any."""
    key = _key(system, code) or (system, code)
    entry = CODES.get(key)
    return (key[0], entry.preferred) if entry and entry.preferred else key


def descendants(system: str, code: str, *, include_self: bool = True) -> set[str]:
    """Codes of ``system`` under ``code`` in the curated hierarchy (``is-a`` closure)."""
    key = _key(system, code)
    if key is None:
        return set()
    short, root = key
    out = {root} if include_self else set()
    todo = [root]
    while todo:
        for child in _CHILDREN.get((short, todo.pop()), ()):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def ancestors(system: str, code: str, *, include_self: bool = False) -> list[str]:
    """Codes of ``system`` above ``code``, nearest first."""
    key = _key(system, code)
    if key is None:
        return []
    short, start = key
    out = [start] if include_self else []
    seen = {start}
    frontier = [start]
    while frontier:
        nxt: list[str] = []
        for c in frontier:
            entry = CODES.get((short, c))
            for p in entry.parents if entry else ():
                if p not in seen:
                    seen.add(p)
                    out.append(p)
                    nxt.append(p)
        frontier = nxt
    return out


# -- cross-maps ---------------------------------------------------------------------------

_INVERSE = {"equivalent": "equivalent", "wider": "narrower", "narrower": "wider"}
_ORDER = {"equivalent": 0, "narrower": 1, "wider": 2}


def _compose(a: str, b: str) -> str | None:
    """Relation of z to x from (y to x) = a and (z to y) = b; None when it is unknown."""
    if a == "equivalent":
        return b
    if b == "equivalent" or a == b:
        return a
    return None


def _build_crossmap() -> dict[tuple[str, str], dict[str, list[tuple[str, str]]]]:
    pairs: dict[tuple[str, str], dict[tuple[str, str], str]] = defaultdict(dict)
    for sct, tsys, tcode, rel in CROSSMAP:
        pairs[("SNOMEDCT", sct)][(tsys, tcode)] = rel
        pairs[(tsys, tcode)].setdefault(("SNOMEDCT", sct), _INVERSE[rel])
    # ICD-10 ↔ HPO through the SNOMED CT hub, where the relations compose.
    for hub, linked in list(pairs.items()):
        if hub[0] != "SNOMEDCT":
            continue
        for a, rel_a in linked.items():
            for b, rel_b in linked.items():
                if a[0] == b[0]:
                    continue
                composed = _compose(_INVERSE[rel_a], rel_b)
                if composed is not None:
                    pairs[a].setdefault(b, composed)
    out: dict[tuple[str, str], dict[str, list[tuple[str, str]]]] = {}
    for src, targets in pairs.items():
        by_system: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for (tsys, tcode), rel in targets.items():
            by_system[tsys].append((tcode, rel))
        for entries in by_system.values():
            entries.sort(key=lambda e: _ORDER[e[1]])
        out[src] = dict(by_system)
    return out


_CROSS = _build_crossmap()


def crossmap_entries(
    system: str, code: str, target_system: str
) -> list[tuple[str, str, str | None]]:
    """``(target code, relation, via)`` for ``code`` in ``target_system``.

    ``via`` is None for a direct map, or the ancestor of ``code`` whose map was used when
    ``code`` itself has none (then the target is at most as specific as that ancestor).
    """
    key = _key(system, code)
    target = normalise_system(target_system)
    if key is None or target is None:
        return []
    if key[0] == target:
        return [(key[1], "equivalent", None)]
    for via in [key[1], *ancestors(key[0], key[1])]:
        found = _CROSS.get((key[0], via), {}).get(target)
        if found:
            return [(c, rel, None if via == key[1] else via) for c, rel in found]
    return []


def crossmap(system: str, code: str, target_system: str, *, exact: bool = False) -> list[str]:
    """Codes of ``target_system`` for ``code``: equivalent first, then narrower, then wider.

    With ``exact=True`` only equivalent codes mapped directly are returned.
    """
    return [
        c
        for c, rel, via in crossmap_entries(system, code, target_system)
        if not exact or (rel == "equivalent" and via is None)
    ]


def expand(system: str, code: str, *, include_descendants: bool = True) -> set[tuple[str, str]]:
    """Every ``(system, code)`` a query for ``code`` should match, in every curated system.

    The code and its descendants, the codes that cross-map to any of them as equivalent or
    narrower (never wider: a query for long QT syndrome must not match every I45.8), and the
    descendants of those. Use it to build ``WHERE (code_system, code) IN (...)`` over the store.
    """
    key = _key(system, code)
    if key is None:
        return set()
    out: set[tuple[str, str]] = set()
    roots = descendants(*key) if include_descendants else {key[1]}
    for c in roots:
        out.add((key[0], c))
        for tsys, entries in _CROSS.get((key[0], c), {}).items():
            for tcode, rel in entries:
                if rel == "wider":
                    continue
                tset = descendants(tsys, tcode) if include_descendants else {tcode}
                out.update((tsys, t) for t in tset)
    return out
