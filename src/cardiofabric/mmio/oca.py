"""OCA 2.0 semantics: bundles of a capture base and overlays, each with its own SAID.

A bundle is laid out exactly as the NextGen MMIO fixtures (``v``, ``digest``, ``capture_base``,
``overlays``): overlays are keyed by their short type name; overlays that exist once per language
(label, entry, meta, ...) are lists. Every overlay names the capture base it belongs to by SAID.

The bundle's version string ``v`` is ``OCAS20JSON`` + the byte length of the compact
serialisation as six hexadecimal digits + ``_`` (a CESR-style version string). Bundles embedded
in MMIO 0.1 JSON omit ``v``; verification then reconstructs it, which reproduces the published
digests.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cardiofabric.errors import DigestMismatchError, InputError, ObjectFormatError
from cardiofabric.mmio.said import PLACEHOLDER, canonical_json, is_said, said_of

__all__ = [
    "ATTRIBUTE_TYPES",
    "AttributeSpec",
    "BundleSpec",
    "DigestProblem",
    "build_bundle",
    "bundle_said",
    "check_bundle",
    "iter_overlays",
    "verify_bundle",
]

ATTRIBUTE_TYPES = frozenset({"Text", "Numeric", "Boolean", "DateTime", "Binary", "Reference"})
_VERSION_PREFIX = "OCAS20JSON"


@dataclass(frozen=True)
class DigestProblem:
    """One digest that does not hold: where it is, what it says, what the content gives."""

    location: str
    stated: str | None
    computed: str


@dataclass
class AttributeSpec:
    """How one captured attribute is described across overlays."""

    name: str
    type: str = "Text"
    labels: dict[str, str] = field(default_factory=dict)  # language (ISO 639-3) -> label
    unit: str | None = None  # UCUM
    code: str | None = None  # e.g. "LOINC:2089-1"
    entries: dict[str, dict[str, str]] = field(default_factory=dict)  # lang -> code -> label
    required: bool = False


@dataclass
class BundleSpec:
    """Everything needed to compile one OCA bundle."""

    name: str
    description: str
    attributes: list[AttributeSpec]
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # lang -> (name, description)
    classification: str | None = None


def _overlay(
    kind: str, cb: str, body: Mapping[str, Any], lang: str | None = None
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "digest": PLACEHOLDER,
        "capture_base": cb,
        "type": f"overlay/{kind}/2.0.0",
    }
    if lang is not None:
        obj["language"] = lang
    obj.update(body)
    obj["digest"] = said_of(obj)
    return obj


def bundle_said(bundle: Mapping[str, Any]) -> tuple[str, str]:
    """Return ``(v, digest)`` for a bundle: its version string and its SAID."""
    body = {k: v for k, v in bundle.items() if k not in ("v", "digest")}
    draft: dict[str, Any] = {"v": _VERSION_PREFIX + "000000_", "digest": PLACEHOLDER, **body}
    size = len(canonical_json(draft))
    draft["v"] = f"{_VERSION_PREFIX}{size:06x}_"
    return draft["v"], said_of(draft)


def build_bundle(spec: BundleSpec) -> dict[str, Any]:
    """Compile a :class:`BundleSpec` into an OCA 2.0 bundle with every SAID filled in."""
    seen: set[str] = set()
    for a in spec.attributes:
        if a.type not in ATTRIBUTE_TYPES:
            raise InputError(
                f"attribute {a.name!r} has type {a.type!r}; expected one of "
                f"{', '.join(sorted(ATTRIBUTE_TYPES))}"
            )
        if not a.name:
            raise InputError("an attribute has an empty name; every attribute needs one")
        if a.name in seen:
            # The capture base maps names to types: a second spec would silently replace the first.
            raise InputError(
                f"attribute {a.name!r} is given twice; expected each attribute once",
                hint="merge the two specifications into one AttributeSpec",
            )
        seen.add(a.name)
    attrs = sorted(spec.attributes, key=lambda a: a.name)
    cb_body: dict[str, Any] = {"digest": PLACEHOLDER, "type": "capture_base/2.0.0"}
    if spec.classification:
        cb_body["classification"] = spec.classification
    cb_body["attributes"] = {a.name: a.type for a in attrs}
    cb_body["digest"] = said_of(cb_body)
    cb = cb_body["digest"]

    overlays: dict[str, Any] = {}
    required = {a.name: ("M" if a.required else "O") for a in attrs}
    overlays["conformance"] = _overlay("conformance", cb, {"attribute_conformance": required})

    langs = sorted({lang for a in attrs for lang in a.labels} | set(spec.names))
    entry_langs = sorted({lang for a in attrs for lang in a.entries})
    if entry_langs:
        overlays["entry"] = [
            _overlay(
                "entry",
                cb,
                {
                    "attribute_entries": {
                        a.name: a.entries[lang] for a in attrs if lang in a.entries
                    }
                },
                lang,
            )
            for lang in entry_langs
        ]
        codes = {}
        for a in attrs:
            if a.entries:
                codes[a.name] = sorted({c for per in a.entries.values() for c in per})
        overlays["entry_code"] = _overlay("entry_code", cb, {"attribute_entry_codes": codes})
    units = {a.name: a.unit for a in attrs if a.unit}
    if units:
        overlays["format"] = _overlay("format", cb, {"attribute_formats": units})
        overlays["unit"] = _overlay("unit", cb, {"metric_system": "UCUM", "attribute_units": units})
    framing = {a.name: a.code for a in attrs if a.code}
    if framing:
        overlays["attribute_framing"] = _overlay(
            "attribute_framing", cb, {"attribute_framing": framing}
        )
    labelled = [lang for lang in langs if any(lang in a.labels for a in attrs)]
    if labelled:
        overlays["label"] = [
            _overlay(
                "label",
                cb,
                {"attribute_labels": {a.name: a.labels[lang] for a in attrs if lang in a.labels}},
                lang,
            )
            for lang in labelled
        ]
    names = spec.names or {"eng": (spec.name, spec.description)}
    overlays["meta"] = [
        _overlay("meta", cb, {"description": desc, "name": name}, lang)
        for lang, (name, desc) in sorted(names.items())
    ]
    bundle: dict[str, Any] = {
        "v": "",
        "digest": PLACEHOLDER,
        "capture_base": cb_body,
        "overlays": overlays,
    }
    bundle["v"], bundle["digest"] = bundle_said(bundle)
    return bundle


def iter_overlays(bundle: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(location, overlay)`` for every overlay, in file order."""
    overlays = bundle.get("overlays", {})
    if not isinstance(overlays, Mapping):
        raise ObjectFormatError(f"'overlays' should be an object, found {type(overlays).__name__}")
    for name, value in overlays.items():
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield f"/overlays/{name}/{i}", item
        else:
            yield f"/overlays/{name}", value


def check_bundle(bundle: Any, prefix: str = "") -> list[DigestProblem]:
    """Every digest problem in an OCA bundle, in file order (empty when all hold).

    Checks the capture base, each overlay (and that it points at this capture base), and the
    bundle itself. Raises :class:`ObjectFormatError` when the bundle is not shaped like one.
    """
    if not isinstance(bundle, Mapping) or not isinstance(bundle.get("capture_base"), Mapping):
        raise ObjectFormatError(
            "expected an OCA bundle (an object with 'capture_base' and 'overlays'), found "
            + (f"keys {list(bundle)[:6]}" if isinstance(bundle, Mapping) else type(bundle).__name__)
        )
    try:
        return _check_bundle(bundle, prefix)
    except (TypeError, ValueError) as exc:
        # json.dumps refuses NaN/Infinity and non-JSON values (sets, bytes, ...): such a
        # bundle was not read from an OCA file and has no SAID to check.
        raise ObjectFormatError(
            f"the OCA bundle at {prefix or '/'} holds a value that is not plain JSON ({exc})",
            hint="OCA bundles contain only JSON strings, numbers, booleans, null, lists, objects",
        ) from None


def _check_bundle(bundle: Mapping[str, Any], prefix: str) -> list[DigestProblem]:
    problems: list[DigestProblem] = []
    cb = bundle["capture_base"]
    cb_said = said_of(cb)
    if cb.get("digest") != cb_said:
        problems.append(DigestProblem(f"{prefix}/capture_base/digest", cb.get("digest"), cb_said))
    for loc, ov in iter_overlays(bundle):
        if not isinstance(ov, Mapping):
            raise ObjectFormatError(f"{prefix}{loc} should be an overlay object")
        computed = said_of(ov)
        if ov.get("digest") != computed:
            problems.append(DigestProblem(f"{prefix}{loc}/digest", ov.get("digest"), computed))
        if ov.get("capture_base") != cb.get("digest"):
            problems.append(
                DigestProblem(f"{prefix}{loc}/capture_base", ov.get("capture_base"), cb_said)
            )
    v, computed = bundle_said(bundle)
    if "v" in bundle and bundle["v"] != v:
        problems.append(DigestProblem(f"{prefix}/v", bundle["v"], v))
    if bundle.get("digest") != computed:
        problems.append(DigestProblem(f"{prefix}/digest", bundle.get("digest"), computed))
    return problems


def verify_bundle(bundle: Any, *, path: str | None = None, prefix: str = "") -> None:
    """Raise :class:`DigestMismatchError` naming the first digest that does not hold."""
    problems = check_bundle(bundle, prefix)
    if problems:
        p = problems[0]
        raise DigestMismatchError(
            f"digest at {p.location} is {p.stated!r} but the content gives {p.computed!r}"
            + (f" ({len(problems)} problems in all)" if len(problems) > 1 else ""),
            location=p.location,
            path=path,
            hint="the bundle was changed after it was sealed; restore the original or rebuild it",
        )


def strip_version(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """The bundle without its ``v`` field, as MMIO 0.1 embeds it."""
    out = copy.deepcopy(dict(bundle))
    out.pop("v", None)
    return out


def valid_said_reference(value: Any) -> bool:
    """Whether a bundle reference (``{"type": "Reference", "value": SAID}``) is well-formed."""
    return (
        isinstance(value, Mapping)
        and value.get("type") == "Reference"
        and is_said(value.get("value"))
    )
