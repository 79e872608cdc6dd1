"""Code systems, units, DUO consent codes and labels per language."""
