"""Source adapters: each turns one source format into modality records."""
