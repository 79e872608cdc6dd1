"""Cardiovascular and metabolic drugs by WHO ATC code, and the drug classes analyses ask for.

Codes and names from the WHO Collaborating Centre for Drug Statistics Methodology, ATC/DDD
Index 2024 (whocc.no). The ATC hierarchy is positional (anatomical group A, therapeutic
subgroup A10, pharmacological A10B, chemical A10BA, substance A10BA02), so a class is a code
prefix: ``descendants("ATC", "C10AA")`` and SQL ``code LIKE 'C10AA%'`` agree. Classes that cut
across ATC groups (PCSK9 inhibitors sit in C10AX beside ezetimibe) are listed in
:data:`DRUG_CLASSES` by their member codes.
"""

from __future__ import annotations

from cardiofabric.vocab.systems import Code

__all__ = ["ATC_CODES", "DRUG_CLASSES", "drug_classes"]

_ENTRIES = (
    # lipid modifying agents
    ("C10", "Lipid modifying agents"),
    ("C10AA", "HMG CoA reductase inhibitors"),
    ("C10AA01", "simvastatin"),
    ("C10AA03", "pravastatin"),
    ("C10AA04", "fluvastatin"),
    ("C10AA05", "atorvastatin"),
    ("C10AA07", "rosuvastatin"),
    ("C10AA08", "pitavastatin"),
    ("C10AX", "Other lipid modifying agents"),
    ("C10AX09", "ezetimibe"),
    ("C10AX13", "evolocumab"),
    ("C10AX14", "alirocumab"),
    ("C10AX15", "bempedoic acid"),
    ("C10AX16", "inclisiran"),
    # renin-angiotensin system
    ("C09", "Agents acting on the renin-angiotensin system"),
    ("C09AA", "ACE inhibitors, plain"),
    ("C09AA01", "captopril"),
    ("C09AA02", "enalapril"),
    ("C09AA03", "lisinopril"),
    ("C09AA04", "perindopril"),
    ("C09AA05", "ramipril"),
    ("C09CA", "Angiotensin II receptor blockers (ARBs), plain"),
    ("C09CA01", "losartan"),
    ("C09CA03", "valsartan"),
    ("C09CA04", "irbesartan"),
    ("C09CA06", "candesartan"),
    ("C09CA07", "telmisartan"),
    ("C09DX", "Angiotensin II receptor blockers (ARBs), other combinations"),
    ("C09DX04", "valsartan and sacubitril"),
    # beta blockers
    ("C07", "Beta blocking agents"),
    ("C07AA", "Beta blocking agents, non-selective"),
    ("C07AA05", "propranolol"),
    ("C07AA07", "sotalol"),
    ("C07AB", "Beta blocking agents, selective"),
    ("C07AB02", "metoprolol"),
    ("C07AB03", "atenolol"),
    ("C07AB07", "bisoprolol"),
    ("C07AB12", "nebivolol"),
    ("C07AG", "Alpha and beta blocking agents"),
    ("C07AG02", "carvedilol"),
    # calcium channel blockers
    ("C08", "Calcium channel blockers"),
    ("C08CA", "Dihydropyridine derivatives"),
    ("C08CA01", "amlodipine"),
    ("C08CA05", "nifedipine"),
    ("C08DA", "Phenylalkylamine derivatives"),
    ("C08DA01", "verapamil"),
    ("C08DB", "Benzothiazepine derivatives"),
    ("C08DB01", "diltiazem"),
    # diuretics
    ("C03", "Diuretics"),
    ("C03AA", "Thiazides, plain"),
    ("C03AA03", "hydrochlorothiazide"),
    ("C03BA", "Sulfonamides, plain"),
    ("C03BA04", "chlortalidone"),
    ("C03BA11", "indapamide"),
    ("C03CA", "Sulfonamides, plain"),
    ("C03CA01", "furosemide"),
    ("C03CA04", "torasemide"),
    ("C03DA", "Aldosterone antagonists"),
    ("C03DA01", "spironolactone"),
    ("C03DA04", "eplerenone"),
    # other cardiac preparations and antiarrhythmics
    ("C01AA", "Digitalis glycosides"),
    ("C01AA05", "digoxin"),
    ("C01BC", "Antiarrhythmics, class Ic"),
    ("C01BC04", "flecainide"),
    ("C01BD", "Antiarrhythmics, class III"),
    ("C01BD01", "amiodarone"),
    ("C01EB", "Other cardiac preparations"),
    ("C01EB17", "ivabradine"),
    ("C01EB24", "mavacamten"),
    # antithrombotic agents
    ("B01A", "Antithrombotic agents"),
    ("B01AA", "Vitamin K antagonists"),
    ("B01AA03", "warfarin"),
    ("B01AB", "Heparin group"),
    ("B01AB05", "enoxaparin"),
    ("B01AC", "Platelet aggregation inhibitors excl. heparin"),
    ("B01AC04", "clopidogrel"),
    ("B01AC06", "acetylsalicylic acid"),
    ("B01AC22", "prasugrel"),
    ("B01AC24", "ticagrelor"),
    ("B01AE", "Direct thrombin inhibitors"),
    ("B01AE07", "dabigatran etexilate"),
    ("B01AF", "Direct factor Xa inhibitors"),
    ("B01AF01", "rivaroxaban"),
    ("B01AF02", "apixaban"),
    ("B01AF03", "edoxaban"),
    # blood glucose lowering drugs
    ("A10B", "Blood glucose lowering drugs, excl. insulins"),
    ("A10BA", "Biguanides"),
    ("A10BA02", "metformin"),
    ("A10BJ", "Glucagon-like peptide-1 (GLP-1) analogues"),
    ("A10BJ02", "liraglutide"),
    ("A10BJ06", "semaglutide"),
    ("A10BK", "Sodium-glucose co-transporter 2 (SGLT2) inhibitors"),
    ("A10BK01", "dapagliflozin"),
    ("A10BK02", "canagliflozin"),
    ("A10BK03", "empagliflozin"),
)


def _parent(code: str, known: set[str]) -> tuple[str, ...]:
    # ATC levels end after 1, 3, 4, 5 and 7 characters; the parent is the nearest curated one.
    for cut in (5, 4, 3, 1):
        if cut < len(code) and code[:cut] in known:
            return (code[:cut],)
    return ()


_KNOWN = {c for c, _ in _ENTRIES}
ATC_CODES: tuple[Code, ...] = tuple(
    Code("ATC", c, label, parents=_parent(c, _KNOWN)) for c, label in _ENTRIES
)

#: Drug classes → the ATC codes or prefixes that make them up.
DRUG_CLASSES: dict[str, tuple[str, ...]] = {
    "statin": ("C10AA",),
    "ezetimibe": ("C10AX09",),
    # monoclonal antibodies and the siRNA inclisiran, all acting on PCSK9
    "pcsk9_inhibitor": ("C10AX13", "C10AX14", "C10AX16"),
    "ace_inhibitor": ("C09A", "C09B"),
    "arb": ("C09C", "C09DA", "C09DB"),
    "arni": ("C09DX04",),
    "beta_blocker": ("C07",),
    "calcium_channel_blocker": ("C08",),
    "diuretic": ("C03",),
    "mineralocorticoid_receptor_antagonist": ("C03DA",),
    "anticoagulant": ("B01AA", "B01AB", "B01AE", "B01AF"),
    "antiplatelet": ("B01AC",),
    "metformin": ("A10BA02",),
    "sglt2_inhibitor": ("A10BK",),
    "glp1_agonist": ("A10BJ",),
    "cardiac_myosin_inhibitor": ("C01EB24",),
    "antiarrhythmic": ("C01B",),
}


def drug_classes(atc: str) -> tuple[str, ...]:
    """The classes of :data:`DRUG_CLASSES` an ATC code belongs to (``C10AA05`` → statin)."""
    code = atc.strip().upper()
    return tuple(
        name for name, prefixes in DRUG_CLASSES.items() if any(code.startswith(p) for p in prefixes)
    )
