"""Token counts per document, by a named tokenizer, so budgets and mixture.json can speak in tokens.

`bytes` (UTF-8 bytes) and `words` (whitespace-separated) are computed by Arrow without Python loops; a
path to a `tokenizers` JSON file (e.g. a model's tokenizer.json) counts that model's tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.core import CurationError


class TokenCounter:
    def __init__(self, name: str):
        self.name = name
        self._tok = None
        if name not in ("bytes", "words"):
            path = Path(name)
            if path.is_dir():
                path = path / "tokenizer.json"
            if not path.is_file():
                raise CurationError(f"tokenizer '{name}': not 'bytes', 'words' or a tokenizers JSON file")
            from tokenizers import Tokenizer

            try:
                self._tok = Tokenizer.from_file(str(path))
            except Exception as e:  # tokenizers raises plain Exceptions for bad files
                raise CurationError(f"tokenizer '{name}': cannot load ({e})") from None

    def count(self, text: pa.Array) -> np.ndarray:
        """Tokens of each text (0 for a missing text), as int64."""
        text = text.cast(pa.large_string()) if pa.types.is_string(text.type) else text
        if self.name == "bytes":
            n = pc.binary_length(text)
        elif self.name == "words":
            n = pc.list_value_length(pc.utf8_split_whitespace(text))
        else:
            texts = [t or "" for t in text.to_pylist()]
            return np.fromiter((len(e.ids) for e in self._tok.encode_batch(texts, add_special_tokens=False)),
                               dtype=np.int64, count=len(texts))
        return pc.fill_null(n, 0).to_numpy(zero_copy_only=False).astype(np.int64)
