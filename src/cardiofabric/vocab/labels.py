"""Labels per language: folding for comparison, language codes, and built-in clinical labels.

Local labels are compared folded: Unicode NFKD with combining marks removed (so ``ä`` = ``a``,
``è`` = ``e``), case-folded (``ß`` = ``ss``), and every run of punctuation or space made one
space (``LDL-Cholesterin`` = ``ldl cholesterin``). Languages are ISO 639-3 codes (``nld``,
``swe``, ``fin``, ``ita``, ``deu``, ``eng``); ISO 639-1 (``nl``), ISO 639-2/B (``dut``,
``ger``) and BCP 47 tags (``nl-NL``) are accepted and normalised.

:data:`LABELS` holds the common clinical names of the cohort's main measurements and conditions
in the Pathfinder sites' languages: a small curated fallback, matched only exactly (after
folding), never fuzzily. A site's own code map (:mod:`~.maps`) always comes first and is where
local abbreviations and lab-specific names belong.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["LABELS", "fold", "local_label", "lookup_label", "normalise_language"]

_ISO1 = {"nl": "nld", "sv": "swe", "fi": "fin", "it": "ita", "de": "deu", "en": "eng"}
_ISO2B = {"dut": "nld", "ger": "deu"}


def normalise_language(language: str | None) -> str | None:
    """An ISO 639-3 code from 639-1, 639-2/B, 639-3 or a BCP 47 tag (``nl-NL`` → ``nld``)."""
    if not language:
        return None
    base = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
    return _ISO1.get(base) or _ISO2B.get(base) or base or None


def fold(text: str) -> str:
    """``text`` for comparison: without accents, case-folded, punctuation runs as one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", bare).split())


# (system, code) → {language: (label, other names ...)}; the first label is the display name.
_TABLE: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("LOINC", "2093-3"): {
        "nld": ("totaal cholesterol", "cholesterol totaal"),
        "swe": ("totalkolesterol", "kolesterol"),
        "fin": ("kokonaiskolesteroli",),
        "ita": ("colesterolo totale",),
        "deu": ("Gesamtcholesterin", "Cholesterin gesamt"),
    },
    ("LOINC", "2089-1"): {
        "nld": ("LDL-cholesterol",),
        "swe": ("LDL-kolesterol",),
        "fin": ("LDL-kolesteroli",),
        "ita": ("colesterolo LDL",),
        "deu": ("LDL-Cholesterin",),
    },
    ("LOINC", "2085-9"): {
        "nld": ("HDL-cholesterol",),
        "swe": ("HDL-kolesterol",),
        "fin": ("HDL-kolesteroli",),
        "ita": ("colesterolo HDL",),
        "deu": ("HDL-Cholesterin",),
    },
    ("LOINC", "2571-8"): {
        "nld": ("triglyceriden",),
        "swe": ("triglycerider",),
        "fin": ("triglyseridit",),
        "ita": ("trigliceridi",),
        "deu": ("Triglyceride",),
    },
    ("LOINC", "4548-4"): {lang: ("HbA1c",) for lang in ("nld", "swe", "fin", "ita", "deu", "eng")},
    ("LOINC", "2160-0"): {
        "nld": ("creatinine",),
        "swe": ("kreatinin",),
        "fin": ("kreatiniini",),
        "ita": ("creatinina",),
        "deu": ("Kreatinin",),
    },
    ("LOINC", "33762-6"): {
        lang: ("NT-proBNP",) for lang in ("nld", "swe", "fin", "ita", "deu", "eng")
    },
    ("LOINC", "8480-6"): {
        "nld": ("systolische bloeddruk",),
        "swe": ("systoliskt blodtryck",),
        "fin": ("systolinen verenpaine",),
        "ita": ("pressione arteriosa sistolica", "pressione sistolica"),
        "deu": ("systolischer Blutdruck",),
    },
    ("LOINC", "8462-4"): {
        "nld": ("diastolische bloeddruk",),
        "swe": ("diastoliskt blodtryck",),
        "fin": ("diastolinen verenpaine",),
        "ita": ("pressione arteriosa diastolica", "pressione diastolica"),
        "deu": ("diastolischer Blutdruck",),
    },
    ("LOINC", "8867-4"): {
        "nld": ("hartfrequentie",),
        "swe": ("hjärtfrekvens", "puls"),
        "fin": ("syke",),
        "ita": ("frequenza cardiaca",),
        "deu": ("Herzfrequenz",),
    },
    ("LOINC", "10230-1"): {
        "nld": ("linkerventrikelejectiefractie", "LVEF"),
        "swe": ("vänsterkammarens ejektionsfraktion", "LVEF"),
        "fin": ("vasemman kammion ejektiofraktio", "LVEF"),
        "ita": ("frazione di eiezione ventricolare sinistra", "FEVS"),
        "deu": ("linksventrikuläre Ejektionsfraktion", "LVEF"),
    },
    ("SNOMEDCT", "233873004"): {
        "nld": ("hypertrofische cardiomyopathie",),
        "swe": ("hypertrofisk kardiomyopati",),
        "fin": ("hypertrofinen kardiomyopatia",),
        "ita": ("cardiomiopatia ipertrofica",),
        "deu": ("hypertrophe Kardiomyopathie",),
    },
    ("SNOMEDCT", "399020009"): {
        "nld": ("gedilateerde cardiomyopathie",),
        "swe": ("dilaterad kardiomyopati",),
        "fin": ("laajentava kardiomyopatia",),
        "ita": ("cardiomiopatia dilatativa",),
        "deu": ("dilatative Kardiomyopathie",),
    },
    ("SNOMEDCT", "9651007"): {
        "nld": ("lange-QT-syndroom", "lang-QT-syndroom"),
        "swe": ("långt QT-syndrom",),
        "fin": ("pitkä QT -oireyhtymä",),
        "ita": ("sindrome del QT lungo",),
        "deu": ("Long-QT-Syndrom",),
    },
    ("SNOMEDCT", "398036000"): {
        "nld": ("familiaire hypercholesterolemie",),
        "swe": ("familjär hyperkolesterolemi",),
        "fin": ("familiaalinen hyperkolesterolemia",),
        "ita": ("ipercolesterolemia familiare",),
        "deu": ("familiäre Hypercholesterinämie",),
    },
    ("SNOMEDCT", "53741008"): {
        "nld": ("coronaire hartziekte",),
        "swe": ("kranskärlssjukdom",),
        "fin": ("sepelvaltimotauti",),
        "ita": ("malattia coronarica",),
        "deu": ("koronare Herzkrankheit",),
    },
    ("SNOMEDCT", "22298006"): {
        "nld": ("myocardinfarct", "hartinfarct"),
        "swe": ("hjärtinfarkt",),
        "fin": ("sydäninfarkti",),
        "ita": ("infarto miocardico", "infarto del miocardio"),
        "deu": ("Myokardinfarkt", "Herzinfarkt"),
    },
    ("SNOMEDCT", "49436004"): {
        "nld": ("atriumfibrilleren", "boezemfibrilleren"),
        "swe": ("förmaksflimmer",),
        "fin": ("eteisvärinä",),
        "ita": ("fibrillazione atriale",),
        "deu": ("Vorhofflimmern",),
    },
    ("SNOMEDCT", "84114007"): {
        "nld": ("hartfalen",),
        "swe": ("hjärtsvikt",),
        "fin": ("sydämen vajaatoiminta",),
        "ita": ("insufficienza cardiaca", "scompenso cardiaco"),
        "deu": ("Herzinsuffizienz",),
    },
    ("SNOMEDCT", "230690007"): {
        "nld": ("beroerte", "CVA"),
        "swe": ("stroke", "slaganfall"),
        "fin": ("aivohalvaus",),
        "ita": ("ictus",),
        "deu": ("Schlaganfall",),
    },
    ("SNOMEDCT", "38341003"): {
        "nld": ("hypertensie",),
        "swe": ("hypertoni",),
        "fin": ("verenpainetauti",),
        "ita": ("ipertensione", "ipertensione arteriosa"),
        "deu": ("Hypertonie", "arterielle Hypertonie"),
    },
    ("SNOMEDCT", "44054006"): {
        "nld": ("diabetes mellitus type 2",),
        "swe": ("typ 2-diabetes", "diabetes typ 2"),
        "fin": ("tyypin 2 diabetes",),
        "ita": ("diabete mellito di tipo 2", "diabete di tipo 2"),
        "deu": ("Diabetes mellitus Typ 2", "Typ-2-Diabetes"),
    },
}

#: (language, folded label) → (system, code), from the table above.
LABELS: dict[tuple[str, str], tuple[str, str]] = {
    (lang, fold(name)): key
    for key, by_lang in _TABLE.items()
    for lang, names in by_lang.items()
    for name in names
}


def lookup_label(language: str | None, label: str | None) -> tuple[str, str] | None:
    """The standard ``(system, code)`` a built-in label names in ``language``, if any."""
    lang = normalise_language(language)
    if not lang or not label:
        return None
    return LABELS.get((lang, fold(label)))


def local_label(system: str, code: str, language: str) -> str | None:
    """The display label of a standard code in ``language`` (None when there is none)."""
    names = _TABLE.get((system, code), {}).get(normalise_language(language) or "")
    return names[0] if names else None
