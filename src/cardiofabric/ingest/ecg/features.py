"""Our own ECG measurements: delineation with neurokit2, per beat, then the median.

What is measured, and how:

- **R peaks** by neurokit2's detector on the rhythm lead (lead II, unless its QRS is small
  beside another lead's), after neurokit2's cleaning (0.5 Hz high-pass, power-line filter);
  a detection whose steepest multi-lead slope is under a third of the median beat's (a P or T
  wave, a beat cut off by the recording's edge) is not a QRS and is dropped.
- **QRS onset and offset** are *global*: the spatial velocity (root sum of squares of the
  first derivatives) of the independent leads I, II, V1–V6 (or of every usable lead when the
  record is not a standard 12-lead) rises above and falls back under 10 % of its QRS maximum.
  Global boundaries over all leads are the convention of ECG analysis programs (the CSE
  reference library; the interval accuracy tests of IEC 60601-2-25), and a single lead misses
  the part of the QRS that is isoelectric in it.
- **P onset, P offset and T offset** from neurokit2's wavelet delineation (``method="dwt"``)
  of the same independent leads; per beat, the median over the leads where the point is
  plausible, provided at least half of the leads found it and they agree (interquartile range
  within 40 ms) — otherwise the point is left out rather than guessed.
- **Intervals per beat**: PR = QRS onset − P onset; QRS = offset − onset; QT = T offset − QRS
  onset; RR between successive R peaks; QTc by Bazett (QT/√RR) and Fridericia (QT/∛RR, RR in
  seconds) with the RR preceding the beat. Each feature is the median over beats, so that one
  noisy or ectopic beat does not move it.
- **Electrical axes** (P, QRS, T) in the frontal plane from the net area of each wave in leads
  I and aVF of the median beat (P from its onset; QRS between the global boundaries; T from
  60 ms after the QRS offset to its end; baseline: before the P wave for P, the PR segment
  for QRS and T). With the Einthoven lead vectors, lead I is the x component and
  aVF = (II + III)/2 is √3/2 of the y component, hence axis = atan2(2·aVF/√3, I). Where aVF
  is absent but leads I and II are present it is derived as aVF = II − I/2 (Einthoven's law
  III = II − I, Goldberger's aVF = (II + III)/2).

Every feature is ``None`` where the recording does not allow it (too short, too few beats, no
lead I for the axes); nothing is guessed.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from cardiofabric.errors import InputError, MissingDependencyError

__all__ = [
    "FEATURES",
    "STANDARD_LEADS",
    "BeatFiducials",
    "EcgFeatures",
    "FeatureCode",
    "canonical_lead",
    "measure",
]

FloatArray = npt.NDArray[np.float64]

#: The twelve standard leads in their conventional order.
STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


@dataclass(frozen=True)
class FeatureCode:
    """How one ECG feature is coded in ``ecg_feature`` rows."""

    loinc: str
    label: str  # LOINC long common name
    unit: str  # UCUM


#: Feature name → LOINC code, long common name and UCUM unit (LOINC 2.77; the check digit of
#: every code verified with LOINC's mod-10 algorithm; names as in the HL7 US Core clinical
#: test codes value set and in :mod:`cardiofabric.vocab.loinc`).
#:
#: | feature        | LOINC   | LOINC long common name                            | unit |
#: |----------------|---------|---------------------------------------------------|------|
#: | heart_rate     | 8867-4  | Heart rate                                        | /min |
#: | rr             | 8637-1  | R-R interval by EKG                               | ms   |
#: | pr             | 8625-6  | P-R interval                                      | ms   |
#: | qrs            | 8633-0  | QRS duration                                      | ms   |
#: | qt             | 8634-8  | Q-T interval                                      | ms   |
#: | qtc_bazett     | 76635-2 | Q-T interval corrected based on Bazett formula    | ms   |
#: | qtc_fridericia | 76634-5 | Q-T interval corrected based on Fridericia formula| ms   |
#: | qtc            | 8636-3  | Q-T interval corrected (formula not stated)       | ms   |
#: | p_axis         | 8626-4  | P wave axis                                       | deg  |
#: | qrs_axis       | 8632-2  | QRS axis                                          | deg  |
#: | t_axis         | 8638-9  | T wave axis                                       | deg  |
#:
#: ``qtc`` is a device's QTc whose file does not say the formula: it keeps the method-less
#: parent code. The ``feature`` column names the formula in every case.
FEATURES: dict[str, FeatureCode] = {
    "heart_rate": FeatureCode("8867-4", "Heart rate", "/min"),
    "rr": FeatureCode("8637-1", "R-R interval by EKG", "ms"),
    "pr": FeatureCode("8625-6", "P-R interval", "ms"),
    "qrs": FeatureCode("8633-0", "QRS duration", "ms"),
    "qt": FeatureCode("8634-8", "Q-T interval", "ms"),
    "qtc_bazett": FeatureCode("76635-2", "Q-T interval corrected based on Bazett formula", "ms"),
    "qtc_fridericia": FeatureCode(
        "76634-5", "Q-T interval corrected based on Fridericia formula", "ms"
    ),
    "qtc": FeatureCode("8636-3", "Q-T interval corrected", "ms"),
    "p_axis": FeatureCode("8626-4", "P wave axis", "deg"),
    "qrs_axis": FeatureCode("8632-2", "QRS axis", "deg"),
    "t_axis": FeatureCode("8638-9", "T wave axis", "deg"),
}

#: The features :func:`measure` computes, in display order.
OUR_FEATURES = (
    "heart_rate",
    "rr",
    "pr",
    "qrs",
    "qt",
    "qtc_bazett",
    "qtc_fridericia",
    "p_axis",
    "qrs_axis",
    "t_axis",
)

_LEAD_RE = re.compile(
    r"^(?:ecg\s*|lead\s*)?(i{1,3}|avr|avl|avf|v[1-6])(?:\s*\(.*\))?$", re.IGNORECASE
)


def canonical_lead(label: str) -> str | None:
    """The standard name of a lead label (``"Lead I (Einthoven)"``, ``"ECG II"``, ``"avf"``).

    ``None`` for labels that are not one of the twelve standard leads (``"MLII"``, ``"Pleth"``).
    """
    m = _LEAD_RE.match(label.strip().replace("-", " ").replace("_", " "))
    if not m:
        return None
    key = m.group(1).lower()
    for lead in STANDARD_LEADS:
        if lead.lower() == key:
            return lead
    return None


@dataclass(frozen=True)
class BeatFiducials:
    """Global fiducial points of one beat, as sample indices into the recording."""

    r: int
    p_on: int | None = None
    p_off: int | None = None
    qrs_on: int | None = None
    qrs_off: int | None = None
    t_off: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        return {
            "p_on": self.p_on,
            "p_off": self.p_off,
            "qrs_on": self.qrs_on,
            "r": self.r,
            "qrs_off": self.qrs_off,
            "t_off": self.t_off,
        }


@dataclass(frozen=True)
class EcgFeatures:
    """What :func:`measure` found: features (ms, /min, deg) and per-beat fiducials."""

    values: dict[str, float | None]
    beats: tuple[BeatFiducials, ...] = ()
    rhythm_lead: str | None = None
    sampling_rate_hz: float = 0.0
    leads_used: tuple[str, ...] = field(default_factory=tuple)

    @property
    def r_peaks(self) -> tuple[int, ...]:
        return tuple(b.r for b in self.beats)

    def __getitem__(self, name: str) -> float | None:
        return self.values.get(name)


def _nk() -> Any:
    try:
        import neurokit2  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependencyError("neurokit2", "ingest", "ECG delineation") from None
    return neurokit2


def measure(signal: npt.ArrayLike, sampling_rate_hz: float, leads: Sequence[str]) -> EcgFeatures:
    """Measure a multi-lead ECG (``leads × samples``, millivolts).

    Raises :class:`InputError` for a signal that is not a 2-D array matching ``leads``; a
    recording in which no beats can be found gives features that are all ``None``.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != len(leads):
        raise InputError(f"expected an ECG of shape (leads={len(leads)}, samples), found {x.shape}")
    fs = float(sampling_rate_hz)
    if not math.isfinite(fs) or fs < 100:
        raise InputError(f"expected a sampling rate of at least 100 Hz, found {fs}")
    names = [canonical_lead(name) or name for name in leads]
    empty = EcgFeatures({k: None for k in OUR_FEATURES}, sampling_rate_hz=fs)
    if x.shape[1] < int(2 * fs):
        return empty
    nk = _nk()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        usable = _usable_leads(x)
        if not usable:
            return empty
        cleaned = {
            i: np.asarray(nk.ecg_clean(x[i], sampling_rate=fs), dtype=np.float64) for i in usable
        }
        rhythm, rpeaks = _find_r_peaks(nk, cleaned, names, fs)
        sv = _spatial_velocity(cleaned, names, fs)
        rpeaks = _true_qrs(rpeaks, sv, fs)
        if rhythm is None or len(rpeaks) < 2:
            return EcgFeatures(
                {k: None for k in OUR_FEATURES},
                rhythm_lead=None if rhythm is None else names[rhythm],
                sampling_rate_hz=fs,
            )
        beats = _delineate(nk, cleaned, names, rpeaks, sv, fs)
    values = _intervals(beats, fs)
    values.update(_axes(cleaned, names, beats, fs))
    return EcgFeatures(
        {k: values.get(k) for k in OUR_FEATURES},
        beats=tuple(beats),
        rhythm_lead=names[rhythm],
        sampling_rate_hz=fs,
        leads_used=tuple(names[i] for i in usable),
    )


def _usable_leads(x: FloatArray) -> list[int]:
    """Leads with finite samples and some signal (a disconnected electrode is flat)."""
    out = []
    for i, lead in enumerate(x):
        if np.all(np.isfinite(lead)) and float(np.ptp(lead)) > 1e-3:
            out.append(i)
    return out


def _find_r_peaks(
    nk: Any, cleaned: dict[int, FloatArray], names: list[str], fs: float
) -> tuple[int | None, npt.NDArray[np.int64]]:
    """R peaks on lead II, unless its QRS is small; then on the lead with the steepest QRS.

    Steepness (the 99th percentile of the absolute slope) ranks the leads because the QRS is the
    steepest wave: a lead whose QRS is nearly perpendicular to it can show a P or T wave as
    tall as its QRS, and a detector would take those for beats.
    """
    steep = {i: float(np.percentile(np.abs(np.gradient(sig)), 99)) for i, sig in cleaned.items()}
    order = sorted(cleaned, key=lambda i: -steep[i])
    if (
        "II" in names
        and (ii := names.index("II")) in cleaned
        and steep[ii] >= 0.5 * steep[order[0]]
    ):
        order.remove(ii)
        order.insert(0, ii)
    for i in order[:4]:
        try:
            _, info = nk.ecg_peaks(cleaned[i], sampling_rate=fs, correct_artifacts=True)
        except Exception:  # neurokit2 raises bare errors on degenerate input
            continue
        peaks = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
        if len(peaks) >= 2:
            hr = 60.0 * fs / float(np.median(np.diff(peaks)))
            if 20.0 <= hr <= 250.0:
                return i, peaks
    return (order[0] if order else None), np.zeros(0, dtype=np.int64)


def _independent(cleaned: dict[int, FloatArray], names: list[str]) -> list[int]:
    """Leads I, II and V1–V6 where present: III, aVR, aVL and aVF are sums of I and II
    (Einthoven, Goldberger) and would only weigh the limb leads twice."""
    idx = [i for i in cleaned if names[i] in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")]
    return idx if len(idx) >= 3 else list(cleaned)


def _spatial_velocity(cleaned: dict[int, FloatArray], names: list[str], fs: float) -> FloatArray:
    """Root sum of squares of the independent leads' derivatives (mV/s), smoothed over 8 ms."""
    d = np.stack([np.gradient(cleaned[i]) * fs for i in _independent(cleaned, names)])
    sv = np.sqrt(np.sum(d * d, axis=0))
    width = max(1, round(0.008 * fs))
    return np.convolve(sv, np.ones(width) / width, mode="same")


def _true_qrs(rpeaks: npt.NDArray[np.int64], sv: FloatArray, fs: float) -> npt.NDArray[np.int64]:
    """Drop detections that are not a QRS: P or T waves, or a beat cut off by the recording's
    edge, whose steepest slope (±60 ms) is under a third of the median beat's."""
    if len(rpeaks) == 0:
        return rpeaks
    half = round(0.06 * fs)
    steepest = np.array([float(np.max(sv[max(0, r - half) : r + half + 1])) for r in rpeaks])
    keep = steepest >= np.median(steepest) / 3.0
    keep &= (rpeaks >= half) & (rpeaks < len(sv) - half)
    return np.asarray(rpeaks[keep], dtype=np.int64)


def _qrs_bounds(
    sv: FloatArray, r: int, lo: int, hi: int, fs: float
) -> tuple[int | None, int | None]:
    """Global QRS onset and offset around the R peak ``r`` within ``[lo, hi)``."""
    a, b = max(lo, r - round(0.15 * fs)), min(hi, r + round(0.15 * fs))
    core_a, core_b = max(a, r - round(0.06 * fs)), min(b, r + round(0.06 * fs))
    if core_b - core_a < 3:
        return None, None
    peak = float(np.max(sv[core_a:core_b]))
    if peak <= 0:
        return None, None
    threshold, anchor = 0.10 * peak, 0.30 * peak
    # Onset: from the first steep part of the QRS, back until the velocity falls under 10 %.
    steep = np.nonzero(sv[a:b] >= anchor)[0]
    if len(steep) == 0:
        return None, None
    on = a + int(steep[0])
    while on > a and sv[on] >= threshold:
        on -= 1
    off = a + int(steep[-1])
    while off < b - 1 and sv[off] >= threshold:
        off += 1
    if on <= a or off >= b - 1:  # never came back to the baseline: no reliable boundary
        return (None if on <= a else on), (None if off >= b - 1 else off)
    return on, off


def _lead_points(
    nk: Any, cleaned: FloatArray, rpeaks: npt.NDArray[np.int64], fs: float
) -> dict[str, FloatArray]:
    """Per-beat P onset/offset and T offset in one lead (NaN where not found)."""
    n = len(rpeaks)
    nan = np.full(n, np.nan)
    try:
        _, waves = nk.ecg_delineate(cleaned, rpeaks, sampling_rate=fs, method="dwt")
    except Exception:  # wavelet delineation fails on very short or flat leads
        return {"p_on": nan, "p_off": nan, "t_off": nan}

    def get(key: str) -> FloatArray:
        vals = np.asarray(waves.get(key, [np.nan] * n), dtype=np.float64)
        return vals if len(vals) == n else nan

    return {
        "p_on": get("ECG_P_Onsets"),
        "p_off": get("ECG_P_Offsets"),
        "t_off": get("ECG_T_Offsets"),
    }


def _consensus(values: list[float], n_leads: int, fs: float) -> int | None:
    """The leads' median for one fiducial point, or None when the leads do not agree on it.

    Where the wavelet delineation has found the wave, most leads find it, within a few tens of
    milliseconds of each other. When fewer than half of the leads find a point, or their
    interquartile range exceeds 40 ms (a P wave fused with the QRS, a flat T wave), a median
    would be a guess.
    """
    finite = np.array([v for v in values if math.isfinite(v)])
    if len(finite) == 0 or (n_leads >= 3 and len(finite) < max(2, n_leads // 2)):
        return None
    q1, q3 = np.percentile(finite, [25, 75])
    if len(finite) >= 3 and (q3 - q1) > 0.04 * fs:
        return None
    return round(float(np.median(finite)))


def _delineate(
    nk: Any,
    cleaned: dict[int, FloatArray],
    names: list[str],
    rpeaks: npt.NDArray[np.int64],
    sv: FloatArray,
    fs: float,
) -> list[BeatFiducials]:
    n_samples = len(sv)
    per_lead = [_lead_points(nk, cleaned[i], rpeaks, fs) for i in _independent(cleaned, names)]
    ms = fs / 1000.0
    beats = []
    for k, r in enumerate(int(p) for p in rpeaks):
        lo = (int(rpeaks[k - 1]) + r) // 2 if k > 0 else 0
        hi = (r + int(rpeaks[k + 1])) // 2 if k + 1 < len(rpeaks) else n_samples
        qrs_on, qrs_off = _qrs_bounds(sv, r, lo, hi, fs)
        next_r = int(rpeaks[k + 1]) if k + 1 < len(rpeaks) else n_samples
        ref_on = qrs_on if qrs_on is not None else r - round(40 * ms)
        ref_off = qrs_off if qrs_off is not None else r + round(40 * ms)
        # Plausible ranges (physiological limits, generous): PR 40–400 ms, P wave ≤ 250 ms,
        # QT end at least 80 ms after the QRS and before the next beat's QRS.
        t_end = min(next_r - 40 * ms, r + 800 * ms)
        p_on = _consensus(
            [v for pl in per_lead if ref_on - 400 * ms <= (v := pl["p_on"][k]) <= ref_on - 40 * ms],
            len(per_lead),
            fs,
        )
        p_off = _consensus(
            [v for pl in per_lead if ref_on - 250 * ms <= (v := pl["p_off"][k]) <= ref_on],
            len(per_lead),
            fs,
        )
        t_off = _consensus(
            [v for pl in per_lead if ref_off + 80 * ms <= (v := pl["t_off"][k]) <= t_end],
            len(per_lead),
            fs,
        )
        beats.append(BeatFiducials(r, p_on, p_off, qrs_on, qrs_off, t_off))
    return beats


def _median(values: list[float]) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.median(finite)) if finite else None


def _intervals(beats: list[BeatFiducials], fs: float) -> dict[str, float | None]:
    to_ms = 1000.0 / fs
    rr = [(b.r - a.r) * to_ms for a, b in itertools.pairwise(beats)]
    pr, qrs, qt, qtcb, qtcf = [], [], [], [], []
    for k, b in enumerate(beats):
        if b.qrs_on is not None and b.p_on is not None:
            pr.append((b.qrs_on - b.p_on) * to_ms)
        if b.qrs_on is not None and b.qrs_off is not None:
            qrs.append((b.qrs_off - b.qrs_on) * to_ms)
        if b.qrs_on is not None and b.t_off is not None:
            q = (b.t_off - b.qrs_on) * to_ms
            qt.append(q)
            # The RR preceding the beat (the first beat has none: the one following it).
            beat_rr = rr[k - 1] if k > 0 else (rr[0] if rr else None)
            if beat_rr:
                qtcb.append(q / math.sqrt(beat_rr / 1000.0))
                qtcf.append(q / (beat_rr / 1000.0) ** (1 / 3))
    rr_med = _median(rr)
    return {
        "heart_rate": 60000.0 / rr_med if rr_med else None,
        "rr": rr_med,
        "pr": _median(pr),
        "qrs": _median(qrs),
        "qt": _median(qt),
        "qtc_bazett": _median(qtcb),
        "qtc_fridericia": _median(qtcf),
    }


def _median_beat(
    sig: FloatArray, beats: list[BeatFiducials], before: int, after: int
) -> FloatArray | None:
    segs = [
        sig[b.r - before : b.r + after]
        for b in beats
        if b.r - before >= 0 and b.r + after <= len(sig)
    ]
    if not segs:
        return None
    return np.asarray(np.median(np.stack(segs), axis=0), dtype=np.float64)


def _axes(
    cleaned: dict[int, FloatArray], names: list[str], beats: list[BeatFiducials], fs: float
) -> dict[str, float | None]:
    none: dict[str, float | None] = {"p_axis": None, "qrs_axis": None, "t_axis": None}
    by_name = {names[i]: sig for i, sig in cleaned.items()}
    lead_i = by_name.get("I")
    avf = by_name.get("aVF")
    if avf is None and lead_i is not None and "II" in by_name:
        avf = by_name["II"] - lead_i / 2.0
    if lead_i is None or avf is None:
        return none

    def offsets(attr: str) -> int | None:
        vals = [getattr(b, attr) - b.r for b in beats if getattr(b, attr) is not None]
        return round(float(np.median(vals))) if vals else None

    p_on, p_off = offsets("p_on"), offsets("p_off")
    q_on, q_off, t_off = offsets("qrs_on"), offsets("qrs_off"), offsets("t_off")
    if q_on is None or q_off is None:
        return none
    before = -min(v for v in (p_on, q_on) if v is not None) + round(0.03 * fs)
    after = max(v for v in (q_off, t_off) if v is not None) + round(0.02 * fs)
    mb_i = _median_beat(lead_i, beats, before, after)
    mb_f = _median_beat(avf, beats, before, after)
    if mb_i is None or mb_f is None:
        return none
    # Isoelectric levels: the 20 ms before P onset for the P wave; the PR segment (P offset to
    # QRS onset, or the 10 ms before QRS onset) for the QRS and T waves.
    ten, twenty = round(0.01 * fs), round(0.02 * fs)
    pr_start = p_off if p_off is not None and q_on - p_off >= ten else q_on - ten
    pr_seg = slice(before + pr_start, before + q_on + 1)
    p_seg = slice(before + p_on - twenty, before + p_on + 1) if p_on is not None else pr_seg

    def axis(a: int | None, b: int | None, base: slice) -> float | None:
        if a is None or b is None or b <= a:
            return None
        x = float(np.sum(mb_i[before + a : before + b] - np.median(mb_i[base])))
        y = float(np.sum(mb_f[before + a : before + b] - np.median(mb_f[base])))
        if math.hypot(x, y) == 0.0:
            return None
        return math.degrees(math.atan2(y * 2.0 / math.sqrt(3.0), x))

    # The T wave: from the end of the ST segment's first part (QRS offset + 60 ms) to T offset.
    t_start = q_off + round(0.06 * fs)
    return {
        # Without an agreed P offset, the P wave is integrated up to the PR segment's end.
        "p_axis": axis(p_on, p_off if p_off is not None else q_on - ten, p_seg),
        "qrs_axis": axis(q_on, q_off, pr_seg),
        "t_axis": axis(t_start, t_off, pr_seg),
    }
