"""One step over existing files outside a run (dedup, filter, rephrase), and the scale-out dedup steps."""
