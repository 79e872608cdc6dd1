"""CardioFabric: genomic, imaging, ECG, clinical and wearable cardiology data usable together
across hospitals, without moving or exposing patient data."""

from __future__ import annotations

from cardiofabric.errors import CardioFabricError

__version__ = "0.1.0"

__all__ = ["CardioFabricError", "__version__"]
