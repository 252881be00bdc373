"""The four MinHash datatrove steps, split over tasks, decide exactly as the one-process dedup does."""

import gzip
import json
import random

import pytest
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

from curation.apply.dedup_steps import MinhashBuckets, MinhashClusters, MinhashFilter, MinhashSignatures
from curation.core import CurationError
from dedup.minhash import Deduper, MinhashConfig
from dedup.order import order_keys
from filters.words import normalized_word_splitter

WORDS = ("the right to life liberty and security of person no one shall be held in slavery everyone has "
         "equal protection of the law against any discrimination freedom of thought conscience religion").split()


def make_docs(seed=0):
    rnd = random.Random(seed)
    docs = []
    for i in range(90):
        lang = "eng_Latn" if i % 3 else "fra_Latn"
        if docs and rnd.random() < 0.35:  # a near copy of an earlier document of the same language
            src = rnd.choice([d for d in docs if d["metadata"]["language"] == lang] or [None])
            if src:
                words = src["text"].split()
                words[rnd.randrange(len(words))] = "changed"
                docs.append({"id": f"d{i}", "text": " ".join(words), "metadata": {"language": lang}})
                continue
        text = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(0, 120)))
        docs.append({"id": f"d{i}", "text": text, "metadata": {"language": lang}})
    return docs


def dedup_in_order(texts, ids, lang, work, config=MinhashConfig()):
    """The one-process dedup in dedup.order's order (what the steps follow whatever the tasks)."""
    d = Deduper(normalized_word_splitter(lang), config, work)
    d.add(texts, keys=order_keys(ids, texts))
    return d.finish()


def run(pipeline, tasks, logs):
    LocalPipelineExecutor(pipeline, tasks=tasks, workers=1, logging_dir=str(logs)).run()


def test_four_steps_over_tasks_match_one_process(tmp_path):
    docs = make_docs()
    src = tmp_path / "in"
    src.mkdir()
    for f in range(3):  # three files -> three tasks, read in file order
        with open(src / f"part_{f}.jsonl", "w") as out:
            for d in docs[f * 30:(f + 1) * 30]:
                out.write(json.dumps(d) + "\n")
    work, logs = tmp_path / "work", tmp_path / "logs"
    reader = lambda: JsonlReader(str(src))  # noqa: E731
    run([reader(), MinhashSignatures(str(work))], 3, logs / "1")
    run([MinhashBuckets(str(work))], 5, logs / "2")
    run([MinhashClusters(str(work))], 2, logs / "3")
    run([reader(), MinhashFilter(str(work), exclusion_writer=JsonlWriter(str(tmp_path / "removed"))),
         JsonlWriter(str(tmp_path / "kept"))], 3, logs / "4")

    kept = [json.loads(line) for p in sorted((tmp_path / "kept").glob("*.jsonl.gz"))
            for line in gzip.open(p, "rt")]
    removed = [json.loads(line) for p in sorted((tmp_path / "removed").glob("*.jsonl.gz"))
               for line in gzip.open(p, "rt")]
    docs = [d for d in docs if d["text"]]  # datatrove's readers skip documents without text
    assert len(kept) + len(removed) == len(docs)

    expected_kept, expected_size = set(), {}
    for lang in ("eng_Latn", "fra_Latn"):
        mine = [d for d in docs if d["metadata"]["language"] == lang]
        res = dedup_in_order([d["text"] for d in mine], [d["id"] for d in mine], lang, tmp_path / lang)
        expected_kept |= {d["id"] for d, k in zip(mine, res.keep) if k}
        expected_size |= {d["id"]: int(s) for d, s in zip(mine, res.cluster_size)}
    assert {d["id"] for d in kept} == expected_kept
    assert removed, "the corpus has near copies"
    for d in kept + removed:
        assert d["metadata"]["minhash_cluster_size"] == expected_size[d["id"]]
    kept_ids = {d["id"] for d in kept}
    for d in removed:
        assert d["metadata"]["duplicate_of"] in kept_ids


def test_unfinished_signature_tasks_are_named(tmp_path):
    work = tmp_path / "work"
    (work / "sigs").mkdir(parents=True)
    (work / "sigs" / "rank_00000.json").write_text(json.dumps({"rank": 0, "world_size": 3, "documents": {}}))
    with pytest.raises(CurationError, match=r"signature tasks \[1, 2\] of 3 have not finished"):
        list(MinhashBuckets(str(work)).run(None, 0, 1))


def test_steps_with_a_persistent_index_remove_earlier_snapshots_duplicates(tmp_path):
    rnd = random.Random(5)
    base = [" ".join(rnd.choice(WORDS) for _ in range(80)) + f" unique{i}" for i in range(12)]
    snap1 = [{"id": f"a{i}", "text": t, "metadata": {"language": "eng_Latn"}} for i, t in enumerate(base[:8])]
    # snapshot 2: two near copies of snapshot-1 documents, four new documents
    snap2 = [{"id": "b0", "text": base[0].replace("unique0", "edited0")},
             {"id": "b1", "text": base[3] + " extra"}] + [{"id": f"b{i}", "text": base[i]} for i in range(8, 12)]
    for d in snap2:
        d["metadata"] = {"language": "eng_Latn"}
    index = tmp_path / "index"
    kept_runs = []
    for name, docs in (("s1", snap1), ("s2", snap2)):
        src, work = tmp_path / name / "in", tmp_path / name / "work"
        src.mkdir(parents=True)
        (src / "part.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
        logs = tmp_path / name / "logs"
        run([JsonlReader(str(src)), MinhashSignatures(str(work))], 1, logs / "1")
        run([MinhashBuckets(str(work), index=str(index))], 2, logs / "2")
        run([MinhashClusters(str(work), index=str(index), index_label=name)], 1, logs / "3")
        kept_dir = str(tmp_path / name / "kept")
        run([JsonlReader(str(src)), MinhashFilter(str(work)), JsonlWriter(kept_dir)], 1, logs / "4")
        kept_runs.append({json.loads(line)["id"] for p in (tmp_path / name / "kept").glob("*.jsonl.gz")
                          for line in gzip.open(p, "rt")})
    assert kept_runs[0] == {d["id"] for d in snap1}
    assert kept_runs[1] == {"b8", "b9", "b10", "b11"}
    assert len(list((index / "eng_Latn").glob("seg_*"))) == 2
