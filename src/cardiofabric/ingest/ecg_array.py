"""ECG as a NumPy array file (``.npy``: leads × samples) with a JSON sidecar.

The sidecar (``<file>.json``) names the patient, the sampling rate, the lead names, the
recording time, and the device's own measurements where the recorder gave them. Our own
delineation of the waveform (neurokit2) joins in the ECG adapters of the ingest package.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cardiofabric.errors import InputError
from cardiofabric.ingest.base import ModalityRecord, SourceContext, register
from cardiofabric.ingest.harmonise import measurement
from cardiofabric.mmio.container import PayloadSpec
from cardiofabric.mmio.model import ModalityKind

__all__ = ["DEVICE_FEATURES", "EcgArrayAdapter"]

#: Device measurement name → (LOINC code, label, unit).
DEVICE_FEATURES = {
    "heart_rate": ("8867-4", "Heart rate", "/min"),
    "pr": ("8625-6", "P-R Interval", "ms"),
    "qrs": ("8633-0", "QRS duration", "ms"),
    "qt": ("8634-8", "Q-T interval", "ms"),
    "qtc_bazett": ("76635-2", "Q-T interval corrected based on Bazett formula", "ms"),
    "qrs_axis": ("8632-2", "QRS axis", "deg"),
}


@register("ecg-npy")
class EcgArrayAdapter:
    format = "ecg-npy"
    version = "1"

    def read(self, path: Path, ctx: SourceContext) -> Iterator[ModalityRecord]:
        sidecar = path.with_suffix(path.suffix + ".json")
        try:
            meta: dict[str, Any] = json.loads(sidecar.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(
                "the ECG array has no JSON sidecar",
                path=sidecar,
                hint="write <file>.npy.json with patient_id, sampling_rate_hz and leads",
            ) from None
        except json.JSONDecodeError as exc:
            raise InputError(f"sidecar is not valid JSON ({exc.msg})", path=sidecar) from None
        for key in ("patient_id", "sampling_rate_hz", "leads"):
            if key not in meta:
                raise InputError(f"sidecar lacks the field {key!r}", path=sidecar)
        try:
            signal = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputError(f"not a NumPy .npy array ({exc})", path=path) from None
        if signal.ndim != 2 or signal.shape[0] != len(meta["leads"]):
            raise InputError(
                f"expected an array of shape (leads={len(meta['leads'])}, samples), "
                f"found {signal.shape}",
                path=path,
            )
        buf = io.BytesIO()
        np.save(buf, signal.astype("<f4"), allow_pickle=False)
        when = meta.get("recorded_at")
        rows = []
        for name, value in (meta.get("device_measurements") or {}).items():
            if name not in DEVICE_FEATURES:
                continue
            code, label, unit = DEVICE_FEATURES[name]
            row = measurement("LOINC", code, label, value, unit, "eng")
            row.update(feature=name, method="device", date=when)
            rows.append(row)
        yield ModalityRecord(
            local_id=str(meta["patient_id"]),
            kind=ModalityKind.ECG,
            media_type="application/x-npy",
            content={"ecg_feature": rows},
            payloads=[PayloadSpec(buf.getvalue(), "application/x-npy", role="signal")],
            time=when,
        )
