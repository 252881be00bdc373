"""The rephrasing loop shared by the `rephrase` stage and `curate rephrase`: route each document to its
styles, chunk it, send every passage to the backend at once (the backend bounds concurrency), check the
outputs, and join the kept passages into one rephrased document per source document and style.

Batches of documents run a few at a time on one event loop in a background thread, so the next batch is
already being asked while the slowest passage of the last one finishes; results come back in order, and
each finished batch is checkpointed (rephrase.checkpoint) before it is handed on.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from curation.core import Document
from rephrase.backend import Backend, BackendUnavailable, Completion, Request, RequestFailed
from rephrase.checks import OutputChecker
from rephrase.chunking import DEFAULT_MAX_TOKENS, TokenCounter, chunk, join_passages
from rephrase.prompts import Routing, language_name, load_style

MAX_SAMPLE_CHARS = 4000  # of a rejected output (and its passage) kept to show why it was rejected
KEPT_METADATA = ("url", "snapshot", "date", "minhash_cluster_size", "minhash_cluster_id")


@dataclass
class BatchResult:
    outputs: list[Document] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    cached: bool = False
    retry: bool = False  # some passage failed for a passing reason (server trouble): ask again in a later run
    rejected: list[dict] = field(default_factory=list)  # a sample of the rejected outputs, to show why


class Rephraser:
    """Rephrase batches of documents with one backend.

    `max_tokens` (passage size in tokens of `counter`) overrides each style's own `max_input_tokens`
    (350 when neither is set). `language` is the output language (`iso639-3_Script`); by default each
    document is rephrased in its own `language`.
    """

    def __init__(self, backend: Backend, routing: Routing, counter: TokenCounter, checker: OutputChecker,
                 max_tokens: int | None = None, language: str | None = None,
                 language_names: dict[str, str] | None = None, max_output_tokens: int | None = None,
                 rejected_samples: int = 3):
        self.backend = backend
        self.routing = routing
        self.counter = counter
        self.checker = checker
        self.max_tokens = max_tokens
        self.language = language
        self.language_names = language_names or {}
        self.max_output_tokens = max_output_tokens
        self.rejected_samples = rejected_samples  # rejected outputs kept per reason and batch

    # ------------------------------------------------------------------------------------ one batch

    async def rephrase_batch(self, docs: list[Document]) -> BatchResult:
        res = BatchResult()
        c = res.counts
        jobs = []  # (doc, style, target, passages)
        for doc in docs:
            c["in"] += 1
            if not isinstance(doc.text, str) or not doc.text.strip():
                c["skipped/empty_document"] += 1
                continue
            styles = self.routing.styles_for(doc.metadata)
            if styles is None:
                c[f"skipped/no_{self.routing.quality_field}"] += 1
                continue
            target = self.language or doc.metadata.get("language")
            name = language_name(target, self.language_names)
            if name is None:
                c["skipped/unsupported_language"] += 1
                continue
            chunked: dict[int, list] = {}
            for s in styles:
                style = load_style(s)
                n = self.max_tokens or style.max_input_tokens or DEFAULT_MAX_TOKENS
                if n not in chunked:
                    chunked[n] = chunk(doc.text, n, self.counter)
                jobs.append((doc, style, target, name, chunked[n]))
        calls = []
        for doc, style, target, name, passages in jobs:
            for p in passages:
                out_tokens = min(style.max_output_tokens, self.max_output_tokens or style.max_output_tokens)
                calls.append(self.backend.complete(Request(style.messages(p.text, name), out_tokens,
                                                           style.temperature, style.top_p)))
        results = await _gather(calls)
        c["passages"] += len(calls)
        # check all completions of the batch at once (one language-ID call)
        done = [(i, r) for i, r in enumerate(results) if isinstance(r, Completion)]
        targets = [(t, _instructions(style, name)) for doc, style, t, name, passages in jobs for _ in passages]
        verdicts = dict(zip((i for i, _ in done), self.checker.check_many([(r, *targets[i]) for i, r in done])))
        k = 0
        for doc, style, target, name, passages in jobs:
            texts, seps, prompt_tokens, completion_tokens = [], [], 0, 0
            for n, p in enumerate(passages):
                r = results[k]
                if isinstance(r, RequestFailed):
                    c[f"failed/{r.reason}"] += 1
                    res.retry |= not permanent(r.reason)
                else:
                    prompt_tokens += r.prompt_tokens
                    completion_tokens += r.completion_tokens
                    text, reason = verdicts[k]
                    if reason:
                        c[f"rejected/{reason}"] += 1
                        if c[f"rejected/{reason}"] <= self.rejected_samples:
                            res.rejected.append({
                                "source_id": str(doc.id), "style": style.name, "passage": n, "reason": reason,
                                "finish_reason": r.finish_reason, "completion_tokens": r.completion_tokens,
                                "output": r.text[:MAX_SAMPLE_CHARS], "input": p.text[:MAX_SAMPLE_CHARS]})
                    else:
                        texts.append(text)
                        seps.append(p.sep)
                k += 1
            c["prompt_tokens"] += prompt_tokens
            c["completion_tokens"] += completion_tokens
            c["passages_kept"] += len(texts)
            if not texts:
                c["dropped/no_passage_kept"] += 1
                continue
            c["rephrased"] += 1
            c[f"style/{style.name}"] += 1
            meta = {key: doc.metadata[key] for key in KEPT_METADATA if doc.metadata.get(key) is not None}
            meta.update(language=target, source_language=doc.metadata.get("language"), source_id=str(doc.id),
                        rephrase_style=style.name, rephrase_model=self.backend.model,
                        rephrase_passages=len(passages), rephrase_passages_kept=len(texts),
                        prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
            res.outputs.append(Document(text=join_passages(texts, seps), id=f"{doc.id}#{style.name}", metadata=meta))
        return res

    # ------------------------------------------------------------------------------------ many batches

    def run_batches(self, batches: Iterable[tuple[int, list[Document]]], checkpoint=None,
                    in_flight: int = 4) -> Iterator[tuple[int, list[Document], BatchResult]]:
        """Rephrase `(batch_id, documents)` in order, up to `in_flight` batches at a time; a batch the
        checkpoint holds is not asked again. Yields `(batch_id, documents, result)` in the input's order."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="rephrase-loop", daemon=True)
        thread.start()
        pending: deque = deque()

        async def one(bid, docs):
            result = await self.rephrase_batch(docs)
            if checkpoint is not None:
                await asyncio.to_thread(checkpoint.save, bid, docs, result)
            return result

        try:
            for bid, docs in batches:
                cached = checkpoint.load(bid, docs) if checkpoint is not None else None
                if cached is not None:
                    pending.append((bid, docs, cached))
                else:
                    pending.append((bid, docs, asyncio.run_coroutine_threadsafe(one(bid, docs), loop)))
                while len(pending) >= in_flight or (pending and isinstance(pending[0][2], BatchResult)):
                    yield _resolve(pending.popleft())
            while pending:
                yield _resolve(pending.popleft())
        finally:
            for _, _, fut in pending:
                if not isinstance(fut, BatchResult):
                    fut.cancel()
            asyncio.run_coroutine_threadsafe(self.backend.aclose(), loop).result(timeout=30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            loop.close()


@lru_cache(maxsize=256)
def _instructions(style, language_name: str) -> str:
    """The prompt without its passage (what a model must not copy into its answer)."""
    return "\n".join(m["content"] for m in style.messages("", language_name))


def permanent(reason: str) -> bool:
    """A failure that asking again will not cure: the server refused the request itself (a 4xx other than
    408/409/425/429, e.g. a prompt over the model's context), or the prompt is too long for a local model."""
    if reason == "prompt_too_long":
        return True
    return reason.startswith("http_4") and reason not in ("http_408", "http_409", "http_425", "http_429")


def _resolve(item):
    bid, docs, res = item
    return bid, docs, res if isinstance(res, BatchResult) else res.result()


async def _gather(calls: list) -> list:
    """Run every call; a RequestFailed is returned in its place, a BackendUnavailable (the server is down)
    cancels the rest at once and is raised."""
    tasks = [asyncio.ensure_future(c) for c in calls]
    for t in tasks:  # their exceptions are read below, or no longer matter once the run stops
        t.add_done_callback(lambda t: t.cancelled() or t.exception())
    pending = set(tasks)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for t in done:
                if not t.cancelled() and isinstance(t.exception(), BackendUnavailable):
                    raise t.exception()
    finally:
        for t in pending:
            t.cancel()
    out = []
    for t in tasks:
        r = t.exception()
        if r is None:
            out.append(t.result())
        elif isinstance(r, RequestFailed):
            out.append(r)
        else:
            out.append(RequestFailed("backend_error", f"{r.__class__.__name__}: {r}"))
    return out
