"""`curate rephrase`: rephrase the documents of Parquet/JSONL files and write the rephrased ones as Parquet.

The output folder holds `part-NNNNNN.parquet` (one per finished batch of documents, columns: id, text,
source_id, url, language, source_language, rephrase_style, rephrase_model, passage and token counts),
`_progress/` (a done marker per batch, see rephrase.checkpoint), `stats.json` and `rejected.jsonl` (a sample
of the outputs the checks rejected, with their reason and passage). A run that keeps nothing, or loses
more than --fail-above of its passages, exits with code 3 and one line that says why. Started again on the
same output with the same input and options, it skips finished batches; with different ones it refuses
(or starts over with --overwrite).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

from curation import atomic
from curation.core import CurationError
from curation.io.paths import input_stamps

RUN_FILE = "_progress/run.json"
REJECTED_FILE = "rejected.jsonl"  # a sample of the rejected outputs per reason and batch, with their passages


def _fingerprint(files: list[str], options: dict) -> str:
    data = json.dumps({"inputs": input_stamps(files), "options": options}, sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def read_documents(files: list[str], text_column: str = "text", id_column: str = "id"):
    """Documents from Parquet/JSONL rows, in file and row order; every other scalar column goes to metadata
    (`language` is the source language). Rows without an id get `<file number>:<row>`."""
    from curation.core import Document
    from curation.io.paths import infer_format
    from curation.io.readers import record_batches as arrow_batches
    from curation.io.readers import text_values

    for i, path in enumerate(files):
        fmt = infer_format(path)
        if fmt not in ("parquet", "jsonl"):
            raise CurationError(f"{path}: curate rephrase reads Parquet or JSONL files, not {fmt or 'this format'}")
        row = 0
        for batch in arrow_batches(path, fmt):
            texts = text_values(batch, path, text_column)
            columns = {name: batch.column(name).to_pylist() for name in batch.schema.names
                       if name != text_column and not _nested(batch.schema.field(name).type)}
            ids = columns.pop(id_column, None)
            for k, text in enumerate(texts):
                meta = {name: values[k] for name, values in columns.items() if values[k] is not None}
                doc_id = str(ids[k]) if ids is not None and ids[k] is not None else f"{i}:{row}"
                yield Document(text=text if isinstance(text, str) else "", id=doc_id, metadata=meta)
                row += 1


def identify_languages(docs: list, stage, counts: Counter) -> None:  # counts also carries the loaded model
    """Documents without a language (no `language` column, or an empty one) get the pipeline's language ID's
    label, so they are rephrased in their own language rather than skipped; not needed with --language."""
    if stage.language:
        return
    missing = [d for d in docs if str(d.metadata.get("language") or "und") in ("und", "unknown", "")]
    if not missing:
        return
    if "model" not in counts.__dict__:  # loaded once per run, on the first document that needs it
        from langid.fasttext_lid import LanguageId

        counts.model = LanguageId(model=stage.langid_model, label_only=True)
    for doc, (lang, score) in zip(missing, counts.model.predict_many([d.text for d in missing])):
        doc.metadata["language"], doc.metadata["language_score"] = lang, round(score, 4)
        counts["identified"] += 1


def _nested(t) -> bool:
    import pyarrow as pa

    return pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t)


def rephrase_files(inputs: list[str], output: str, stage, text_column: str = "text", id_column: str = "id",
                   overwrite: bool = False, progress: bool = True, options_for_fingerprint: dict | None = None,
                   fail_above: float = 0.5) -> dict:
    """Rephrase every document of `inputs` with the configured `rephrase.stage.Rephrase` into `output`;
    returns the counts of the whole run (finished batches of earlier runs included); its `verdict` is None,
    or the one line that says why the run failed (nothing kept, or more than `fail_above` of the passages
    lost)."""
    from tqdm import tqdm

    from curation.io.paths import resolve_paths
    from rephrase.checkpoint import BatchCheckpoint
    from rephrase.verdict import shortfall

    files = resolve_paths(inputs)
    out = Path(output)
    run_file = out / RUN_FILE
    fp = _fingerprint(files, {**(options_for_fingerprint or {}), "batch_size": stage.batch_size,
                              "text_column": text_column, "id_column": id_column})
    if overwrite and out.exists():
        from curation.safe_output import check_replaceable

        check_replaceable(out, RUN_FILE, [*inputs, *files], what="curate rephrase")
        shutil.rmtree(out)
    if run_file.exists() and json.loads(run_file.read_text()).get("fingerprint") != fp:
        raise CurationError(f"output '{out}' holds a rephrasing of other input or options; choose another "
                            "--output, or pass --overwrite to replace it")
    if out.exists() and not run_file.exists() and any(out.iterdir()):
        raise CurationError(f"output '{out}' exists and is not a curate rephrase output; choose another --output")
    run_file.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(run_file, json.dumps({"fingerprint": fp, "inputs": files}, indent=2))
    checkpoint = BatchCheckpoint(out)

    identified = Counter()

    def batches():
        batch, bid = [], 0
        for doc in read_documents(files, text_column, id_column):
            batch.append(doc)
            if len(batch) >= stage.batch_size:
                identify_languages(batch, stage, identified)
                yield bid, batch
                batch, bid = [], bid + 1
        if batch:
            identify_languages(batch, stage, identified)
            yield bid, batch

    totals = Counter()
    rephraser = stage.rephraser()
    rejected: list[dict] = []
    bar = tqdm(desc=f"rephrase ({stage.backend_kind}: {stage.model})", unit=" docs", disable=not progress)
    resumed = 0
    for _, docs, result in rephraser.run_batches(batches(), checkpoint, stage.batches_in_flight):
        totals.update(result.counts)
        rejected.extend(result.rejected)
        resumed += len(docs) if result.cached else 0
        bar.update(len(docs))
        bar.set_postfix(rephrased=totals["rephrased"], rejected=sum(v for k, v in totals.items()
                                                                    if k.startswith("rejected/")))
    bar.close()
    if totals["in"] and totals["skipped/unsupported_language"] == totals["in"]:
        raise CurationError(f"{', '.join(inputs)}: no document is in a language rephrase/languages.yml names "
                            "(nothing was asked of the model); give the output language with --language")
    usage = rephraser.backend.usage
    summary = {
        "output": str(out), "documents": totals["in"], "rephrased": totals["rephrased"],
        "from_earlier_runs": resumed, "passages": totals["passages"], "passages_kept": totals["passages_kept"],
        "prompt_tokens": totals["prompt_tokens"], "completion_tokens": totals["completion_tokens"],
        "model": stage.model, "tokenizer": stage.counter.name,
        "reasons": {k: v for k, v in sorted(totals.items()) if k.split("/")[0] in
                    ("skipped", "rejected", "failed", "dropped")},
        "language_identified": identified["identified"],
        "styles": {k.split("/", 1)[1]: v for k, v in sorted(totals.items()) if k.startswith("style/")},
        "this_run": {"requests": usage.requests, "retries": usage.retries, "failed": usage.failed,
                     "abandoned": usage.abandoned, "probes": usage.probes, "errors": dict(usage.errors),
                     **rephraser.backend.stats(), "notes": list(rephraser.backend.notes)},
        "rejected_samples": len(rejected),
        "verdict": shortfall(totals, fail_above, output_limits(stage)),
    }
    atomic.write_text(out / REJECTED_FILE, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rejected))
    atomic.write_text(out / "stats.json", json.dumps(summary, indent=2))
    return summary


def output_limits(stage) -> tuple[int, ...]:
    """The output-token limits of the run's styles (what a truncated output ran into)."""
    from rephrase.prompts import load_style

    limits = {load_style(s).max_output_tokens for s in stage.routing.all_styles()}
    if stage.max_output_tokens:
        limits = {min(t, stage.max_output_tokens) for t in limits}
    return tuple(sorted(limits))
