"""The exception hierarchy: messages with path and hint, and errors that survive pickling."""

from __future__ import annotations

import pickle

import pytest

from cardiofabric.errors import (
    CardioFabricError,
    DecryptionError,
    DigestMismatchError,
    FormatVersionError,
    InputError,
    MissingDependencyError,
    ObjectFormatError,
    StoreError,
)


def test_message_names_path_and_hint() -> None:
    err = InputError("bad value", path="data/x.vcf", hint="fix it")
    assert str(err) == "data/x.vcf: bad value\n  what to do: fix it"
    assert (err.message, err.path, err.hint) == ("bad value", "data/x.vcf", "fix it")
    assert str(InputError("bad value")) == "bad value"


def test_hierarchy_and_kinds() -> None:
    assert issubclass(FormatVersionError, ObjectFormatError)
    kinds = {
        cls.kind
        for cls in (
            CardioFabricError,
            InputError,
            ObjectFormatError,
            FormatVersionError,
            DigestMismatchError,
            DecryptionError,
            StoreError,
            MissingDependencyError,
        )
    }
    assert len(kinds) == 8  # each maps to its own problem type


def test_missing_dependency_names_the_extra() -> None:
    err = MissingDependencyError("cyvcf2", "genomics", "Reading VCF files")
    assert "pip install 'cardiofabric[genomics]'" in str(err)
    assert "'cyvcf2'" in str(err)


@pytest.mark.parametrize(
    "err",
    [
        InputError("bad", path="a.json", hint="h"),
        DigestMismatchError("mismatch", location="/modalities/0/digest", path="m.json"),
        FormatVersionError("v9", path="m.json"),
        MissingDependencyError("fhir.resources", "export", "FHIR export"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_survive_pickling(err: CardioFabricError) -> None:
    # Errors raised in a worker process reach the parent through pickle.
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert str(back) == str(err)
    assert (back.message, back.path, back.hint) == (err.message, err.path, err.hint)
    assert getattr(back, "location", None) == getattr(err, "location", None)
