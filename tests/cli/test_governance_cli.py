"""``cardiofabric governance`` and ``cardiofabric audit`` end to end.

Keys and tokens never reach the terminal unless asked (``--print``); token files are private.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cli_support import Invoke

from cardiofabric.errors import AccessError
from cardiofabric.governance import NETWORK_AUDIENCE, TrustStore, audit
from cardiofabric.store import SiteStore


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture(scope="module")
def keydir(tmp_path_factory: pytest.TempPathFactory, cli: Invoke) -> Path:
    d = tmp_path_factory.mktemp("keys")
    r = cli("governance", "keygen", "--out", d, "--issuer", "dac-1", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["private"].endswith("dac-1.key") and len(data["key_id"]) == 43
    return d


def test_keygen_keeps_the_private_key_private(cli: Invoke, keydir: Path) -> None:
    assert _mode(keydir / "dac-1.key") == 0o600
    r = cli("governance", "keygen", "--out", keydir, "--issuer", "site-a")
    assert r.exit_code == 0 and "PRIVATE KEY" not in r.output and "mode 0600" in r.stdout
    again = cli("governance", "keygen", "--out", keydir, "--issuer", "dac-1")
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert "Traceback" not in again.output


def _issue(cli: Invoke, keydir: Path, *extra: str | Path) -> Any:
    return cli(
        "governance", "issue-contract", "--key", keydir / "dac-1.key", "--issuer", "dac-1",
        "--researcher", "alice", "--dataset", "site-a-cohort", "--purpose", "HMB",
        "--action", "discover-count", "--days", "30", *extra,
    )  # fmt: skip


def test_issue_contract_writes_a_private_token_file(
    cli: Invoke, keydir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "alice.jwt"
    r = _issue(cli, keydir, "--out", out, "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    token = out.read_text().strip()
    assert _mode(out) == 0o600 and token not in r.output
    trust = TrustStore({"dac-1": keydir / "dac-1.pub"}, audience=NETWORK_AUDIENCE)
    contract = trust.verify(token)
    assert contract.id == data["contract_id"] and contract.actions == ("discover-count",)
    assert contract.purpose is not None and not contract.purpose.commercial
    # Printed only when asked.
    shown = _issue(cli, keydir, "--print")
    assert shown.exit_code == 0 and shown.stdout.count(".") >= 2
    nowhere = _issue(cli, keydir)
    assert nowhere.exit_code == 2 and "--out FILE" in nowhere.stderr
    bad = _issue(cli, keydir, "--action", "delete", "--out", out)
    assert bad.exit_code == 2 and "actions" in bad.stderr
    ds = _issue(cli, keydir, "--purpose", "DS", "--out", out)
    assert ds.exit_code == 2 and "disease" in ds.stderr


def test_revoke_and_patient_token(cli: Invoke, keydir: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.jwt"
    r = _issue(cli, keydir, "--out", out, "--json")
    jti = json.loads(r.stdout)["contract_id"]
    lst = tmp_path / "revoked.jwt"
    r = cli("governance", "revoke", "--key", keydir / "dac-1.key", "--list", lst, jti, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["revoked"] == [jti]
    again = cli("governance", "revoke", "--key", keydir / "dac-1.key", "--list", lst, "other")
    assert again.exit_code == 0 and "2 revoked" in again.stdout
    trust = TrustStore({"dac-1": keydir / "dac-1.pub"}, audience=NETWORK_AUDIENCE,
                       revocation_list=lst)  # fmt: skip
    with pytest.raises(AccessError, match="revoked"):
        trust.verify(out.read_text().strip())
    # The site's own key issues patient tokens.
    cli("governance", "keygen", "--out", tmp_path, "--issuer", "site-b")
    pt = tmp_path / "patient.jwt"
    r = cli("governance", "patient-token", "--key", tmp_path / "site-b.key", "--site", "site-b",
            "--pseudonym", "pt-0001", "--out", pt)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "pt-0001" not in r.stdout and _mode(pt) == 0o600
    site = TrustStore({"site-b": tmp_path / "site-b.pub"}, audience="site-b", site="site-b")
    assert site.verify(pt.read_text().strip()).patient == "pt-0001"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    with SiteStore.create(path, site="site-a") as s:
        for i in range(5):
            audit.append(s.connection, caller="alice", contract_id="c-1", purpose=["HMB"],
                         endpoint="/individuals", query={"i": i}, decision="granted",
                         result_size=10 + i)  # fmt: skip
    return path


def test_audit_verify_and_show(cli: Invoke, store: Path) -> None:
    r = cli("audit", "verify", store)
    assert r.exit_code == 0 and "ok" in r.stdout and "5 entries" in r.stdout
    r = cli("audit", "show", store, "--limit", "2", "--json")
    assert r.exit_code == 0
    assert [e["seq"] for e in json.loads(r.stdout)] == [4, 5]
    table = cli("audit", "show", store)
    assert table.exit_code == 0 and "alice" in table.stdout and "head" in table.stdout
    con = duckdb.connect(str(store / "store.duckdb"))
    con.execute("UPDATE audit_log SET decision = 'refused' WHERE seq = 3")
    con.close()
    r = cli("audit", "verify", store)
    assert r.exit_code == 1 and "entry 3: edited" in r.stdout
    r = cli("audit", "verify", store, "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["problems"][0]["seq"] == 3
    missing = cli("audit", "verify", store.parent / "nowhere")
    assert missing.exit_code == 2 and "Traceback" not in missing.output


def test_budget_show_and_set(cli: Invoke, store: Path) -> None:
    r = cli("governance", "budget", store, "--researcher", "alice", "--dataset", "d",
            "--total", "2.5", "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)[0]["epsilon_left"] == 2.5
    r = cli("governance", "budget", store)
    assert r.exit_code == 0 and "alice" in r.stdout
    bad = cli("governance", "budget", store, "--total", "3")
    assert bad.exit_code == 2 and "--researcher" in bad.stderr
