"""Mixtures (curation/mixture): rehydration, language sampling, epoch caps, rephrased and replay data, the
shuffled sharded output, mixture.json, the dataset card, `curate mix` and `curate publish --dry-run`.

Expected counts are computed here from the inputs with polars and the rules as written in facts.md and the
issue, not with the package's own helpers."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.cli import main
from curation.core import CurationError
from curation.demo.build import build_demo
from curation.manifest import ManifestError, load_manifest, load_mixture
from curation.mixture import MixtureSpec, build_mixture

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "data" / "cache"


def table_reps(size: int) -> int:
    """FineWeb2's rehydration table (facts.md part 2), written out again."""
    if size >= 1000:
        return 1
    if size >= 100:
        return 8
    if size >= 5:
        return 5
    return {1: 1, 2: 2, 3: 3, 4: 3}[max(size, 1)]


def write_lang(root: Path, lang: str, rows: list[dict], name: str = "000_00000.parquet") -> Path:
    folder = root / lang
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def synthetic_output(root: Path, sizes: dict[str, list[int]], words: int = 20) -> Path:
    for lang, ss in sizes.items():
        rows = [{"id": f"{lang}-{i}", "text": " ".join([f"w{i}"] * (words + i % 7)), "url": f"https://x/{lang}/{i}",
                 "language": lang, "minhash_cluster_size": s} for i, s in enumerate(ss)]
        half = len(rows) // 2
        write_lang(root, lang, rows[:half], "000_00000.parquet")
        write_lang(root, lang, rows[half:], "000_00001.parquet")
    return root


def read_mix(out: Path) -> pl.DataFrame:
    return pl.read_parquet(str(out / "data" / "*" / "*.parquet"))


# ------------------------------------------------------------------------------------------ the demo output


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    """A small demo crawl through extract (resiliparse), langid, dedup, quality, format, write; removals kept.
    Five languages only: loading spaCy's tokenizer for each language is most of a pipeline run's time."""
    from curation.run.runner import run_manifest

    base = tmp_path_factory.mktemp("mixdemo")
    build_demo(base / "crawl", n_pages=600, seed=3, cache_dir=CACHE)
    manifest = base / "run.yml"
    manifest.write_text(f"""
input: {{paths: ["{base / 'crawl' / 'crawl.warc.gz'}"]}}
output: {base / 'out'}
executor: {{tasks: 1, workers: 1}}
languages: [eng_Latn, spa_Latn, fra_Latn, rus_Cyrl, deu_Latn]
stages:
  - {{stage: extract, engine: resiliparse}}
  - {{stage: langid, min_score: 0.5, exclusions: true}}
  - {{stage: dedup, exclusions: true}}
  - {{stage: quality, exclusions: true}}
  - {{stage: format}}
  - {{stage: write}}
""")
    run_manifest(load_manifest(manifest), progress=False)
    return base / "out"


@pytest.fixture(scope="module")
def demo_docs(demo_out) -> pl.DataFrame:
    files = [f for f in demo_out.glob("*/*.parquet") if not f.parent.name.startswith("_")]
    return pl.concat([pl.read_parquet(f, columns=["id", "language", "minhash_cluster_size"]) for f in files])


def test_demo_mixture_is_rehydrated_exactly(demo_out, demo_docs, tmp_path):
    s = build_mixture(MixtureSpec(input=str(demo_out), output=str(tmp_path / "mix")), progress=False)
    mix = read_mix(tmp_path / "mix")
    # proportional without a total: one pass, each document exactly table_reps(cluster size) times
    expected = demo_docs.with_columns(
        pl.col("minhash_cluster_size").map_elements(table_reps, return_dtype=pl.Int64).alias("n"))
    assert expected["minhash_cluster_size"].max() > 1  # the demo has clusters, so rehydration does something
    got = mix.group_by("id").agg(pl.len().alias("got"), pl.col("copy").max().alias("last"))
    joined = expected.join(got, on="id", how="left").fill_null(0)
    assert (joined["n"] == joined["got"]).all()
    assert (joined["last"] == joined["n"] - 1).all()  # copies numbered 0..n-1
    per_lang = expected.group_by("language").agg(pl.col("n").sum())
    for lang, n in per_lang.iter_rows():
        assert s["languages"][lang]["documents"] == n
        assert mix.filter(pl.col("language") == lang).height == n
    assert s["documents"] == mix.height == expected["n"].sum()
    # mixture.json reconciles: documents out = sum over repetitions of copies x documents
    for lang, v in s["languages"].items():
        src = v["sources"]["original"]
        assert sum(int(k) * c for k, c in src["repetitions"].items()) == src["documents_out"] == v["documents"]
        assert sum(src["repetitions"].values()) == src["documents_in"]
    on_disk = json.loads((tmp_path / "mix" / "mixture.json").read_text())
    assert on_disk["documents"] == s["documents"] and not (tmp_path / "mix" / ".building").exists()


def unimax_budgets(sizes: dict[str, float], total: float, cap: float) -> dict[str, float]:
    """UniMax (Chung et al. 2023, Algorithm 1), written out again."""
    out, left = {}, total
    order = sorted(sizes, key=lambda k: (sizes[k], k))
    for i, lang in enumerate(order):
        out[lang] = min(left / (len(order) - i), cap * sizes[lang])
        left -= out[lang]
    return out


def test_demo_mixture_follows_unimax_and_the_epoch_cap(demo_out, demo_docs, tmp_path):
    total, cap = 300, 4
    spec = MixtureSpec(input=str(demo_out), output=str(tmp_path / "mix"), seed=5,
                       sampling={"strategy": "unimax", "total": total, "epoch_cap": cap})
    s = build_mixture(spec, progress=False)
    mix = read_mix(tmp_path / "mix")
    docs = demo_docs.with_columns(pl.col("minhash_cluster_size").map_elements(table_reps,
                                                                              return_dtype=pl.Int64).alias("w"))
    pool = dict(docs.group_by("language").agg(pl.col("w").sum()).iter_rows())
    budgets = unimax_budgets({k: float(v) for k, v in pool.items()}, total, cap)
    got = dict(mix.group_by("id").agg(pl.len()).iter_rows())
    capped = 0
    for lang, rows in docs.partition_by("language", as_dict=True).items():
        lang = lang[0]
        epochs = budgets[lang] / pool[lang]
        assert epochs <= cap + 1e-9
        capped += epochs > cap - 1e-9
        full = math.floor(epochs + 1e-9)
        extra = round((epochs - full) * rows.height)
        passes = [got.get(i, 0) // w for i, w in zip(rows["id"], rows["w"])]
        assert all(got.get(i, 0) % w == 0 for i, w in zip(rows["id"], rows["w"]))
        assert Counter(passes) == Counter({full: rows.height - extra,
                                           full + 1: extra} if extra else {full: rows.height})
        n = sum(got.get(i, 0) for i in rows["id"])
        assert s["languages"].get(lang, {"documents": 0})["documents"] == n
    assert capped > 0  # small languages hit the cap...
    assert any("capped at 4 epochs" in w and "short" in w for w in s["warnings"])  # ...and it is said, with how much


# ------------------------------------------------------------------------------------------ output formats


@pytest.fixture(scope="module")
def small_mix(tmp_path_factory):
    base = tmp_path_factory.mktemp("smallmix")
    synthetic_output(base / "out", {"fra_Latn": [1, 2, 5, 1, 3, 1000, 1, 1] * 5, "deu_Latn": [1, 1, 2, 4] * 3,
                                    "swh_Latn": [1, 2]})
    spec = MixtureSpec(input=str(base / "out"), output=str(base / "mix"), shard_size_mb=0.001, row_group_size=7,
                       sampling={"strategy": "temperature", "total": 150, "alpha": 0.5})
    return base / "mix", build_mixture(spec, progress=False)


def test_output_loads_with_polars_pyarrow_duckdb_and_datasets(small_mix, tmp_path):
    import datasets
    import duckdb
    import pyarrow.dataset as ds

    out, s = small_mix
    n = s["documents"]
    assert n > 0
    assert pl.read_parquet(str(out / "data/*/*.parquet")).height == n
    assert ds.dataset(str(out / "data"), format="parquet").count_rows() == n
    assert duckdb.sql(f"select count(*) from read_parquet('{out}/data/*/*.parquet')").fetchall()[0][0] == n
    hf = datasets.load_dataset("parquet", data_files=str(out / "data/*/*.parquet"), split="train",
                               cache_dir=str(tmp_path / "hf"))
    assert hf.num_rows == n and {"id", "text", "language", "source", "copy"} <= set(hf.column_names)
    # the card's configs: one per language plus the whole mixture (the default)
    whole = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "hf"))
    assert whole.num_rows == n
    for lang, v in s["languages"].items():
        one = datasets.load_dataset(str(out), lang, split="train", cache_dir=str(tmp_path / "hf"))
        assert one.num_rows == v["documents"] and set(one["language"]) == {lang}
    # several shards per language, each with small row groups, files as the Hub names splits
    fra = sorted((out / "data/fra_Latn").glob("*.parquet"))
    assert len(fra) > 1 and all(f.name.startswith("train-") and f"-of-{len(fra):05d}" in f.name for f in fra)
    metas = [pq.read_metadata(f) for f in fra]
    assert max(m.num_row_groups for m in metas) > 1
    assert all(m.row_group(i).num_rows <= 7 for m in metas for i in range(m.num_row_groups))


def test_temperature_budgets_and_card(small_mix):
    out, s = small_mix
    pool = {"fra_Latn": sum(table_reps(x) for x in [1, 2, 5, 1, 3, 1000, 1, 1]) * 5,
            "deu_Latn": sum(table_reps(x) for x in [1, 1, 2, 4]) * 3, "swh_Latn": 3}
    z = sum(v ** 0.5 for v in pool.values())
    for lang, v in pool.items():
        want = 150 * v ** 0.5 / z
        src = s["languages"][lang]["sources"]["original"]
        assert src["target"] == pytest.approx(want, rel=1e-6)
        assert src["epochs"] == pytest.approx(min(want, 4 * v) / v, rel=1e-5)
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "config_name: mixture" in card and "config_name: swh_Latn" in card
    for lang, v in s["languages"].items():  # the counts, as mixture.json has them
        assert f"| {lang} | {v['documents']:,} | {v['tokens']:,} |" in card.split("## Languages")[1]
    assert f"**{s['documents']:,} documents, {s['tokens']:,} tokens**" in card


def test_same_seed_same_bytes_other_seed_other_order(tmp_path):
    synthetic_output(tmp_path / "out", {"fra_Latn": list(range(1, 40)), "deu_Latn": [1, 2, 3] * 9})

    def build(name, seed):
        spec = MixtureSpec(input=str(tmp_path / "out"), output=str(tmp_path / name), seed=seed,
                           sampling={"strategy": "proportional", "total": 100})
        build_mixture(spec, progress=False)
        return {f.relative_to(tmp_path / name): f.read_bytes() for f in (tmp_path / name / "data").rglob("*.parquet")}

    a, b, c = build("a", 1), build("b", 1), build("c", 2)
    assert a == b
    assert a != c


def test_killed_build_resumes_to_the_same_result(tmp_path, monkeypatch):
    import curation.mixture.build as build_mod

    synthetic_output(tmp_path / "out", {"fra_Latn": [1, 2, 3, 5] * 10, "deu_Latn": [1, 1, 2] * 10, "ita_Latn": [2] * 5})
    spec = MixtureSpec(input=str(tmp_path / "out"), output=str(tmp_path / "mix"), seed=3)
    real = build_mod.write_shard
    calls = []

    def dies_on_second_shard(*a, **k):
        calls.append(a[2])
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(*a, **k)

    monkeypatch.setattr(build_mod, "write_shard", dies_on_second_shard)
    with pytest.raises(RuntimeError, match="killed"):
        build_mixture(spec, progress=False)
    assert (tmp_path / "mix/.building/state.json").exists() and not (tmp_path / "mix/mixture.json").exists()
    assert list((tmp_path / "mix/.building/data").rglob("*.parquet"))  # the first shard was finished
    monkeypatch.setattr(build_mod, "write_shard", real)
    resumed = build_mixture(spec, progress=False)
    clean = build_mixture(spec.model_copy(update={"output": str(tmp_path / "clean")}), progress=False)
    assert resumed["documents"] == clean["documents"]
    for f in (tmp_path / "clean/data").rglob("*.parquet"):
        assert f.read_bytes() == (tmp_path / "mix/data" / f.relative_to(tmp_path / "clean/data")).read_bytes()
    # killed while moving the finished dataset into place: the next run finishes the job
    shutil.rmtree(tmp_path / "mix")
    monkeypatch.setattr(build_mod, "write_card", lambda *a: (_ for _ in ()).throw(RuntimeError("killed")))
    with pytest.raises(RuntimeError, match="killed"):
        build_mixture(spec, progress=False)
    assert (tmp_path / "mix/data").is_dir() and not (tmp_path / "mix/mixture.json").exists()
    monkeypatch.undo()
    assert build_mixture(spec, progress=False)["documents"] == clean["documents"]
    for f in (tmp_path / "clean/data").rglob("*.parquet"):
        assert f.read_bytes() == (tmp_path / "mix/data" / f.relative_to(tmp_path / "clean/data")).read_bytes()
    assert not (tmp_path / "mix/.building").exists()
    # built already: a third run does nothing; a different spec on the same output is refused
    assert build_mixture(spec, progress=False)["fingerprint"] == resumed["fingerprint"]
    with pytest.raises(CurationError, match="different mixture"):
        build_mixture(spec.model_copy(update={"seed": 4}), progress=False)


# ------------------------------------------------------------------------------------------ sources and budgets


def test_rephrased_ratio_and_replay_share(tmp_path):
    synthetic_output(tmp_path / "out", {"fra_Latn": [1] * 40, "deu_Latn": [1] * 20})
    for i in range(30):
        write_lang(tmp_path / "reph", "fra_Latn", [{"id": f"r{i}-{j}", "text": f"rephrased {i} {j}",
                                                    "rephrase_style": "wiki"} for j in range(1)], f"{i:03d}.parquet")
    old = [{"id": f"old{i}", "text": f"earlier {i}",
            "language": "eng_Latn" if i % 2 else "fra_Latn"} for i in range(50)]
    (tmp_path / "old").mkdir()
    pq.write_table(pa.Table.from_pylist(old), tmp_path / "old" / "part.parquet")
    spec = MixtureSpec(input=str(tmp_path / "out"), output=str(tmp_path / "mix"),
                       rephrased={"source": str(tmp_path / "reph"), "ratio": 0.5},
                       replay={"source": str(tmp_path / "old"), "share": 0.2})
    s = build_mixture(spec, progress=False)
    mix = read_mix(tmp_path / "mix")
    by_source = dict(mix.group_by("source").agg(pl.len()).iter_rows())
    assert by_source["original"] == 60
    assert by_source["rephrased"] == 20  # 0.5 per original fra document (40)
    assert s["warnings"] and any("deu_Latn: no rephrased documents" in w for w in s["warnings"])
    assert by_source["replay"] == 20  # 20% of the final 100: 20 / (60 + 20 + 20)
    assert set(mix.filter(pl.col("source") == "rephrased")["rephrase_style"]) == {"wiki"}
    replay_langs = dict(mix.filter(pl.col("source") == "replay").group_by("language").agg(pl.len()).iter_rows())
    assert replay_langs == s["replay"]["documents_out_by_language"] and set(replay_langs) <= {"eng_Latn", "fra_Latn"}
    assert s["languages"]["eng_Latn"]["documents"] == replay_langs.get("eng_Latn", 0)
    assert s["documents"] == mix.height == 100


def test_token_budgets_with_weights(tmp_path):
    synthetic_output(tmp_path / "out", {"fra_Latn": [1] * 30, "deu_Latn": [1] * 30}, words=10)
    spec = MixtureSpec(input=str(tmp_path / "out"), output=str(tmp_path / "mix"), unit="tokens", tokenizer="words",
                       rehydration="none",
                       sampling={"strategy": "weights", "weights": {"fra_Latn": 0.75, "deu_Latn": 0.25}, "total": 800})
    s = build_mixture(spec, progress=False)
    mix = read_mix(tmp_path / "mix")
    words = mix.with_columns(pl.col("text").str.split(" ").list.len().alias("n"))
    per_lang = dict(words.group_by("language").agg(pl.col("n").sum()).iter_rows())
    assert per_lang == {k: v["tokens"] for k, v in s["languages"].items()}
    assert s["languages"]["fra_Latn"]["sources"]["original"]["budget"] == pytest.approx(600)
    assert abs(per_lang["fra_Latn"] - 600) < 30 and abs(per_lang["deu_Latn"] - 200) < 30  # whole documents only


def test_tokens_counted_by_a_tokenizer_file(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    synthetic_output(tmp_path / "out", {"fra_Latn": [1, 2] * 5}, words=6)
    vocab = {"[UNK]": 0, **{f"w{i}": i + 1 for i in range(10)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(tmp_path / "tokenizer.json"))
    s = build_mixture(MixtureSpec(input=str(tmp_path / "out"), output=str(tmp_path / "mix"),
                                  tokenizer=str(tmp_path / "tokenizer.json")), progress=False)
    words = read_mix(tmp_path / "mix")["text"].str.split(" ").list.len().sum()
    assert s["tokens"] == words == s["languages"]["fra_Latn"]["tokens"] and s["tokenizer"].endswith("tokenizer.json")
    with pytest.raises(CurationError, match="tokenizer 'nope.json': not 'bytes', 'words' or a tokenizers JSON file"):
        build_mixture(MixtureSpec(input=str(tmp_path / "out"), output=str(tmp_path / "m2"), tokenizer="nope.json"))


def test_missing_cluster_sizes_are_counted_not_dropped(tmp_path):
    write_lang(tmp_path / "out", "fra_Latn", [{"id": "a", "text": "x", "minhash_cluster_size": 3},
                                              {"id": "b", "text": "y", "minhash_cluster_size": None}])
    write_lang(tmp_path / "out", "deu_Latn", [{"id": "c", "text": "z"}])
    s = build_mixture(MixtureSpec(input=str(tmp_path / "out"), output=str(tmp_path / "mix")), progress=False)
    assert dict(read_mix(tmp_path / "mix").group_by("id").agg(pl.len()).iter_rows()) == {"a": 3, "b": 1, "c": 1}
    assert s["languages"]["fra_Latn"]["sources"]["original"]["missing_cluster_size"] == 1
    assert any("fra_Latn: 1 of 2 documents have no minhash_cluster_size" in w for w in s["warnings"])
    assert any("deu_Latn: 1 of 1" in w for w in s["warnings"])


def test_bad_mixture_input_is_named(tmp_path):
    synthetic_output(tmp_path / "out", {"fra_Latn": [1, 1]})
    with pytest.raises(CurationError, match="no folder for xxx_Latn"):
        build_mixture(MixtureSpec(input=str(tmp_path / "out"), output=str(tmp_path / "m"), languages=["xxx_Latn"]))
    with pytest.raises(CurationError, match="'.*nowhere': folder not found"):
        build_mixture(MixtureSpec(input=str(tmp_path / "nowhere"), output=str(tmp_path / "m")))
    (tmp_path / "out/fra_Latn/broken.parquet").write_text("not parquet")
    with pytest.raises(CurationError, match="broken.parquet: not a readable Parquet file"):
        build_mixture(MixtureSpec(input=str(tmp_path / "out"), output=str(tmp_path / "m")))
    manifest = tmp_path / "m.yml"
    manifest.write_text(f"mixture:\n  input: {tmp_path / 'out'}\n  output: {tmp_path / 'm'}\n  sampling:\n"
                        "    strategy: weights\n    weights: {fra_Latn: 0.5, deu_Latn: 0.4}\n")
    with pytest.raises(ManifestError, match=r"m.yml line \d+: mixture.sampling: weights sum to 0.9, not 1"):
        load_mixture(manifest)
    manifest.write_text(f"mixture:\n  input: {tmp_path / 'out'}\n  output: x\n  sampling: {{strategy: unimax}}\n")
    with pytest.raises(ManifestError, match="strategy 'unimax' needs 'total'"):
        load_mixture(manifest)
    manifest.write_text("mixture:\n  output: x\n  sampling: {stratgy: unimax}\n")
    with pytest.raises(ManifestError, match=r"line 3: mixture.sampling.stratgy: unknown key \(did you mean 'strategy'"):
        load_mixture(manifest)


# ------------------------------------------------------------------------------------------ measured weights


def test_rehydration_weights_from_filter_decisions(tmp_path, capsys):
    out = tmp_path / "out"
    # kept: sizes 1 x 30, 2 x 20, 3 x 20; removed by quality: sizes 1 x 70, 2 x 5, 3 x 20
    synthetic_output(out, {"fra_Latn": [1] * 30 + [2] * 20 + [3] * 20})
    removed = [{"id": f"q{i}", "text": "t", "minhash_cluster_size": s, "removed_by": "quality"}
               for i, s in enumerate([1] * 70 + [2] * 5 + [3] * 20 + [None] * 9)]  # None: removed before dedup
    write_lang(out / "_exclusions" / "04_quality", "fra_Latn", removed)
    (out / "_exclusions" / "03_dedup").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([{"id": "d", "text": "t", "minhash_cluster_size": 2, "duplicate_of": "x"}]),
                   out / "_exclusions" / "03_dedup" / "00000.parquet")
    stats = {"stages": [{"key": "langid"}, {"key": "dedup"}, {"key": "quality"}],
             "languages": {"fra_Latn": {"removed": {"langid:low_language_score": 9, "dedup:near_duplicate": 1,
                                                    "quality:dup_line_frac": 95}}}}
    (out / "stats.json").write_text(json.dumps(stats))
    assert main(["mix", "rehydration-weights", str(out), "-o", str(tmp_path / "w"), "--max-reps", "10",
                 "--representatives-only"]) == 0
    w = json.loads((tmp_path / "w" / "fra_Latn.json").read_text())
    rates = {b["min_size"]: b["removal_rate"] for b in w["buckets"] if b["removal_rate"] is not None}
    assert rates == {1: 0.7, 2: 0.2, 3: 0.5}
    assert w["global_removal_rate"] == pytest.approx(95 / 165, abs=1e-6)
    g = 95 / 165
    raw = [1.0, 10.0, 1 + 9 * (0.5 - g) / (0.2 - g)]  # FineWeb2's formula per bucket, then a 5-wide moving average
    assert [b["reps"] for b in w["buckets"][:3]] == [1, round(sum(raw) / 3), round(sum(raw) / 3)]  # 1: above global
    assert all(b["reps"] == 1 for b in w["buckets"][3:])
    # the weights are what the mixer uses, edited by hand or not
    w["buckets"][0]["reps"] = 2
    (tmp_path / "w" / "fra_Latn.json").write_text(json.dumps(w))
    s = build_mixture(MixtureSpec(input=str(out), output=str(tmp_path / "mix"), rehydration=str(tmp_path / "w")),
                      progress=False)
    assert s["languages"]["fra_Latn"]["documents"] == 30 * 2 + 40 * round(sum(raw) / 3)
    # judging the removed copies needs the run's manifest
    assert main(["mix", "rehydration-weights", str(out), "-o", str(tmp_path / "w2")]) == 2
    assert "no _logs/run.json, so the run's manifest is unknown; give --manifest" in capsys.readouterr().err
    # a stage after dedup whose removals were not kept is named
    stats["languages"]["fra_Latn"]["removed"]["format:x"] = 4
    stats["stages"].append({"key": "format"})
    (out / "stats.json").write_text(json.dumps(stats))
    assert main(["mix", "rehydration-weights", str(out), "-o", str(tmp_path / "w2"), "--representatives-only"]) == 0
    err = capsys.readouterr().err
    assert "stats.json counts 99 documents removed after dedup, the exclusion folders hold 95" in err


def test_rehydration_weights_on_the_demo_run(demo_out, demo_docs, tmp_path):
    """Every document after dedup counts: the kept ones, the ones quality removed, and the copies dedup removed,
    judged by the run's own quality stage (rebuilt from its manifest)."""
    assert main(["mix", "rehydration-weights", str(demo_out), "-o", str(tmp_path / "w"), "--min-documents", "1",
                 "--no-progress"]) == 0
    weights = {f.stem: json.loads(f.read_text()) for f in (tmp_path / "w").glob("*.json")}
    assert set(weights) == set(demo_docs["language"])
    dups = pl.concat([pl.read_parquet(f, columns=["language"]) for f in demo_out.glob("_exclusions/*dedup/*.parquet")])
    quality = pl.concat([pl.read_parquet(f, columns=["language"])
                         for f in demo_out.glob("_exclusions/*quality/*/*.parquet")])
    for lang, w in weights.items():
        n_dups = dups.filter(pl.col("language") == lang).height
        assert sum(w["duplicates_judged"].values()) == n_dups
        in_lang = (demo_docs.filter(pl.col("language") == lang).height
                   + quality.filter(pl.col("language") == lang).height)
        assert w["documents"] == in_lang + n_dups == sum(b["kept"] + b["removed"] for b in w["buckets"])
        assert 1 <= min(b["reps"] for b in w["buckets"]) and max(b["reps"] for b in w["buckets"]) <= 10
    assert sum(sum(w["duplicates_judged"].values()) for w in weights.values()) > 0


# ------------------------------------------------------------------------------------------ CLI and publishing


def test_curate_mix_and_publish_dry_run(tmp_path, capsys, monkeypatch):
    synthetic_output(tmp_path / "out", {"fra_Latn": [1, 2, 3] * 4, "deu_Latn": [1] * 5})
    manifest = tmp_path / "mix.yml"
    manifest.write_text((ROOT / "manifests/mixture.yml").read_text()
                        .replace("output: out/demo-mix", f"output: {tmp_path / 'mix'}"))
    assert main(["validate", str(manifest)]) == 0
    assert "valid (mixture of" in capsys.readouterr().out
    assert main(["mix", str(manifest), "--plan", "--no-progress", "--input", str(tmp_path / "out")]) == 0
    plan = capsys.readouterr().out
    assert "fra_Latn" in plan and "epochs" in plan and not (tmp_path / "mix").exists()
    assert main(["mix", str(manifest), "--no-progress", "--input", str(tmp_path / "out")]) == 0
    assert "languages -> " in capsys.readouterr().out
    monkeypatch.setenv("HF_TOKEN", "hf_SECRETSECRETSECRET")
    assert main(["publish", str(tmp_path / "mix"), "--repo", "org/demo-mix", "--dry-run"]) == 0
    printed = capsys.readouterr()
    assert "README.md" in printed.out and "mixture.json" in printed.out
    assert "data/fra_Latn/train-00000-of-00001.parquet" in printed.out
    assert "token: found" in printed.out and "SECRET" not in printed.out + printed.err
    # a card whose config points at nothing, and a bad repo name, are refused before any upload
    card = (tmp_path / "mix/README.md").read_text()
    (tmp_path / "mix/README.md").write_text(card.replace("data/deu_Latn/*.parquet", "data/xxx/*.parquet"))
    assert main(["publish", str(tmp_path / "mix"), "--repo", "org/demo-mix", "--dry-run"]) == 2
    assert "config 'deu_Latn': data_files 'data/xxx/*.parquet' matches no file" in capsys.readouterr().err
    assert main(["publish", str(tmp_path / "mix"), "--repo", "not a repo", "--dry-run"]) == 2
    # a pipeline manifest's mixture section reads the run's output by default
    m = tmp_path / "run.yml"
    m.write_text(f"input: {{paths: [x.warc.gz]}}\noutput: {tmp_path / 'out'}\nstages: [{{stage: write}}]\n"
                 f"mixture: {{output: {tmp_path / 'mix2'}}}\n")
    assert load_mixture(m).input == str(tmp_path / "out")


def test_sampling_rules():
    from curation.mixture.sampling import allocate

    # UniMax: the capped language's unused share goes to the others, evenly
    a, warn = allocate({"a": 100, "b": 10, "c": 1}, "unimax", 60, cap=4)
    assert (a["c"].budget, a["b"].budget, a["a"].budget) == (4, 28, 28)
    assert warn == ["c: asked for 20 documents = 20.00 epochs of its 1; capped at 4 epochs (4 documents, 16 short)"]
    # weights without a total: the most that repeats no language
    a, _ = allocate({"a": 100, "b": 10}, "weights", None, weights={"a": 0.5, "b": 0.5})
    assert (a["a"].budget, a["b"].budget, a["b"].epochs) == (10, 10, 1.0)
    # temperature 0 is uniform, 1 is proportional
    a, _ = allocate({"a": 80, "b": 20}, "temperature", 100, alpha=0.0)
    assert a["a"].budget == a["b"].budget == 50
    a, _ = allocate({"a": 90, "b": 10}, "temperature", 100, alpha=1.0)
    assert (a["a"].budget, a["b"].budget) == pytest.approx((90, 10))
