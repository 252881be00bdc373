"""Per-language quality filters, their configs, formatting and URL filters."""
