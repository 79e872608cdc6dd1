"""The site store on DuckDB: harmonised tables, variants, the MMIO index."""
