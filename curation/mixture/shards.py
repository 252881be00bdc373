"""Writing the mixture with flat memory: an external shuffle in two passes.

Scatter: every source is read once in order; each document is repeated as many times as the plan says,
and each copy goes to a random shard of its language (a temporary Arrow stream file per shard).
Gather: each shard file (about `shard_size_mb` of text) is read whole, shuffled with its own seeded
generator and written as Parquet with small row groups, under a temporary name and then renamed; two shards
are worked on at a time. Memory is one input batch plus two shards, however many rows the mixture has."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from curation.io.writer import safe_language
from curation.mixture.plan import Plan, SourcePlan
from curation.mixture.selection import PassSelector, rng_for
from curation.mixture.sources import SIZE, batches

SCHEMA = pa.schema([
    ("id", pa.string()),
    ("text", pa.string()),
    ("language", pa.string()),
    ("source", pa.string()),  # original | rephrased | replay
    ("url", pa.string()),
    ("minhash_cluster_size", pa.int64()),
    ("rephrase_style", pa.string()),
    ("copy", pa.int32()),  # 0 for a document's first copy in the mixture, 1 for its second, ...
])
READ = ["id", "text", "language", "url", SIZE, "rephrase_style"]
MAX_EXPANDED = 32_768  # rows materialised at once when copies are made
WRITE_ROWS = 65_536  # shuffled rows materialised at once when a shard is written
FLUSH_ROWS = 16_384  # rows queued per shard before they are written to its scatter file
PENDING_ROWS = 131_072  # rows queued over all shards at most


@dataclass
class SourceCounts:
    documents_in: int = 0
    tokens_in: int = 0
    documents_out: int = 0
    tokens_out: int = 0
    repetitions: Counter = field(default_factory=Counter)  # copies -> documents with that many
    by_language: Counter = field(default_factory=Counter)  # documents out per language (replay)
    tokens_by_language: Counter = field(default_factory=Counter)


def _column(b: pa.RecordBatch, name: str, m: int, type_: pa.DataType) -> pa.Array:
    if name in b.schema.names:
        col = b.column(name)
        return col if col.type == type_ else col.cast(type_)
    return pa.nulls(m, type_)


class Scatter:
    def __init__(self, plan: Plan, tmp: Path):
        self.plan, self.tmp = plan, tmp
        self.writers: dict[tuple[str, int], ipc.RecordBatchStreamWriter] = {}
        self.rows: Counter = Counter()  # rows per (language, shard)
        self.langs = sorted(plan.shards)
        self.lang_index = {lang: i for i, lang in enumerate(self.langs)}
        self.shards = np.asarray([plan.shards[lang] for lang in self.langs], dtype=np.int64)
        self.pending: dict[tuple[str, int], list[pa.Table]] = {}
        self.pending_rows: Counter = Counter()

    def _write(self, lang: str, shard: int, table: pa.Table) -> None:
        """Queue rows for a shard; they go to its file in batches of FLUSH_ROWS (few, large chunks are what
        makes the shuffle's `take` fast)."""
        key = (lang, shard)
        self.pending.setdefault(key, []).append(table)
        self.pending_rows[key] += len(table)
        self.rows[key] += len(table)
        if self.pending_rows[key] >= FLUSH_ROWS:
            self._flush(key)
        elif sum(self.pending_rows.values()) >= PENDING_ROWS:  # many shards: bound what waits in memory
            for k in list(self.pending):
                self._flush(k)

    def _flush(self, key: tuple[str, int]) -> None:
        parts = self.pending.pop(key, [])
        self.pending_rows.pop(key, None)
        if not parts:
            return
        if key not in self.writers:
            path = self.tmp / f"{safe_language(key[0])}.{key[1]:05d}.arrow"
            self.writers[key] = ipc.new_stream(pa.OSFile(str(path), "wb"), SCHEMA)
        self.writers[key].write_table(pa.concat_tables(parts).combine_chunks())

    def source(self, sp: SourcePlan, bar=None) -> SourceCounts:
        spec = self.plan.spec
        lang_tag = sp.source.language or "*"
        sel = PassSelector(sp.source.rows, sp.epochs, rng_for(spec.seed, "select", sp.source.name, lang_tag))
        place = rng_for(spec.seed, "place", sp.source.name, lang_tag)
        rehydrate = sp.source.name == "original" and spec.rehydration != "none"
        counts = SourceCounts()
        for _, b in batches(sp.source, READ):
            m = len(b)
            sizes = _column(b, SIZE, m, pa.int64())
            reps = sp.weights.reps(pc.fill_null(sizes, 1).to_numpy(zero_copy_only=False)) if rehydrate \
                else np.ones(m, dtype=np.int64)
            n = reps * sel.take(m)
            text = _column(b, "text", m, pa.string())
            tok = self.plan.tokenizer.count(text)
            if sp.source.language is None:
                language = pc.fill_null(_column(b, "language", m, pa.string()), "unknown")
            else:
                language = pa.array([sp.source.language] * m, pa.string())
            counts.documents_in += m
            counts.tokens_in += int(tok.sum())
            counts.documents_out += int(n.sum())
            counts.tokens_out += int((tok * n).sum())
            for copies, k in zip(*np.unique(n, return_counts=True)):
                counts.repetitions[int(copies)] += int(k)
            table = pa.table({
                "id": _column(b, "id", m, pa.string()), "text": text, "language": language,
                "source": pa.array([sp.source.name] * m, pa.string()), "url": _column(b, "url", m, pa.string()),
                "minhash_cluster_size": sizes, "rephrase_style": _column(b, "rephrase_style", m, pa.string()),
            })
            self._expand(table, n, tok, place, counts)
            if bar is not None:
                bar.update(m)
        return counts

    def _expand(self, table: pa.Table, n: np.ndarray, tok: np.ndarray, rng, counts: SourceCounts) -> None:
        """Repeat row i n[i] times (copy 0..n[i]-1) and send each copy to a random shard of its language."""
        cum = np.cumsum(n)
        start = 0
        while start < len(n):
            base = cum[start - 1] if start else 0
            stop = max(start + 1, int(np.searchsorted(cum, base + MAX_EXPANDED, side="right")))
            part_n = n[start:stop]
            idx = np.repeat(np.arange(start, stop), part_n)
            start_of = np.repeat(np.cumsum(part_n) - part_n, part_n)
            copy = (np.arange(len(idx)) - start_of).astype(np.int32)
            start = stop
            if not len(idx):
                continue
            rows = table.take(pa.array(idx)).append_column("copy", pa.array(copy, pa.int32()))
            li = self._language_index(rows.column("language"))
            if self.shards[li[0]] == 1 and (li == li[0]).all():  # one language, one shard: nothing to sort
                self._write(self.langs[li[0]], 0, rows)
                counts.by_language[self.langs[li[0]]] += len(idx)
                counts.tokens_by_language[self.langs[li[0]]] += int(tok[idx].sum())
                continue
            shard = (rng.random(len(idx)) * self.shards[li]).astype(np.int64)
            key = li * (1 << 20) + shard
            order = np.argsort(key, kind="stable")
            key_sorted = key[order]
            rows = rows.take(pa.array(order))
            cuts = np.flatnonzero(np.diff(key_sorted)) + 1
            bounds = [0, *cuts.tolist(), len(key_sorted)]
            for a, z in zip(bounds[:-1], bounds[1:]):
                k = int(key_sorted[a])
                lang = self.langs[k >> 20]
                self._write(lang, k & ((1 << 20) - 1), rows.slice(a, z - a))
                counts.by_language[lang] += z - a
            toks = tok[idx]
            for lang_i in np.unique(li):
                counts.tokens_by_language[self.langs[lang_i]] += int(toks[li == lang_i].sum())

    def _language_index(self, langs: pa.ChunkedArray) -> np.ndarray:
        enc = pc.dictionary_encode(langs).combine_chunks()
        values = enc.dictionary.to_pylist()
        for x in values:
            if x not in self.lang_index:  # a replay language no source planned for: one shard of its own
                self.lang_index[x] = len(self.langs)
                self.langs.append(x)
                self.shards = np.append(self.shards, 1)
        lookup = np.asarray([self.lang_index[x] for x in values], dtype=np.int64)
        return lookup[enc.indices.to_numpy(zero_copy_only=False)]

    def close(self) -> None:
        for key in list(self.pending):
            self._flush(key)
        for w in self.writers.values():
            w.close()
        self.writers.clear()


def shard_jobs(shard_rows: dict[str, dict[int, int]]) -> list[tuple[str, int, int, int]]:
    """(language, scatter shard, index, count) of every non-empty shard: files are numbered among the non-empty."""
    jobs = []
    for lang in sorted(shard_rows):
        shards = [s for s in sorted(shard_rows[lang]) if shard_rows[lang][s]]
        jobs += [(lang, s, i, len(shards)) for i, s in enumerate(shards)]
    return jobs


def write_shard(tmp: Path, data: Path, job: tuple[str, int, int, int], seed: int, row_group_size: int) -> str:
    """Shuffle one scattered shard and write it as data/<lang>/train-XXXXX-of-YYYYY.parquet (a file already
    written by an interrupted run is kept: the same seed gives the same bytes)."""
    lang, s, i, count = job
    folder = data / safe_language(lang)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"train-{i:05d}-of-{count:05d}.parquet"
    final = folder / name
    if not final.exists():
        part = final.with_name(name + ".tmp")
        with pa.memory_map(str(tmp / f"{safe_language(lang)}.{s:05d}.arrow")) as src:
            table = ipc.open_stream(src).read_all()  # memory-mapped: no copy
            order = rng_for(seed, "shuffle", lang, s).permutation(len(table))
            step = row_group_size * max(1, WRITE_ROWS // row_group_size)  # whole row groups per write
            with pq.ParquetWriter(part, SCHEMA, compression="zstd",
                                  use_dictionary=["language", "source", "rephrase_style"]) as w:
                for a in range(0, len(order), step):  # the shuffled copy is made a slice at a time
                    w.write_table(table.take(pa.array(order[a:a + step])), row_group_size=row_group_size)
        os.replace(part, final)
        del table
        pa.default_memory_pool().release_unused()  # hand freed shard memory back, so peaks do not pile up
    return str(final.relative_to(data.parent))
