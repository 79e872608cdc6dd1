"""Contracts: Ed25519 JWTs, the trust store's refusals (401/403) and the revocation list."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from gov_support import DATASET, HMB, SITE, Keys

from cardiofabric.errors import AccessError, InputError
from cardiofabric.governance import (
    NETWORK_AUDIENCE,
    Purpose,
    TrustStore,
    generate_keys,
    issue_patient_token,
    load_private_key,
    revoke,
)
from cardiofabric.governance.contracts import (
    key_id,
    load_public_key,
    patient_subject,
    read_revocation_list,
    write_revocation_list,
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _refused(trust: TrustStore, token: str | None) -> AccessError:
    with pytest.raises(AccessError) as info:
        trust.verify(token)
    return info.value


def test_keys_are_written_private_and_never_overwritten(tmp_path: Path) -> None:
    pair = generate_keys(tmp_path, "dac")
    assert stat.S_IMODE(pair.private.stat().st_mode) == 0o600
    assert pair.private.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert pair.key_id == key_id(load_public_key(pair.public))
    with pytest.raises(InputError, match="already exists"):
        generate_keys(tmp_path, "dac")
    os.chmod(pair.private, 0o644)
    with pytest.raises(InputError, match="readable by others") as info:
        load_private_key(pair.private)
    assert "chmod 600" in str(info.value)
    with pytest.raises(InputError, match=r"Ed25519|PEM"):
        load_public_key(pair.private)  # a private key is not a public key file


def test_a_contract_verifies_into_its_claims(trust: TrustStore, keys: Keys) -> None:
    token = keys.contract(
        actions=("discover-count",),
        purpose=Purpose(("DS",), disease="ICD10:I42", irb_approved=True, country="nl"),
        contract_id="c-42",
    )
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    c = trust.verify(token)
    assert (c.id, c.issuer, c.subject, c.datasets) == ("c-42", "dac-1", "alice", (DATASET,))
    assert c.actions == ("discover-count",)
    assert c.purpose is not None
    assert c.purpose.codes == ("DUO:0000007",) and c.purpose.disease == "ICD10:I42"
    assert c.purpose.irb_approved and not c.purpose.commercial and c.purpose.country == "NL"
    assert c.audience == (NETWORK_AUDIENCE,) and not c.is_patient
    assert c.expires_at - c.not_before == timedelta(days=30)


def test_missing_and_malformed_tokens_are_401(trust: TrustStore) -> None:
    assert _refused(trust, None).status == 401
    err = _refused(trust, "not-a-jwt")
    assert (err.status, err.kind) == (401, "invalid-token")


def test_expired_and_not_yet_valid_tokens_are_401(trust: TrustStore, keys: Keys) -> None:
    old = datetime.now(UTC) - timedelta(days=40)
    err = _refused(trust, keys.contract(now=old, not_before=old))
    assert (err.status, err.kind) == (401, "token-expired")
    later = datetime.now(UTC) + timedelta(days=2)
    err = _refused(trust, keys.contract(not_before=later))
    assert (err.status, err.kind) == (401, "token-not-yet-valid")


def test_forged_tokens_are_401(trust: TrustStore, keys: Keys) -> None:
    token = keys.contract()
    head, body, sig = token.split(".")
    # A claim changed after signing: widen the actions.
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["actions"] = ["record"]
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    err = _refused(trust, f"{head}.{forged_body}.{sig}")
    assert (err.status, err.kind) == (401, "invalid-signature")
    # Signed by another key in the trusted issuer's name.
    rogue = load_private_key(keys.directory / "rogue.key")
    fake = jwt.encode(jwt.decode(token, options={"verify_signature": False}), rogue, "EdDSA")
    assert _refused(trust, fake).kind == "invalid-signature"
    # alg none and HMAC with the public key as secret (algorithm confusion) are refused.
    unsigned = f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{forged_body}."
    assert _refused(trust, unsigned).status == 401
    hs256 = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{hs256}.{body}"
    mac = hmac.new(keys.public.read_bytes(), signing_input.encode(), hashlib.sha256).digest()
    assert _refused(trust, f"{signing_input}.{_b64(mac)}").status == 401


def test_untrusted_issuer_is_401_and_wrong_audience_403(trust: TrustStore, keys: Keys) -> None:
    rogue = Keys(keys.directory, issuer="rogue")
    err = _refused(trust, rogue.contract())
    assert (err.status, err.kind) == (401, "untrusted-issuer")
    err = _refused(trust, keys.contract(audience="site-b"))
    assert (err.status, err.kind) == (403, "wrong-audience")
    assert "site-b" in err.detail
    assert trust.verify(keys.contract(audience=(SITE, "site-b"))).audience == (SITE, "site-b")


def test_missing_claims_are_401(trust: TrustStore, keys: Keys) -> None:
    now = int(datetime.now(UTC).timestamp())
    claims = {"iss": "dac-1", "sub": "alice", "aud": SITE, "iat": now, "nbf": now}
    token = jwt.encode(claims, load_private_key(keys.private), algorithm="EdDSA")
    err = _refused(trust, token)
    assert err.status == 401 and "exp" in err.detail


def test_a_contract_without_purpose_flags_reads_as_commercial(
    trust: TrustStore, keys: Keys
) -> None:
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": "dac-1", "sub": "bob", "aud": SITE, "iat": now, "nbf": now, "exp": now + 60,
        "jti": "raw-1", "datasets": [DATASET], "purpose": ["HMB"], "actions": ["discover-count"],
    }  # fmt: skip
    c = trust.verify(jwt.encode(claims, load_private_key(keys.private), algorithm="EdDSA"))
    assert c.purpose is not None and c.purpose.commercial and not c.purpose.irb_approved
    claims["actions"] = ["delete-everything"]
    bad = jwt.encode(claims, load_private_key(keys.private), algorithm="EdDSA")
    assert _refused(trust, bad).kind == "invalid-token"


def test_revoked_contracts_are_401_after_refresh(keys: Keys, tmp_path: Path) -> None:
    lst = tmp_path / "revoked.jwt"
    priv = load_private_key(keys.private)
    revoke(lst, priv, ["other"], issuer="dac-1")
    trust = TrustStore(
        {"dac-1": keys.public}, audience=NETWORK_AUDIENCE, revocation_list=lst, refresh_every=None
    )
    token = keys.contract(contract_id="c-7")
    assert trust.verify(token).id == "c-7"
    listed = revoke(lst, priv, ["c-7"], issuer="dac-1")
    assert listed.revoked == {"other", "c-7"}
    assert trust.verify(token).id == "c-7"  # not re-read yet
    assert trust.refresh() is True
    err = _refused(trust, token)
    assert (err.status, err.kind) == (401, "token-revoked")
    assert trust.refresh() is False  # unchanged file: nothing to do


def test_verify_refreshes_the_revocation_list_by_itself(keys: Keys, tmp_path: Path) -> None:
    lst = tmp_path / "revoked.jwt"
    priv = load_private_key(keys.private)
    revoke(lst, priv, ["x"], issuer="dac-1")
    trust = TrustStore(
        {"dac-1": keys.public}, audience=NETWORK_AUDIENCE, revocation_list=lst, refresh_every=0
    )
    token = keys.contract(contract_id="c-8")
    trust.verify(token)
    revoke(lst, priv, ["c-8"], issuer="dac-1")
    assert _refused(trust, token).kind == "token-revoked"


def test_a_forged_or_older_revocation_list_is_refused(keys: Keys, tmp_path: Path) -> None:
    lst = tmp_path / "revoked.jwt"
    priv = load_private_key(keys.private)
    revoke(lst, priv, ["c-1"], issuer="dac-1")
    trust = TrustStore({"dac-1": keys.public}, audience=SITE, revocation_list=lst)
    held = trust.revocations
    assert held is not None
    # An older list (restored from a backup) would un-revoke c-1.
    write_revocation_list(lst, priv, issuer="dac-1", revoked=[], issued_at=held.issued_at - 10)
    with pytest.raises(InputError, match="older"):
        trust.refresh()
    assert trust.revoked == {"c-1"}
    # A list signed by an untrusted key, in a trusted issuer's name.
    rogue = load_private_key(keys.directory / "rogue.key")
    write_revocation_list(lst, rogue, issuer="dac-1", revoked=[], issued_at=held.issued_at + 10)
    with pytest.raises(InputError, match="does not verify"):
        trust.refresh()
    assert trust.revoked == {"c-1"}
    # A contract is not a revocation list.
    lst.write_text(keys.contract())
    with pytest.raises(InputError, match="not a revocation list"):
        read_revocation_list(lst, {"dac-1": load_public_key(keys.public)})


def test_patient_tokens_come_from_the_site_only(trust: TrustStore, keys: Keys) -> None:
    site_key = load_private_key(keys.site_private)
    token = issue_patient_token(site_key, site=SITE, pseudonym="pt-0001")
    c = trust.verify(token)
    assert c.is_patient and c.patient == "pt-0001" and c.actions == ("consent",)
    assert c.subject == patient_subject(SITE, "pt-0001") and "pt-0001" not in c.subject
    # The network's issuer cannot speak for a patient.
    dac = load_private_key(keys.private)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["iss"] = "dac-1"
    err = _refused(trust, jwt.encode(claims, dac, algorithm="EdDSA"))
    assert (err.status, err.kind) == (403, "patient-token-issuer")
    # A trust store that knows no site of its own accepts no patient tokens.
    other = TrustStore({SITE: keys.site_public}, audience=SITE)
    assert _refused(other, token).status == 403


def test_issuing_refuses_what_it_cannot_sign(keys: Keys) -> None:
    with pytest.raises(InputError, match="actions"):
        keys.contract(actions=("delete",))
    with pytest.raises(InputError, match="dataset"):
        keys.contract(datasets=())
    with pytest.raises(InputError, match="disease"):
        Purpose(("DS",))
    with pytest.raises(InputError, match="GRU, HMB, DS, POA"):
        Purpose(("NCU",))
    with pytest.raises(InputError, match="validity"):
        keys.contract(valid_for=timedelta(0))
    assert Purpose(("HMB",)).codes == (HMB,)
