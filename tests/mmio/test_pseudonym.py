"""Pseudonyms: HMAC-SHA-256 of the local id with the site secret (RFC 2104)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardiofabric.errors import InputError
from cardiofabric.mmio.pseudonym import MIN_SECRET_BYTES, pseudonymise

SECRET = b"0123456789abcdef0123456789abcdef"
SHAPE = re.compile(r"pt-[0-9a-f]{32}")


def test_known_vector_rfc_4231_case_1() -> None:
    # RFC 4231 test case 1: key = 0x0b * 20, data = "Hi There".
    assert pseudonymise("Hi There", b"\x0b" * 20) == "pt-b0344c61d8db38535ca8afceaf0bf12b"


def test_deterministic() -> None:
    assert pseudonymise("MRN-0042", SECRET) == pseudonymise("MRN-0042", SECRET)
    assert SHAPE.fullmatch(pseudonymise("MRN-0042", SECRET))


def test_differs_by_secret() -> None:
    other = b"fedcba9876543210fedcba9876543210"
    assert pseudonymise("MRN-0042", SECRET) != pseudonymise("MRN-0042", other)


def test_differs_by_id() -> None:
    assert pseudonymise("MRN-0042", SECRET) != pseudonymise("MRN-0043", SECRET)


def test_str_secret_is_its_utf8_bytes() -> None:
    assert pseudonymise("MRN-0042", SECRET.decode()) == pseudonymise("MRN-0042", SECRET)


def test_prefix() -> None:
    sub = pseudonymise("MRN-0042", SECRET, prefix="sub")
    assert sub.startswith("sub-")
    assert sub[4:] == pseudonymise("MRN-0042", SECRET)[3:]


def test_surrounding_whitespace_is_not_part_of_the_id() -> None:
    assert pseudonymise("  MRN-0042\n", SECRET) == pseudonymise("MRN-0042", SECRET)


@pytest.mark.parametrize("secret", [b"", b"short", b"x" * (MIN_SECRET_BYTES - 1), "ü" * 7])
def test_short_secret(secret: bytes | str) -> None:
    with pytest.raises(InputError, match=f"at least {MIN_SECRET_BYTES}") as info:
        pseudonymise("MRN-0042", secret)
    assert "secrets.token_hex" in str(info.value)  # the hint says how to make one


def test_a_secret_of_exactly_the_minimum_is_enough() -> None:
    assert SHAPE.fullmatch(pseudonymise("MRN-0042", b"x" * MIN_SECRET_BYTES))


@pytest.mark.parametrize("local_id", ["", "   ", "\t\n", None])
def test_empty_or_missing_id(local_id: str | None) -> None:
    with pytest.raises(InputError, match="local patient id"):
        pseudonymise(local_id, SECRET)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip()))
def test_raw_id_is_not_contained(local_id: str) -> None:
    pseudonym = pseudonymise(local_id, SECRET)
    assert SHAPE.fullmatch(pseudonym)
    stripped = local_id.strip()
    if len(stripped) >= 4:  # shorter ids may turn up among 32 hex digits by chance
        assert stripped not in pseudonym


def test_raw_id_is_not_contained_for_realistic_ids() -> None:
    for local_id in ("MRN-0042", "1234567", "Doe^Jane", "patient_7781"):
        pseudonym = pseudonymise(local_id, SECRET)
        assert local_id not in pseudonym
        assert local_id.lower() not in pseudonym
