"""Training batches from token shards, memory-mapped, weighted across several folders.

A batch is a pure function of (seed, step): each row picks a folder by weight, then a random window of
context + 1 tokens in it (windows cross document boundaries, as datatrove/nanotron read them, so a document
longer than the context is split across windows, never dropped). A resumed run therefore sees exactly the
batches the killed run would have seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from curation.core import CurationError
from curation.tokenize.encode import read_summary
from curation.tokenize.shards import list_shards


@dataclass
class Source:
    path: str
    weight: float
    tokens: list[np.ndarray]
    starts: np.ndarray  # cumulative count of window starts per shard


class TokenBatches:
    def __init__(self, sources: list[tuple[str, float]], context: int, seed: int, tokenizer_sha: str | None = None,
                 vocab_size: int | None = None):
        if not sources:
            raise CurationError("training data: no token shard folders given")
        self.context, self.seed = context, seed
        self.sources = []
        for path, weight in sources:
            summary = read_summary(path)
            if summary and tokenizer_sha and summary.get("tokenizer_sha") != tokenizer_sha:
                raise CurationError(f"token shards '{path}' were written with another tokenizer "
                                    f"({summary.get('tokenizer')}, sha {summary.get('tokenizer_sha')}) than the "
                                    f"model's (sha {tokenizer_sha}); tokenize the data again with the model's")
            shards = list_shards(path)
            if vocab_size and shards[0].token_size == 4 and vocab_size <= 2**16:
                raise CurationError(f"token shards '{path}' hold 32-bit ids, but the model's vocabulary has "
                                    f"{vocab_size} tokens: written with another tokenizer")
            tokens = [s.tokens() for s in shards if s.n_tokens > context + 1]
            if not tokens:
                raise CurationError(f"token shards '{path}': no shard holds more than {context + 1} tokens "
                                    "(one training window)")
            n = np.array([len(t) - context for t in tokens])
            self.sources.append(Source(str(path), float(weight), tokens, np.cumsum(n)))
        w = np.array([s.weight for s in self.sources])
        if (w < 0).any() or w.sum() <= 0:
            raise CurationError(f"training data weights {w.tolist()}: give non-negative weights, not all zero")
        self.p = w / w.sum()

    def batch(self, step: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, step])
        which = rng.choice(len(self.sources), size=batch_size, p=self.p)
        rows = np.empty((batch_size, self.context + 1), dtype=np.int64)
        for i, s in enumerate(which):
            src = self.sources[s]
            pos = int(rng.integers(src.starts[-1]))
            shard = int(np.searchsorted(src.starts, pos, side="right"))
            offset = pos - (int(src.starts[shard - 1]) if shard else 0)
            rows[i] = src.tokens[shard][offset:offset + self.context + 1]
        t = torch.from_numpy(rows)
        return t[:, :-1], t[:, 1:]
