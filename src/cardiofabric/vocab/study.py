"""Study-defined codes of the Pathfinder network (code system ``PATHFINDER``).

The network's outcome is a composite, major adverse cardiac events, for which no LOINC or
SNOMED CT code exists. Each site records it under the study's own code system, spelt as its
format allows: the FHIR CodeSystem :data:`~cardiofabric.vocab.systems.PATHFINDER_URI`, the
OMOP ``vocabulary_id`` ``Pathfinder`` of a local concept, or ``Pathfinder`` in a research
extract's data dictionary. :func:`~cardiofabric.vocab.systems.normalise_system` reads every
spelling as ``PATHFINDER``, so harmonised rows of every site carry ``PATHFINDER``/``MACE``.

The outcome's value is SNOMED CT 373066001 Yes (the event happened) or 373067005 No
(censored), and its date is that of the event or of the end of follow-up.
"""

from __future__ import annotations

from cardiofabric.vocab.systems import Code

__all__ = ["MACE", "NO", "STUDY_CODES", "YES"]

#: The harmonised ``(code_system, code)`` of the network's outcome.
MACE = ("PATHFINDER", "MACE")
#: The outcome's answers, SNOMED CT qualifier values.
YES, NO = "373066001", "373067005"

STUDY_CODES: tuple[Code, ...] = (
    Code("PATHFINDER", "MACE", "Major adverse cardiac event (Pathfinder composite outcome)"),
)
