"""The MMIO on disk: building, writing atomically, opening lazily, verifying, refusing damage."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

# The sample object (mmio_samples.py) has two modalities: clinical, with an embedded OCA bundle
# and a note payload, and ecg, with a signal payload.
from mmio_samples import ECG_BYTES, NOTE_BYTES, PROVENANCE, Keys, ObjectFactory, make_object

from cardiofabric.errors import (
    DecryptionError,
    DigestMismatchError,
    FormatVersionError,
    InputError,
    ObjectFormatError,
)
from cardiofabric.mmio import container
from cardiofabric.mmio.container import MMIO, MMIOBuilder, PayloadSpec
from cardiofabric.mmio.crypto import key_id
from cardiofabric.mmio.model import Consent, ConsentTerm, ModalityKind
from cardiofabric.mmio.said import digest_bytes, said_of


def _manifest(obj_dir: Path) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((obj_dir / "manifest.json").read_text(encoding="utf-8"))
    return raw


def _save(obj_dir: Path, raw: dict[str, Any]) -> None:
    (obj_dir / "manifest.json").write_text(json.dumps(raw, indent=1), encoding="utf-8")


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".tmp-"))


# -- building and writing -----------------------------------------------------------------------


def test_build_and_write_plaintext(tmp_path: Path, plain_obj: MMIO) -> None:
    out = plain_obj.write(tmp_path)
    assert out == tmp_path / f"{plain_obj.digest}.mmio"
    raw = _manifest(out)
    assert raw["encoding-type"] == "cardiofabric.mmio"
    assert raw["encoding-version"] == "1"
    assert list(raw)[:3] == ["encoding-type", "encoding-version", "digest"]
    assert raw["digest"] == plain_obj.digest == said_of(raw)
    assert [m["kind"] for m in raw["modalities"]] == ["clinical", "ecg"]
    stored = sorted(p.name for p in (out / "payloads").iterdir())
    assert stored == sorted([digest_bytes(ECG_BYTES), digest_bytes(NOTE_BYTES)])
    assert (out / "payloads" / digest_bytes(ECG_BYTES)).read_bytes() == ECG_BYTES
    assert _leftovers(tmp_path) == []


def test_manifest_records_payload_metadata(plain_obj: MMIO) -> None:
    (ecg,) = plain_obj.manifest.modality("ecg")
    (p,) = ecg.payloads
    assert (p.digest, p.size, p.role, p.media_type) == (
        digest_bytes(ECG_BYTES),
        len(ECG_BYTES),
        "signal",
        "application/octet-stream",
    )
    assert p.encryption is None
    assert plain_obj.payloads_of(ModalityKind.ECG, role="signal") == [p]
    assert plain_obj.payloads_of("ecg", role="pixels") == []
    assert plain_obj.manifest.kinds == ["clinical", "ecg"]


def test_build_and_write_encrypted(
    tmp_path: Path, make: ObjectFactory, site_key: Keys, hub_key: Keys
) -> None:
    obj = make(recipients=[site_key.public, hub_key.public])
    out = obj.write(tmp_path)
    payloads = sorted((out / "payloads").iterdir())
    assert [p.name for p in payloads] == sorted(
        f"{digest_bytes(b)}.c4gh" for b in (ECG_BYTES, NOTE_BYTES)
    )
    for p in payloads:
        stored = p.read_bytes()
        assert stored.startswith(b"crypt4gh")
        assert ECG_BYTES[:64] not in stored and NOTE_BYTES[:20] not in stored
    meta = obj.manifest.payloads()[0]
    assert meta.encryption is not None
    assert meta.encryption.recipients == sorted([key_id(site_key.public), key_id(hub_key.public)])
    opened = MMIO.open(out)
    for keys in (site_key, hub_key):
        assert opened.payload(digest_bytes(ECG_BYTES), secret_keys=[keys.secret]) == ECG_BYTES
    # The manifest holds no secret and stays readable without a key.
    assert opened.pseudonym == "pt-0123456789abcdef0123456789abcdef"


def test_in_memory_payload_read_before_writing(plain_obj: MMIO) -> None:
    assert plain_obj.payload(digest_bytes(NOTE_BYTES)) == NOTE_BYTES
    report = plain_obj.verify()
    assert (report.path, report.payloads_checked, report.modalities) == ("<memory>", 2, 2)


def test_rewrite_is_a_no_op(
    tmp_path: Path, plain_obj: MMIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = plain_obj.write(tmp_path)
    manifest = first / "manifest.json"
    before = manifest.stat().st_mtime_ns
    listing = sorted(p.name for p in first.rglob("*"))

    def no_temp(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("a re-write must not create a temporary directory")

    monkeypatch.setattr(container.tempfile, "mkdtemp", no_temp)
    again = plain_obj.write(tmp_path)
    assert again == first
    assert manifest.stat().st_mtime_ns == before
    assert sorted(p.name for p in first.rglob("*")) == listing
    # An identical object built afresh is the same object: also a no-op.
    assert make_object().write(tmp_path) == first
    assert manifest.stat().st_mtime_ns == before


def test_an_opened_object_can_be_copied_elsewhere(tmp_path: Path, written: Path) -> None:
    copy_dir = MMIO.open(written).write(tmp_path / "elsewhere")
    assert copy_dir.name == written.name
    assert (copy_dir / "payloads" / digest_bytes(ECG_BYTES)).read_bytes() == ECG_BYTES
    assert MMIO.open(copy_dir).verify().payloads_checked == 2


def test_an_encrypted_opened_object_copies_its_ciphertext(
    tmp_path: Path, written_encrypted: Path, site_key: Keys
) -> None:
    copy_dir = MMIO.open(written_encrypted).write(tmp_path / "elsewhere")
    for p in (written_encrypted / "payloads").iterdir():
        assert (copy_dir / "payloads" / p.name).read_bytes() == p.read_bytes()
    assert MMIO.open(copy_dir).verify(secret_keys=[site_key.secret]).payloads_checked == 2


def test_writing_an_object_without_its_payload_bytes_is_refused(
    tmp_path: Path, plain_obj: MMIO
) -> None:
    bare = MMIO(plain_obj.manifest)  # the manifest names payloads it was not given
    with pytest.raises(ObjectFormatError, match="were not given"):
        bare.write(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_payload_file_missing_on_copy_is_refused(tmp_path: Path, written: Path) -> None:
    (written / "payloads" / digest_bytes(ECG_BYTES)).unlink()
    target = tmp_path / "copy"
    with pytest.raises(ObjectFormatError, match="missing") as info:
        MMIO.open(written).write(target)
    assert str(written / "payloads" / digest_bytes(ECG_BYTES)) in str(info.value)
    assert not (target / written.name).exists()


# -- laziness -----------------------------------------------------------------------------------


def test_open_reads_the_manifest_only(written: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[Path] = []
    real_read_bytes = Path.read_bytes

    def spy(self: Path) -> bytes:
        reads.append(self)
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    obj = MMIO.open(written)
    assert obj.digest == written.name.removesuffix(".mmio")
    assert len(obj.modalities) == 2 and obj.manifest.payloads()
    assert reads == []
    assert obj.payload(digest_bytes(ECG_BYTES)) == ECG_BYTES
    assert reads == [written / "payloads" / digest_bytes(ECG_BYTES)]


def test_open_works_without_payload_files(written: Path) -> None:
    shutil.rmtree(written / "payloads")
    obj = MMIO.open(written)  # the manifest is all that open needs
    assert obj.verify(payloads=False).modalities == 2
    with pytest.raises(ObjectFormatError, match="payload file is missing") as info:
        obj.payload(digest_bytes(NOTE_BYTES))
    assert str(written / "payloads" / digest_bytes(NOTE_BYTES)) in str(info.value)


def test_open_accepts_the_manifest_path(written: Path) -> None:
    assert MMIO.open(written / "manifest.json").location == written
    assert MMIO.open(str(written)).digest == MMIO.open(written).digest


# -- determinism --------------------------------------------------------------------------------


def test_same_input_same_digest(make: ObjectFactory) -> None:
    a, b = make(), make()
    assert a.digest == b.digest
    assert a.manifest.to_json() == b.manifest.to_json()
    assert make(reverse=True).digest == a.digest  # modalities in a stable order


def test_encrypted_objects_have_a_stable_digest(
    make: ObjectFactory, site_key: Keys, hub_key: Keys
) -> None:
    a = make(recipients=[site_key.public, hub_key.public])
    b = make(recipients=[hub_key.public, site_key.public])
    assert a.digest == b.digest  # ciphertext is random, the sealed metadata is not
    assert a._blobs != b._blobs
    assert a.digest != make().digest  # encryption is part of what is sealed
    assert a.digest != make(recipients=[site_key.public]).digest


@pytest.mark.parametrize(
    "consent",
    [
        Consent(),
        Consent(permissions=[ConsentTerm(code="DUO:0000006")]),
        Consent(permissions=[ConsentTerm(code="DUO:0000042")], status="withdrawn"),
        Consent(permissions=[ConsentTerm(code="DUO:0000042")], version=2),
        Consent(
            permissions=[ConsentTerm(code="DUO:0000042")],
            prohibitions=[ConsentTerm(code="DUO:0000046")],
        ),
    ],
)
def test_different_consent_different_digest(make: ObjectFactory, consent: Consent) -> None:
    base = make()
    other = make(consent=consent)
    assert other.digest != base.digest
    # Consent sits in the manifest only: the modalities are the same.
    assert [m.digest for m in other.modalities] == [m.digest for m in base.modalities]


def test_different_content_different_modality_digest(make: ObjectFactory) -> None:
    a, b = make(), make(ldl=3.2)
    assert a.digest != b.digest
    assert a.manifest.modality("clinical")[0].digest != b.manifest.modality("clinical")[0].digest
    assert a.manifest.modality("ecg")[0].digest == b.manifest.modality("ecg")[0].digest


def test_the_same_payload_in_two_modalities_is_stored_once(tmp_path: Path) -> None:
    builder = MMIOBuilder(pseudonym="pt-x", site="s")
    for kind in ("ecg", "document"):
        builder.add(
            kind=kind,
            media_type="application/pdf",
            provenance=PROVENANCE,
            payloads=[PayloadSpec(b"%PDF-1.7 same", "application/pdf")],
        )
    out = builder.build().write(tmp_path)
    assert len(list((out / "payloads").iterdir())) == 1
    assert MMIO.open(out).verify().payloads_checked == 2


def test_builder_refuses_a_bad_recipient() -> None:
    with pytest.raises(InputError, match="32-byte"):
        MMIOBuilder(pseudonym="pt-x", site="s", recipients=[b"short"])


def test_builder_refuses_an_unknown_kind() -> None:
    builder = MMIOBuilder(pseudonym="pt-x", site="s")
    with pytest.raises(InputError, match="unknown modality kind 'mri'"):
        builder.add(kind="mri", media_type="x", provenance=PROVENANCE)


# -- atomicity ----------------------------------------------------------------------------------


def test_a_failed_rename_leaves_nothing(
    tmp_path: Path, plain_obj: MMIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(container.os, "rename", boom)
    with pytest.raises(OSError, match="No space left"):
        plain_obj.write(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_writing_the_manifest_leaves_nothing(
    tmp_path: Path, plain_obj: MMIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any, **kwargs: Any) -> bytes:
        raise KeyboardInterrupt  # even an interrupt cleans up

    monkeypatch.setattr(container.orjson, "dumps", boom)
    with pytest.raises(KeyboardInterrupt):
        plain_obj.write(tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    # Afterwards the write succeeds as if nothing had happened.
    assert plain_obj.write(tmp_path).is_dir()
    assert _leftovers(tmp_path) == []


def test_a_failure_after_the_payloads_leaves_nothing(
    tmp_path: Path, plain_obj: MMIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Path] = []

    def boom(root: Path) -> None:
        seen.extend(root.rglob("*"))
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(container, "_fsync_tree", boom)
    with pytest.raises(OSError):
        plain_obj.write(tmp_path)
    assert any(p.name == "manifest.json" for p in seen)  # it failed late, with files written
    assert list(tmp_path.iterdir()) == []


def test_a_concurrent_writer_of_the_same_object_wins_quietly(
    tmp_path: Path, plain_obj: MMIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def other_writer_first(src: Any, dst: Any) -> None:
        shutil.copytree(src, dst)  # the same object lands first
        raise OSError(39, "Directory not empty")

    monkeypatch.setattr(container.os, "rename", other_writer_first)
    out = plain_obj.write(tmp_path)
    assert out == tmp_path / f"{plain_obj.digest}.mmio"
    assert _leftovers(tmp_path) == []
    assert MMIO.open(out).verify().payloads_checked == 2


def test_an_incomplete_directory_in_the_way_is_named(tmp_path: Path, plain_obj: MMIO) -> None:
    blocker = tmp_path / f"{plain_obj.digest}.mmio"
    (blocker / "payloads").mkdir(parents=True)
    with pytest.raises(ObjectFormatError, match="incomplete object directory") as info:
        plain_obj.write(tmp_path)
    assert str(blocker) in str(info.value)
    assert _leftovers(tmp_path) == []


# -- damage and bad input -----------------------------------------------------------------------


def test_truncated_manifest(written: Path) -> None:
    manifest = written / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:200])
    with pytest.raises(ObjectFormatError, match="not valid JSON") as info:
        MMIO.open(written)
    assert str(manifest) in str(info.value)
    assert "truncated" in str(info.value)  # the hint


def test_manifest_not_utf8(written: Path) -> None:
    (written / "manifest.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(ObjectFormatError, match="not UTF-8"):
        MMIO.open(written)


@pytest.mark.parametrize("text", ["[1, 2]", '"manifest"', "null"])
def test_manifest_not_an_object(written: Path, text: str) -> None:
    (written / "manifest.json").write_text(text)
    with pytest.raises(ObjectFormatError, match="should be a JSON object"):
        MMIO.open(written)


def test_manifest_with_nan_is_malformed(written: Path) -> None:
    raw = (written / "manifest.json").read_text()
    raw = raw.replace('"value": 3.1', '"value": NaN')
    assert "NaN" in raw
    (written / "manifest.json").write_text(raw)
    with pytest.raises(ObjectFormatError, match="NaN is not a JSON value"):
        MMIO.open(written)


def test_hand_edited_manifest_value(written: Path) -> None:
    raw = _manifest(written)
    raw["site"] = "site-b"
    _save(written, raw)
    obj = MMIO.open(written)  # opening does not verify...
    with pytest.raises(DigestMismatchError) as info:
        obj.verify()  # ...verifying does
    assert info.value.location == "/digest"
    assert str(written / "manifest.json") in str(info.value)


def test_hand_edited_modality_content(written: Path) -> None:
    raw = _manifest(written)
    raw["modalities"][0]["content"]["measurement"][0]["value"] = 4.1
    _save(written, raw)
    with pytest.raises(DigestMismatchError) as info:
        MMIO.open(written).verify()
    assert info.value.location == "/modalities/0/digest"


def test_hand_edited_embedded_bundle(written: Path) -> None:
    raw = _manifest(written)
    value = raw["modalities"][0]["semantics"]["value"]
    value["overlays"]["label"][1]["attribute_labels"]["ldl"] = "LDL cholesterin"
    _save(written, raw)
    with pytest.raises(DigestMismatchError) as info:
        MMIO.open(written).verify()
    assert info.value.location == "/modalities/0/semantics/value/overlays/label/1/digest"


def test_a_resealed_modality_still_breaks_the_object_digest(written: Path) -> None:
    raw = _manifest(written)
    mod = raw["modalities"][1]
    mod["content"]["ecg_feature"][0]["value"] = 99.0
    mod["digest"] = said_of(mod)  # a careful forger reseals the modality...
    _save(written, raw)
    with pytest.raises(DigestMismatchError) as info:
        MMIO.open(written).verify()
    assert info.value.location == "/digest"  # ...but the object's SAID covers it


def test_a_renamed_object_directory_is_caught(tmp_path: Path, written: Path) -> None:
    moved = written.rename(tmp_path / ("E" + "A" * 43 + ".mmio"))
    with pytest.raises(DigestMismatchError, match="named") as info:
        MMIO.open(moved).verify()
    assert info.value.location == "/digest"
    # A directory not named like an object is fine (e.g. an export folder).
    plain = moved.rename(tmp_path / "patient-copy")
    assert MMIO.open(plain).verify().payloads_checked == 2


@pytest.mark.parametrize("version", ["2", "0", 1, None, ["1"]])
def test_unknown_encoding_version(written: Path, version: Any) -> None:
    raw = _manifest(written)
    raw["encoding-version"] = version
    _save(written, raw)
    with pytest.raises(FormatVersionError, match="encoding-version") as info:
        MMIO.open(written)
    assert "upgrade" in str(info.value)
    assert str(written / "manifest.json") in str(info.value)


def test_missing_encoding_version(written: Path) -> None:
    raw = _manifest(written)
    del raw["encoding-version"]
    _save(written, raw)
    with pytest.raises(FormatVersionError):
        MMIO.open(written)


@pytest.mark.parametrize("etype", ["anndata", "mudata", None])
def test_wrong_encoding_type(written: Path, etype: Any) -> None:
    raw = _manifest(written)
    raw["encoding-type"] = etype
    _save(written, raw)
    with pytest.raises(FormatVersionError, match=r"expected encoding-type 'cardiofabric\.mmio'"):
        MMIO.open(written)


def test_an_invalid_field_is_named(written: Path) -> None:
    raw = _manifest(written)
    raw["modalities"][1]["payloads"][0]["size"] = -1
    _save(written, raw)
    with pytest.raises(ObjectFormatError, match="/modalities/1/payloads/0/size") as info:
        MMIO.open(written)
    assert str(written / "manifest.json") in str(info.value)


def test_an_unknown_field_is_refused(written: Path) -> None:
    raw = _manifest(written)
    raw["patient_name"] = "Jane Doe"
    _save(written, raw)
    with pytest.raises(ObjectFormatError, match="/patient_name"):
        MMIO.open(written)


def test_not_an_object_directory(tmp_path: Path) -> None:
    with pytest.raises(ObjectFormatError, match=r"no manifest\.json here") as info:
        MMIO.open(tmp_path)
    assert str(tmp_path) in str(info.value)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("hello")
    with pytest.raises(ObjectFormatError, match=r"no manifest\.json here"):
        MMIO.open(a_file)


def test_missing_payload_file(written: Path) -> None:
    target = written / "payloads" / digest_bytes(ECG_BYTES)
    target.unlink()
    with pytest.raises(ObjectFormatError, match="payload file is missing") as info:
        MMIO.open(written).verify()
    assert str(target) in str(info.value)


def test_altered_payload_bytes(written: Path) -> None:
    name = digest_bytes(NOTE_BYTES)
    target = written / "payloads" / name
    data = bytearray(target.read_bytes())
    data[3] ^= 0x01
    target.write_bytes(bytes(data))
    obj = MMIO.open(written)
    with pytest.raises(DigestMismatchError) as info:
        obj.payload(name)
    assert info.value.location == f"/payloads/{name}"
    assert str(target) in str(info.value)
    with pytest.raises(DigestMismatchError):
        obj.verify()
    assert obj.verify(payloads=False).payloads_checked == 0  # the manifest alone is intact


def test_asking_for_a_payload_that_is_not_there(plain_obj: MMIO) -> None:
    with pytest.raises(ObjectFormatError, match="no payload"):
        plain_obj.payload("E" + "A" * 43)


def test_encrypted_payload_without_a_key(written_encrypted: Path) -> None:
    obj = MMIO.open(written_encrypted)
    with pytest.raises(DecryptionError, match="no secret key was given") as info:
        obj.payload(digest_bytes(ECG_BYTES))
    assert str(written_encrypted / "payloads") in str(info.value)
    assert "--key" in str(info.value)  # the hint says what to do


def test_encrypted_payload_with_the_wrong_key(written_encrypted: Path, stranger_key: Keys) -> None:
    with pytest.raises(DecryptionError, match="not among its recipients") as info:
        MMIO.open(written_encrypted).payload(
            digest_bytes(ECG_BYTES), secret_keys=[stranger_key.secret]
        )
    assert f"{digest_bytes(ECG_BYTES)}.c4gh" in str(info.value)


def test_one_right_key_among_wrong_ones_is_enough(
    written_encrypted: Path, stranger_key: Keys, hub_key: Keys
) -> None:
    obj = MMIO.open(written_encrypted)
    data = obj.payload(digest_bytes(ECG_BYTES), secret_keys=[stranger_key.secret, hub_key.secret])
    assert data == ECG_BYTES


@pytest.mark.parametrize("damage", ["flip-body", "truncate-tail", "truncate-to-mac"])
def test_damaged_ciphertext(written_encrypted: Path, site_key: Keys, damage: str) -> None:
    target = written_encrypted / "payloads" / f"{digest_bytes(ECG_BYTES)}.c4gh"
    data = bytearray(target.read_bytes())
    if damage == "flip-body":
        data[-40] ^= 0x80
    elif damage == "truncate-tail":
        del data[-7:]
    else:  # leave a last segment shorter than its 28-byte nonce + MAC
        body = len(ECG_BYTES) + 28
        data = data[: len(data) - body + 10]
    target.write_bytes(bytes(data))
    obj = MMIO.open(written_encrypted)
    # With the right key, damage is an integrity failure of that payload, like a bad digest.
    with pytest.raises(DigestMismatchError, match="damaged") as info:
        obj.payload(digest_bytes(ECG_BYTES), secret_keys=[site_key.secret])
    assert str(target) in str(info.value)
    assert info.value.location == f"/payloads/{target.name}"
    with pytest.raises(DigestMismatchError):
        obj.verify(secret_keys=[site_key.secret])


def test_an_encrypted_payload_swapped_for_plaintext(written_encrypted: Path) -> None:
    target = written_encrypted / "payloads" / f"{digest_bytes(ECG_BYTES)}.c4gh"
    target.write_bytes(ECG_BYTES)
    with pytest.raises(ObjectFormatError, match="not a Crypt4GH file") as info:
        MMIO.open(written_encrypted).verify()
    assert str(target) in str(info.value)


def test_a_manifest_replaced_after_open(tmp_path: Path, written: Path, make: ObjectFactory) -> None:
    obj = MMIO.open(written)
    other = make(ldl=9.9).write(tmp_path / "other")
    shutil.copy(other / "manifest.json", written / "manifest.json")
    with pytest.raises(DigestMismatchError, match="named"):
        obj.verify()  # the directory is named for the old object


# -- verify reports -----------------------------------------------------------------------------


def test_verify_report_plaintext(written: Path) -> None:
    report = MMIO.open(written).verify()
    assert report.path == str(written / "manifest.json")
    assert report.digest == written.name.removesuffix(".mmio")
    assert (report.modalities, report.bundles, report.payloads_checked) == (2, 1, 2)
    assert report.skipped == []


def test_verify_report_without_payloads(written: Path) -> None:
    report = MMIO.open(written).verify(payloads=False)
    assert (report.modalities, report.bundles, report.payloads_checked) == (2, 1, 0)


def test_verify_report_encrypted_without_keys(written_encrypted: Path) -> None:
    report = MMIO.open(written_encrypted).verify()
    assert report.payloads_checked == 0
    assert sorted(report.skipped) == sorted([digest_bytes(ECG_BYTES), digest_bytes(NOTE_BYTES)])


def test_verify_report_encrypted_with_a_key(written_encrypted: Path, hub_key: Keys) -> None:
    report = MMIO.open(written_encrypted).verify(secret_keys=[hub_key.secret])
    assert (report.payloads_checked, report.skipped) == (2, [])


def test_repr_names_the_object(plain_obj: MMIO) -> None:
    text = repr(plain_obj)
    assert plain_obj.digest[:12] in text and plain_obj.pseudonym in text and "ecg" in text


def test_consent_withdrawn_object_still_verifies(tmp_path: Path, make: ObjectFactory) -> None:
    obj = make(consent=Consent(status="withdrawn"))
    out = obj.write(tmp_path)
    assert _manifest(out)["consent"]["status"] == "withdrawn"
    assert MMIO.open(out).verify().modalities == 2


def test_files_written_are_not_world_writable(written: Path) -> None:
    for p in [written, *written.rglob("*")]:
        assert not os.stat(p).st_mode & 0o002


def test_a_manifest_replaced_after_open_in_a_plain_folder(
    tmp_path: Path, written: Path, make: ObjectFactory
) -> None:
    folder = written.rename(tmp_path / "patient-copy")
    obj = MMIO.open(folder)
    other = make(ldl=9.9).write(tmp_path / "other")
    shutil.copy(other / "manifest.json", folder / "manifest.json")
    with pytest.raises(ObjectFormatError, match="not the object") as info:
        obj.verify(payloads=False)
    assert obj.digest in str(info.value)
