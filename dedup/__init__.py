"""MinHash, exact and URL dedup per language (Numba kernels); see DESIGN.md."""
