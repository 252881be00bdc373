"""The bundled training backend: a small Llama-style model with ShiftQuant sub-8-bit integer training and L1
normalisation, a resumable trainer with bits-per-byte evaluation, and data ablations (`curate train`,
`curate ablate`). Modules import torch, so import them where needed."""
