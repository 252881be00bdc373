"""Tokenization: tokenizers by path or trained offline, datatrove/nanotron `.ds` shards, Megatron export."""

from curation.tokenize.encode import read_summary, tokenize_dataset
from curation.tokenize.megatron import export_megatron
from curation.tokenize.shards import Shard, list_shards, open_shard, write_shard
from curation.tokenize.tokenizer import eos_id, fingerprint, load_tokenizer, token_dtype, train_bpe

__all__ = ["Shard", "eos_id", "export_megatron", "fingerprint", "list_shards", "load_tokenizer", "open_shard",
           "read_summary", "token_dtype", "tokenize_dataset", "train_bpe", "write_shard"]
