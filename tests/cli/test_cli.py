"""The ``cardiofabric`` command end to end: demo, mmio verify/show/export, store info, keys.

Exit codes are part of the contract (cli/_common.py): 0 when all holds, 1 when the thing
checked does not hold (a bad digest), 2 for a usage or input error, never with a traceback.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from cli_support import NEXTGEN_FILE, OCA_FILE, Demo, Invoke
from typer.testing import CliRunner

from cardiofabric import __version__
from cardiofabric.cli.main import app
from cardiofabric.errors import DecryptionError
from cardiofabric.mmio.crypto import load_private_key

# --------------------------------------------------------------------------------------------
# helpers


def _flat(text: str) -> str:
    """Help text without Rich's box drawing and line breaks, for phrase matching."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", text).split())


def _no_traceback(result: Any) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def _error(result: Any, code: int = 2) -> str:
    """Assert a clean failure with ``code``; return stderr."""
    assert result.exit_code == code, result.output
    _no_traceback(result)
    return str(result.stderr)


def _edit(path: Path, old: str, new: str) -> None:
    """Replace the first ``old`` in the file with ``new`` (a hand edit)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _one_char_off(value: str) -> str:
    return value[:-1] + ("A" if value[-1] != "A" else "B")


def _commands() -> list[tuple[str, ...]]:
    """Every command and sub-command path of the app, found by walking the Click tree."""
    paths: list[tuple[str, ...]] = []

    # Typer carries its own copy of Click, so look for sub-commands rather than a class.
    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        paths.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


def _help_of(path: tuple[str, ...]) -> str:
    cmd: Any = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return (cmd.help or "").strip().splitlines()[0]


# --------------------------------------------------------------------------------------------
# the app: version, help, console script


def test_version(cli: Invoke) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"cardiofabric {__version__}"


def test_no_arguments_shows_help(cli: Invoke) -> None:
    result = cli()
    # no_args_is_help: Click prints the help and exits 2, as for any usage error.
    assert result.exit_code == 2
    assert "Usage" in result.output
    assert "mmio" in result.output


def test_the_command_tree_is_complete() -> None:
    # A new command must come with a test; this list says which ones are covered here.
    assert set(_commands()) == {
        (),
        ("demo",),
        ("mmio",),
        ("mmio", "verify"),
        ("mmio", "show"),
        ("mmio", "export"),
        ("store",),
        ("store", "info"),
        ("store", "alleles"),  # tests/store/test_alleles.py
        ("store", "refresh"),  # tests/store/test_alleles.py
        ("keys",),
        ("keys", "generate"),
        ("governance",),  # tests/cli/test_governance_cli.py
        ("governance", "keygen"),
        ("governance", "issue-contract"),
        ("governance", "patient-token"),
        ("governance", "revoke"),
        ("governance", "budget"),
        ("audit",),  # tests/cli/test_governance_cli.py
        ("audit", "verify"),
        ("audit", "show"),
        ("node",),  # tests/node/test_node_cli.py
        ("node", "serve"),
        ("ingest",),  # tests/ingest/test_runner.py
        ("pathfinder",),  # tests/pathfinder/test_generate.py
        ("pathfinder", "generate"),
        ("pathfinder", "ingest"),
        ("pathfinder", "demo"),
        ("ecg",),  # tests/ingest/test_ecg.py
        ("ecg", "measure"),
        ("prs",),  # tests/genomics/test_prs.py
        ("prs", "score"),
        ("variants",),  # tests/genomics/test_curate.py, tests/genomics/test_qc.py
        ("variants", "qc"),
        ("variants", "normalise"),
        ("genomics",),  # tests/cli/test_genomics_cli.py
        ("genomics", "resource"),
        ("genomics", "resource", "add"),
        ("genomics", "resource", "list"),
        ("genomics", "panel"),
        ("variants", "classify"),  # tests/genomics/test_classify.py
        ("variants", "prioritise"),  # tests/genomics/test_prioritise.py
    }


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "cardiofabric")
def test_help(cli: Invoke, path: tuple[str, ...]) -> None:
    result = cli(*path, "--help")
    assert result.exit_code == 0, result.output
    text = _flat(result.stdout)
    assert "Usage" in text
    purpose = _flat(_help_of(path))
    assert purpose, f"{' '.join(path)} has no help text"
    assert purpose in text


def test_app_help_lists_every_command(cli: Invoke) -> None:
    text = _flat(cli("--help").stdout)
    for name in ("demo", "mmio", "store", "keys", "--version"):
        assert name in text
    assert "without moving patient data" in text


@pytest.mark.parametrize(
    ("path", "phrase"),
    [
        (("mmio", "verify"), "--key"),
        (("mmio", "verify"), "--json"),
        (("mmio", "export"), "phenopacket"),
        (("mmio", "export"), "mmio-json"),
        (("keys", "generate"), "--passphrase-env"),
        (("demo",), "--no-encrypt"),
    ],
)
def test_help_documents_options(cli: Invoke, path: tuple[str, ...], phrase: str) -> None:
    assert phrase in _flat(cli(*path, "--help").stdout)


def _console_script() -> Path:
    """The installed ``cardiofabric`` entry point, beside the running interpreter."""
    bindir = Path(sys.executable).parent
    for name in ("cardiofabric", "cardiofabric.exe"):
        if (bindir / name).is_file():
            return bindir / name
    pytest.skip("the package is not installed with its console script in this environment")


def test_console_script_runs(tmp_path: Path) -> None:
    script = _console_script()
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [script, "--version"], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"cardiofabric {__version__}"

    # An input error through the real entry point: exit 2, a message, no traceback.
    done = subprocess.run(
        [script, "mmio", "verify", "no-such-object.mmio"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "no such file or directory" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


# --------------------------------------------------------------------------------------------
# demo


def test_demo_report(demo: Demo) -> None:
    report = demo.report
    assert len(report["objects"]) == 3
    assert report["verified"] == 3
    assert report["store_info"]["patients"] == 3
    assert report["store_info"]["objects"] == 3
    assert report["store_info"]["consent"] == {"active": 3}
    for p in demo.objects:
        assert (p / "manifest.json").is_file()
        assert p.parent.parent == demo.store
    assert {Path(p).name for p in report["exports"]} == {
        "phenopacket.json",
        "fhir-bundle.json",
        "mmio-0.1.json",
    }
    for p in report["exports"]:
        json.loads(Path(p).read_text(encoding="utf-8"))
    assert demo.site_key.is_file()
    if os.name == "posix":
        secret = demo.out / "keys" / "pseudonym.secret"
        assert stat.S_IMODE(secret.stat().st_mode) & 0o077 == 0


def _digests(objects: list[Path]) -> dict[str, str]:
    out = {}
    for p in objects:
        manifest = json.loads((p / "manifest.json").read_text(encoding="utf-8"))
        out[p.name] = manifest["digest"]
    return out


def test_demo_is_idempotent(cli: Invoke, demo: Demo) -> None:
    before = _digests(demo.objects)
    payloads = sorted(p.name for o in demo.objects for p in (o / "payloads").iterdir())
    result = cli("demo", "--out", demo.out, "--json")
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    assert again["objects"] == demo.report["objects"]
    assert _digests([Path(p) for p in again["objects"]]) == before
    assert sorted(p.name for p in (demo.store / "objects").iterdir()) == sorted(before)
    assert sorted(p.name for o in demo.objects for p in (o / "payloads").iterdir()) == payloads
    assert again["store_info"]["patients"] == 3
    assert again["store_info"]["objects"] == 3
    assert again["store_info"]["tables"] == demo.report["store_info"]["tables"]


def test_demo_table_output(cli: Invoke, demo: Demo) -> None:
    result = cli("demo", "--out", demo.out)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "3 patients" in out
    assert "verified 3 objects" in out
    for p in demo.objects:
        manifest = json.loads((p / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["pseudonym"] in out
    assert "MRN-" not in out


# --------------------------------------------------------------------------------------------
# mmio verify


def test_verify_object_without_key(cli: Invoke, demo: Demo) -> None:
    obj = demo.objects[0]
    result = cli("mmio", "verify", obj)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK ")
    assert "pass --key" in result.stdout  # encrypted payloads were not opened, and it says so
    report = json.loads(cli("mmio", "verify", obj, "--json").stdout)
    assert report["ok"] is True
    assert report["payloads_checked"] == 0
    assert report["payloads_skipped_encrypted"] > 0


@pytest.mark.parametrize("index", [0, 1, 2])
def test_verify_object_with_key_checks_payloads(cli: Invoke, demo: Demo, index: int) -> None:
    obj = demo.objects[index]
    result = cli("mmio", "verify", obj, "--key", demo.site_key, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["kind"] == "object"
    assert report["digest"] == obj.name.removesuffix(".mmio")
    assert report["modalities"] >= 2
    # The demo's own key opens every payload of every object it made.
    assert report["payloads_checked"] == sum(
        len(m["payloads"]) for m in _manifest(obj)["modalities"]
    )
    assert report["payloads_checked"] > 0
    assert report["payloads_skipped_encrypted"] == 0


def test_verify_accepts_the_manifest_path(cli: Invoke, demo: Demo) -> None:
    result = cli("mmio", "verify", demo.objects[0] / "manifest.json", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["digest"] == demo.objects[0].name.removesuffix(".mmio")


def test_verify_oca_bundle(cli: Invoke) -> None:
    result = cli("mmio", "verify", OCA_FILE, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    bundle = json.loads(OCA_FILE.read_text(encoding="utf-8"))["bundle"]
    assert report["kind"] == "oca"
    assert report["ok"] is True
    assert report["digest"] == bundle["digest"]
    assert report["overlays"] > 0
    assert cli("mmio", "verify", OCA_FILE).exit_code == 0


def test_verify_nextgen_document(cli: Invoke) -> None:
    result = cli("mmio", "verify", NEXTGEN_FILE, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    doc = json.loads(NEXTGEN_FILE.read_text(encoding="utf-8"))
    assert report["kind"] == "nextgen"
    assert report["digest"] == doc["id"]
    assert report["items"] == len(doc["data"])
    assert cli("mmio", "verify", NEXTGEN_FILE).exit_code == 0


def _manifest(obj: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((obj / "manifest.json").read_text(encoding="utf-8"))
    return data


def _assert_fails_at(cli: Invoke, path: Path, location: str) -> None:
    text = cli("mmio", "verify", path)
    assert text.exit_code == 1, text.output
    _no_traceback(text)
    assert f"FAILED {path}#{location}" in text.stderr
    assert text.stdout == ""

    as_json = cli("mmio", "verify", path, "--json")
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert report["location"] == location
    assert location in report["error"]


def test_verify_edited_value(cli: Invoke, object_copy: Path) -> None:
    manifest = _manifest(object_copy)
    index, year = next(
        (i, m["content"]["person"][0]["birth_year"])
        for i, m in enumerate(manifest["modalities"])
        if m.get("content", {}).get("person")
    )
    edited = year + 1 if year % 10 == 0 else year - 1  # one character
    _edit(object_copy / "manifest.json", f'"birth_year": {year}', f'"birth_year": {edited}')
    _assert_fails_at(cli, object_copy, f"/modalities/{index}/digest")


def test_messages_are_not_wrapped_on_a_narrow_terminal(object_copy: Path) -> None:
    # Paths, SAIDs and pointers must stay whole on one line to be copied or grepped.
    digest = _manifest(object_copy)["digest"]
    _edit(object_copy / "manifest.json", f'"{digest}"', f'"{_one_char_off(digest)}"')
    narrow = CliRunner(env={"COLUMNS": "40", "NO_COLOR": "1"})
    result = narrow.invoke(app, ["mmio", "verify", str(object_copy)])
    assert result.exit_code == 1
    assert f"FAILED {object_copy}#/digest\n" in result.stderr
    assert f"is '{_one_char_off(digest)}' but the content gives '{digest}'" in result.stderr


def test_verify_edited_modality_digest(cli: Invoke, object_copy: Path) -> None:
    digest = _manifest(object_copy)["modalities"][1]["digest"]
    _edit(object_copy / "manifest.json", f'"{digest}"', f'"{_one_char_off(digest)}"')
    _assert_fails_at(cli, object_copy, "/modalities/1/digest")


def test_verify_edited_object_digest(cli: Invoke, object_copy: Path) -> None:
    digest = _manifest(object_copy)["digest"]
    _edit(object_copy / "manifest.json", f'"{digest}"', f'"{_one_char_off(digest)}"')
    _assert_fails_at(cli, object_copy, "/digest")


def test_verify_edited_oca_bundle(cli: Invoke, tmp_path: Path) -> None:
    doc = json.loads(OCA_FILE.read_text(encoding="utf-8"))
    digest = doc["bundle"]["capture_base"]["digest"]
    copy = tmp_path / OCA_FILE.name
    copy.write_text(OCA_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    _edit(copy, f'"digest": "{digest}"', f'"digest": "{_one_char_off(digest)}"')
    # The pointer is into the file as stored, which wraps the bundle in {"bundle": ...}.
    _assert_fails_at(cli, copy, "/bundle/capture_base/digest")


def test_verify_edited_nextgen_document(cli: Invoke, tmp_path: Path) -> None:
    copy = tmp_path / NEXTGEN_FILE.name
    copy.write_text(NEXTGEN_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    _edit(copy, '"Patient BMI"', '"Patient BMJ"')
    _assert_fails_at(cli, copy, "/data/0/oca_bundle/value/overlays/meta/0/digest")


def test_verify_damaged_encrypted_payload(cli: Invoke, demo: Demo, object_copy: Path) -> None:
    blob = sorted((object_copy / "payloads").iterdir())[0]
    data = bytearray(blob.read_bytes())
    data[-5] ^= 0x01  # one bit of ciphertext: Crypt4GH's AEAD must refuse it
    blob.write_bytes(bytes(data))
    # Without a key the ciphertext cannot be checked, and verify says it skipped it.
    skipped = json.loads(cli("mmio", "verify", object_copy, "--json").stdout)
    assert skipped["payloads_skipped_encrypted"] > 0
    result = cli("mmio", "verify", object_copy, "--key", demo.site_key)
    assert result.exit_code == 1  # the check does not hold, as for a bad digest
    _no_traceback(result)
    assert blob.name in result.stderr
    assert "damaged" in result.stderr


def test_verify_truncated_manifest(cli: Invoke, object_copy: Path) -> None:
    manifest = object_copy / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:300])
    for target in (object_copy, manifest):
        err = _error(cli("mmio", "verify", target))
        assert "not valid JSON" in err
        assert "truncated" in err
        assert "manifest.json" in err


def test_verify_unknown_encoding_version(cli: Invoke, object_copy: Path) -> None:
    _edit(object_copy / "manifest.json", '"encoding-version": "1"', '"encoding-version": "97"')
    err = _error(cli("mmio", "verify", object_copy))
    assert "encoding-version '97'" in err
    assert "upgrade" in err


def test_verify_with_a_wrong_key(cli: Invoke, demo: Demo, tmp_path: Path) -> None:
    made = cli("keys", "generate", "other", "--dir", tmp_path, "--json")
    assert made.exit_code == 0, made.output
    err = _error(cli("mmio", "verify", demo.objects[0], "--key", tmp_path / "other.sec"))
    assert "secret key" in err
    assert "recipients" in err


def test_verify_with_a_missing_key_file(cli: Invoke, demo: Demo, tmp_path: Path) -> None:
    err = _error(cli("mmio", "verify", demo.objects[0], "--key", tmp_path / "none.sec"))
    assert "secret key file not found" in err


@pytest.mark.parametrize("name", ["missing.mmio", "missing.json", "missing/manifest.json"])
def test_mmio_commands_on_a_missing_path(cli: Invoke, tmp_path: Path, name: str) -> None:
    for command in (["verify"], ["show"], ["export", "-f", "fhir"]):
        err = _error(cli("mmio", *command, tmp_path / name))
        assert f"{tmp_path / name}: no such file or directory" in err


def test_verify_something_else(cli: Invoke, demo: Demo, tmp_path: Path) -> None:
    other = tmp_path / "list.json"
    other.write_text("[1, 2, 3]\n", encoding="utf-8")
    assert "not an MMIO object" in _error(cli("mmio", "verify", other))
    # A directory that is not an object (the store holding them).
    assert "manifest.json" in _error(cli("mmio", "verify", demo.store))


# --------------------------------------------------------------------------------------------
# mmio show


def test_show_table(cli: Invoke, demo: Demo) -> None:
    obj = demo.objects[0]
    manifest = _manifest(obj)
    result = cli("mmio", "show", obj)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert manifest["pseudonym"].startswith("pt-")
    assert f"patient  {manifest['pseudonym']}" in out
    assert manifest["digest"] in out
    assert "example-site" in out
    assert f"consent  {manifest['consent']['status']}" in out
    for mod in manifest["modalities"]:
        assert mod["kind"] in out
    assert "(encrypted)" in out
    assert "MRN-" not in result.output


def test_show_json_is_the_manifest(cli: Invoke, demo: Demo) -> None:
    for obj in demo.objects:
        result = cli("mmio", "show", obj, "--json")
        assert result.exit_code == 0, result.output
        shown = json.loads(result.stdout)
        assert shown == _manifest(obj)
        assert shown["pseudonym"].startswith("pt-")
        assert "MRN-" not in result.output


def test_local_ids_exist_only_in_the_sources(demo: Demo) -> None:
    # The example EHR uses MRN-… identifiers; none may reach an object, the store or an export.
    assert "MRN-" in (demo.out / "sources" / "patients.fhir.json").read_text(encoding="utf-8")
    for p in demo.objects:
        assert "MRN-" not in (p / "manifest.json").read_text(encoding="utf-8")
    for p in demo.report["exports"]:
        assert "MRN-" not in Path(p).read_text(encoding="utf-8")


def test_show_missing_and_damaged(cli: Invoke, object_copy: Path, tmp_path: Path) -> None:
    assert "no such file" in _error(cli("mmio", "show", tmp_path / "missing.mmio"))
    (object_copy / "manifest.json").write_text("{", encoding="utf-8")
    assert "not valid JSON" in _error(cli("mmio", "show", object_copy))


# --------------------------------------------------------------------------------------------
# mmio export


def _check_phenopacket(text: str, pseudonym: str) -> None:
    from google.protobuf import json_format
    from phenopackets import Phenopacket

    packet = json_format.Parse(text, Phenopacket())
    assert packet.subject.id == pseudonym
    assert packet.meta_data.phenopacket_schema_version.startswith("2")


def _check_fhir(text: str, pseudonym: str) -> None:
    from fhir.resources.R4B.bundle import Bundle

    bundle = Bundle.model_validate_json(text)
    assert bundle.entry
    kinds = {e.resource.__resource_type__ for e in bundle.entry}
    assert "Patient" in kinds
    assert pseudonym in text


def _check_mmio_json(text: str, pseudonym: str) -> None:
    doc = json.loads(text)
    assert doc["version"] == "0.1"
    assert doc["data"]


@pytest.mark.parametrize(
    ("fmt", "check"),
    [("phenopacket", _check_phenopacket), ("fhir", _check_fhir), ("mmio-json", _check_mmio_json)],
)
def test_export_to_file(cli: Invoke, demo: Demo, tmp_path: Path, fmt: str, check: Any) -> None:
    obj = demo.objects[0]
    out = tmp_path / "sub" / f"export-{fmt}.json"
    result = cli("mmio", "export", obj, "--format", fmt, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"wrote {fmt} to {out}" in result.stderr
    text = out.read_text(encoding="utf-8")
    check(text, _manifest(obj)["pseudonym"])
    assert "MRN-" not in text
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp file left behind

    to_stdout = cli("mmio", "export", obj, "-f", fmt)
    assert to_stdout.exit_code == 0, to_stdout.output
    check(to_stdout.stdout, _manifest(obj)["pseudonym"])
    if fmt != "phenopacket":  # a phenopacket records when it was created
        assert to_stdout.stdout == text


def test_exported_mmio_json_verifies(cli: Invoke, demo: Demo, tmp_path: Path) -> None:
    out = tmp_path / "mmio-0.1.json"
    assert cli("mmio", "export", demo.objects[0], "-f", "mmio-json", "-o", out).exit_code == 0
    result = cli("mmio", "verify", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kind"] == "nextgen"


@pytest.mark.parametrize("source", [OCA_FILE, NEXTGEN_FILE], ids=["oca", "nextgen"])
def test_export_of_a_non_object(cli: Invoke, tmp_path: Path, source: Path) -> None:
    out = tmp_path / "out.json"
    err = _error(cli("mmio", "export", source, "-f", "fhir", "-o", out))
    assert "not an MMIO object" in err
    assert not out.exists()


def test_export_unknown_format(cli: Invoke, demo: Demo) -> None:
    result = cli("mmio", "export", demo.objects[0], "-f", "csv")
    assert result.exit_code == 2
    assert "csv" in result.stderr
    _no_traceback(result)


# --------------------------------------------------------------------------------------------
# store info


def test_store_info_json(cli: Invoke, demo: Demo) -> None:
    result = cli("store", "info", demo.store, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["patients"] == 3
    assert info["objects"] == 3
    assert info["site"] == "example-site"
    assert info["tables"]["person"] == 3
    assert info["tables"]["ecg_feature"] > 0
    assert info["tables"]["variant"] > 0
    assert set(info["modalities"]) >= {"clinical", "ecg", "genomic"}
    assert info["tables"] == demo.report["store_info"]["tables"]


def test_store_info_table(cli: Invoke, demo: Demo) -> None:
    result = cli("store", "info", demo.store)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "3 patients" in out
    assert "3 objects" in out
    assert re.search(r"table person\s+│\s+3\b", out)
    assert "modality ecg" in out
    assert "consent active" in out


def test_store_info_missing(cli: Invoke, tmp_path: Path) -> None:
    err = _error(cli("store", "info", tmp_path / "no-store"))
    assert "no site store" in err
    assert str(tmp_path / "no-store") in err


def test_store_info_on_an_object(cli: Invoke, demo: Demo) -> None:
    err = _error(cli("store", "info", demo.objects[0]))
    assert "expected a site store directory" in err
    assert "store.duckdb" in err


# --------------------------------------------------------------------------------------------
# keys generate


def test_keys_generate(cli: Invoke, tmp_path: Path) -> None:
    result = cli("keys", "generate", "site", "--dir", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    sec, pub = tmp_path / "site.sec", tmp_path / "site.pub"
    assert made["secret"] == str(sec)
    assert made["public"] == str(pub)
    assert made["key_id"]
    assert sec.read_text(encoding="utf-8").startswith("-----BEGIN CRYPT4GH PRIVATE KEY-----")
    assert pub.read_text(encoding="utf-8").startswith("-----BEGIN CRYPT4GH PUBLIC KEY-----")
    if os.name == "posix":
        assert stat.S_IMODE(sec.stat().st_mode) & 0o077 == 0
    assert len(load_private_key(sec)) == 32

    before = sec.read_bytes(), pub.read_bytes()
    err = _error(cli("keys", "generate", "site", "--dir", tmp_path))
    assert "refusing to overwrite" in err
    assert (sec.read_bytes(), pub.read_bytes()) == before


def test_keys_generate_table(cli: Invoke, tmp_path: Path) -> None:
    result = cli("keys", "generate", "hub", "--dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert f"secret key: {tmp_path / 'hub.sec'}" in result.stdout
    assert "not locked with a passphrase" in result.stdout


def test_keys_generate_with_passphrase(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CF_TEST_PHRASE", "correct horse battery staple")
    result = cli(
        "keys", "generate", "locked", "--dir", tmp_path, "--passphrase-env", "CF_TEST_PHRASE"
    )
    assert result.exit_code == 0, result.output
    assert "not locked" not in result.stdout
    sec = tmp_path / "locked.sec"
    assert len(load_private_key(sec, "correct horse battery staple")) == 32
    with pytest.raises(DecryptionError):
        load_private_key(sec)


def test_keys_generate_passphrase_variable_unset(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CF_TEST_UNSET", raising=False)
    err = _error(
        cli("keys", "generate", "k", "--dir", tmp_path, "--passphrase-env", "CF_TEST_UNSET")
    )
    assert "CF_TEST_UNSET" in err
    assert not (tmp_path / "k.sec").exists()


def test_error_messages_keep_square_brackets() -> None:
    # An error that quotes a TOML table or a log line ("[node]") must print it as written,
    # not have Rich take it for markup and drop it.
    import contextlib

    import typer

    from cardiofabric.cli import _common
    from cardiofabric.errors import InputError

    @_common.handle_errors
    def boom() -> None:
        raise InputError("expected a [node] table, found [policy] only")

    with _common.err_console.capture() as captured, contextlib.suppress(typer.Exit):
        boom()
    assert "expected a [node] table, found [policy] only" in captured.get()
