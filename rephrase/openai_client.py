"""An async client for any OpenAI-compatible chat-completions server (vLLM, SGLang, llama.cpp's server,
TGI): concurrency learned from the server (rephrase.concurrency) or fixed, timeouts, retries with
exponential backoff and jitter on 429, 5xx, dropped connections and malformed answers, token accounting
from the servers' `usage` field, and a probe for servers that drop the system message.

A request that still fails after its retries fails alone (its passage is skipped and counted); when
`max_consecutive_failures` requests fail in a row the server is taken to be down and the run stops with
a message that says so.
"""

from __future__ import annotations

import asyncio
import random

import httpx
import orjson

from rephrase.backend import (
    Backend,
    BackendUnavailable,
    Completion,
    Request,
    RequestFailed,
    Usage,
    fold_system,
    has_system,
)
from rephrase.concurrency import NEUTRAL, OK, OVERLOAD, ConcurrencyLimit

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
OVERLOAD_STATUS = {408, 429, 503, 504}  # the server has more than it can take: fewer requests at once
SYSTEM_PROMPT_MODES = ("auto", "fold", "keep")
# the system-message probe: 61 words (at least 61 tokens in any tokenizer) and a short question
_PROBE_TEXT = ("You are a careful assistant who answers every question with a single word and nothing else. "
               "Read the question below, think about which one word answers it best, and reply with that word "
               "only, without punctuation, quotes, explanations, greetings, lists, code, or any other text, "
               "because the reply is read by a program that expects exactly one word in plain letters.")
PROBE_WORDS = len(_PROBE_TEXT.split())
PROBE_MESSAGES = [{"role": "system", "content": _PROBE_TEXT}, {"role": "user", "content": "Say yes."}]


class OpenAIBackend(Backend):
    """Chat completions from `base_url` (e.g. http://localhost:8000/v1).

    Args:
        base_url: the server's OpenAI API root, ending in /v1
        model: the model name the server serves
        api_key: sent as a bearer token when given
        concurrency: requests in flight at once: "auto" (default) learns what the server sustains (see
            rephrase.concurrency: from 1, growing while latency holds, halved on timeouts, 429s and latency
            blow-ups); a number keeps that many in flight (a batching server you know: 32-256)
        max_concurrency: the ceiling of "auto"
        timeout: seconds a request may take before it is abandoned and retried
        max_retries: retries of one request (429, 5xx, timeouts, dropped connections, malformed JSON)
        backoff: first wait before a retry in seconds, doubled each retry (with jitter), at most max_backoff;
            a 429's Retry-After header is honoured
        max_consecutive_failures: stop the run when this many requests in a row failed for good
        system_prompt: "auto" (default): before the first request with a system message, one small probe
            request finds out whether the server passes system messages to the model (some chat formats,
            e.g. llama.cpp's `gemma`, drop them), and if not, folds them into the user turn and says so
            (see `notes`); "fold": always fold; "keep": send them as they are, no probe
    """

    def __init__(self, base_url: str, model: str, api_key: str | None = None, concurrency: int | str = "auto",
                 timeout: float = 120.0, max_retries: int = 6, backoff: float = 1.0, max_backoff: float = 30.0,
                 max_consecutive_failures: int = 10, max_concurrency: int = 256, system_prompt: str = "auto"):
        adaptive = concurrency == "auto"
        if not adaptive and (not isinstance(concurrency, int) or concurrency < 1):
            raise ValueError(f"concurrency must be 'auto' or a whole number of at least 1, got {concurrency!r}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        if system_prompt not in SYSTEM_PROMPT_MODES:
            raise ValueError(f"system_prompt must be one of {', '.join(SYSTEM_PROMPT_MODES)}, got {system_prompt!r}")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url '{base_url}' must start with http:// or https://")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.base_url = base_url
        self.model = model
        self.concurrency = concurrency
        self.limit = ConcurrencyLimit(1 if adaptive else concurrency, adaptive=adaptive, maximum=max_concurrency,
                                      timeout=timeout)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_consecutive_failures = max_consecutive_failures
        self.system_prompt = system_prompt
        self.fold_system = system_prompt == "fold"
        self.system_probe: dict | None = None  # what the probe found
        self.notes: list[str] = []  # what the user should know about the server (printed by curate rephrase)
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.usage = Usage()
        self._consecutive = 0
        self._last = ("error", "")
        self._client: httpx.AsyncClient | None = None
        self._probe_lock: asyncio.Lock | None = None

    def _ensure(self):
        if self._client is None:  # made inside the running event loop
            n = self.limit.maximum
            limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
            self._client = httpx.AsyncClient(timeout=self.timeout, limits=limits, headers=self.headers)
            self._probe_lock = asyncio.Lock()
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def stats(self) -> dict:
        """The client's side of the run, for stats.json: concurrency, abandoned requests, system prompt."""
        return {"concurrency": self.limit.describe(), "system_prompt": self.system_probe or
                {"mode": self.system_prompt, "folded": self.fold_system}}

    async def complete(self, request: Request) -> Completion:
        self._ensure()
        messages = request.messages
        if self.system_prompt == "auto" and self.system_probe is None and has_system(messages):
            async with self._probe_lock:
                if self.system_probe is None:
                    await self._probe_system()
        if self.fold_system:
            messages = fold_system(messages)
        body = {"model": self.model, "messages": messages, "max_tokens": request.max_tokens,
                "temperature": request.temperature, "top_p": request.top_p}
        completion = await self._send(body)
        self.usage.add(completion)
        return completion

    async def _probe_system(self) -> None:
        """One request whose system message alone is longer than PROBE_WORDS tokens: a server that reports
        fewer prompt tokens than that never showed it to the model. A probe that fails for good means the
        server cannot serve this run at all."""
        body = {"model": self.model, "messages": PROBE_MESSAGES, "max_tokens": 1, "temperature": 0.0}
        try:
            c = await self._send(body)
        except RequestFailed as e:
            raise BackendUnavailable(f"rephrase server {self.base_url}: the first request failed ({e}); is it "
                                     f"up and serving model '{self.model}'?") from None
        self.usage.probes += 1
        if not c.prompt_tokens:
            verdict, note = "unknown", (f"{self.base_url} reports no prompt tokens, so whether it passes system "
                                        "messages to the model is unknown; --system-prompt fold folds them")
        elif c.prompt_tokens < PROBE_WORDS:
            self.fold_system = True
            verdict, note = "dropped", (f"{self.base_url} ignores system messages (a {PROBE_WORDS}-word system "
                                        f"message came to {c.prompt_tokens} prompt tokens; its chat format has "
                                        "no system role): folding them into the user turn")
        else:
            verdict, note = "kept", None
        self.system_probe = {"mode": "auto", "server": verdict, "folded": self.fold_system,
                             "probe_prompt_tokens": c.prompt_tokens}
        if note:
            self.notes.append(note)

    async def _send(self, body: dict) -> Completion:
        """POST one request, with retries; RequestFailed when it fails for good."""
        client = self._client
        last = ("error", "")
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.usage.retries += 1
                await asyncio.sleep(self._wait(attempt, last))
            ticket = await self.limit.acquire()
            outcome = NEUTRAL
            try:
                if self._consecutive >= self.max_consecutive_failures:
                    raise BackendUnavailable(
                        f"rephrase server {self.base_url}: {self._consecutive} requests in a row failed "
                        f"(last: {self._last[0]} {self._last[1]}); finished batches are kept, run the command "
                        "again to resume")
                try:
                    resp = await client.post(self.url, json=body)
                except httpx.TimeoutException as e:
                    last = ("timeout", f"no answer in {self.timeout:g} s ({e.__class__.__name__})")
                    self.usage.error("timeout")
                    if isinstance(e, (httpx.ReadTimeout, httpx.WriteTimeout)):
                        self.usage.abandoned += 1  # sent: a server that generates for clients that hung up still will
                    outcome = OVERLOAD
                    continue
                except httpx.TransportError as e:
                    last = ("connection", f"{e.__class__.__name__}: {e}")
                    self.usage.error("connection")
                    outcome = OVERLOAD
                    continue
                if resp.status_code in RETRY_STATUS:
                    last = (f"http_{resp.status_code}", resp.headers.get("retry-after", ""))
                    self.usage.error(f"http_{resp.status_code}")
                    outcome = OVERLOAD if resp.status_code in OVERLOAD_STATUS else NEUTRAL
                    continue
                if resp.status_code >= 400:  # a client error: retrying the same request will not help
                    self._failed((f"http_{resp.status_code}", resp.text[:200]))
                    raise RequestFailed(f"http_{resp.status_code}", resp.text[:200])
                try:
                    completion = _parse(resp.content)
                except ValueError as e:
                    last = ("malformed_response", str(e))
                    self.usage.error("malformed_response")
                    continue
                outcome = OK
                self._consecutive = 0
                return completion
            finally:
                self.limit.release(ticket, outcome)
        self._failed(last)
        raise RequestFailed(last[0], last[1])

    def _failed(self, last=("error", "")):
        self._last = last
        self._consecutive += 1
        self.usage.failed += 1

    def _wait(self, attempt: int, last: tuple[str, str]) -> float:
        if last[0] == "http_429" and last[1]:
            try:
                return min(float(last[1]), self.max_backoff)
            except ValueError:
                pass
        return min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)


def _parse(content: bytes) -> Completion:
    """The first choice of a chat-completions answer; ValueError when it is not one."""
    try:
        data = orjson.loads(content)
        choice = data["choices"][0]
        text = choice["message"]["content"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as e:
        raise ValueError(f"not a chat-completions answer ({e.__class__.__name__}: {str(e)[:100]})") from None
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    usage = data.get("usage") or {}
    return Completion(text=text, finish_reason=str(choice.get("finish_reason") or "stop"),
                      prompt_tokens=int(usage.get("prompt_tokens") or 0),
                      completion_tokens=int(usage.get("completion_tokens") or 0))
