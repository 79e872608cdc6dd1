"""Code systems, units, DUO consent codes, site code maps and labels per language.

- :mod:`~cardiofabric.vocab.systems`: code system names, URIs, OIDs and code formats;
- :mod:`~cardiofabric.vocab.codes`: the curated cardiology vocabulary (LOINC, SNOMED CT,
  ICD-10, HPO, ATC) with hierarchy and cross-maps;
- :mod:`~cardiofabric.vocab.study`: the Pathfinder network's study-defined outcome (MACE);
- :mod:`~cardiofabric.vocab.units`: UCUM units and conversion to the canonical unit;
- :mod:`~cardiofabric.vocab.maps`: a site's local code map;
- :mod:`~cardiofabric.vocab.labels`: label folding and built-in labels per language;
- :mod:`~cardiofabric.vocab.duo`: GA4GH Data Use Ontology terms for consent.
"""
