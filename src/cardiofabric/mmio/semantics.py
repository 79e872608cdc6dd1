"""Standard OCA semantics for harmonised content, and a registry that resolves them by SAID.

Every modality built by an adapter without semantics of its own refers (by SAID) to one
standard bundle describing the harmonised tables: one attribute ``<table>__<column>`` per content
column, typed from the column's SQL type, labelled from the column's documentation. Referring
instead of embedding keeps objects small; any release of CardioFabric can rebuild the bundle
from the table definitions and so resolve the reference. Sources that carry their own semantics
(a research extract's OCA bundle, a mapping file) embed those instead.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from cardiofabric.mmio.model import Semantics
from cardiofabric.mmio.oca import AttributeSpec, BundleSpec, build_bundle
from cardiofabric.mmio.tables import CONTENT_TABLES, LINK_COLUMNS

__all__ = ["harmonised_bundle", "harmonised_semantics", "register_bundle", "resolve"]

_SQL_TO_OCA = {
    "VARCHAR": "Text",
    "DOUBLE": "Numeric",
    "INTEGER": "Numeric",
    "BIGINT": "Numeric",
    "BOOLEAN": "Boolean",
    "DATE": "DateTime",
    "TIMESTAMP": "DateTime",
}

_EXTRA: dict[str, dict[str, Any]] = {}


@functools.cache
def harmonised_bundle() -> dict[str, Any]:
    """The OCA bundle of every harmonised content column (deterministic, so its SAID is too)."""
    attrs = []
    for table in CONTENT_TABLES.values():
        for col in table.columns:
            if col.name in LINK_COLUMNS:
                continue
            label = col.doc or col.name.replace("_", " ")
            attrs.append(
                AttributeSpec(
                    name=f"{table.name}__{col.name}",
                    type=_SQL_TO_OCA[col.type.split()[0]],
                    labels={"eng": f"{table.name}: {label}"},
                )
            )
    return build_bundle(
        BundleSpec(
            name="CardioFabric harmonised content",
            description="Harmonised cardiology data: demographics, conditions, measurements, "
            "observations, medications, procedures, ECG features, imaging measurements and "
            "variants, each beside its source value, unit, code, label and language.",
            attributes=attrs,
        )
    )


def harmonised_semantics() -> Semantics:
    """A reference to :func:`harmonised_bundle` for a modality's ``semantics``."""
    return Semantics(type="Reference", value=harmonised_bundle()["digest"])


def register_bundle(bundle: Mapping[str, Any]) -> str:
    """Make a bundle resolvable by its SAID in this process (e.g. a site's own bundles)."""
    digest = str(bundle["digest"])
    _EXTRA[digest] = dict(bundle)
    return digest


def resolve(said: str) -> dict[str, Any] | None:
    """The bundle a SAID refers to, when this process knows it; None otherwise."""
    std = harmonised_bundle()
    if said == std["digest"]:
        return std
    return _EXTRA.get(said)
