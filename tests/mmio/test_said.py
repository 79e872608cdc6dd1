"""SAIDs: BLAKE3-256 over compact JSON with a 44-'#' placeholder, CESR code 'E'.

The vectors are the digests published in the OCA and MMIO 0.1 fixtures (THCLab/mmio-rs), and
the BLAKE3 reference test vectors for raw bytes.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardiofabric.mmio.oca import bundle_said, iter_overlays
from cardiofabric.mmio.said import (
    PLACEHOLDER,
    SAID_LENGTH,
    canonical_json,
    digest_bytes,
    is_said,
    said_of,
    saidify,
)

OCA_DATA = Path(__file__).resolve().parents[1] / "data" / "oca"
GWAS = json.loads((OCA_DATA / "cardiovascular-gwas-variables.oca.json").read_bytes())["bundle"]
MMIO01_FILE = OCA_DATA / "example-mmio-v0.1.json"

#: Every digest of the GWAS bundle, as published.
GWAS_CAPTURE_BASE = "EC1sxKmAj-54cRPEZ_i2FqPPdVA4R8m2QdeEUj28apQ6"
GWAS_OVERLAYS = [
    ("/overlays/conformance", "ED9GliPqCKFpHi2TeGvU187CbUT2SfdilZ_3M-EvXODF"),
    ("/overlays/entry/0", "ED64bxUFVHPQWHJm-sbTaA9BDCgWbYitJZDCVl2jNNAq"),
    ("/overlays/entry/1", "EDS2-ny7-ztUUIbP4rceEGCWxvAnJ1BEm9DpbRSj4H5b"),
    ("/overlays/entry_code", "ENwF4leMVcCbbuWIscFb6Ae8NMYBoIO3H2iUkCgDcQmM"),
    ("/overlays/format", "EOWhoJCMozzBQ-J2y4nAO3QF35koZEi_uh_x2_r-h2Yu"),
    ("/overlays/label/0", "EBZp7jABxT874QqC-WBltDRcFlNsPDL5P2jNY8OoUZgc"),
    ("/overlays/label/1", "EPznCkVlIEI2j5i5qVXTeO6sNpcutrGurpHMjbUoAtQM"),
    ("/overlays/meta/0", "EDYLMczAirMmwddmd0nA9Vpsv1sgvR8H8yPd_Q0ScH1P"),
    ("/overlays/meta/1", "EIn-YD2yxpPB1DVhVqp1S2sWfjHfazDqPDc3UcnHNF4r"),
]
GWAS_BUNDLE = "EDVTSYKu4g7pNfLm_XY62mTFpQrMLHW5B6ilYLaainpz"
GWAS_V = "OCAS20JSON0027f3_"

OVERLAYS = dict(iter_overlays(GWAS))


# -- raw bytes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "blake3_hex", "said"),
    [
        (
            b"",
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
            "EK8TSbn1-aGmoEBN6jbcyUmbyyXJrcESt8yak8rkHzJi",
        ),
        (
            b"abc",
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
            "EGQ3s6w4RlEz_7Y7dSc6jbVIxVhGXXnbA_01nGzVvZ2F",
        ),
    ],
)
def test_digest_bytes_known_vectors(data: bytes, blake3_hex: str, said: str) -> None:
    assert digest_bytes(data) == said
    # The encoding, by hand: a zero pad byte, base64url, then the code 'E' in front.
    raw = bytes.fromhex(blake3_hex)
    assert said == "E" + base64.urlsafe_b64encode(b"\x00" + raw).decode()[1:]
    # ...and back: the 32 bytes come out of the SAID again.
    assert base64.urlsafe_b64decode("A" + said[1:])[1:] == raw


def test_digest_bytes_accepts_memoryview_and_differs_by_one_byte() -> None:
    data = bytes(range(200))
    assert digest_bytes(memoryview(data)) == digest_bytes(data)
    assert digest_bytes(data[:-1] + b"\x00") != digest_bytes(data)


# -- published OCA and MMIO 0.1 digests -------------------------------------------------------


def test_said_of_reproduces_the_capture_base_digest() -> None:
    cb = GWAS["capture_base"]
    assert cb["digest"] == GWAS_CAPTURE_BASE
    assert said_of(cb) == GWAS_CAPTURE_BASE


def test_the_fixture_has_exactly_the_overlays_listed() -> None:
    assert [(loc, ov["digest"]) for loc, ov in iter_overlays(GWAS)] == GWAS_OVERLAYS


@pytest.mark.parametrize(("location", "digest"), GWAS_OVERLAYS, ids=[o[0] for o in GWAS_OVERLAYS])
def test_said_of_reproduces_every_overlay_digest(location: str, digest: str) -> None:
    overlay = OVERLAYS[location]
    assert overlay["digest"] == digest
    assert said_of(overlay) == digest
    # The stated digest plays no part: it is replaced by the placeholder first.
    assert said_of({**overlay, "digest": "anything"}) == digest


def test_said_of_reproduces_the_bundle_digest_and_version_string() -> None:
    v, digest = bundle_said(GWAS)
    assert (v, digest) == (GWAS_V, GWAS_BUNDLE)
    assert (GWAS["v"], GWAS["digest"]) == (GWAS_V, GWAS_BUNDLE)
    # v = OCAS20JSON + size of the compact serialisation (6 hex digits) + '_'.
    assert v.startswith("OCAS20JSON") and v.endswith("_") and len(v) == 17
    size = int(v[10:16], 16)
    assert size == len(canonical_json({**GWAS, "digest": PLACEHOLDER}))
    assert size == len(canonical_json(GWAS))  # a SAID is as long as its placeholder
    # The bundle SAID is an ordinary SAID over the bundle with its v in place.
    assert said_of(GWAS) == GWAS_BUNDLE


def test_said_of_over_another_field_reproduces_mmio_01_ids() -> None:
    obj = json.loads(MMIO01_FILE.read_text(encoding="utf-8"))
    assert said_of(obj, "id") == obj["id"] == "EI-TaIVg2tmtXMdjAlogb5OnmaAsdhHVnGqfhDMk4mTM"
    modality = obj["data"][0]
    assert said_of(modality, "id") == modality["id"]
    assert said_of(modality, "digest") != modality["id"]  # the field name matters


# -- canonical JSON ---------------------------------------------------------------------------


def test_canonical_json_is_compact_ordered_utf8() -> None:
    assert canonical_json({"b": 1, "a": [1, 2.5, None, True]}) == b'{"b":1,"a":[1,2.5,null,true]}'
    assert canonical_json({"l": "Aĝo"}) == '{"l":"Aĝo"}'.encode()


def test_canonical_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


# -- said_of / saidify --------------------------------------------------------------------------


def test_said_of_appends_a_missing_field_at_the_end() -> None:
    obj = {"a": 1}
    expected = digest_of_json(b'{"a":1,"digest":"' + PLACEHOLDER.encode() + b'"}')
    assert said_of(obj) == expected
    assert obj == {"a": 1}  # not mutated


def test_said_of_depends_on_key_order_and_field_position() -> None:
    assert said_of({"a": 1, "b": 2}) != said_of({"b": 2, "a": 1})
    assert said_of({"digest": "", "a": 1}) != said_of({"a": 1, "digest": ""})


def test_saidify_puts_a_new_field_first() -> None:
    sealed = saidify({"type": "x", "n": 1})
    assert list(sealed) == ["digest", "type", "n"]
    assert sealed["digest"] == said_of({"digest": "", "type": "x", "n": 1})
    assert is_said(sealed["digest"])


def test_saidify_keeps_an_existing_field_in_place() -> None:
    sealed = saidify({"type": "x", "digest": "old", "n": 1})
    assert list(sealed) == ["type", "digest", "n"]
    assert sealed["digest"] == said_of(sealed)


def test_saidify_without_first_appends() -> None:
    sealed = saidify({"type": "x"}, first=False)
    assert list(sealed) == ["type", "digest"]
    assert sealed["digest"] == said_of({"type": "x"})


def test_saidify_other_field_and_does_not_mutate() -> None:
    obj = {"n": 1}
    sealed = saidify(obj, "id")
    assert obj == {"n": 1}
    assert list(sealed) == ["id", "n"]
    assert sealed["id"] == said_of(sealed, "id")


def test_saidify_reproduces_a_published_overlay() -> None:
    overlay = copy.deepcopy(OVERLAYS["/overlays/meta/0"])
    overlay["digest"] = ""
    assert saidify(overlay) == OVERLAYS["/overlays/meta/0"]


# -- is_said ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [GWAS_BUNDLE, GWAS_CAPTURE_BASE, "E" + "A" * 43, "E" + "-_" * 21 + "z"]
)
def test_is_said_accepts(value: str) -> None:
    assert len(value) == SAID_LENGTH
    assert is_said(value)


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        b"E" + b"A" * 43,
        "",
        "E" + "A" * 42,  # too short
        "E" + "A" * 44,  # too long
        "A" + "A" * 43,  # not the Blake3-256 code
        "E" + "A" * 42 + "+",  # base64, not base64url
        "E" + "A" * 42 + "=",
        "E" + "A" * 43 + "\n",  # '$' in a regex would let this through
        " E" + "A" * 43,
        PLACEHOLDER,
    ],
)
def test_is_said_rejects(value: object) -> None:
    assert not is_said(value)


# -- properties -------------------------------------------------------------------------------


def _string_leaves(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every string (values and keys) in a JSON object, except the digest field."""
    out: list[tuple[Any, ...]] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if path == () and k == "digest":
                continue
            out.append((*path, ("key", k)))
            out.extend(_string_leaves(v, (*path, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.extend(_string_leaves(v, (*path, i)))
    elif isinstance(obj, str):
        out.append(path)
    return out


def _replace_char(text: str, index: int, char: str) -> str:
    return text[:index] + char + text[index + 1 :]


def _mutate(obj: dict[str, Any], leaf: tuple[Any, ...], index: int, char: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    *parents, last = leaf
    target: Any = out
    for p in parents:
        target = target[p]
    if isinstance(last, tuple):  # a key: rename it in place, keeping the order
        old = last[1]
        if not old:
            raise AssertionError("empty key")
        new = _replace_char(old, index % len(old), char)
        items = [(new if k == old else k, v) for k, v in target.items()]
        target.clear()
        target.update(items)
    else:
        old = target[last]
        target[last] = _replace_char(old, index % len(old), char) if old else char
    return out


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_one_character_change_in_any_overlay_string_changes_its_digest(data: st.DataObject) -> None:
    location = data.draw(st.sampled_from(sorted(OVERLAYS)))
    overlay = OVERLAYS[location]
    leaf = data.draw(st.sampled_from(_string_leaves(overlay)))
    index = data.draw(st.integers(min_value=0, max_value=10_000))
    char = data.draw(st.characters(codec="utf-8", exclude_categories=["Cs"]))
    mutated = _mutate(overlay, leaf, index, char)
    if mutated == overlay:  # the drawn character was the one already there
        return
    if len({k for k in _walk_keys(mutated)}) < len({k for k in _walk_keys(overlay)}):
        return  # renamed a key onto its sibling: a dict cannot hold both
    assert said_of(mutated) != said_of(overlay) == overlay["digest"]


def _walk_keys(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(obj, dict):
        return [(*path, k) for k in obj] + [
            p for k, v in obj.items() for p in _walk_keys(v, (*path, k))
        ]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in _walk_keys(v, (*path, i))]
    return []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=8).filter(lambda k: k != "digest"), json_values))
def test_saidify_then_said_of_is_a_fixed_point(obj: dict[str, Any]) -> None:
    sealed = saidify(obj)
    assert is_said(sealed["digest"])
    assert said_of(sealed) == sealed["digest"]
    assert saidify(sealed) == sealed  # sealing twice changes nothing
    assert {k: v for k, v in sealed.items() if k != "digest"} == obj


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=256), st.data())
def test_one_byte_change_changes_the_payload_digest(data: bytes, draw: st.DataObject) -> None:
    i = draw.draw(st.integers(min_value=0, max_value=len(data) - 1))
    b = draw.draw(st.integers(min_value=0, max_value=255).filter(lambda x: x != data[i]))
    changed = data[:i] + bytes([b]) + data[i + 1 :]
    assert digest_bytes(changed) != digest_bytes(data)
    assert is_said(digest_bytes(changed))


def digest_of_json(serialised: bytes) -> str:
    return digest_bytes(serialised)


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(_json_values)
@settings(max_examples=500, deadline=None)
def test_fast_canonical_json_is_byte_identical_to_the_reference(value: object) -> None:
    # The shared specification defines SAIDs over Python's compact json.dumps; the fast path
    # must give the very same bytes for every JSON value, floats of every magnitude included.
    from cardiofabric.mmio.said import _reference_json

    assert canonical_json({"v": value}) == _reference_json({"v": value})
