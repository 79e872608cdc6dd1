"""A small example site: three patients in a FHIR Bundle, a VCF and ECG arrays.

Used by the demo and the tests until the five-site Pathfinder generator lands. Everything here
is synthetic. The two variants are illustrative cardiac variants (MYBPC3 in hypertrophic
cardiomyopathy, LDLR in familial hypercholesterolaemia), on GRCh38.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["PATIENTS", "ExamplePatient", "synthetic_ecg", "write_example_site"]

LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


@dataclass(frozen=True)
class ExamplePatient:
    local_id: str
    gender: str
    birth_year: int
    ldl_mg_dl: float
    sbp: int
    condition: tuple[str, str, str] | None  # (system URI, code, display)
    genotype: tuple[str, str]  # GT at the MYBPC3 and LDLR sites
    heart_rate: float
    qtc_ms: float


PATIENTS = (
    ExamplePatient(
        "MRN-000101",
        "female",
        1968,
        212.0,
        138,
        ("http://snomed.info/sct", "398036000", "Familial hypercholesterolemia"),
        ("0/0", "0/1"),
        64.0,
        421.0,
    ),
    ExamplePatient(
        "MRN-000102",
        "male",
        1975,
        131.0,
        124,
        ("http://snomed.info/sct", "233873004", "Hypertrophic cardiomyopathy"),
        ("0/1", "0/0"),
        58.0,
        436.0,
    ),
    ExamplePatient("MRN-000103", "male", 1959, 158.0, 151, None, ("0/0", "0/0"), 72.0, 409.0),
)

_VARIANTS = (
    ("11", 47342698, "G", "A", "MYBPC3"),
    ("19", 11116926, "G", "A", "LDLR"),
)


def synthetic_ecg(
    heart_rate: float, seconds: float = 10.0, fs: int = 500, seed: int = 0
) -> np.ndarray:
    """A 12-lead ECG-like waveform (mV): P, QRS and T waves as Gaussians at a steady rate."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    rr = 60.0 / heart_rate
    beat = np.zeros_like(t)
    # (offset from R in s, amplitude mV, width s) for P, Q, R, S, T
    waves = (
        (-0.16, 0.12, 0.025),
        (-0.03, -0.1, 0.008),
        (0.0, 1.1, 0.01),
        (0.03, -0.25, 0.01),
        (0.28, 0.3, 0.05),
    )
    for r in np.arange(0.4, seconds, rr):
        for off, amp, width in waves:
            beat += amp * np.exp(-(((t - r - off) / width) ** 2) / 2)
    gains = np.array([0.8, 1.0, 0.4, -0.9, 0.3, 0.7, -0.5, 0.6, 0.9, 1.2, 1.1, 0.9])
    signal = gains[:, None] * beat[None, :] + rng.normal(0, 0.01, (12, t.size))
    return signal.astype(np.float32)


def _fhir_bundle() -> dict[str, object]:
    entries: list[dict[str, object]] = []
    for i, p in enumerate(PATIENTS):
        pid = f"p{i + 1}"
        entries.append(
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": pid,
                    "identifier": [{"system": "urn:example:mrn", "value": p.local_id}],
                    "name": [{"family": f"Example{i + 1}", "given": ["Test"]}],
                    "gender": p.gender,
                    "birthDate": f"{p.birth_year}-06-15",
                }
            }
        )
        entries.append(
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": f"{pid}-ldl",
                    "status": "final",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                    "code": "laboratory",
                                }
                            ]
                        }
                    ],
                    "code": {
                        "coding": [
                            {
                                "system": "http://loinc.org",
                                "code": "2089-1",
                                "display": "Cholesterol in LDL [Mass/volume] in Serum or Plasma",
                            }
                        ]
                    },
                    "subject": {"reference": f"Patient/{pid}"},
                    "effectiveDateTime": f"2024-03-0{i + 1}T09:30:00+01:00",
                    "valueQuantity": {
                        "value": p.ldl_mg_dl,
                        "unit": "mg/dL",
                        "system": "http://unitsofmeasure.org",
                        "code": "mg/dL",
                    },
                }
            }
        )
        entries.append(
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": f"{pid}-sbp",
                    "status": "final",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                    "code": "vital-signs",
                                }
                            ]
                        }
                    ],
                    "code": {
                        "coding": [
                            {
                                "system": "http://loinc.org",
                                "code": "8480-6",
                                "display": "Systolic blood pressure",
                            }
                        ]
                    },
                    "subject": {"reference": f"Patient/{pid}"},
                    "effectiveDateTime": f"2024-03-0{i + 1}T09:10:00+01:00",
                    "valueQuantity": {
                        "value": p.sbp,
                        "unit": "mmHg",
                        "system": "http://unitsofmeasure.org",
                        "code": "mm[Hg]",
                    },
                }
            }
        )
        if p.condition:
            system, code, display = p.condition
            entries.append(
                {
                    "resource": {
                        "resourceType": "Condition",
                        "id": f"{pid}-dx",
                        "clinicalStatus": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                    "code": "active",
                                }
                            ]
                        },
                        "code": {"coding": [{"system": system, "code": code, "display": display}]},
                        "subject": {"reference": f"Patient/{pid}"},
                        "onsetDateTime": "2019-11-20",
                    }
                }
            )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _vcf() -> str:
    lines = [
        "##fileformat=VCFv4.2",
        "##reference=GRCh38",
        "##contig=<ID=11,length=135086622>",
        "##contig=<ID=19,length=58617616>",
        '##INFO=<ID=GENE,Number=1,Type=String,Description="HGNC gene symbol">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(
            [
                "#CHROM",
                "POS",
                "ID",
                "REF",
                "ALT",
                "QUAL",
                "FILTER",
                "INFO",
                "FORMAT",
                *(p.local_id for p in PATIENTS),
            ]
        ),
    ]
    for j, (chrom, pos, ref, alt, gene) in enumerate(_VARIANTS):
        gts = [p.genotype[j] for p in PATIENTS]
        lines.append(
            "\t".join([chrom, str(pos), ".", ref, alt, "60", "PASS", f"GENE={gene}", "GT", *gts])
        )
    return "\n".join(lines) + "\n"


def write_example_site(directory: Path) -> list[tuple[Path, str]]:
    """Write the example sources; return ``(path, format)`` for each."""
    directory.mkdir(parents=True, exist_ok=True)
    fhir = directory / "patients.fhir.json"
    fhir.write_text(json.dumps(_fhir_bundle(), indent=1), encoding="utf-8")
    vcf = directory / "cohort.vcf"
    vcf.write_text(_vcf(), encoding="utf-8")
    sources = [(fhir, "fhir-bundle"), (vcf, "vcf")]
    for i, p in enumerate(PATIENTS):
        ecg = directory / f"ecg-{i + 1}.npy"
        np.save(ecg, synthetic_ecg(p.heart_rate, seed=i), allow_pickle=False)
        qt = p.qtc_ms * (60.0 / p.heart_rate) ** 0.5  # invert Bazett: QTc = QT / sqrt(RR)
        meta = {
            "patient_id": p.local_id,
            "sampling_rate_hz": 500,
            "leads": LEADS,
            "recorded_at": f"2024-03-0{i + 1}T10:00:00+01:00",
            "device_measurements": {
                "heart_rate": p.heart_rate,
                "qt": round(qt),
                "qtc_bazett": p.qtc_ms,
                "qrs": 96,
                "pr": 162,
            },
        }
        ecg.with_suffix(".npy.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        sources.append((ecg, "ecg-npy"))
    return sources
