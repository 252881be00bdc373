"""Language identification: fastText backends, label normalisation to iso639-3_Script."""
