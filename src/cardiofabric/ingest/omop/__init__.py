"""OMOP CDM v5.4 extract: a directory of CSV files, one per CDM table, read with DuckDB.

Files are named after the OHDSI OMOP CDM v5.4 tables (``person.csv``; ``.tsv`` and ``.txt``
too, each optionally gzipped; any case), comma- or tab-separated, with a header line of CDM
column names. Columns are read with their CDM types (``*_id`` BIGINT, ``*_date`` DATE,
``*_datetime`` TIMESTAMP, ``value_as_number`` DOUBLE, ...; see :mod:`.tables`); a row whose value
does not parse is rejected with its file and line, and so is a row whose ``person_id`` is not in
``person``.

============================  ======================================  ====================
CDM table                     required columns                        harmonised as
============================  ======================================  ====================
``person`` (required)         person_id, gender_concept_id,           ``person``
                              year_of_birth
``observation_period``        person_id, observation_period_start_    ``person.index_date``
                              date                                    (earliest start)
``death``                     person_id, death_date                   ``person.death_date``
``condition_occurrence``      person_id, condition_concept_id,        ``condition``
                              condition_start_date
``measurement``               person_id, measurement_concept_id,      ``measurement``
                              measurement_date
``observation``               person_id, observation_concept_id,      ``observation``
                              observation_date
``drug_exposure``             person_id, drug_concept_id,             ``medication``
                              drug_exposure_start_date
``procedure_occurrence``      person_id, procedure_concept_id,        ``procedure``
                              procedure_date
``concept`` (optional)        concept_id, concept_name,               codes and names
                              vocabulary_id, concept_code
============================  ======================================  ====================

Codes. A standard ``<domain>_concept_id`` becomes our code through ``concept.csv``
(``vocabulary_id`` SNOMED, LOINC, ICD10, ICD10CM, ATC, HPO → ``code_system``, ``concept_code`` →
``code``, ``concept_name`` the English label). Without a concept table, or for a vocabulary we do
not harmonise, the id is kept (``source_code_system`` ``OMOP``) and the row is unmapped unless
the site's code map knows it. Concept id 0 is the CDM's "No matching concept": the row keeps the
``<domain>_source_value`` as its source code under the site's local code system (option
``local_code_system``, default ``local``). The source columns hold the most specific code the
source gave: ``<domain>_source_concept_id`` when the concept table names it, else the standard
concept; ``source_label`` is ``<domain>_source_value`` (a label in the site's language),
``source_unit`` is ``unit_source_value`` and ``source_value`` is ``value_source_value``.

Persons. ``gender_concept_id`` 8507 is male and 8532 female (OMOP Gender vocabulary), 8521
other, anything else unknown. The local id is ``person_source_value`` when present, else
``person_id``. Each person gives one clinical modality, with the person's own CDM rows (without
``person_id`` and ``person_source_value``) kept as a JSON payload.

Consent. OMOP CDM v5.4 has no consent table: a person's research consent is kept as consent
rows of ``observation``, one per GA4GH DUO term (see :mod:`.consent` for the convention).

Importing this package registers the ``omop`` adapter (:mod:`.adapter`).
"""

from __future__ import annotations

from cardiofabric.ingest.omop.adapter import OmopAdapter
from cardiofabric.ingest.omop.consent import CONSENT_CONCEPT
from cardiofabric.ingest.omop.tables import CDM_TABLES, find_table

__all__ = ["CDM_TABLES", "CONSENT_CONCEPT", "OmopAdapter", "find_table"]
