"""Bits per byte on held-out text, per language: bpb = sum of token NLL in nats / (ln 2 * UTF-8 bytes).

Bytes, not tokens, so models with different tokenizers (or data variants) compare fairly. Each language's
documents are joined with EOS (the first document also starts after one) and cut into windows of the
model's context that overlap by one token; every document token is scored once, the EOS tokens are not.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pyarrow.compute as pc
import torch

from curation.core import CurationError
from curation.io.readers import record_batches
from curation.tokenize.encode import input_files


def load_heldout(paths: list[str], text_column: str = "text", max_bytes: int = 50_000,
                 language: str | None = None) -> dict[str, list[str]]:
    """Held-out texts per language (the `language` column, or `language` for all), at most `max_bytes` each."""
    texts: dict[str, list[str]] = defaultdict(list)
    size: dict[str, int] = defaultdict(int)
    for path, fmt in input_files(paths):
        for batch in record_batches(path, fmt, [text_column, "language"]):
            if text_column not in batch.schema.names:
                raise CurationError(f"held-out text {path}: no '{text_column}' column")
            col = batch.column(text_column)
            langs = batch.column("language").to_pylist() if "language" in batch.schema.names else [None] * len(col)
            for t, n, lang in zip(col.to_pylist(), pc.binary_length(col).to_pylist(), langs):
                lang = language or lang or "unknown"
                if t and size[lang] < max_bytes:
                    texts[lang].append(t)
                    size[lang] += n
    if not texts:
        raise CurationError(f"held-out text {' '.join(paths)}: no documents")
    return dict(sorted(texts.items()))


def encode_heldout(tokenizer, texts: dict[str, list[str]], eos: int) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """Per language: (token stream starting with EOS, mask of scored targets, UTF-8 bytes)."""
    out = {}
    for lang, docs in texts.items():
        ids = [eos]
        for enc in tokenizer.encode_batch(docs, add_special_tokens=False):
            ids += enc.ids + [eos]
        stream = np.array(ids, dtype=np.int64)
        scored = stream[1:] != eos
        out[lang] = (stream, scored, sum(len(d.encode("utf-8")) for d in docs))
    return out


@torch.no_grad()
def bits_per_byte(model, encoded: dict[str, tuple[np.ndarray, np.ndarray, int]], batch_size: int = 16,
                  device: str = "cpu") -> dict[str, float]:
    was_training = model.training
    model.eval()
    ctx = model.cfg.context
    result = {}
    for lang, (stream, scored, nbytes) in encoded.items():
        starts = list(range(0, len(stream) - 1, ctx))
        nll = 0.0
        for b in range(0, len(starts), batch_size):
            chunk = starts[b:b + batch_size]
            n = max(min(ctx, len(stream) - 1 - s) for s in chunk)
            x = np.zeros((len(chunk), n), np.int64)
            y = np.zeros((len(chunk), n), np.int64)
            m = np.zeros((len(chunk), n), bool)
            for i, s in enumerate(chunk):
                k = min(ctx, len(stream) - 1 - s)
                x[i, :k], y[i, :k], m[i, :k] = stream[s:s + k], stream[s + 1:s + 1 + k], scored[s:s + k]
            loss = model(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device), reduction="none")
            nll += float((loss * torch.from_numpy(m).to(device)).sum())
        result[lang] = nll / (math.log(2) * max(nbytes, 1))
    model.train(was_training)
    return result
