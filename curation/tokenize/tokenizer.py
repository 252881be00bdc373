"""Tokenizers by path: load any Hugging Face `tokenizer.json`, or train a small byte-level BPE offline.

The EOS token that ends every document in the shards is found by name (or given), and the token dtype
follows datatrove: uint16 while the vocabulary fits in 65,536 ids, else uint32.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from curation.core import CurationError

EOS_CANDIDATES = ("<|endoftext|>", "</s>", "<eos>", "<|end_of_text|>", "<|eot_id|>", "[SEP]")
DEFAULT_EOS = "<|endoftext|>"


def load_tokenizer(path: str | os.PathLike):
    """A `tokenizers.Tokenizer` from a `tokenizer.json` file (or a folder holding one)."""
    from tokenizers import Tokenizer

    p = Path(path)
    if p.is_dir():
        p = p / "tokenizer.json"
    if not p.is_file():
        raise CurationError(f"tokenizer '{path}': no such file (give a tokenizer.json, or train one with "
                            "`curate tokenize train`)")
    try:
        return Tokenizer.from_file(str(p))
    except Exception as e:  # tokenizers raises a bare Exception on bad JSON
        raise CurationError(f"tokenizer '{p}': not a Hugging Face tokenizer.json ({e})") from None


def tokenizer_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p / "tokenizer.json" if p.is_dir() else p


def fingerprint(path: str | os.PathLike) -> str:
    """sha256 of the tokenizer file: shards and models record it, so a mismatch is caught before training."""
    return hashlib.sha256(tokenizer_file(path).read_bytes()).hexdigest()[:16]


def eos_id(tokenizer, eos: str | None = None, source: str = "tokenizer") -> int:
    """The id of `eos`, or of the first usual end-of-text token the vocabulary holds."""
    for name in ([eos] if eos else EOS_CANDIDATES):
        i = tokenizer.token_to_id(name)
        if i is not None:
            return i
    if eos:
        raise CurationError(f"{source}: has no token '{eos}' (give --eos with a token it has)")
    raise CurationError(f"{source}: none of the usual end-of-text tokens ({', '.join(EOS_CANDIDATES)}); "
                        "give --eos with the token that ends a document")


def token_dtype(vocab_size: int, dtype: str | None = None, source: str = "tokenizer") -> np.dtype:
    """uint16 when every id fits (vocab <= 65,536), else uint32; a forced dtype that cannot hold them is an error."""
    if dtype is None:
        return np.dtype(np.uint16 if vocab_size <= 2**16 else np.uint32)
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.uint16), np.dtype(np.uint32)):
        raise CurationError(f"token dtype '{dtype}': use uint16 or uint32")
    if vocab_size > np.iinfo(dt).max + 1:
        raise CurationError(f"{source}: a vocabulary of {vocab_size:,} ids does not fit {dt.name} "
                            f"(at most {np.iinfo(dt).max + 1:,}); use uint32")
    return dt


def train_bpe(texts: Iterable[str], vocab_size: int, output: str | os.PathLike, eos: str = DEFAULT_EOS,
              min_frequency: int = 2, length: int | None = None) -> Path:
    """Train a byte-level BPE (GPT-2 style: every byte is a token, so nothing is ever unknown) and save it
    atomically as `output` (a tokenizer.json path, or a folder to hold one)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if vocab_size < 256 + 1:
        raise CurationError(f"vocabulary size {vocab_size}: a byte-level BPE needs at least 257 (256 bytes + EOS)")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[eos],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    seen = [0]

    def counted() -> Iterator[str]:
        for t in texts:
            seen[0] += 1
            yield t

    tok.train_from_iterator(counted(), trainer=trainer, length=length)
    if seen[0] == 0:
        raise CurationError("tokenizer training: the dataset holds no text")
    out = Path(output)
    if out.is_dir() or not out.suffix:
        out.mkdir(parents=True, exist_ok=True)
        out = out / "tokenizer.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tok.save(str(tmp))
    os.replace(tmp, out)
    return out
