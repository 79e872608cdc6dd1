"""EDF and EDF+ recordings holding ECG signals.

Read with pyedflib (EDF: Kemp et al., Electroencephalogr Clin Neurophysiol 1992;82:391-3;
EDF+: Kemp & Olivan, Clin Neurophysiol 2003;114:1755-61). The ECG channels are those whose
label names a standard lead (EDF+ section 2.1.3.2 standard texts ``ECG I``, ``ECG V1``, …) or,
when none does, those labelled ``ECG…``; they must share one sampling frequency. Physical
values in each channel's physical dimension (``uV``, ``mV``) become the millivolt signal;
annotation signals (``EDF Annotations``) are not signals and are skipped by pyedflib.

Patient: the EDF+ local patient identification subfield "code" (section 2.1.3.3; ``X`` means
unknown), unless the source options give the id (see :mod:`.record`). A plain EDF patient
field is free text and may hold a name: it is never parsed for an id. Time: the start date
and time of the header. EDF files carry no device measurements.

A file whose header pyedflib cannot read is an :class:`InputError` naming the file; in a
folder, it is reported as a rejected record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

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

__all__ = ["EdfAdapter", "read_edf_ecg"]


def read_edf_ecg(path: Path) -> EcgRecording:
    """The ECG channels of an EDF or EDF+ file."""
    try:
        import pyedflib
    except ImportError:
        raise MissingDependencyError("pyedflib", "ingest", "reading EDF files") from None
    path = Path(path)
    try:
        reader = pyedflib.EdfReader(str(path))
    except FileNotFoundError:
        raise InputError("no such EDF file", path=path) from None
    except OSError as exc:
        reason = str(exc).replace(str(path), "").strip(" :.")  # pyedflib repeats the path
        raise InputError(
            f"not a readable EDF/EDF+ file: {reason}",
            path=path,
            hint="check the 256-byte header (version '0', sizes, signal count) or export again",
        ) from None
    try:
        labels = [str(label).strip() for label in reader.getSignalLabels()]
        chosen = [i for i, label in enumerate(labels) if canonical_lead(label)]
        if not chosen:
            chosen = [i for i, label in enumerate(labels) if label.upper().startswith("ECG")]
        if not chosen:
            raise InputError(
                f"no ECG signals: labels are {', '.join(labels) or 'none'}",
                path=path,
                hint="label ECG channels with the EDF+ standard texts, e.g. 'ECG II'",
            )
        rates = {i: float(reader.getSampleFrequency(i)) for i in chosen}
        rate = Counter(rates.values()).most_common(1)[0][0]
        chosen = [i for i in chosen if rates[i] == rate]
        rows, leads = [], []
        for i in chosen:
            factor = to_millivolts(reader.getPhysicalDimension(i))
            if factor is None:
                raise InputError(
                    f"signal {labels[i]!r} has physical dimension "
                    f"{reader.getPhysicalDimension(i)!r}; expected uV or mV",
                    path=path,
                )
            rows.append(np.asarray(reader.readSignal(i), dtype=np.float64) * factor)
            leads.append(canonical_lead(labels[i]) or labels[i])
        n = min(len(r) for r in rows)
        code = str(reader.getPatientCode() or "").strip() if reader.filetype in (1, 3) else ""
        start = reader.getStartdatetime()
    finally:
        reader.close()
    return EcgRecording(
        signal=np.stack([r[:n] for r in rows]),
        sampling_rate_hz=rate,
        leads=tuple(leads),
        source_format="edf",
        patient_id=None if code in ("", "X") else code,
        recorded_at=start.replace(microsecond=0, tzinfo=None).isoformat() if start else None,
    )


@register("edf")
class EdfAdapter:
    """EDF/EDF+ files with ECG channels (one record each), or a folder of them."""

    format = "edf"
    version = "1"

    def read(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        yield from read_each(path, (".edf",), ctx, lambda p: self._one(p, ctx), "EDF")

    def _one(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        recording = read_edf_ecg(path)
        local_id = local_id_or_reject(
            path, ctx, recording.patient_id, "the EDF+ patient code is empty or 'X'"
        )
        if local_id is None:
            return
        yield ecg_record(recording, local_id, media_type="application/x-edf")
