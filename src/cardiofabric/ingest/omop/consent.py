"""A person's research consent in an OMOP CDM v5.4 extract: consent rows of ``observation``.

OMOP CDM v5.4 has no consent table, so a person's research consent is kept as rows of
``observation`` (CDM v5.4 OBSERVATION: facts obtained by questioning the person), one row per
GA4GH DUO term, the terms of one consent sharing its date:

==============================  ==============================================================
OBSERVATION field (CDM v5.4)    in a consent row
==============================  ==============================================================
``observation_concept_id``      the consent concept: the ``concept`` row of LOINC 59284-0
                                "Patient Consent" (FHIR R4 ``Consent.category``); or
                                ``observation_source_concept_id``, for a site that maps its
                                local concept to 0; without a concept table, the source's
                                option ``consent_concept_id`` names the id
``observation_date``            the day the consent, or its withdrawal, was recorded
``qualifier_source_value``      ``permit`` (or empty): the term is a permission; ``deny``: a
                                prohibition (FHIR ``Consent.provision.type``); ``withdrawn``:
                                the consent was withdrawn that day (the row has no term)
``value_as_string``             the DUO code (``DUO:0000042``) or abbreviation (``GRU``);
                                ``value_source_value`` when empty
``observation_source_value``    the site's own label of the concept (not read)
==============================  ==============================================================

The rows of one date are one consent; the latest is the person's (``updated`` its date,
``version`` the number of dates). A date with terms states the whole consent; a date with only
a ``withdrawn`` row withdraws the consent stated before it, its terms kept (as with FHIR,
governance excludes a withdrawn person whatever the terms say). "No use of genomic data" is
``deny`` DUO:0000016 (GSO), and DUO modifiers among the permissions name the first permission
as ``modifier_of``, as for every source (:mod:`cardiofabric.ingest.consent`). A consent row
whose term or qualifier is unknown is rejected with its file and line, and the person's consent
is then recorded empty (nothing permitted): a consent read in part, or an older one, could
permit what the person did not. Consent rows are read into :attr:`ModalityRecord.consent` and
not into the ``observation`` content (the object's consent is the one place governance reads
it); they stay in the payload with the person's other CDM rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cardiofabric.errors import InputError
from cardiofabric.ingest.consent import ConsentReading, consent_of
from cardiofabric.ingest.omop.tables import Concept, iso
from cardiofabric.mmio.model import Consent
from cardiofabric.vocab.duo import resolve

__all__ = ["CONSENT_CONCEPT", "ConsentRows", "consent_concept_ids", "is_consent"]

#: The concept of consent observations (vocabulary_id, concept_code); see the module docstring.
CONSENT_CONCEPT = ("LOINC", "59284-0")
_CONSENT_QUALIFIERS = ("permit", "deny", "withdrawn")


def consent_concept_ids(
    concepts: Mapping[int, Concept], options: Mapping[str, Any], directory: Path
) -> set[int]:
    """The concept ids of consent rows: the consent concept's, and the option's."""
    ids = {cid for cid, c in concepts.items() if (c.vocabulary, c.code) == CONSENT_CONCEPT}
    given = options.get("consent_concept_id")
    for v in given if isinstance(given, list | tuple) else [] if given is None else [given]:
        try:
            ids.add(int(v))
        except (TypeError, ValueError):
            raise InputError(
                f"option consent_concept_id: expected an OMOP concept id (an integer), found {v!r}",
                path=directory,
                hint="name the observation_concept_id of the extract's consent rows",
            ) from None
    ids.discard(0)  # "No matching concept" is never the consent concept
    return ids


def is_consent(r: dict[str, Any], ids: set[int]) -> bool:
    """Whether an ``observation`` row is a consent row."""
    concepts = (r.get("observation_concept_id"), r.get("observation_source_concept_id"))
    return any(i in ids for i in concepts if i)


@dataclass
class _ConsentDay:
    """The consent rows of one person on one date."""

    permissions: list[str] = field(default_factory=list)
    prohibitions: list[str] = field(default_factory=list)
    withdrawn: bool = False
    problems: list[str] = field(default_factory=list)


@dataclass
class ConsentRows:
    """One person's consent rows, by date."""

    days: dict[str, _ConsentDay] = field(default_factory=dict)

    def add(self, raw: dict[str, Any]) -> None:
        """Record one consent row; ``ValueError`` says why it cannot be read."""
        day = self.days.setdefault(iso(raw.get("observation_date")) or "", _ConsentDay())
        qualifier = (raw.get("qualifier_source_value") or "").strip().lower() or "permit"
        if qualifier not in _CONSENT_QUALIFIERS:
            day.problems.append(
                f"consent row: qualifier_source_value {qualifier!r} is not one of "
                f"{', '.join(_CONSENT_QUALIFIERS)}; the person's consent is recorded empty"
            )
            raise ValueError(day.problems[-1])
        if qualifier == "withdrawn":
            day.withdrawn = True
            return
        term = (raw.get("value_as_string") or raw.get("value_source_value") or "").strip()
        try:
            code = resolve(term).code
        except InputError:
            day.problems.append(
                f"consent row: unknown DUO term {term!r} in value_as_string; expected a DUO code "
                "(DUO:0000042) or abbreviation (GRU); the person's consent is recorded empty"
            )
            raise ValueError(day.problems[-1]) from None
        (day.permissions if qualifier == "permit" else day.prohibitions).append(code)

    def consent(self) -> Consent | None:
        """The person's consent from the consent rows (see the module docstring); None if none."""
        readings: list[ConsentReading] = []
        permits: tuple[str, ...] = ()
        denies: tuple[str, ...] = ()
        for order, (when, day) in enumerate(sorted(self.days.items())):
            if day.permissions or day.prohibitions:  # a date with terms states them all
                permits = tuple(dict.fromkeys(day.permissions))
                denies = tuple(dict.fromkeys(day.prohibitions))
            status = "withdrawn" if day.withdrawn else "active"
            readings.append(
                ConsentReading(
                    status, permits, denies, when or None, None, order, tuple(day.problems)
                )
            )
        return consent_of(readings)
