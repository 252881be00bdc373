"""The rephrase client against what real inference servers do (issue 21), on the project's test server:
a server with one slot (llama.cpp: one generation at a time, still generating for clients that hung up),
a server whose chat format drops the system message, outputs rejected for the most specific reason (and
shown in rejected.jsonl), and runs that keep nothing exiting non-zero with a one-line reason."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rephrase.backend import Completion, Request, fold_system
from rephrase.checks import REASONS, OutputChecker
from rephrase.concurrency import OK, OVERLOAD, ConcurrencyLimit
from rephrase.openai_client import PROBE_MESSAGES, OpenAIBackend
from rephrase.prompts import load_style
from rephrase.testserver import OpenAITestServer, passage_of

SENTENCES = [
    "All human beings are born free and equal in dignity and rights.",
    "They are endowed with reason and conscience and should act towards one another in a spirit of brotherhood.",
    "Everyone has the right to life, liberty and security of person.",
    "No one shall be held in slavery or servitude; slavery and the slave trade shall be prohibited.",
    "Everyone has the right to recognition everywhere as a person before the law.",
]
PROBE = passage_of(PROBE_MESSAGES[-1]["content"])
WIKI_SYSTEM = load_style("wiki").system


def one_passage_docs(n: int) -> list[dict]:
    return [{"id": f"d{i}", "text": f"{SENTENCES[i % 5]} Document number {i}.", "language": "eng_Latn"}
            for i in range(n)]


def write_docs(path: Path, docs: list[dict]) -> Path:
    pq.write_table(pa.Table.from_pylist(docs), path)
    return path


def cli(*args) -> int:
    from curation.cli import main

    return main([str(a) for a in args])


def wait_idle(server, seconds: float = 10.0) -> None:
    """Until the one-slot server has generated what it was sent (abandoned requests included)."""
    deadline = time.time() + seconds
    while server.in_flight and time.time() < deadline:
        time.sleep(0.02)


async def ask_all(backend, texts: list[str], style: str = "wiki"):
    s = load_style(style)
    try:
        return await asyncio.gather(*[backend.complete(Request(s.messages(t, "English"), 64)) for t in texts],
                                    return_exceptions=True)
    finally:
        await backend.aclose()


# ------------------------------------------------------------------------------------ 1. adaptive concurrency


def test_default_settings_on_a_one_slot_server_rephrase_each_document_once(tmp_path):
    """60 one-passage documents, one generation at a time: every document once, no wasted generation."""
    inp = write_docs(tmp_path / "in.parquet", one_passage_docs(60))
    with OpenAITestServer(one_slot=True, latency=0.05) as s:
        assert cli("rephrase", inp, "-o", tmp_path / "out", "--style", "wiki", "--base-url", s.base_url,
                   "--model", "m", "--no-progress") == 0
        wait_idle(s)
        generations, wasted, peak = s.generations, s.wasted, s.peak_in_flight
    rows = pq.read_table(sorted((tmp_path / "out").glob("part-*.parquet"))).column("source_id").to_pylist()
    assert sorted(rows) == sorted(f"d{i}" for i in range(60))
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["passages"] == stats["passages_kept"] == 60
    assert generations <= 1.1 * 60 and wasted == 0  # the passages and the system-message probe
    run = stats["this_run"]
    assert run["abandoned"] == 0 and run["probes"] == 1 and run["retries"] == 0
    assert run["concurrency"]["mode"] == "auto" and run["concurrency"]["final"] <= 4 and peak <= 8


def test_fixed_concurrency_wastes_generations_where_auto_does_not():
    """The issue's failure, scaled down: a timeout of 10 generations; 12 requests at once time out in the
    server's queue, are abandoned and still generated. Auto sends what the server takes."""
    texts = [f"{SENTENCES[i % 5]} Passage {i}." for i in range(20)]
    with OpenAITestServer(one_slot=True, latency=0.03) as s:
        fixed = OpenAIBackend(s.base_url, "m", concurrency=12, timeout=0.3, max_retries=2, backoff=0.01,
                              max_consecutive_failures=1000, system_prompt="keep")
        results = asyncio.run(ask_all(fixed, texts))
        wait_idle(s)
        answered = sum(isinstance(r, Completion) for r in results)
        assert fixed.usage.abandoned > 0 and s.generations > len(texts)
        # every abandoned request was generated all the same; the server saw most of their clients gone
        # (one that hung up while its answer was being written looked present)
        assert s.generations == answered + fixed.usage.abandoned
        assert 0 < s.wasted <= fixed.usage.abandoned
    with OpenAITestServer(one_slot=True, latency=0.03) as s:
        auto = OpenAIBackend(s.base_url, "m", timeout=0.3, max_retries=2, backoff=0.01, system_prompt="keep")
        results = asyncio.run(ask_all(auto, texts))
        wait_idle(s)
        assert [r.text for r in results] == texts
        assert auto.usage.abandoned == 0 and s.wasted == 0 and s.generations == len(texts)
        assert auto.limit.peak <= 4 and auto.stats()["concurrency"]["mode"] == "auto"


def test_auto_grows_on_a_batching_server_and_fixed_stays_fixed():
    texts = [f"Passage {i}." for i in range(120)]
    with OpenAITestServer(latency=0.2) as s:  # answers any number at once in the same time
        auto = OpenAIBackend(s.base_url, "m", system_prompt="keep", max_concurrency=64)
        asyncio.run(ask_all(auto, texts))
        assert auto.limit.peak >= 16 and s.peak_in_flight <= 64
    with OpenAITestServer(latency=0.02) as s:
        fixed = OpenAIBackend(s.base_url, "m", concurrency=3, system_prompt="keep")
        asyncio.run(ask_all(fixed, texts[:30]))
        assert s.peak_in_flight == 3 and fixed.stats()["concurrency"] == {
            "mode": "fixed", "final": 3, "peak": 3, "decreases": 0, "baseline_latency_s": None}


def test_limit_halves_once_per_window_on_overload():
    async def go():
        lim = ConcurrencyLimit(8, adaptive=True, timeout=10)
        tickets = [await lim.acquire() for _ in range(8)]
        for t in tickets:  # eight timeouts of requests sent together: one cut, not eight
            lim.release(t, OVERLOAD)
        assert lim.current == 4 and lim.decreases == 1 and not lim.slow_start
        t = await lim.acquire()
        lim.release(t, OVERLOAD)  # sent after the cut: cuts again
        assert lim.current == 2
        for _ in range(20):
            t = await lim.acquire()
            lim.release(t, OK)
        assert lim.current == 2  # never more than one in flight: a limit that was not used does not grow
        fixed = ConcurrencyLimit(5, adaptive=False)
        fixed.release(await fixed.acquire(), OVERLOAD)
        assert fixed.current == 5

    asyncio.run(go())


# ------------------------------------------------------------------------------------ 2. dropped system prompt


def test_probe_finds_a_server_that_drops_the_system_message_and_folds_it():
    texts = [f"{SENTENCES[i]} Passage {i}." for i in range(4)]
    with OpenAITestServer(drop_system=True) as s:
        kept = OpenAIBackend(s.base_url, "m", system_prompt="keep")
        asyncio.run(ask_all(kept, texts))
        assert not any(WIKI_SYSTEM in seen for seen in s.seen)  # the instructions never reached the model
    with OpenAITestServer(drop_system=True) as s:
        auto = OpenAIBackend(s.base_url, "m")
        results = asyncio.run(ask_all(auto, texts))
        assert [r.text for r in results] == texts
        assert s.answered[PROBE] == 1 and auto.usage.probes == 1 and auto.usage.requests == 4
        passages = [seen for seen in s.seen if PROBE not in seen]
        assert len(passages) == 4 and all(seen.startswith(WIKI_SYSTEM + "\n\n") for seen in passages)
        assert auto.system_probe["server"] == "dropped" and auto.system_probe["folded"]
        assert "ignores system messages" in auto.notes[0] and "folding" in auto.notes[0]
    with OpenAITestServer() as s:  # a server that keeps it: sent as it is
        auto = OpenAIBackend(s.base_url, "m")
        asyncio.run(ask_all(auto, texts))
        assert auto.system_probe["server"] == "kept" and not auto.system_probe["folded"] and not auto.notes
    with OpenAITestServer(drop_system=True) as s:  # fold: no probe
        fold = OpenAIBackend(s.base_url, "m", system_prompt="fold")
        asyncio.run(ask_all(fold, texts))
        assert PROBE not in s.answered and all(seen.startswith(WIKI_SYSTEM) for seen in s.seen)


def test_fold_system_and_cli_note(tmp_path, capsys):
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi."}]
    assert fold_system(msgs) == [{"role": "user", "content": "Be brief.\n\nHi."}]
    assert msgs[1]["content"] == "Hi."  # not changed in place
    assert fold_system([{"role": "user", "content": "Hi."}]) == [{"role": "user", "content": "Hi."}]
    inp = write_docs(tmp_path / "in.parquet", one_passage_docs(3))
    with OpenAITestServer(drop_system=True) as s:
        assert cli("rephrase", inp, "-o", tmp_path / "out", "--style", "wiki", "--base-url", s.base_url,
                   "--model", "m", "--no-progress") == 0
    assert "note: " in capsys.readouterr().out
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["this_run"]["system_prompt"]["server"] == "dropped"


# ------------------------------------------------------------------------------------ 3. the most specific reason


def test_most_specific_reason_wins():
    from langid.fasttext_lid import LanguageId

    instructions = "\n".join(m["content"] for m in load_style("wiki").messages("", "English"))
    echo = instructions + "\n" + SENTENCES[0]
    german = ("Alle Menschen sind frei und gleich an Würde und Rechten geboren. Sie sind mit Vernunft und "
              "Gewissen begabt.")
    checker = OutputChecker(LanguageId(label_only=True))
    verdicts = checker.check_many([
        (Completion(echo, "length"), "eng_Latn", instructions),  # an echo that ran into the limit
        (Completion("the cat sat on the mat " * 10, "length"), "eng_Latn", instructions),
        (Completion(german, "length"), "eng_Latn", instructions),
        (Completion("  ", "length"), "eng_Latn", instructions),
        (Completion(SENTENCES[1], "length"), "eng_Latn", instructions),
        (Completion(echo + " " + "the cat sat on the mat " * 10, "stop"), "eng_Latn", instructions),
    ])
    assert [r for _, r in verdicts] == ["prompt_echo", "repetitive", "wrong_language", "empty", "truncated",
                                        "prompt_echo"]
    assert {r for _, r in verdicts} == set(REASONS)


def test_rejected_outputs_are_kept_beside_the_output(tmp_path, capsys):
    instructions = "\n".join(m["content"] for m in load_style("wiki").messages("", "English"))
    docs = one_passage_docs(8)
    inp = write_docs(tmp_path / "in.parquet", docs)
    # a base model: it repeats the prompt and runs into the token limit
    with OpenAITestServer(respond=lambda p: instructions + "\n" + p, rules=[("", "truncated")]) as s:
        rc = cli("rephrase", inp, "-o", tmp_path / "out", "--style", "wiki", "--base-url", s.base_url,
                 "--model", "m", "--no-progress", "--batch-size", 4)
    assert rc == 3
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["reasons"]["rejected/prompt_echo"] == 8 and "rejected/truncated" not in stats["reasons"]
    rejected = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()]
    assert len(rejected) == 6  # 3 per reason and batch, 2 batches
    assert {r["reason"] for r in rejected} == {"prompt_echo"} and all(r["finish_reason"] == "length" for r in rejected)
    by_id = {d["id"]: d["text"] for d in docs}
    assert all(r["input"] == by_id[r["source_id"]] and r["output"].startswith("A chat between") for r in rejected)
    assert "rejected.jsonl" in capsys.readouterr().out


# ------------------------------------------------------------------------------------ 4. exit codes


def test_a_server_answering_500_fails_the_run_in_one_line(tmp_path, capsys):
    inp = write_docs(tmp_path / "in.parquet", one_passage_docs(4))
    args = ["--style", "wiki", "--model", "m", "--no-progress", "--max-retries", 0]
    with OpenAITestServer(rules=[("", "500")]) as s:
        rc = cli("rephrase", inp, "-o", tmp_path / "a", "--base-url", s.base_url, *args)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "the first request failed (http_500)" in err[0] and "serving model 'm'" in err[0]
    # without the probe: every passage fails, the run ends and says why
    with OpenAITestServer(rules=[("", "500")]) as s:
        rc = cli("rephrase", inp, "-o", tmp_path / "b", "--base-url", s.base_url, *args, "--system-prompt", "keep")
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 3 and err == ["error: 0 of 4 passages kept: 4 failed (http_500); the server fails: see its log"]
    # more documents than --max-consecutive-failures: the run stops early, also in one line
    inp = write_docs(tmp_path / "many.parquet", one_passage_docs(30))
    with OpenAITestServer(rules=[("", "500")]) as s:
        rc = cli("rephrase", inp, "-o", tmp_path / "c", "--base-url", s.base_url, *args, "--system-prompt", "keep")
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "10 requests in a row failed (last: http_500" in err[0]


def test_nothing_kept_or_too_much_lost_exits_3(tmp_path, capsys):
    inp = write_docs(tmp_path / "in.parquet", one_passage_docs(8))
    base = ["--style", "wiki", "--model", "m", "--no-progress", "--max-output-tokens", 300]
    with OpenAITestServer(rules=[("", "truncated")]) as s:
        assert cli("rephrase", inp, "-o", tmp_path / "t", "--base-url", s.base_url, *base) == 3
    assert capsys.readouterr().err.strip() == ("error: 0 of 8 passages kept: 8 truncated at 300 tokens; the model "
                                               "may not be instruction-tuned (it does not stop), or the output "
                                               "limit is too low")
    # 3 of 8 passages lost: within the default 50%; 6 of 8 are not
    with OpenAITestServer(rules=[("Document number 1.", "truncated"), ("Document number 2.", "truncated"),
                                 ("Document number 3.", "truncated")]) as s:
        assert cli("rephrase", inp, "-o", tmp_path / "ok", "--base-url", s.base_url, *base) == 0
    rules = [(f"Document number {i}.", "truncated") for i in range(6)]
    with OpenAITestServer(rules=rules) as s:
        assert cli("rephrase", inp, "-o", tmp_path / "lost", "--base-url", s.base_url, *base) == 3
    assert capsys.readouterr().err.strip().startswith("error: 2 of 8 passages kept (75% lost, more than the 50% "
                                                      "allowed): 6 truncated at 300 tokens")
    with OpenAITestServer(rules=rules) as s:
        assert cli("rephrase", inp, "-o", tmp_path / "lost", "--base-url", s.base_url, *base,
                   "--fail-above", 0.8) == 0
    with pytest.raises(SystemExit):
        cli("rephrase", inp, "-o", tmp_path / "x", "--style", "wiki", "--model", "m", "--concurrency", "0")
