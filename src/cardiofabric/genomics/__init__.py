"""Genomics on a site's own data: VCF curation and annotation, polygenic risk scores."""
