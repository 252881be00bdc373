"""Mode robust as datatrove steps over tasks decides exactly as `curate dedup` (order "id") in one process."""

import gzip
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

from curation.apply.dedup import dedup_files
from curation.apply.dedup_steps import step_plan
from dedup.minhash import config_for

WORDS = ("the right to life liberty and security of person no one shall be held in slavery everyone has "
         "equal protection of the law against any discrimination freedom of thought conscience religion "
         "assembly association work rest leisure education culture property asylum nationality marriage").split()
CHROME = ["home about contact", "cookie policy accept all cookies", "copyright 2024 all rights reserved",
          "subscribe to our newsletter today"]


def make_docs(seed=0, n=120, prefix="d"):
    rnd = random.Random(seed)
    docs = []
    for i in range(n):
        lang = "eng_Latn" if i % 4 else "fra_Latn"
        host = f"site{rnd.randrange(6)}.example"
        chrome = CHROME[: rnd.randint(1, 4)]
        same_lang = [d for d in docs if d["metadata"]["language"] == lang and d["body"]]
        if same_lang and rnd.random() < 0.4:  # a near copy, maybe truncated, maybe on another site
            body = rnd.choice(same_lang)["body"].split()
            for _ in range(rnd.randint(0, 6)):
                body[rnd.randrange(len(body))] = rnd.choice(WORDS)
            if rnd.random() < 0.3:
                body = body[: len(body) * 2 // 3]
            body = " ".join(body)
        else:
            body = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(0, 90)))
        text = "\n".join(chrome + [body] + chrome[::-1]) if body else ""
        docs.append({"id": f"{prefix}{i}", "text": text, "body": body,
                     "metadata": {"language": lang, "url": f"https://{host}/p/{i}"}})
    return docs


def write_inputs(docs, folder, files=4):
    folder.mkdir(parents=True)
    for f in range(files):
        with open(folder / f"part_{f}.jsonl", "w") as out:
            for d in docs[f::files]:  # interleaved: reading order differs from the one-process file below
                out.write(json.dumps({k: d[k] for k in ("id", "text", "metadata")}) + "\n")
    table = pa.table({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs],
                      "language": [d["metadata"]["language"] for d in docs],
                      "url": [d["metadata"]["url"] for d in docs]})
    pq.write_table(table, folder.parent / f"{folder.name}.parquet")


def run_steps(src, work, logs, config, tasks, index=None, label="", kept=None, band_parts=1):
    plan = step_plan(lambda: JsonlReader(str(src)), str(work), config, tasks, index=index, index_label=label,
                     after=[JsonlWriter(str(kept))], band_parts=band_parts)
    for name, pipeline, n in plan:
        LocalPipelineExecutor(pipeline, tasks=n, workers=1, logging_dir=str(logs / name)).run()
    rows = [json.loads(line) for p in sorted(kept.glob("*.jsonl.gz")) for line in gzip.open(p, "rt")]
    return {r["id"]: (r["metadata"].get("minhash_cluster_size", 1), r["metadata"].get("minhash_cluster_id", r["id"]))
            for r in rows}


def one_process(parquet, out, config, index=None, label=""):
    dedup_files([str(parquet)], str(out), config=config, progress=False, order="id", index=index, index_label=label)
    table = pq.read_table(out).to_pylist()
    return {r["id"]: (r["minhash_cluster_size"], r["minhash_cluster_id"]) for r in table}


@pytest.mark.parametrize("mode, tasks, band_parts", [("robust", 1, 1), ("robust", 3, 3), ("fineweb2", 3, 2)])
def test_steps_match_one_process(tmp_path, mode, tasks, band_parts):
    docs = make_docs()
    config = (config_for("robust", boilerplate_host_docs=3, boilerplate_docs=8) if mode == "robust"
              else config_for("fineweb2"))
    write_inputs(docs, tmp_path / "in")
    got = run_steps(tmp_path / "in", tmp_path / "work", tmp_path / "logs", config, tasks, kept=tmp_path / "kept",
                    band_parts=band_parts)
    want = one_process(tmp_path / "in.parquet", tmp_path / "one", config)
    assert len(want) < len(docs) - (10 if mode == "robust" else 5), "the corpus has near copies"
    assert got == want


def test_robust_steps_with_an_index_match_one_process(tmp_path):
    config = config_for("robust", boilerplate_host_docs=3, boilerplate_docs=8)
    first, second = make_docs(1, 60, "a"), make_docs(1, 60, "b")  # the same texts again, other ids
    second = second[:30] + make_docs(2, 30, "c")
    got, want = [], []
    for name, docs in (("s1", first), ("s2", second)):
        write_inputs(docs, tmp_path / name / "in")
        got.append(run_steps(tmp_path / name / "in", tmp_path / name / "work", tmp_path / name / "logs", config, 2,
                             index=str(tmp_path / "index_steps"), label=name, kept=tmp_path / name / "kept"))
        want.append(one_process(tmp_path / name / "in.parquet", tmp_path / name / "one", config,
                                index=str(tmp_path / "index_one"), label=name))
    assert got == want
    assert not any(i.startswith("b") for i in got[1]), "the second snapshot's copies of the first are removed"
