"""`curate tokenize`: Parquet/JSONL documents -> shuffled datatrove/nanotron token shards.

Two passes, each resumable. Pass 1 encodes every input file with `tokenizers` (`encode_batch`, all cores)
and appends EOS, into `_work/` files written atomically, one per input file, so a killed run skips the files
it finished. Pass 2 shuffles whole documents across the dataset with a seeded permutation and writes `.ds`
shards of at most `max_tokens_per_file` tokens (a document is never cut between shards). `tokenize.json` is
written last: its presence means the dataset is complete, and it records the tokenizer's fingerprint so the
trainer refuses shards made with another tokenizer.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from itertools import chain
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
from tqdm import tqdm

from curation import atomic
from curation.core import CurationError
from curation.io.paths import infer_format, resolve_paths
from curation.io.readers import record_batches, text_values
from curation.tokenize.shards import write_shard
from curation.tokenize.tokenizer import eos_id, fingerprint, load_tokenizer, token_dtype, tokenizer_file

DONE = "tokenize.json"
WORK = "_work"
BATCH_BYTES = 32 << 20  # text per encode call, at most (with batch_size documents)
MAX_OPEN = 256  # input files encoded in one pooled batch, at most
GATHER_TOKENS = 1 << 22  # tokens gathered per numpy step while shuffling (bounds memory, not file size)


def input_files(inputs: list[str]) -> list[tuple[str, str]]:
    files = [(p, infer_format(p)) for p in resolve_paths(inputs)]
    files = [(p, f) for p, f in files if f in ("parquet", "jsonl")]
    if not files:
        raise CurationError(f"input {' '.join(inputs)}: no Parquet or JSONL files")
    return files


def _atomic_json(path: Path, obj) -> None:
    atomic.write_text(path, json.dumps(obj, indent=1, ensure_ascii=False))


def read_texts(path: str, fmt: str, text_column: str = "text"):
    """Yield (texts, languages, UTF-8 sizes, skipped) per record batch of one file; null and empty texts are
    counted and skipped."""
    for batch in record_batches(path, fmt, [text_column, "language"]):
        everything = text_values(batch, path, text_column)
        keep = [i for i, t in enumerate(everything) if t]
        texts = [everything[i] for i in keep]
        langs = (np.array(batch.column("language").to_pylist(), dtype=object)[keep].tolist()
                 if "language" in batch.schema.names else [None] * len(texts))
        nbytes = pc.binary_length(batch.column(text_column)).to_numpy(zero_copy_only=False)[keep]
        yield texts, langs, nbytes, len(everything) - len(keep)


class _WorkFile:
    """The encoded tokens and document lengths of one input file, renamed into place when it is complete."""

    def __init__(self, work: Path, i: int, path: str):
        self.work, self.i, self.path = work, i, path
        self.ft = open(work / f"{i:05d}.tok.tmp", "wb")
        self.fl = open(work / f"{i:05d}.len.tmp", "wb")
        self.langs: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.skipped = 0
        self.read_all = False

    def write(self, ids: list[list[int]], langs: list, nbytes: np.ndarray, dtype) -> None:
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        self.ft.write(np.fromiter(chain.from_iterable(ids), dtype=dtype, count=int(lengths.sum())).tobytes())
        self.fl.write(lengths.astype("<u8").tobytes())
        for lang, n, b in zip(langs, lengths.tolist(), nbytes.tolist()):
            s = self.langs[lang or "unknown"]
            s[0] += 1
            s[1] += n
            s[2] += b

    def finish(self) -> dict:
        self.ft.close()
        self.fl.close()
        os.replace(self.work / f"{self.i:05d}.tok.tmp", self.work / f"{self.i:05d}.tok")
        os.replace(self.work / f"{self.i:05d}.len.tmp", self.work / f"{self.i:05d}.len")
        info = {"input": self.path, "skipped": self.skipped,
                "languages": {k: dict(zip(("documents", "tokens", "bytes"), v)) for k, v in self.langs.items()}}
        _atomic_json(self.work / f"{self.i:05d}.json", info)
        return info


def _encode_pass(tokenizer, files, work: Path, eos: int, dtype, text_column, batch_size, progress) -> list[dict]:
    """Encode every unfinished input file. Texts are pooled across files into calls of about `batch_size`
    documents (or BATCH_BYTES), so many small files (one per language) still give the tokenizer's threads
    large batches to share; results are split back per file."""
    done: dict[int, dict] = {}
    open_files: dict[int, _WorkFile] = {}
    pending: list[tuple[int, list[str], list, np.ndarray]] = []
    size = [0, 0]
    bar = tqdm(desc="encode", unit=" docs", disable=not progress, mininterval=0.5)

    def flush():
        texts = [t for _, batch, _, _ in pending for t in batch]
        # encode_batch, not encode_batch_fast: measured here (tokenizers 0.23), the "fast" one ran at 0.6-0.7x
        ids = [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)] if texts else []
        for x in ids:
            x.append(eos)
        pos = 0
        for i, batch, langs, nbytes in pending:
            open_files[i].write(ids[pos:pos + len(batch)], langs, nbytes, dtype)
            pos += len(batch)
        bar.update(len(texts))
        pending.clear()
        size[:] = [0, 0]
        for i in [i for i, w in open_files.items() if w.read_all]:
            done[i] = open_files.pop(i).finish()

    for i, (path, fmt) in enumerate(files):
        marker = work / f"{i:05d}.json"
        if marker.exists():
            done[i] = json.loads(marker.read_text())
            continue
        w = open_files[i] = _WorkFile(work, i, path)
        for texts, langs, nbytes, skipped in read_texts(path, fmt, text_column):
            w.skipped += skipped
            pending.append((i, texts, langs, nbytes))
            size[0] += len(texts)
            size[1] += int(nbytes.sum())
            if size[0] >= batch_size or size[1] >= BATCH_BYTES:
                flush()
        w.read_all = True
        if len(open_files) >= MAX_OPEN:
            flush()
    flush()
    bar.close()
    return [done[i] for i in range(len(files))]


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated aranges [s, s+n) for each (s, n): the gather index of whole documents."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total, dtype=np.int64)


def _shuffle_pass(work: Path, n_files: int, output: Path, dtype, seed: int, max_tokens_per_file: int,
                  tokenizer_name: str, progress: bool) -> list[dict]:
    lengths = [np.fromfile(work / f"{i:05d}.len", dtype="<u8").astype(np.int64) for i in range(n_files)]
    streams = [np.memmap(work / f"{i:05d}.tok", dtype=dtype, mode="r") if lengths[i].sum() else np.zeros(0, dtype)
               for i in range(n_files)]  # memory-mapped: the dataset need not fit in memory
    all_lengths = np.concatenate(lengths)
    file_of = np.concatenate([np.full(len(x), i, np.int32) for i, x in enumerate(lengths)])
    start_in_file = np.concatenate([np.cumsum(x) - x for x in lengths])
    order = np.random.default_rng(seed).permutation(len(all_lengths))
    # cut the shuffled documents into files: a new file starts when the next document would pass the limit
    cum = np.cumsum(all_lengths[order])
    cuts, begin = [], 0
    while begin < len(order):
        base = cum[begin - 1] if begin else 0
        end = int(np.searchsorted(cum, base + max_tokens_per_file, side="right"))
        end = max(end, begin + 1)  # a document larger than the limit gets a file of its own
        cuts.append((begin, end))
        begin = end
    written = []
    for f in output.glob("tokens_*.ds*"):
        f.unlink()
    for k, (a, b) in enumerate(tqdm(cuts, desc="shuffle", unit=" files", disable=not progress)):
        docs = order[a:b]
        lens = all_lengths[docs]
        out = np.empty(int(lens.sum()), dtype=dtype)
        pos, step = 0, max(1, GATHER_TOKENS // max(1, int(lens.mean())))
        for g in range(0, len(docs), step):
            part = docs[g:g + step]
            plen = all_lengths[part]
            dst = np.arange(pos, pos + int(plen.sum()))
            src = _ranges(start_in_file[part], plen)
            fidx = np.repeat(file_of[part], plen)
            for fi in np.unique(file_of[part]):
                m = fidx == fi
                out[dst[m]] = streams[fi][src[m]]
            pos += int(plen.sum())
        name = f"tokens_{k:05d}.ds"
        write_shard(output / name, out, np.cumsum(lens), tokenizer_name)
        written.append({"file": name, "documents": len(docs), "tokens": len(out)})
    return written


def tokenize_dataset(inputs: list[str], output: str | os.PathLike, tokenizer_path: str, eos: str | None = None,
                     seed: int = 0, max_tokens_per_file: int = 1 << 30, text_column: str = "text",
                     batch_size: int = 10_000, dtype: str | None = None, overwrite: bool = False,
                     progress: bool = True) -> dict:
    """Tokenize Parquet/JSONL files, folders or globs into `.ds` shards in `output`; returns the summary
    (also written as `output/tokenize.json`)."""
    tokenizer = load_tokenizer(tokenizer_path)
    src = str(tokenizer_file(tokenizer_path))
    eid = eos_id(tokenizer, eos, source=src)
    vocab = tokenizer.get_vocab_size(with_added_tokens=True)
    dt = token_dtype(vocab, dtype, source=src)
    files = input_files(inputs)
    output = Path(output)
    settings = {"inputs": [p for p, _ in files], "tokenizer": src, "tokenizer_sha": fingerprint(tokenizer_path),
                "vocab_size": vocab, "eos_id": eid, "token_size": dt.itemsize, "text_column": text_column,
                "seed": seed, "max_tokens_per_file": max_tokens_per_file}
    done = output / DONE
    if done.exists():
        summary = json.loads(done.read_text())
        if not overwrite and {k: summary.get(k) for k in settings} == settings:
            return summary | {"resumed": True}
        if not overwrite:
            raise CurationError(f"{output}: already holds token shards of other inputs or settings (see {done}); "
                                "give --overwrite to replace them, or another output folder")
        done.unlink()
    work = output / WORK
    output.mkdir(parents=True, exist_ok=True)
    stamp = work / "settings.json"
    if work.exists() and (overwrite or not stamp.exists() or json.loads(stamp.read_text()) != settings):
        shutil.rmtree(work)
    work.mkdir(exist_ok=True)
    _atomic_json(stamp, settings)

    per_file = _encode_pass(tokenizer, files, work, eid, dt, text_column, batch_size, progress)
    languages: dict[str, dict] = {}
    for info in per_file:
        for lang, s in info["languages"].items():
            t = languages.setdefault(lang, {"documents": 0, "tokens": 0, "bytes": 0})
            for key in t:
                t[key] += s[key]
    n_docs = sum(s["documents"] for s in languages.values())
    if n_docs == 0:
        raise CurationError(f"input {' '.join(inputs)}: no documents with text in column '{text_column}'")
    shards = _shuffle_pass(work, len(files), output, dt, seed, max_tokens_per_file, src, progress)
    summary = settings | {"documents": n_docs, "tokens": sum(s["tokens"] for s in languages.values()),
                          "skipped": sum(i["skipped"] for i in per_file),
                          "languages": dict(sorted(languages.items())), "files": shards}
    _atomic_json(done, summary)
    shutil.rmtree(work)
    return summary


def read_summary(folder: str | os.PathLike) -> dict | None:
    """The `tokenize.json` of a shard folder written by `curate tokenize` (None for shards from elsewhere)."""
    path = Path(folder) / DONE
    return json.loads(path.read_text()) if path.exists() else None
