"""Writers of the synthetic Pathfinder sites: the ground truth expressed as each site keeps it.

One module per kind of source (FHIR, VCF, the PGS Catalog scoring file, ...); each writes files
the matching ingest adapter reads, deterministic by seed.
"""
