"""What every rephrasing backend takes and returns, and the token accounting they share."""

from __future__ import annotations

from dataclasses import dataclass, field

from curation.core import CurationError


@dataclass
class Request:
    messages: list[dict]
    max_tokens: int
    temperature: float = 0.7
    top_p: float = 0.9


@dataclass
class Completion:
    text: str
    finish_reason: str  # "stop", or "length" when it hit max_tokens (truncated)
    prompt_tokens: int = 0
    completion_tokens: int = 0


class RequestFailed(Exception):
    """One request failed for good (after its retries): its passage is counted under `reason` and skipped."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class BackendUnavailable(CurationError):
    """Too many requests in a row failed: the run stops with this message (finished batches are kept)."""


@dataclass
class Usage:
    """Token accounting over a run: what the model read and wrote, and what the requests cost in tries."""

    requests: int = 0
    retries: int = 0
    failed: int = 0
    abandoned: int = 0  # requests given up after they were sent (timeouts): generations a server may still make
    probes: int = 0  # requests the client made for itself (the system-message probe), not for a passage
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, c: Completion) -> None:
        self.requests += 1
        self.prompt_tokens += c.prompt_tokens
        self.completion_tokens += c.completion_tokens

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def has_system(messages: list[dict]) -> bool:
    return any(m.get("role") == "system" for m in messages)


def fold_system(messages: list[dict]) -> list[dict]:
    """The messages with the system message(s) opening the first user turn, for chat formats without a
    system role (they drop it, and with it the instructions)."""
    system = "\n\n".join(m["content"] for m in messages if m.get("role") == "system" and m.get("content"))
    rest = [dict(m) for m in messages if m.get("role") != "system"]
    if not system:
        return rest
    for m in rest:
        if m.get("role") == "user":
            m["content"] = f"{system}\n\n{m['content']}"
            return rest
    return [{"role": "user", "content": system}] + rest


class Backend:
    """A model that completes chat requests; `complete` is safe to call from many tasks at once."""

    model: str
    usage: Usage

    notes: tuple[str, ...] | list[str] = ()  # what the user should know about the backend (said at the end of a run)

    async def complete(self, request: Request) -> Completion:
        raise NotImplementedError

    def stats(self) -> dict:
        return {}

    async def aclose(self) -> None:
        pass
