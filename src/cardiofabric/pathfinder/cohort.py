"""The Pathfinder ground truth: a synthetic cardiology cohort with known, real signal.

Every patient is drawn from one documented model (below) before any file is written; the site
writers then express the same truth in each site's own formats, codes, units and language.
Later analytics and learning are tested against these known effects.

Model (per patient, deterministic by seed):

- demographics: sex 50/50; age at index uniform within the site's range; smoking
  never/former/current 55/28/17 %; diabetes 11 %.
- genetics (carrier frequencies enriched for a cardiology cohort, not population rates):
  MYBPC3 or MYH7 pathogenic variant 3 % → max LV wall thickness +7 mm (SD 2) and hypertrophic
  cardiomyopathy diagnosed with probability 0.65 (0.002 in non-carriers);
  KCNQ1 or KCNH2 pathogenic variant 2 % → QTc +45 ms (SD 12), long QT syndrome diagnosed with
  probability 0.5; LDLR, APOB or PCSK9 pathogenic variant 3 % → LDL +2.0 mmol/L (SD 0.5),
  familial hypercholesterolaemia diagnosed with probability 0.55.
- a CAD polygenic score over ``PGS_SNPS`` SNPs with known weights (``pgs_scoring_file``);
  the score is standardised to mean 0, SD 1 over the whole network.
- measurements: SBP N(128 + 0.5·(age−55) + 8·diabetes, 15) mmHg; LDL N(3.2, 0.8) mmol/L (+FH);
  HDL N(1.4 − 0.2·male, 0.3); triglycerides log-normal (median 1.4 mmol/L); HbA1c 5.4 % (7.4 %
  with diabetes); creatinine N(80 + 12·male, 15) µmol/L; heart rate N(68, 9) /min; QTc
  N(412 + 8·female, 18) ms (+LQTS); PR N(160, 20); QRS N(92, 10) ms; LVEF N(60, 6) %.
- outcome: time to a major adverse cardiac event, exponential with hazard
  ``h0_site · exp(β·x)``, with the log hazard ratios in ``HAZARD_RATIOS`` (per 10 years of age,
  male sex, current smoking, per 10 mmHg SBP, per mmol/L LDL, diabetes, per SD of the polygenic
  score); administrative censoring at 10 years and random loss to follow-up.
- consent (GA4GH DUO): GRU 75 %, HMB 12 %, disease-specific 5 %, GRU without use of genomic
  data 6 %, withdrawn 2 %.
- missingness: each site has its own probability that a patient has an ECG, imaging, a VCF and
  wearable data (``SiteSpec``).
- incidental variants: benign and uncertain cardiac panel variants of the catalogue
  (``pathfinder.knowledge``), common ones under Hardy–Weinberg, rare ones in a few patients;
  they change no phenotype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import numpy as np

__all__ = [
    "CARRIER_VARIANTS",
    "HAZARD_RATIOS",
    "PGS_SNPS",
    "SITES",
    "Carrier",
    "SimPatient",
    "SiteSpec",
    "event_date",
    "simulate_network",
]

#: Hazard ratios of the MACE model, as log HR per unit given (the ground truth to recover).
HAZARD_RATIOS: dict[str, float] = {
    "age_per_10y": math.log(1.70),
    "male": math.log(1.45),
    "current_smoker": math.log(1.80),
    "sbp_per_10mmHg": math.log(1.18),
    "ldl_per_mmol": math.log(1.30),
    "diabetes": math.log(1.75),
    "prs_per_sd": math.log(1.35),
}


@dataclass(frozen=True)
class Carrier:
    """A pathogenic variant carried heterozygously (GRCh38, VCF-style alleles)."""

    gene: str
    chrom: str
    pos: int
    ref: str
    alt: str
    hgvs_p: str
    condition: str  # hcm | lqts | fh


#: Illustrative pathogenic variants (positions on GRCh38 within the named genes; the protein
#: changes are well-known cardiac founder or recurrent variants, used here as labels).
CARRIER_VARIANTS: tuple[Carrier, ...] = (
    Carrier("MYBPC3", "11", 47332274, "C", "T", "p.Arg502Trp", "hcm"),
    Carrier("MYH7", "14", 23425813, "C", "T", "p.Arg403Gln", "hcm"),
    Carrier("KCNQ1", "11", 2583549, "G", "A", "p.Arg190Gln", "lqts"),
    Carrier("KCNH2", "7", 150951619, "C", "T", "p.Ala614Val", "lqts"),
    Carrier("LDLR", "19", 11116926, "G", "A", "p.Gly592Glu", "fh"),
    Carrier("APOB", "2", 21006288, "C", "T", "p.Arg3527Gln", "fh"),
    Carrier("PCSK9", "1", 55039974, "G", "T", "p.Asp374Tyr", "fh"),
)


@dataclass(frozen=True)
class PgsSnp:
    chrom: str
    pos: int
    ref: str
    alt: str  # the effect allele
    weight: float
    eaf: float  # effect allele frequency


def _pgs_snps(n: int = 40) -> tuple[PgsSnp, ...]:
    rng = np.random.default_rng(20240601)
    snps = []
    bases = "ACGT"
    # Transitions and non-palindromic transversions only: A/T and C/G SNPs are strand-ambiguous,
    # and PGS tools (pgsc_calc) drop them by default, which would blur the known score.
    partners = {"A": "GC", "C": "TA", "G": "AT", "T": "CG"}
    for i in range(n):
        chrom = str(1 + i % 22)
        ref = bases[i % 4]
        alt = partners[ref][(i // 4) % 2]
        snps.append(
            PgsSnp(
                chrom,
                10_000_000 + 1_234_567 * i,
                ref,
                alt,
                round(float(rng.uniform(0.02, 0.12)), 4),
                round(float(rng.uniform(0.1, 0.6)), 3),
            )
        )
    return tuple(snps)


#: The SNPs of the CAD polygenic score, with effect alleles, weights and frequencies.
PGS_SNPS: tuple[PgsSnp, ...] = _pgs_snps()

SiteFormat = Literal["fhir-bundle", "fhir-ndjson", "omop", "tabular", "omop+wearable"]


@dataclass(frozen=True)
class SiteSpec:
    """How one fictional site keeps its data."""

    name: str
    country: str
    language: str  # ISO 639-3
    clinical_format: SiteFormat
    code_system: str  # LOINC | local | ICD-10 ...
    lipid_unit: str  # mmol/L | mg/dL
    age_range: tuple[int, int]
    baseline_hazard: float  # per year
    p_ecg: float
    p_imaging: float
    p_vcf: float
    p_wearable: float
    ecg_formats: tuple[str, ...]  # dicom-ecg | wfdb | edf
    imaging_modality: str  # MR | US


SITES: tuple[SiteSpec, ...] = (
    SiteSpec(
        "nl-amsterdam",
        "NL",
        "nld",
        "fhir-bundle",
        "LOINC",
        "mmol/L",
        (35, 80),
        0.012,
        0.85,
        0.55,
        0.70,
        0.0,
        ("dicom-ecg", "wfdb"),
        "MR",
    ),
    SiteSpec(
        "se-uppsala",
        "SE",
        "swe",
        "omop",
        "LOINC",
        "mmol/L",
        (40, 85),
        0.010,
        0.80,
        0.40,
        0.60,
        0.0,
        ("edf", "dicom-ecg"),
        "US",
    ),
    SiteSpec(
        "fi-helsinki",
        "FI",
        "fin",
        "tabular",
        "local",
        "mmol/L",
        (30, 75),
        0.014,
        0.75,
        0.35,
        0.80,
        0.0,
        ("wfdb", "edf"),
        "MR",
    ),
    SiteSpec(
        "it-milano",
        "IT",
        "ita",
        "fhir-ndjson",
        "ICD-10",
        "mg/dL",
        (40, 80),
        0.011,
        0.90,
        0.60,
        0.50,
        0.0,
        ("dicom-ecg", "edf"),
        "US",
    ),
    SiteSpec(
        "de-berlin",
        "DE",
        "deu",
        "omop+wearable",
        "LOINC",
        "mg/dL",
        (35, 85),
        0.013,
        0.70,
        0.45,
        0.55,
        0.65,
        ("wfdb", "dicom-ecg"),
        "MR",
    ),
)


@dataclass
class SimPatient:
    """One synthetic patient: the truth every site file is written from."""

    local_id: str
    site: str
    sex: Literal["male", "female"]
    birth_year: int
    index_date: str  # ISO date of cohort entry
    age: float  # at index
    smoking: Literal["never", "former", "current"]
    diabetes: bool
    hypertension: bool
    sbp: float  # mmHg
    dbp: float
    ldl: float  # mmol/L
    hdl: float
    total_cholesterol: float
    triglycerides: float  # mmol/L
    hba1c: float  # %
    creatinine: float  # µmol/L
    heart_rate: float  # /min
    pr: float  # ms
    qrs: float
    qtc: float  # Bazett, ms
    lvef: float  # %
    max_wall_thickness: float  # mm
    lv_mass: float  # g
    carriers: list[Carrier] = field(default_factory=list)
    pgs_dosages: list[int] = field(default_factory=list)  # effect-allele dosage per PGS SNP
    prs: float = 0.0  # standardised over the network
    conditions: list[str] = field(
        default_factory=list
    )  # hcm | lqts | fh | diabetes | hypertension | mi
    medications: list[str] = field(default_factory=list)  # ATC codes
    event: bool = False  # MACE observed
    time_years: float = 0.0  # time to MACE or censoring
    consent: str = "GRU"  # GRU | HMB | DS | GRU-no-genomics | withdrawn
    has_ecg: bool = False
    ecg_format: str | None = None
    has_imaging: bool = False
    has_vcf: bool = False
    has_wearable: bool = False
    #: Benign and uncertain panel variants carried besides the model's carriers: allele id
    #: ``chrom-pos-ref-alt`` → ALT dosage (``pathfinder.knowledge.seed_incidental``).
    incidental: dict[str, int] = field(default_factory=dict)

    @property
    def qt(self) -> float:
        """QT from QTc by inverting Bazett (QTc = QT / √RR)."""
        return self.qtc * math.sqrt(60.0 / self.heart_rate)


def _draw(rng: np.random.Generator, spec: SiteSpec, i: int, year0: int = 2015) -> SimPatient:
    sex: Literal["male", "female"] = "male" if rng.random() < 0.5 else "female"
    male = sex == "male"
    age = float(rng.uniform(*spec.age_range))
    day = int(rng.integers(0, 365 * 3))
    index = np.datetime64(f"{year0}-01-01") + np.timedelta64(day, "D")
    birth_year = int(str(index)[:4]) - int(age)
    r = rng.random()
    smoking: Literal["never", "former", "current"] = (
        "never" if r < 0.55 else "former" if r < 0.83 else "current"
    )
    diabetes = bool(rng.random() < 0.11)
    carriers: list[Carrier] = []
    for cond, p in (("hcm", 0.03), ("lqts", 0.02), ("fh", 0.03)):
        if rng.random() < p:
            options = [c for c in CARRIER_VARIANTS if c.condition == cond]
            carriers.append(options[int(rng.integers(0, len(options)))])
    kinds = {c.condition for c in carriers}
    dosages = [int(rng.binomial(2, s.eaf)) for s in PGS_SNPS]
    sbp = float(rng.normal(128 + 0.5 * (age - 55) + 8 * diabetes, 15))
    ldl = float(max(0.8, rng.normal(3.2, 0.8) + (rng.normal(2.0, 0.5) if "fh" in kinds else 0)))
    hdl = float(max(0.5, rng.normal(1.4 - 0.2 * male, 0.3)))
    tg = float(np.exp(rng.normal(math.log(1.4), 0.4)))
    qtc = float(
        rng.normal(412 + 8 * (not male), 18) + (rng.normal(45, 12) if "lqts" in kinds else 0)
    )
    wall = float(rng.normal(9.5 + 1.0 * male, 1.5) + (rng.normal(7, 2) if "hcm" in kinds else 0))
    conditions = []
    if ("hcm" in kinds and rng.random() < 0.65) or rng.random() < 0.002:
        conditions.append("hcm")
    if "lqts" in kinds and rng.random() < 0.5:
        conditions.append("lqts")
    if "fh" in kinds and rng.random() < 0.55:
        conditions.append("fh")
    hypertension = sbp > 140 or bool(rng.random() < 0.1)
    if diabetes:
        conditions.append("diabetes")
    if hypertension:
        conditions.append("hypertension")
    meds = []
    if ldl > 4.0 or "fh" in conditions:
        meds.append("C10AA05")  # atorvastatin
    if hypertension:
        meds.append("C09AA05")  # ramipril
    if diabetes:
        meds.append("A10BA02")  # metformin
    r = rng.random()
    consent = (
        "GRU"
        if r < 0.75
        else "HMB"
        if r < 0.87
        else "DS"
        if r < 0.92
        else "GRU-no-genomics"
        if r < 0.98
        else "withdrawn"
    )
    has_ecg = bool(rng.random() < spec.p_ecg)
    return SimPatient(
        local_id=f"{spec.name[:2].upper()}{i:06d}",
        site=spec.name,
        sex=sex,
        birth_year=birth_year,
        index_date=str(index),
        age=age,
        smoking=smoking,
        diabetes=diabetes,
        hypertension=hypertension,
        sbp=sbp,
        dbp=float(rng.normal(0.6 * sbp + 2, 7)),
        ldl=ldl,
        hdl=hdl,
        total_cholesterol=ldl + hdl + tg / 2.2,  # Friedewald, rearranged (mmol/L)
        triglycerides=tg,
        hba1c=float(rng.normal(7.4 if diabetes else 5.4, 0.5)),
        creatinine=float(rng.normal(80 + 12 * male, 15)),
        heart_rate=float(np.clip(rng.normal(68, 9), 45, 110)),
        pr=float(rng.normal(160, 20)),
        qrs=float(rng.normal(92, 10)),
        qtc=qtc,
        lvef=float(np.clip(rng.normal(60, 6), 25, 75)),
        max_wall_thickness=wall,
        lv_mass=float(rng.normal(150 + 40 * male + 6 * (wall - 10), 20)),
        carriers=carriers,
        pgs_dosages=dosages,
        conditions=conditions,
        medications=meds,
        consent=consent,
        has_ecg=has_ecg,
        ecg_format=spec.ecg_formats[int(rng.integers(0, len(spec.ecg_formats)))]
        if has_ecg
        else None,
        has_imaging=bool(rng.random() < spec.p_imaging),
        has_vcf=bool(rng.random() < spec.p_vcf),
        has_wearable=bool(rng.random() < spec.p_wearable),
    )


def _outcomes(
    rng: np.random.Generator, patients: list[SimPatient], specs: dict[str, SiteSpec]
) -> None:
    raw = np.array(
        [sum(w.weight * d for w, d in zip(PGS_SNPS, p.pgs_dosages, strict=True)) for p in patients]
    )
    z = (raw - raw.mean()) / (raw.std() or 1.0)
    b = HAZARD_RATIOS
    for p, prs in zip(patients, z, strict=True):
        p.prs = float(prs)
        lp = (
            b["age_per_10y"] * (p.age - 60) / 10
            + b["male"] * (p.sex == "male")
            + b["current_smoker"] * (p.smoking == "current")
            + b["sbp_per_10mmHg"] * (p.sbp - 130) / 10
            + b["ldl_per_mmol"] * (p.ldl - 3.2)
            + b["diabetes"] * p.diabetes
            + b["prs_per_sd"] * p.prs
        )
        hazard = specs[p.site].baseline_hazard * math.exp(lp)
        t_event = float(rng.exponential(1 / hazard))
        t_censor = min(10.0, float(rng.exponential(25.0)))
        p.event = t_event <= t_censor
        p.time_years = round(min(t_event, t_censor), 4)
        if p.event and rng.random() < 0.6:
            p.conditions.append("mi")


def event_date(p: SimPatient) -> str:
    """The date of the MACE event, or of the end of follow-up: index date + ``time_years``.

    Whole days, ``round(time_years * 365.25)``: every site's writer dates the outcome this way.
    """
    start = date.fromisoformat(p.index_date)
    return (start + timedelta(days=round(p.time_years * 365.25))).isoformat()


def simulate_network(
    patients_per_site: int, *, seed: int = 0, sites: tuple[SiteSpec, ...] = SITES
) -> dict[str, list[SimPatient]]:
    """The ground truth of every site, deterministic by ``seed``."""
    from cardiofabric.pathfinder.knowledge import seed_incidental

    rng = np.random.default_rng(seed)
    by_site = {s.name: [_draw(rng, s, i + 1) for i in range(patients_per_site)] for s in sites}
    _outcomes(rng, [p for ps in by_site.values() for p in ps], {s.name: s for s in sites})
    seed_incidental(by_site, seed)  # its own random stream: the values above do not change
    return by_site
