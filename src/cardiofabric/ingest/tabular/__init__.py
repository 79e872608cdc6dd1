"""Research extract: a CSV or Parquet table, described by a mapping file or an OCA bundle.

The table is read with DuckDB (CSV: any delimiter, optionally gzipped; Parquet). What its
columns mean comes from ``ctx.options["mapping"]``, or else from a file beside the table named
``<stem>.mapping.toml`` or ``<stem>.oca.json``. Every modality embeds its OCA bundle as
semantics: the bundle given (verified), or one built from the mapping, labelled in the
extract's language and English.

Mapping file (TOML)::

    [extract]                      # all optional
    name = "Cardiology extract"    # name and description of the OCA bundle built from it
    language = "fin"               # ISO 639-3 of labels and text values (default: the site's)
    layout = "wide"                # wide: a row per patient, a column per item;
                                   # long: a row per result (patient, code, value, unit, date)
    delimiter = ";"                # CSV only (default: detected)
    decimal = ","                  # decimal separator of numbers written as text
    date_format = "%d.%m.%Y"       # strptime format of text dates (default ISO 8601)
    code_system = "HUS-LAB"        # the site's own code system (a long layout's code column)
    true_values = ["1", "kyllä"]   # Boolean cells (defaults: 1/0, true/false, yes/no, ja/nej,
    false_values = ["0", "ei"]     #   kyllä/ei, ...)

    [columns.potilastunnus]        # one table per column
    patient_id = true              # the local patient id: exactly one column
    labels = { fin = "Potilastunnus", eng = "Patient identifier" }

    [columns.ldl]
    table = "measurement"          # person | measurement | condition | observation |
    code_system = "LOINC"          #   medication | procedure; the code (a local system is
    code = "2089-1"                #   looked up in the site's code map)
    source_code = "4516"           # the site's own code, kept beside (source_code_system too)
    unit = "mmol/l"                # the unit values are written in
    type = "Numeric"               # OCA type: Numeric | Text | Boolean | DateTime
    date_column = "naytepvm"       # this item's date (default: the first date column)
    labels = { fin = "fP-Kol-LDL", eng = "LDL cholesterol" }

    [columns.sukupuoli]
    table = "person"
    field = "sex"                  # sex | birth_year | index_date | death_date | ancestry
    values = { mies = "male", nainen = "female" }   # cell → value, or "SYSTEM:code" answer

    [columns.naytepvm]
    role = "date"                  # role: patient_id | date | code | value | unit | label |
                                   #   consent_permissions | consent_prohibitions |
                                   #   consent_status | consent_date

    [columns.suostumus_tila]
    role = "consent_status"
    values = { voimassa = "active", peruttu = "withdrawn" }   # cell → active | withdrawn

    [codes.4516]                   # long layout: one table per local code (keys as columns)
    labels = { fin = "fP-Kol-LDL", eng = "LDL cholesterol" }

Cells: ``measurement`` numbers; ``condition``, ``medication``, ``procedure`` Boolean (true gives
a row on the item's date) or dates (a row on that date); ``observation`` text, coded through
``values``; ``person`` cells fill the person row. A long layout's code without a ``[codes]``
entry is read too (a number as a measurement, else an observation), unmapped unless the site's
code map knows it. One file may map several tables: ``[tables.<stem>]`` holds the ``extract``,
``columns`` and ``codes`` of ``<stem>.csv`` (a top-level ``[extract]`` is shared).

OCA bundle (JSON, bare or ``{"bundle": ...}``): attributes are columns and types; the unit (or
format) overlay gives units, label overlays labels, English entries the values of person and
``consent_status`` columns, and ``attribute_framing`` the meaning: ``SYSTEM:code`` (Numeric →
measurement, Text → observation, Boolean or DateTime → condition, or medication for ATC) or
``cardiofabric:patient_id``, ``cardiofabric:person.<field>``, ``cardiofabric:<role>`` (the
consent roles too); the ``person.index_date`` column dates the rows. A bundle says neither which
code a text answer means (observations keep their text only) nor an item's own date column, nor
how text is written: the source's options ``language``, ``delimiter``, ``decimal``,
``date_format``, ``code_system`` and ``date_column`` give those (and override a mapping file's
``[extract]``).

Consent. A row may carry the patient's research consent as GA4GH DUO terms, in columns with
the roles ``consent_permissions`` and ``consent_prohibitions`` (DUO codes ``DUO:0000042`` or
abbreviations ``GRU``, several separated by ``;``, ``,`` or spaces), ``consent_status``
(``active`` or ``withdrawn``, or the site's words for them through ``values``; empty is active)
and ``consent_date`` (when the consent was given or withdrawn, its ``updated``). "No use of
genomic data" is the prohibition of DUO:0000016 (GSO), as in
:mod:`cardiofabric.ingest.consent`, and DUO modifiers among the permissions name the first
permission as ``modifier_of``. A row with any consent cell filled is one consent; of a patient's
several, the latest (``consent_date``, then order) is the patient's, versioned by their number.
A consent cell that cannot be read (an unknown DUO term, an unknown status, a bad date) is
rejected like any cell, and the patient's consent is then recorded empty (nothing permitted):
a consent read in part could permit what the patient did not.

A cell that does not parse as its type is rejected (``line N column C``), the rest of its row
kept; an empty cell is missing. A column the mapping does not describe is reported once, unread.
The patient's rows, without the patient id column, are kept as a CSV payload.
"""

from __future__ import annotations

from cardiofabric.ingest.tabular.adapter import TabularAdapter
from cardiofabric.ingest.tabular.mapping import (
    Extract,
    ExtractMapping,
    Item,
    bundle_for,
    load_mapping,
    mapping_from_bundle,
)

__all__ = [
    "Extract",
    "ExtractMapping",
    "Item",
    "TabularAdapter",
    "bundle_for",
    "load_mapping",
    "mapping_from_bundle",
]
