"""The de-identification profile as a table: DICOM tag → action, from PS3.15 Annex E.

The Basic Application Level Confidentiality Profile (PS3.15 E.1.1) is read from
``basic_profile.txt``, a transcription of Table E.1-1 (one attribute per line, tag, action and
PS3.6 name). This module adds the rules Table E.1-1 states with wildcards, resolves the
composite actions, and applies the one option we implement, the Clean Structured Content
Option (PS3.15 E.3.4), so that the measurements of a structured report survive.

Composite actions (``X/Z``, ``X/D``, ``Z/D``, ``X/Z/D``, ``X/Z/U*``) let an implementation that
knows the IOD pick the weakest action that keeps the instance conformant. We apply the table
to every IOD without an IOD table of our own, so we take the action that is always conformant:
the last one (an empty value is valid for a Type 2 attribute, a dummy for a Type 1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from types import MappingProxyType

__all__ = [
    "BASIC_PROFILE",
    "CLEAN_STRUCTURED_CONTENT",
    "METHOD_CODES",
    "METHOD_DESCRIPTION",
    "Action",
    "Rule",
    "action_for",
]


class Action(StrEnum):
    """What to do with an attribute (PS3.15 E.1.1, Table E.1-1 legend, and E.3 "C")."""

    REMOVE = "X"
    ZERO = "Z"
    DUMMY = "D"
    UID = "U"
    KEEP = "K"
    #: Keep a sequence and apply the profile to its items (``U*``, and ``C`` on a sequence).
    CLEAN = "C"


#: Composite actions of Table E.1-1 → the action that keeps any IOD conformant (see above).
_RESOLVE: Mapping[str, Action] = MappingProxyType(
    {
        "X": Action.REMOVE,
        "Z": Action.ZERO,
        "D": Action.DUMMY,
        "U": Action.UID,
        "K": Action.KEEP,
        "C": Action.CLEAN,
        "X/Z": Action.ZERO,
        "X/D": Action.DUMMY,
        "Z/D": Action.DUMMY,
        "X/Z/D": Action.DUMMY,
        "X/Z/U*": Action.CLEAN,
    }
)


@dataclass(frozen=True)
class Rule:
    """One row of Table E.1-1: the attribute, the action as the standard writes it, our action."""

    tag: int
    name: str
    standard: str  # e.g. "X/Z/D", as in the "Basic Prof." column
    action: Action


_LINE = re.compile(r"^\(([0-9A-F]{4}),([0-9A-F]{4})\)\s+(\S+)\s+(.+?)\s*$")


def _load() -> dict[int, Rule]:
    text = resources.files(__package__).joinpath("basic_profile.txt").read_text("utf-8")
    rules: dict[int, Rule] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None or m.group(3) not in _RESOLVE:
            raise ValueError(f"basic_profile.txt line {n}: cannot read {line!r}")
        tag = int(m.group(1) + m.group(2), 16)
        rules[tag] = Rule(tag, m.group(4), m.group(3), _RESOLVE[m.group(3)])
    return rules


#: PS3.15 Table E.1-1, Basic Profile column, keyed by tag (group << 16 | element).
BASIC_PROFILE: Mapping[int, Rule] = MappingProxyType(_load())

#: Clean Structured Content Option (PS3.15 E.3.4): Content Sequence (0040,A730) is cleaned
#: ("C" in Table E.1-1) instead of replaced by a dummy ("D"). Cleaning keeps the coded and
#: numeric content items (CONTAINER, CODE, NUM, UIDREF, IMAGE, COMPOSITE, SCOORD, TCOORD) with
#: the profile applied to them (UIDs replaced, Person Name (0040,A123) dummied), and replaces
#: the values that can carry free text or dates by dummies, keeping every item in place so that
#: by-reference relationships (Referenced Content Item Identifier
#: (0040,DB73)) still point at the right item.
CLEAN_STRUCTURED_CONTENT: Mapping[int, Action] = MappingProxyType(
    {
        0x0040A730: Action.CLEAN,  # Content Sequence
        0x0040A160: Action.DUMMY,  # Text Value (TEXT content items)
        0x0040A121: Action.DUMMY,  # Date (DATE content items)
        0x0040A122: Action.DUMMY,  # Time (TIME content items)
        0x0040A120: Action.DUMMY,  # DateTime (DATETIME content items)
        0x0040A032: Action.DUMMY,  # Observation DateTime (SR Document Content Module)
    }
)

#: De-identification Method Code Sequence (0012,0064) items: CID 7050 (PS3.16), DCM codes.
METHOD_CODES: tuple[tuple[str, str, str], ...] = (
    ("113100", "DCM", "Basic Application Confidentiality Profile"),
    ("113104", "DCM", "Clean Structured Content Option"),
)

#: De-identification Method (0012,0063), LO with VM 1-n (each value at most 64 characters).
METHOD_DESCRIPTION: tuple[str, ...] = (
    "DICOM PS3.15 E.1.1 Basic Application Confidentiality Profile",
    "PS3.15 E.3.4 Clean Structured Content Option",
    "UIDs: keyed HMAC-SHA-256, 2.25 UUID form",
)


def action_for(tag: int) -> Action | None:
    """The action for an attribute, or None when the profile keeps it as it is.

    Private attributes (odd groups) are removed (Table E.1-1, "Private attributes", X; the
    Retain Safe Private Option is not implemented). Curve Data (50xx,xxxx) is removed. For
    Overlay Data (60xx,3000) and Overlay Comments (60xx,4000), X, we remove the whole repeating
    overlay group: the Overlay Plane Module is user-optional (PS3.3 C.9.2) and its remaining
    attributes would describe data no longer there. Group lengths (gggg,0000), retired in the
    data set (PS3.5 7.2), are removed because the values change.
    """
    group, element = tag >> 16, tag & 0xFFFF
    if group % 2 == 1 or (element == 0x0000 and group != 0x0002):
        return Action.REMOVE
    if 0x5000 <= group <= 0x50FF or 0x6000 <= group <= 0x60FF:
        return Action.REMOVE
    option = CLEAN_STRUCTURED_CONTENT.get(tag)
    if option is not None:
        return option
    rule = BASIC_PROFILE.get(tag)
    return rule.action if rule is not None else None
