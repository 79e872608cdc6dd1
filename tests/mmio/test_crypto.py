"""Crypt4GH at rest: key files, passphrases, several recipients, and the standard file format."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from crypt4gh import lib
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from mmio_samples import Keys

from cardiofabric.errors import DecryptionError, InputError
from cardiofabric.mmio.crypto import (
    decrypt_bytes,
    encrypt_bytes,
    generate_keypair,
    key_id,
    load_private_key,
    load_public_key,
)
from cardiofabric.mmio.said import is_said

PLAIN = b"12-lead ECG, 500 Hz\n" + bytes(range(256)) * 4
SEGMENT = 65536  # Crypt4GH plaintext segment size


def _public_of(secret: bytes) -> bytes:
    return (
        X25519PrivateKey.from_private_bytes(secret)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


# -- key files ----------------------------------------------------------------------------------


def test_generate_keypair_writes_standard_key_files(tmp_path: Path) -> None:
    kp = generate_keypair(tmp_path / "keys", "site", comment="site A")
    assert kp.secret == tmp_path / "keys" / "site.sec"
    assert kp.public == tmp_path / "keys" / "site.pub"
    assert kp.secret.read_text().startswith("-----BEGIN CRYPT4GH PRIVATE KEY-----\n")
    assert kp.public.read_text().startswith("-----BEGIN CRYPT4GH PUBLIC KEY-----\n")
    secret, public = load_private_key(kp.secret), load_public_key(kp.public)
    assert len(secret) == len(public) == 32
    assert _public_of(secret) == public  # the pair belongs together


def test_the_secret_key_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    kp = generate_keypair(tmp_path, "site")
    mode = stat.S_IMODE(os.stat(kp.secret).st_mode)
    assert mode == 0o400
    assert not mode & 0o077


def test_the_secret_key_is_never_group_readable_even_while_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crypt4gh.keys import c4gh

    modes: list[int] = []
    real = c4gh.encode_private_key

    def spy(*args: object) -> bytes:
        # Called by crypt4gh while the .sec file is open for writing.
        modes.append(stat.S_IMODE(os.stat(tmp_path / "site.sec").st_mode))
        out: bytes = real(*args)
        return out

    monkeypatch.setattr(c4gh, "encode_private_key", spy)
    old_umask = os.umask(0o022)
    try:
        generate_keypair(tmp_path, "site")
    finally:
        os.umask(old_umask)
    assert modes and not modes[0] & 0o077


@pytest.mark.parametrize("existing", ["site.sec", "site.pub"])
def test_generate_keypair_refuses_to_overwrite(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).write_text("precious")
    with pytest.raises(InputError, match="refusing to overwrite") as info:
        generate_keypair(tmp_path, "site")
    assert str(tmp_path / existing) in str(info.value)
    assert (tmp_path / existing).read_text() == "precious"
    # Nothing else was left behind either.
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing]


def test_generate_keypair_twice_refuses_the_second(tmp_path: Path) -> None:
    kp = generate_keypair(tmp_path, "site")
    before = kp.secret.read_bytes()
    with pytest.raises(InputError):
        generate_keypair(tmp_path, "site")
    assert kp.secret.read_bytes() == before


def test_passphrase_protected_key(tmp_path: Path) -> None:
    kp = generate_keypair(tmp_path, "hub", passphrase="correct horse battery staple")
    secret = load_private_key(kp.secret, "correct horse battery staple")
    assert _public_of(secret) == load_public_key(kp.public)
    # A protected key file names its KDF and carries a salt (Crypt4GH key format); an
    # unprotected one says 'none' and is shorter.
    unprotected = generate_keypair(tmp_path, "plain")
    assert len(kp.secret.read_bytes()) > len(unprotected.secret.read_bytes())


@pytest.mark.parametrize("passphrase", ["wrong", "", None])
def test_wrong_or_missing_passphrase_is_a_clear_error(
    tmp_path: Path, passphrase: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    kp = generate_keypair(tmp_path, "hub", passphrase="right one")
    # crypt4gh itself would sys.exit(2) here; we must raise an error the caller can handle.
    with pytest.raises(DecryptionError, match="passphrase") as info:
        load_private_key(kp.secret, passphrase)
    assert str(kp.secret) in str(info.value)
    assert capsys.readouterr().err == ""  # and nothing is printed behind the caller's back


def test_load_missing_key_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="secret key file not found"):
        load_private_key(tmp_path / "nope.sec")
    with pytest.raises(InputError, match="public key file not found"):
        load_public_key(tmp_path / "nope.pub")


def test_load_garbage_key_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("-----BEGIN CRYPT4GH PUBLIC KEY-----\nnot base64!\n-----END x-----\n")
    with pytest.raises(InputError, match="not a Crypt4GH public key") as info:
        load_public_key(bad)
    assert str(bad) in str(info.value)
    with pytest.raises(DecryptionError, match="cannot open the secret key"):
        load_private_key(bad)


def test_a_public_key_is_not_a_secret_key(site_key: Keys) -> None:
    with pytest.raises(DecryptionError):
        load_private_key(site_key.public_path)


def test_key_id_is_the_said_of_the_public_key(site_key: Keys, hub_key: Keys) -> None:
    assert is_said(key_id(site_key.public))
    assert key_id(site_key.public) == key_id(bytes(site_key.public))
    assert key_id(site_key.public) != key_id(hub_key.public)


# -- encryption ---------------------------------------------------------------------------------


def test_round_trip(site_key: Keys) -> None:
    sealed = encrypt_bytes(PLAIN, [site_key.public])
    assert sealed.startswith(b"crypt4gh") and PLAIN[:32] not in sealed
    assert decrypt_bytes(sealed, [site_key.secret]) == PLAIN


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT + 7])
def test_round_trip_across_segment_boundaries(site_key: Keys, size: int) -> None:
    data = os.urandom(size)
    assert decrypt_bytes(encrypt_bytes(data, [site_key.public]), [site_key.secret]) == data


def test_encryption_is_randomised(site_key: Keys) -> None:
    assert encrypt_bytes(PLAIN, [site_key.public]) != encrypt_bytes(PLAIN, [site_key.public])


def test_each_of_several_recipients_can_decrypt(
    site_key: Keys, hub_key: Keys, stranger_key: Keys
) -> None:
    sealed = encrypt_bytes(PLAIN, [site_key.public, hub_key.public])
    assert decrypt_bytes(sealed, [site_key.secret]) == PLAIN
    assert decrypt_bytes(sealed, [hub_key.secret]) == PLAIN
    assert decrypt_bytes(sealed, [stranger_key.secret, hub_key.secret]) == PLAIN
    with pytest.raises(DecryptionError, match="not among its recipients"):
        decrypt_bytes(sealed, [stranger_key.secret], path="x.c4gh")


def test_encrypt_needs_a_valid_recipient(site_key: Keys) -> None:
    with pytest.raises(InputError, match="at least one recipient"):
        encrypt_bytes(PLAIN, [])
    with pytest.raises(InputError, match="32-byte"):
        encrypt_bytes(PLAIN, [site_key.public[:31]])


def test_decrypt_needs_a_key(site_key: Keys) -> None:
    sealed = encrypt_bytes(PLAIN, [site_key.public])
    with pytest.raises(DecryptionError, match="no secret key was given") as info:
        decrypt_bytes(sealed, [], path="payloads/x.c4gh")
    assert "payloads/x.c4gh" in str(info.value)


@pytest.mark.parametrize(
    "cut",
    [0, 5, 16, 40, -1, -27, -28, -29, -len(PLAIN) - 27],
    ids=lambda c: f"keep{c}",
)
def test_truncated_ciphertext(site_key: Keys, cut: int) -> None:
    sealed = encrypt_bytes(PLAIN, [site_key.public])
    with pytest.raises(DecryptionError):
        decrypt_bytes(sealed[:cut], [site_key.secret])


def test_a_flipped_bit_anywhere_is_caught(site_key: Keys) -> None:
    sealed = encrypt_bytes(PLAIN, [site_key.public])
    # Every 37th byte, header and body alike (not the 16-byte preamble's reserved bits).
    for i in range(0, len(sealed), 37):
        damaged = bytearray(sealed)
        damaged[i] ^= 0x01
        try:
            out = decrypt_bytes(bytes(damaged), [site_key.secret])
        except DecryptionError:
            continue
        # Crypt4GH authenticates every packet and segment: nothing may come back changed.
        raise AssertionError(f"a flipped bit at byte {i} decrypted to {len(out)} bytes")


def test_not_crypt4gh_at_all(site_key: Keys) -> None:
    with pytest.raises(DecryptionError, match="damaged"):
        decrypt_bytes(PLAIN, [site_key.secret])


# -- interoperability: the files are standard Crypt4GH -------------------------------------------


def test_our_ciphertext_opens_with_the_crypt4gh_library(site_key: Keys, hub_key: Keys) -> None:
    sealed = encrypt_bytes(PLAIN, [site_key.public, hub_key.public])
    for secret in (site_key.secret, hub_key.secret):
        out = io.BytesIO()
        lib.decrypt([(0, secret, None)], io.BytesIO(sealed), out)
        assert out.getvalue() == PLAIN


def test_crypt4gh_library_ciphertext_opens_with_ours(site_key: Keys) -> None:
    sender = X25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    out = io.BytesIO()
    lib.encrypt([(0, sender, site_key.public)], io.BytesIO(PLAIN), out)
    assert decrypt_bytes(out.getvalue(), [site_key.secret]) == PLAIN


def test_keys_load_with_the_crypt4gh_library(tmp_path: Path) -> None:
    from crypt4gh.keys import get_private_key, get_public_key

    kp = generate_keypair(tmp_path, "site", passphrase="pw")
    assert get_private_key(str(kp.secret), lambda: "pw") == load_private_key(kp.secret, "pw")
    assert get_public_key(str(kp.public)) == load_public_key(kp.public)
