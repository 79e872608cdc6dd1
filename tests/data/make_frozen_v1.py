"""How the frozen example of MMIO format version 1 under ``tests/data/mmio-v1/`` was made.

This script was run ONCE, by the release that introduced format version 1, to write that
example. Never run it again to "update" the example: the example exists so that every later
release proves it still reads (and verifies) objects written by this one, and regenerating it
would hide exactly the change it is there to catch. A new format version gets a new script
(``make_frozen_v2.py``) and a new folder; the old ones stay as they are. The script refuses to
write over an existing example.

The object is small and synthetic (no real patient): two modalities,

* ``clinical``: harmonised rows for the ``person``, ``measurement`` and ``condition`` tables
  (columns of ``cardiofabric.store.schema``), with an OCA 2.0 bundle embedded as semantics;
* ``ecg``: a 3-lead, 8-sample signal as CSV (payload) and device features as
  ``ecg_feature`` rows;

and consent for general research use (GA4GH DUO:0000042). Payloads are not encrypted, so the
example needs no key.

Run from the repository root: ``python tests/data/make_frozen_v1.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cardiofabric.mmio.container import MMIO, MMIOBuilder, PayloadSpec
from cardiofabric.mmio.model import Consent, ConsentTerm, Provenance, Semantics
from cardiofabric.mmio.oca import AttributeSpec, BundleSpec, build_bundle
from cardiofabric.mmio.pseudonym import pseudonymise
from cardiofabric.mmio.said import digest_bytes

OUT = Path(__file__).resolve().parent / "mmio-v1"

# Not a real secret: it only makes the example's pseudonym reproducible.
EXAMPLE_SECRET = b"frozen-example-secret-not-for-use"

ECG_CSV = (
    "time_ms,I,II,V1\n"
    "0,0.012,0.020,-0.005\n"
    "2,0.015,0.024,-0.006\n"
    "4,0.110,0.180,-0.090\n"
    "6,0.950,1.320,-0.610\n"
    "8,0.420,0.610,-0.240\n"
    "10,-0.080,-0.110,0.050\n"
    "12,0.010,0.018,-0.004\n"
    "14,0.011,0.019,-0.004\n"
).encode("ascii")


LDL_LABEL = "Cholesterol in LDL [Mass/volume] in Serum or Plasma"


def _coded(system: str, code: str, label: str, **more: object) -> dict[str, object]:
    return {
        "code_system": system,
        "code": code,
        "label": label,
        "source_code_system": system,
        "source_code": code,
        "source_label": label,
        "source_language": "en",
        "mapped": True,
        **more,
    }


def clinical_bundle() -> dict[str, object]:
    return build_bundle(
        BundleSpec(
            name="Frozen example clinical variables",
            description="Variables of the frozen MMIO v1 example",
            names={
                "eng": ("Clinical variables", "Demographics, lipids and history"),
                "deu": ("Klinische Variablen", "Demografie, Lipide und Vorgeschichte"),
            },
            attributes=[
                AttributeSpec(
                    name="sex",
                    labels={"eng": "Sex", "deu": "Geschlecht"},
                    entries={
                        "eng": {"female": "Female", "male": "Male"},
                        "deu": {"female": "Weiblich", "male": "Männlich"},
                    },
                    required=True,
                ),
                AttributeSpec(
                    name="birth_year",
                    type="Numeric",
                    labels={"eng": "Year of birth", "deu": "Geburtsjahr"},
                    required=True,
                ),
                AttributeSpec(
                    name="ldl_cholesterol",
                    type="Numeric",
                    labels={"eng": "LDL cholesterol", "deu": "LDL-Cholesterin"},
                    unit="mmol/L",
                    code="LOINC:2089-1",
                ),
                AttributeSpec(
                    name="atrial_fibrillation",
                    type="Boolean",
                    labels={"eng": "Atrial fibrillation", "deu": "Vorhofflimmern"},
                    code="ICD-10:I48",
                ),
            ],
        )
    )


def build() -> MMIO:
    """The example object, in memory."""
    source = Provenance(
        source_digest=digest_bytes(b"frozen example: FHIR bundle export of 2024-03-01"),
        source_system="example-his",
        adapter="fhir-r4",
        adapter_version="1",
        time="2024-03-01T09:30:00+01:00",
    )
    recorder = Provenance(
        source_digest=digest_bytes(ECG_CSV),
        source_system="example-ecg-cart",
        adapter="ecg-csv",
        adapter_version="1",
        time="2024-03-01T09:10:00+01:00",
    )
    builder = MMIOBuilder(
        pseudonym=pseudonymise("EXAMPLE-0001", EXAMPLE_SECRET),
        site="example-site",
        consent=Consent(
            permissions=[ConsentTerm(code="DUO:0000042", label="general research use")],
            updated="2024-02-15",
        ),
    )
    builder.add(
        kind="clinical",
        media_type="application/fhir+json",
        provenance=source,
        semantics=Semantics(type="Bundle", value=clinical_bundle()),
        content={
            "person": [
                {"sex": "female", "source_sex": "F", "birth_year": 1961, "index_date": "2024-03-01"}
            ],
            "measurement": [
                {
                    **_coded("LOINC", "2089-1", LDL_LABEL),
                    "value": 3.36,
                    "unit": "mmol/L",
                    "source_value": "130",
                    "source_unit": "mg/dL",
                    "category": "laboratory",
                    "date": "2024-02-28T08:15:00+01:00",
                }
            ],
            "condition": [
                {
                    **_coded("ICD-10", "I48.0", "Paroxysmal atrial fibrillation"),
                    "onset_date": "2019-06-01",
                    "status": "active",
                }
            ],
        },
    )
    builder.add(
        kind="ecg",
        media_type="text/csv",
        provenance=recorder,
        payloads=[PayloadSpec(ECG_CSV, "text/csv", role="signal")],
        content={
            "ecg_feature": [
                {
                    "feature": "heart_rate",
                    **_coded("LOINC", "8867-4", "Heart rate"),
                    "value": 64.0,
                    "unit": "/min",
                    "source_value": "64",
                    "source_unit": "bpm",
                    "method": "device",
                    "date": "2024-03-01T09:10:00+01:00",
                },
                {
                    "feature": "qrs",
                    **_coded("LOINC", "8633-0", "QRS duration"),
                    "value": 92.0,
                    "unit": "ms",
                    "source_value": "92",
                    "source_unit": "ms",
                    "method": "device",
                    "date": "2024-03-01T09:10:00+01:00",
                },
            ]
        },
    )
    return builder.build()


def main() -> int:
    existing = sorted(OUT.glob("*.mmio"))
    if existing:
        print(
            f"{existing[0]} exists: the frozen example is never regenerated "
            "(see this script's docstring)",
            file=sys.stderr,
        )
        return 1
    obj = build()
    path = obj.write(OUT)
    print(path.relative_to(OUT.parent))
    print(obj.digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
