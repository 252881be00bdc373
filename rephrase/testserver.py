"""A small OpenAI chat-completions server on 127.0.0.1 for tests and benchmarks: realistic latency,
injected failures (429, 5xx, hangs, dropped connections, malformed JSON, context overflow) and a log of
every passage it was asked about. Its default answer is the passage itself ("a perfect paraphrase"), so
what comes back passes the checks and can be traced to its source.

Two modes stand in for what real servers do: `one_slot` generates one request at a time, each taking
`latency` seconds, and still generates for clients that hung up while they waited (llama.cpp's server with
one slot); it counts every generation and those nobody was left to read (`wasted`). `drop_system` discards
system messages before the "model" sees them (llama.cpp's `gemma` chat format): its usage counts only
the messages it kept, and `seen` holds what reached the model.

    with OpenAITestServer(latency=0.2) as server:
        backend = OpenAIBackend(server.base_url, "test-model")
"""

from __future__ import annotations

import json
import re
import select
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("ok", "429", "500", "502", "503", "hang", "drop", "malformed", "truncated")
_PASSAGE = re.compile(r"Text:\n(.*?)(?:\n\nTask:|\Z)", re.S)


def passage_of(prompt: str) -> str:
    """The passage inside one of our prompts (the text after a 'Text:' line)."""
    m = _PASSAGE.search(prompt)
    return (m.group(1) if m else prompt).strip()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default backlog of 5 drops connections opened together

    def handle_error(self, request, client_address):  # clients that hang up (timeouts in tests) are normal
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class OpenAITestServer:
    """Serve /v1/chat/completions in a background thread.

    latency: seconds each answer takes; faults: answers for the next requests, in order ("429", "500",
    "hang", "drop", "malformed", "truncated", "ok"); rules: (substring, fault) applied to every request whose
    passage holds the substring; respond: passage -> answer text; max_prompt_words: longer prompts get
    vLLM's 400 "maximum context length" error; retry_after: the Retry-After header of a 429; one_slot:
    generate one request at a time (`generations` counts them, `wasted` those whose client had hung up);
    drop_system: ignore system messages.
    """

    def __init__(self, latency: float = 0.0, faults: list[str] | None = None,
                 rules: list[tuple[str, str]] | None = None, respond: Callable[[str], str] | None = None,
                 max_prompt_words: int | None = None, hang_seconds: float = 5.0, retry_after: str | None = None,
                 one_slot: bool = False, drop_system: bool = False):
        self.latency = latency
        self.faults = list(faults or [])
        self.rules = list(rules or [])
        self.respond = respond or (lambda passage: passage)
        self.max_prompt_words = max_prompt_words
        self.hang_seconds = hang_seconds
        self.retry_after = retry_after
        self.one_slot = one_slot
        self.drop_system = drop_system
        self.generations = 0  # answers the "model" generated (in one-slot mode: one at a time)
        self.wasted = 0  # generated for a client that had already hung up
        self.seen: list[str] = []  # what reached the model: its messages' contents, as one text
        self.requests = 0
        self.answered: Counter = Counter()  # passage -> successful answers
        self.outcomes: Counter = Counter()
        self.in_flight = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()
        self._slot = threading.Lock()  # the one slot of one_slot mode
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> "OpenAITestServer":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _next_fault(self, passage: str) -> str:
        with self._lock:
            self.requests += 1
            for needle, fault in self.rules:
                if needle in passage:
                    return fault
            return self.faults.pop(0) if self.faults else "ok"

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            wbufsize = 1 << 16  # headers and body in one write

            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes, headers: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # counters, for a server run in its own process (benchmarks)
                if not self.path.endswith("/stats"):
                    return self._send(404, b'{"error": {"message": "not found"}}')
                with server._lock:
                    body = {"requests": server.requests, "peak_in_flight": server.peak_in_flight,
                            "answered": sum(server.answered.values()), "outcomes": dict(server.outcomes),
                            "generations": server.generations, "wasted": server.wasted,
                            "in_flight": server.in_flight}
                self._send(200, json.dumps(body).encode())

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, b'{"error": {"message": "not found"}}')
                try:
                    req = json.loads(raw)
                    prompt = req["messages"][-1]["content"]
                    if server.drop_system:
                        req["messages"] = [m for m in req["messages"] if m.get("role") != "system"]
                except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                    return self._send(400, b'{"error": {"message": "bad request"}}')
                passage = passage_of(prompt)
                fault = server._next_fault(passage)
                with server._lock:
                    server.in_flight += 1
                    server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
                try:
                    if server.one_slot:
                        with server._slot:  # one generation at a time, whether or not the client still waits
                            time.sleep(server.latency)
                            self._generated(req, fault)
                    else:
                        time.sleep(server.latency)
                        self._generated(req, fault)
                    self._answer(req, prompt, passage, fault)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                        server.outcomes[fault] += 1

            def _generated(self, req, fault):
                if fault not in ("ok", "truncated"):
                    return
                words = sum(len(m.get("content", "").split()) for m in req["messages"])
                if server.max_prompt_words and words > server.max_prompt_words:
                    return  # refused before generating
                gone = _hung_up(self.connection)
                with server._lock:
                    server.generations += 1
                    server.wasted += gone
                    server.seen.append("\n\n".join(str(m.get("content", "")) for m in req["messages"]))

            def _answer(self, req, prompt, passage, fault):
                if fault == "hang":
                    time.sleep(server.hang_seconds)
                    self.close_connection = True
                    return
                if fault == "drop":
                    self.close_connection = True
                    return
                if fault in ("429", "500", "502", "503"):
                    headers = {"Retry-After": server.retry_after} if fault == "429" and server.retry_after else {}
                    return self._send(int(fault), b'{"error": {"message": "injected"}}', headers)
                if fault == "malformed":
                    return self._send(200, b'{"choices": [{"message": ')
                words = sum(len(m.get("content", "").split()) for m in req["messages"])
                if server.max_prompt_words and words > server.max_prompt_words:
                    return self._send(400, json.dumps({"error": {"message": (
                        f"This model's maximum context length is {server.max_prompt_words} tokens, "
                        f"your prompt has {words}")}}).encode())
                text = server.respond(passage)
                finish = "stop"
                if fault == "truncated":
                    text, finish = text[: len(text) // 2], "length"
                with server._lock:
                    server.answered[passage] += 1
                body = {"id": f"cmpl-{server.requests}", "object": "chat.completion", "model": req.get("model"),
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                     "finish_reason": finish}],
                        "usage": {"prompt_tokens": words, "completion_tokens": len(text.split()),
                                  "total_tokens": words + len(text.split())}}
                self._send(200, json.dumps(body).encode())

        return Handler


def _hung_up(sock) -> bool:
    """The client closed its side of the connection (it stopped waiting for the answer)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def main(argv: list[str] | None = None) -> int:
    """Run the server in its own process (so its threads do not share the client's interpreter lock):
    prints its base URL on the first line, serves until killed; GET <base_url>/stats gives its counters."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--latency", type=float, default=0.2, help="seconds per answer")
    ap.add_argument("--one-slot", action="store_true", help="generate one request at a time (llama.cpp, one slot)")
    ap.add_argument("--drop-system", action="store_true", help="ignore system messages")
    ap.add_argument("--fault", action="append", default=[], metavar="SUBSTRING=FAULT",
                    help="answer requests whose passage holds SUBSTRING with FAULT (e.g. =500: every request)")
    args = ap.parse_args(argv)
    rules = [tuple(r.split("=", 1)) for r in args.fault]
    server = OpenAITestServer(latency=args.latency, one_slot=args.one_slot, drop_system=args.drop_system, rules=rules)
    print(server.base_url, flush=True)
    try:
        server._server.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
