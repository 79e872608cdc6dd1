"""WFDB records (PhysioNet): a ``.hea`` header and its ``.dat`` signal files.

Read with ``wfdb.rdrecord`` (the WFDB Python package, format of the WFDB Applications Guide,
"header(5)" and "signal(5)"). The source is a ``.hea`` file, a record name, or a folder of
records. Physical signal values in each channel's units (``mV`` usually, ``uV`` converted) become
the millivolt signal; channel names are mapped to the standard lead names (``i``, ``ii``,
``avr``, ``v1`` …); the base date and time of the header are the recording's time.

The WFDB header has no patient field. By the PhysioNet databases' convention, information about
the subject is given in comment lines as ``<key>: <value>``; the local id is read from
``patient_id:`` (also ``patient:``, ``subject_id:``, ``subject:``), unless the source options
give it (see :mod:`.record`). WFDB records carry no device measurements.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, register
from cardiofabric.ingest.ecg.features import canonical_lead
from cardiofabric.ingest.ecg.record import (
    EcgRecording,
    ecg_record,
    local_id_or_reject,
    read_each,
    to_millivolts,
)

__all__ = ["WfdbAdapter", "patient_from_comments", "read_wfdb_ecg"]

_PATIENT = re.compile(
    r"^\s*<?\s*(?:patient[ _-]?id|patient|subject[ _-]?id|subject)\s*>?\s*[:=]\s*(\S+)",
    re.IGNORECASE,
)


def patient_from_comments(comments: list[str]) -> str | None:
    """The local id in a WFDB header's comment lines (``patient_id: P001``), if any."""
    for line in comments:
        m = _PATIENT.match(line)
        if m:
            return m.group(1)
    return None


def _record_time(record: Any) -> str | None:
    when = getattr(record, "base_datetime", None)
    if isinstance(when, datetime):
        return when.replace(microsecond=0, tzinfo=None).isoformat()
    date, time = getattr(record, "base_date", None), getattr(record, "base_time", None)
    if date is not None:
        hms = time.replace(microsecond=0).isoformat() if time is not None else "00:00:00"
        return f"{date.isoformat()}T{hms}"
    return None


def read_wfdb_ecg(path: Path) -> EcgRecording:
    """The ECG of a WFDB record, given its ``.hea`` file or its record name."""
    try:
        import wfdb  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependencyError("wfdb", "ingest", "reading WFDB records") from None
    path = Path(path)
    record_name = path.with_suffix("") if path.suffix.lower() == ".hea" else path
    header = record_name.with_suffix(".hea")
    if not header.is_file():
        raise InputError("no WFDB header (.hea) for this record", path=header)
    try:
        record = wfdb.rdrecord(str(record_name))
    except FileNotFoundError as exc:
        raise InputError(
            f"the WFDB record's signal file is missing ({Path(str(exc.filename or exc)).name})",
            path=header,
            hint="copy the .dat file(s) named in the header next to it",
        ) from None
    except Exception as exc:  # wfdb raises bare ValueError/IndexError on malformed headers
        raise InputError(
            f"not a readable WFDB record ({type(exc).__name__}: {exc})",
            path=header,
            hint="check the header against the WFDB header(5) format",
        ) from None
    signal = getattr(record, "p_signal", None)
    if signal is None or np.ndim(signal) != 2 or np.shape(signal)[0] == 0:
        raise InputError("the WFDB record holds no samples", path=header)
    names = [str(n) for n in (record.sig_name or [])]
    factors = []
    for name, unit in zip(names, record.units or [None] * len(names), strict=False):
        factor = to_millivolts(unit)
        if factor is None:
            raise InputError(
                f"channel {name!r} is in {unit!r}; expected a voltage (mV, uV)", path=header
            )
        factors.append(factor)
    comments = [str(c) for c in (record.comments or [])]
    return EcgRecording(
        signal=np.asarray(signal, dtype=np.float64).T * np.asarray(factors)[:, None],
        sampling_rate_hz=float(record.fs),
        leads=tuple(canonical_lead(n) or n for n in names),
        source_format="wfdb",
        patient_id=patient_from_comments(comments),
        recorded_at=_record_time(record),
    )


@register("wfdb")
class WfdbAdapter:
    """WFDB records (one record each): a ``.hea`` file, a record name, or a folder."""

    format = "wfdb"
    version = "1"

    def read(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        if not path.exists() and path.with_suffix(".hea").is_file():
            path = path.with_suffix(".hea")  # a record name without its extension
        yield from read_each(path, (".hea",), ctx, lambda p: self._one(p, ctx), "WFDB")

    def _one(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        recording = read_wfdb_ecg(path)
        local_id = local_id_or_reject(
            path, ctx, recording.patient_id, "no 'patient_id: <id>' comment in the header"
        )
        if local_id is None:
            return
        yield ecg_record(recording, local_id, media_type="application/x-wfdb")
