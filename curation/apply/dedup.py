"""`curate dedup`: MinHash-deduplicate Parquet/JSONL files, per language, keeping every input column.

Two passes over the input: the first reads only the text (and language) columns and builds the clusters
(dedup/), the second copies the kept rows with `minhash_cluster_size` and `minhash_cluster_id` added.
Output files are written under a temporary name and renamed, one per input file (curation.atomic); the work
files of the first pass live in a hidden temporary folder inside the output, so a killed run leaves nothing
that looks like a result.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from curation.atomic import TMP_SUFFIX, commit, temp_path, write_error
from curation.core import CurationError
from curation.io.arrow_arrays import bool_array, int64_array, string_array
from curation.io.paths import infer_format, resolve_paths
from curation.io.readers import language_values, record_batches, text_values
from dedup.minhash import Deduper, MinhashConfig
from filters.words import normalized_word_splitter

BATCH = 4096
# mode robust reads its input twice; up to this many characters of text, the first pass's normalised lines are
# kept for the second (about 2 bytes of memory a character), so each page is read and normalised once
PAGE_CACHE_CHARS = 200_000_000


def _language_batches(files, formats, language, text_column, language_column, url_column, counts,
                      id_column: str | None = None):
    """Per input batch: {language: (row numbers in the batch, texts, hosts[, ids])}, rows without text counted;
    with `id_column`, each group also holds the rows' ids (row numbers where the column is missing)."""
    n = 0
    for path, fmt in zip(files, formats):
        for batch in record_batches(path, fmt, [text_column, language_column, url_column]
                                    + ([id_column] if id_column else [])):
            texts = text_values(batch, path, text_column)
            langs = language_values(batch, path, len(texts), language, language_column)
            urls = (batch.column(url_column).to_pylist() if url_column in batch.schema.names
                    else [None] * len(texts))
            groups: dict[str, list[int]] = {}
            for i, (t, lang) in enumerate(zip(texts, langs)):
                if isinstance(t, str) and t.strip():
                    groups.setdefault(str(lang), []).append(i)
                elif counts is not None:
                    counts["no_text"] += 1
            if id_column:
                ids = (batch.column(id_column).cast(pa.string()).to_pylist() if id_column in batch.schema.names
                       else [str(n + i) for i in range(len(texts))])
                yield len(texts), {lang: (idx, [texts[i] for i in idx], [_host(urls[i]) for i in idx],
                                          [ids[i] for i in idx]) for lang, idx in groups.items()}
            else:
                yield len(texts), {lang: (idx, [texts[i] for i in idx], [_host(urls[i]) for i in idx])
                                   for lang, idx in groups.items()}
            n += len(texts)


def _host(url) -> str | None:
    if not isinstance(url, str) or "://" not in url:
        return None
    return url.split("://", 1)[1].split("/", 1)[0].split("@")[-1].split(":")[0].lower() or None


def dedup_files(inputs: list[str], output: str, language: str | None = None, text_column: str = "text",
                language_column: str = "language", config: MinhashConfig = MinhashConfig(),
                progress: bool = True, exclusions: str | None = None, id_column: str = "id",
                index: str | None = None, index_label: str = "", url_column: str = "url", order: str = "input") -> dict:
    """Deduplicate files into `output`; returns counts (documents in, kept, removed, per language).

    With `index` (a folder), documents that duplicate ones kept by earlier runs with the same index are
    removed too, and this run's kept documents are added to the index. Mode "robust" with boilerplate
    removal reads the text twice: a first pass counts lines per language (and per host of `url_column`).

    `order` decides which copy of a cluster is kept and the order clusters form in: "input" (reading order:
    files in order, rows in order) or "id" (dedup.order: a hash of each row's id, then of its text), which
    does not depend on how the rows were split into files, e.g. by the tasks of a pass before."""
    from dedup.boilerplate import LineCounts
    from dedup.index import BandIndex
    from dedup.order import order_keys

    if order not in ("input", "id"):
        raise CurationError(f"dedup order {order!r}: use 'input' (reading order) or 'id' (a hash of the id)")
    files = resolve_paths(inputs)
    formats = [infer_format(f) for f in files]
    work = Path(tempfile.mkdtemp(prefix=".curate-dedup-", suffix=TMP_SUFFIX,
                                 dir=output if os.path.isdir(output) else None))
    line_counts = None  # one count for every language: a host's chrome is the same whatever the article's language
    cached = None  # the first pass's batches, each page as its normalised lines, while they fit PAGE_CACHE_CHARS
    counts = Counter()
    if config.strips_boilerplate:
        from dedup.boilerplate import page_lines_batch

        line_counts = LineCounts(config.boilerplate_host_docs, config.boilerplate_docs, work / "lines")
        cached, held = ([] if order == "input" else None), 0
        bar = tqdm(desc="boilerplate lines", unit=" docs", disable=not progress)
        try:
            for m, groups in _language_batches(files, formats, language, text_column, language_column, url_column,
                                               counts):
                batch = {}
                for lang, (idx, texts, hosts) in groups.items():
                    pages = page_lines_batch(texts)
                    line_counts.add_pages(pages, hosts)
                    batch[lang] = (idx, pages, hosts)
                    held += sum(map(len, texts))
                if cached is not None and held <= PAGE_CACHE_CHARS:
                    cached.append((m, batch))
                else:
                    cached = None
                bar.update(m)
            line_counts.freeze()
        except OSError as e:
            shutil.rmtree(work, ignore_errors=True)
            raise write_error(e.filename or work, e) from e
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        bar.close()
    dedupers: dict[str, Deduper] = {}
    rows: dict[str, list[np.ndarray]] = {}  # per language: global row numbers, in the deduper's order
    all_ids: dict[str, list[str]] = {}  # order "id": per language, the ids in the deduper's order
    if cached is None:
        counts = Counter()
        batches = _language_batches(files, formats, language, text_column, language_column, url_column, counts,
                                    id_column if order == "id" else None)
    else:  # each page normalised once: the second pass takes the first one's lines
        batches = iter(cached)
    n = 0
    bar = tqdm(desc="signatures", unit=" docs", disable=not progress)
    try:
        for m, groups in batches:
            for lang, (idx, texts, hosts, *ids) in groups.items():
                if lang not in dedupers:
                    dedupers[lang] = Deduper(normalized_word_splitter(lang), config, work / _safe(lang),
                                             BandIndex(index, _safe(lang), config) if index else None,
                                             lines=line_counts)
                    rows[lang], all_ids[lang] = [], []
                if ids:
                    all_ids[lang] += ids[0]
                try:
                    dedupers[lang].add(texts, hosts, order_keys(ids[0], texts) if ids else None)
                except OSError as e:
                    raise write_error(e.filename or work, e) from e
                rows[lang].append(np.asarray(idx, dtype=np.int64) + n)
            n += m
            bar.update(m)
        bar.close()
        keep = np.ones(n, dtype=bool)
        size = np.ones(n, dtype=np.int64)
        cluster = np.arange(n, dtype=np.int64)
        per_language = {}
        rep_ids: dict[int, str] = {}  # order "id": the kept document's id of each cluster of more than one
        for lang, d in dedupers.items():
            try:
                res = d.finish(index_label)
            except OSError as e:
                raise write_error(e.filename or work, e) from e
            glob = np.concatenate(rows[lang])
            keep[glob] = res.keep
            size[glob] = res.cluster_size
            cluster[glob] = glob[res.cluster_id]
            if all_ids.get(lang):
                reps = np.flatnonzero(res.keep & (res.cluster_size > 1))
                rep_ids.update((int(glob[r]), all_ids[lang][r]) for r in reps)
            per_language[lang] = {"in": int(d.n), "kept": int(res.keep.sum()), "removed": res.removed,
                                  "without_ngrams": d.without_ngrams, "seen_before": d.seen_before}
        _write_kept(files, formats, output, keep, size, cluster, id_column, exclusions, rep_ids=rep_ids)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"documents": n, "kept": int(keep.sum()), "removed": int((~keep).sum()), "no_text": counts["no_text"],
            "languages": dict(sorted(per_language.items(), key=lambda kv: -kv[1]["in"]))}


def exact_dedup_files(inputs: list[str], output: str, by: str = "text", text_column: str = "text",
                      language_column: str = "language", progress: bool = True, exclusions: str | None = None,
                      id_column: str = "id") -> dict:
    """Keep the first document of each language with the same normalised text (`by="text"`: xxh64 of
    datatrove's normalisation) or the same URL (`by="url"`, fragment and trailing slash ignored)."""
    import xxhash

    from dedup.normalize import normalize

    files = resolve_paths(inputs)
    formats = [infer_format(f) for f in files]
    column = text_column if by == "text" else "url"
    keys: list[int] = []
    langs_all: list[str] = []
    bar = tqdm(desc=f"{by} hashes", unit=" docs", disable=not progress)
    for path, fmt in zip(files, formats):
        for batch in record_batches(path, fmt, [column, language_column]):
            values = text_values(batch, path, column)
            langs = (batch.column(language_column).to_pylist() if language_column in batch.schema.names
                     else ["und"] * len(values))
            for v, lang in zip(values, langs):
                if not isinstance(v, str) or not v.strip():
                    keys.append(-1)  # nothing to compare: never a duplicate
                else:
                    key = normalize(v) if by == "text" else v.split("#", 1)[0].rstrip("/").lower()
                    keys.append(xxhash.xxh64_intdigest(f"{lang}\x00{key}") >> 1)
                langs_all.append(str(lang or "und"))
            bar.update(len(values))
    bar.close()
    n = len(keys)
    arr = np.asarray(keys, dtype=np.int64)
    keep = np.ones(n, dtype=bool)
    size = np.ones(n, dtype=np.int64)
    cluster = np.arange(n, dtype=np.int64)
    valid = np.nonzero(arr >= 0)[0]
    if len(valid):
        uniq, first, inverse, counts = np.unique(arr[valid], return_index=True, return_inverse=True, return_counts=True)
        cluster[valid] = valid[first][inverse]
        size[valid] = counts[inverse]
        keep[valid] = cluster[valid] == valid
    per_language: dict[str, dict] = {}
    for lang, k in zip(langs_all, keep):
        c = per_language.setdefault(lang, {"in": 0, "kept": 0, "removed": 0})
        c["in"] += 1
        c["kept" if k else "removed"] += 1
    _write_kept(files, formats, output, keep, None, cluster, id_column, exclusions, reason=f"duplicate_{by}")
    return {"documents": n, "kept": int(keep.sum()), "removed": int((~keep).sum()), "no_text": int((arr < 0).sum()),
            "languages": dict(sorted(per_language.items(), key=lambda kv: -kv[1]["in"]))}


def _safe(lang: str) -> str:
    """A language value as a folder name: short, and distinct for distinct values (a column may hold anything)."""
    clean = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in lang)[:40] or "und"
    if clean == lang:
        return clean
    import hashlib

    return f"{clean}-{hashlib.sha1(lang.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


def _close_all(writers: dict, targets: dict, complete: bool) -> None:
    """Close one input file's writers; rename their files into place if the file was read to the end, else
    (or if closing fails, e.g. on a full disk) remove them."""
    error = None
    for kind, w in writers.items():
        try:
            w.close()
            if complete and error is None:
                commit(temp_path(targets[kind]), targets[kind])
                continue
        except OSError as e:
            error = error or write_error(targets[kind], e)
        temp_path(targets[kind]).unlink(missing_ok=True)
    if error is not None:
        for kind in writers:  # all or nothing: the kept and the removed rows of an input file together
            targets[kind].unlink(missing_ok=True)
        raise error


def _write_kept(files, formats, output, keep, size, cluster, id_column="id", exclusions: str | None = None,
                reason: str = "near_duplicate", rep_ids: dict[int, str] | None = None) -> None:
    """Second pass: kept rows to `output`, removed ones (with `duplicate_of`, the kept copy's id) to
    `exclusions`. `minhash_cluster_id` is the id of the cluster's kept document (its smallest row comes
    first in reading order, so its id is known before any duplicate of it; in another order `rep_ids` gives
    the kept documents' ids)."""
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    rep_ids = dict(rep_ids or {})
    n = 0
    for i, (path, fmt) in enumerate(zip(files, formats)):
        name = f"{i:05d}_{Path(path.split('://')[-1]).name.split('.')[0]}.parquet"
        writers: dict[str, pq.ParquetWriter] = {}
        targets = {"kept": out / name}
        finished = False
        if exclusions:
            Path(exclusions).mkdir(parents=True, exist_ok=True)
            targets["removed"] = Path(exclusions) / name
        try:
            for batch in record_batches(path, fmt):
                m = len(batch)
                rows = np.arange(n, n + m)
                ids = (batch.column(id_column).cast(pa.string()).to_pylist() if id_column in batch.schema.names
                       else [str(r) for r in rows])
                for r, doc_id in zip(rows, ids):
                    if keep[r] and (size[r] > 1 if size is not None else exclusions):
                        rep_ids[int(r)] = doc_id  # the id its duplicates will point at
                cluster_ids = [doc_id if keep[r] else rep_ids.get(int(cluster[r]), str(cluster[r]))
                               for r, doc_id in zip(rows, ids)]
                table = pa.Table.from_batches([batch])
                if size is not None:  # MinHash: cluster size and id for rehydration
                    table = table.drop_columns([c for c in ("minhash_cluster_size", "minhash_cluster_id")
                                                if c in table.column_names])
                    table = table.append_column("minhash_cluster_size", int64_array(size[n:n + m]))
                    table = table.append_column("minhash_cluster_id", string_array(cluster_ids))
                parts = {"kept": table.filter(bool_array(keep[n:n + m]))}
                if exclusions:
                    removed_mask = ~keep[n:n + m]
                    removed = table.filter(bool_array(removed_mask))
                    dup_of = [c for c, rm in zip(cluster_ids, removed_mask) if rm]
                    parts["removed"] = removed.drop_columns([c for c in ("duplicate_of", "filter_reason")
                                                             if c in removed.column_names]).append_column(
                        "duplicate_of", string_array(dup_of)).append_column(
                        "filter_reason", string_array([reason] * len(removed)))
                for kind, part in parts.items():
                    try:
                        if kind not in writers:
                            writers[kind] = pq.ParquetWriter(temp_path(targets[kind]), part.schema, compression="zstd")
                        w = writers[kind]
                        w.write_table(part.cast(w.schema) if part.schema != w.schema else part)
                    except OSError as e:
                        raise write_error(targets[kind], e) from e
                n += m
            finished = True
        finally:
            _close_all(writers, targets, finished)
