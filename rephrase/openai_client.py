"""An async client for any OpenAI-compatible chat-completions server (vLLM, SGLang, llama.cpp's server,
TGI): bounded concurrency, timeouts, retries with exponential backoff and jitter on 429, 5xx, dropped
connections and malformed answers, and token accounting from the servers' `usage` field.

A request that still fails after its retries fails alone (its passage is skipped and counted); when
`max_consecutive_failures` requests fail in a row the server is taken to be down and the run stops with
a message that says so.
"""

from __future__ import annotations

import asyncio
import random

import httpx
import orjson

from rephrase.backend import Backend, BackendUnavailable, Completion, Request, RequestFailed, Usage

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAIBackend(Backend):
    """Chat completions from `base_url` (e.g. http://localhost:8000/v1).

    Args:
        base_url: the server's OpenAI API root, ending in /v1
        model: the model name the server serves
        api_key: sent as a bearer token when given
        concurrency: requests in flight at once (keep a batching server such as vLLM busy: 32-256)
        timeout: seconds a request may take before it is abandoned and retried
        max_retries: retries of one request (429, 5xx, timeouts, dropped connections, malformed JSON)
        backoff: first wait before a retry in seconds, doubled each retry (with jitter), at most max_backoff;
            a 429's Retry-After header is honoured
        max_consecutive_failures: stop the run when this many requests in a row failed for good
    """

    def __init__(self, base_url: str, model: str, api_key: str | None = None, concurrency: int = 32,
                 timeout: float = 120.0, max_retries: int = 6, backoff: float = 1.0, max_backoff: float = 30.0,
                 max_consecutive_failures: int = 10):
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url '{base_url}' must start with http:// or https://")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.base_url = base_url
        self.model = model
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_consecutive_failures = max_consecutive_failures
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.usage = Usage()
        self._consecutive = 0
        self._last = ("error", "")
        self._client: httpx.AsyncClient | None = None
        self._sem: asyncio.Semaphore | None = None

    def _ensure(self):
        if self._client is None:  # made inside the running event loop
            limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
            self._client = httpx.AsyncClient(timeout=self.timeout, limits=limits, headers=self.headers)
            self._sem = asyncio.Semaphore(self.concurrency)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def complete(self, request: Request) -> Completion:
        client = self._ensure()
        body = {"model": self.model, "messages": request.messages, "max_tokens": request.max_tokens,
                "temperature": request.temperature, "top_p": request.top_p}
        last = ("error", "")
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.usage.retries += 1
                await asyncio.sleep(self._wait(attempt, last))
            async with self._sem:
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
                    continue
                except httpx.TransportError as e:
                    last = ("connection", f"{e.__class__.__name__}: {e}")
                    self.usage.error("connection")
                    continue
            if resp.status_code in RETRY_STATUS:
                last = (f"http_{resp.status_code}", resp.headers.get("retry-after", ""))
                self.usage.error(f"http_{resp.status_code}")
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
            self._consecutive = 0
            self.usage.add(completion)
            return completion
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
