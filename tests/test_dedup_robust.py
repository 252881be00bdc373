"""Dedup mode "robust": verified candidate pairs, clusters without chaining, boilerplate lines left out of
the shingles; mode "fineweb2" keeps FineWeb2's decisions."""

import random

import numpy as np
import pytest

from curation.core import CurationError
from dedup import kernels
from dedup.minhash import Deduper, MinhashConfig, config_for, dedup_texts, signatures
from filters.words import normalized_word_splitter

TOK = normalized_word_splitter("eng_Latn")
VOCAB = [a + b + c for a in "bcdfgklmnpstvz" for b in "aeiou" for c in ("ra", "lo", "ni", "ta", "su", "ke", "mo")]


def words(rnd, n):
    return [rnd.choice(VOCAB) for _ in range(n)]


def lines_of(ws, per_line=12):
    return "\n".join(" ".join(ws[i:i + per_line]) for i in range(0, len(ws), per_line))


def site(rnd, n_pages, chrome_words=400, content_words=60, host="www.example.com"):
    """Distinct pages that share long chrome (nav, footer, legal text) on one host."""
    top, bottom = lines_of(words(rnd, chrome_words // 2)), lines_of(words(rnd, chrome_words // 2))
    return [f"{top}\n{lines_of(words(rnd, content_words))}\n{bottom}" for _ in range(n_pages)], [host] * n_pages


def test_representatives_do_not_chain():
    # A~B and B~C but not A~C: union-find would make one cluster; C stays out of A's
    rep = kernels.representative_clusters(3, np.array([0, 1]), np.array([1, 2]))
    assert rep.tolist() == [0, 0, 2]


def test_verification_stops_chaining_on_texts(tmp_path):
    rnd = random.Random(1)
    w = words(rnd, 600)
    a, b, c = (" ".join(w[i:i + 400]) for i in (0, 100, 200))  # J(A,B) = J(B,C) = 0.6, J(A,C) = 0.33
    other = [" ".join(words(rnd, 300)) for _ in range(5)]
    cfg = config_for("robust", threshold=0.5, boilerplate=False)
    res = dedup_texts([a, b, c] + other, TOK, cfg, tmp_path / "r")
    assert res.cluster_id[:3].tolist() == [0, 0, 2] and res.keep.tolist() == [True, False] + [True] * 6
    chained = dedup_texts([a, b, c] + other, TOK, MinhashConfig(n_grams=3, num_buckets=28, hashes_per_bucket=4),
                          tmp_path / "f")
    assert chained.cluster_id[:3].tolist() == [0, 0, 0]  # union-find over every candidate pair chains C in


def test_boilerplate_sharing_pages_kept_by_robust_merged_by_fineweb2(tmp_path):
    import polars as pl

    from curation.apply.dedup import dedup_files

    rnd = random.Random(2)
    texts, hosts = site(rnd, 12)
    rows = [{"id": f"p{i}", "text": t, "url": f"https://{h}/news/{i}.html", "language": "eng_Latn"}
            for i, (t, h) in enumerate(zip(texts, hosts))]
    pl.DataFrame(rows).write_parquet(tmp_path / "site.parquet")
    robust = dedup_files([str(tmp_path / "site.parquet")], str(tmp_path / "r"), config=config_for("robust"),
                         progress=False)
    fineweb2 = dedup_files([str(tmp_path / "site.parquet")], str(tmp_path / "f"), config=config_for("fineweb2"),
                           progress=False)
    assert robust["removed"] == 0
    assert fineweb2["removed"] >= 6  # the shared chrome makes distinct articles look like copies


def test_copy_rewrapped_in_other_chrome_is_found(tmp_path):
    rnd = random.Random(3)
    a_texts, a_hosts = site(rnd, 6, host="site-a.org")
    b_texts, b_hosts = site(rnd, 6, host="site-b.net")
    article = lines_of(words(rnd, 300))
    # the article on site A, and again on site B (B's chrome around it)
    on_a = a_texts[0].split("\n")
    on_b = b_texts[0].split("\n")
    page_a = "\n".join(on_a[:17] + [article] + on_a[-17:])
    page_b = "\n".join(on_b[:17] + [article] + on_b[-17:])
    texts = a_texts[1:] + b_texts[1:] + [page_a, page_b]
    hosts = a_hosts[1:] + b_hosts[1:] + ["site-a.org", "site-b.net"]
    res = dedup_texts(texts, TOK, config_for("robust"), tmp_path, hosts=hosts)
    assert res.keep.tolist() == [True] * 11 + [False]  # only the re-wrapped copy goes
    assert res.cluster_id[-1] == len(texts) - 2


def _union_find_reference(sigs, bands, rows):
    """FineWeb2's clustering written plainly: documents with an equal band are joined; smallest index kept."""
    n = len(sigs)
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for b in range(bands):
        seen = {}
        for d in range(n):
            if sigs[d, 0] == kernels.EMPTY:
                continue
            key = tuple(sigs[d, b * rows:(b + 1) * rows])
            if key in seen:
                ra, rb = find(seen[key]), find(d)
                parent[max(ra, rb)] = min(ra, rb)
            else:
                seen[key] = d
    return np.array([find(i) for i in range(n)])


def test_fineweb2_mode_is_the_previous_behaviour(tmp_path):
    assert config_for("fineweb2") == MinhashConfig()  # the defaults of before the modes
    assert MinhashConfig().identity() == {"n_grams": 5, "num_buckets": 14, "hashes_per_bucket": 8, "seed": 1}
    rnd = random.Random(4)
    texts, hosts = site(rnd, 10, chrome_words=300, content_words=80)
    base = [" ".join(words(rnd, 200)) for _ in range(20)]
    texts += base + [b.replace(b.split()[7], "edited", 1) for b in base[:8]] + ["", "too short"]
    res = dedup_texts(texts, TOK, config_for("fineweb2"), tmp_path)
    expected = _union_find_reference(signatures(texts, TOK), 14, 8)
    assert res.cluster_id.tolist() == expected.tolist()
    assert res.keep.tolist() == (expected == np.arange(len(texts))).tolist()


def test_robust_index_across_snapshots(tmp_path):
    from dedup.index import BandIndex

    rnd = random.Random(5)
    old = [" ".join(words(rnd, 200)) for _ in range(10)]
    edited = old[3].split()
    edited[50:54] = ["changed"] * 4
    new = [" ".join(words(rnd, 200)) for _ in range(5)] + [old[2], " ".join(edited)]
    cfg = config_for("robust")
    for i, batch in enumerate((old, new)):
        d = Deduper(TOK, cfg, tmp_path / f"w{i}", BandIndex(tmp_path / "idx", "eng", cfg),
                    lines=_counts(batch, cfg))
        d.add(batch)
        res = d.finish()
    assert res.keep.tolist() == [True] * 5 + [False, False] and d.seen_before == 2
    segs = BandIndex(tmp_path / "idx", "eng", cfg).segments()
    assert len(segs) == 2 and (segs[0] / "signatures.npy").exists()  # matches are verified on signatures
    with pytest.raises(CurationError, match="built with"):  # signatures of another mode do not mix
        BandIndex(tmp_path / "idx", "eng", MinhashConfig()).segments()


def _counts(texts, cfg):
    from dedup.minhash import count_lines

    return count_lines(texts, cfg)


def test_settings_are_checked(tmp_path, capsys):
    from curation.cli import main
    from dedup.stage import MinhashDedup

    with pytest.raises(CurationError, match="mode 'fast': use one of fineweb2, robust"):
        MinhashConfig(mode="fast")
    with pytest.raises(CurationError, match="threshold = 0"):
        config_for("robust", threshold=0)
    with pytest.raises(CurationError, match="containment = 1.5"):
        config_for("robust", containment=1.5)
    with pytest.raises(CurationError, match="boilerplate_docs = 1: must be at least 2 pages"):
        config_for("robust", boilerplate_docs=1)
    with pytest.raises(CurationError, match="n_grams = 0"):
        MinhashDedup(n_grams=0)
    with pytest.raises(CurationError, match="'fineweb2' has no verification.*threshold applies only to mode 'robust'"):
        MinhashDedup(mode="fineweb2", threshold=0.5)
    with pytest.raises(CurationError, match="needs the line counts of a first pass"):
        Deduper(TOK, config_for("robust"), tmp_path)
    assert MinhashDedup().config == config_for("robust")
    assert MinhashDedup(mode="fineweb2").config == MinhashConfig()
    assert main(["dedup", str(tmp_path), "-o", str(tmp_path / "o"), "--mode", "fineweb2", "--threshold", "0.4",
                 "--no-progress"]) == 2
    assert "threshold applies only to mode 'robust'" in capsys.readouterr().err


def test_robust_steps_need_the_merged_boilerplate_lines(tmp_path):
    from curation.apply.dedup_steps import MinhashSignatures

    with pytest.raises(CurationError, match="boilerplate partitions .* are missing; run MinhashLinesMerge first"):
        list(MinhashSignatures(str(tmp_path), config=config_for("robust")).run(None, 0, 1))


def test_page_of_only_boilerplate_is_shingled_whole(tmp_path):
    # copies of one page on one host: every line recurs, so each is shingled whole and the copies are found
    rnd = random.Random(6)
    page = lines_of(words(rnd, 200))
    texts = [page] * 4 + [" ".join(words(rnd, 200)) for _ in range(3)]
    res = dedup_texts(texts, TOK, config_for("robust"), tmp_path, hosts=["h.com"] * 7)
    assert res.keep.tolist() == [True, False, False, False, True, True, True]
    assert res.cluster_size[:4].tolist() == [4, 4, 4, 4]


def test_exact_shingle_sets_and_overlaps():
    import xxhash

    from dedup.minhash import _pack

    rnd = random.Random(7)
    texts = [" ".join(words(rnd, 40)) for _ in range(3)] + ["one two", ""]
    texts[1] = " ".join(texts[0].split()[:25] + texts[1].split()[25:])
    buf, offsets = _pack(texts, TOK)
    hashes, counts = kernels.shingle_sets(buf, offsets, 3)
    starts = np.concatenate(([0], np.cumsum(counts)))
    sets = []
    for i, t in enumerate(texts):
        w = TOK(t)
        expect = {xxhash.xxh64_intdigest(" ".join(w[k:k + 3])) & 0xFFFFFFFF for k in range(len(w) - 2)}
        assert hashes[starts[i]:starts[i + 1]].tolist() == sorted(expect)
        sets.append(expect)
    inter = kernels.set_overlaps(hashes, starts, np.array([0, 0, 2]), np.array([1, 2, 3]))
    assert inter.tolist() == [len(sets[0] & sets[1]), len(sets[0] & sets[2]), 0] and inter[0] > 15


def test_line_counts_per_host_and_input(tmp_path):
    from dedup.boilerplate import LineCounts, line_hashes, normalized_lines

    counts = LineCounts(host_docs=3, global_docs=4, work_dir=tmp_path / "lines")
    pages = [("Menu: Home | News\nstory one here", "a.com"), ("Menu: Home | News\nstory two", "www.a.com"),
             ("MENU - home, news!\nstory three", "a.com"),  # the same line once normalised
             ("Menu: Home | News\nother site", "b.org"), ("Cookie banner\nx", "c.net"), ("Cookie banner\ny", "d.net"),
             ("Cookie banner\nz", "e.net"), ("Cookie banner\nw", None), ("story one here", "b.org")]
    counts.add([t for t, _ in pages[:5]], [h for _, h in pages[:5]])
    counts.add([t for t, _ in pages[5:]], [h for _, h in pages[5:]])
    counts.freeze()
    assert not list((tmp_path / "lines").glob("*.u64"))  # spill files gone
    h = line_hashes(normalized_lines("Menu: Home | News\nstory one here\nCookie banner"))
    assert counts.is_boilerplate(h, "a.com").tolist() == [True, False, True]  # 3 pages of a.com; 4 pages overall
    assert counts.is_boilerplate(h, "b.org").tolist() == [True, False, True]  # menu: 4 pages of the input
    assert counts.content("Menu: Home | News\nstory one here", "a.com", 2) == "story one here"
    assert counts.content("Menu: Home | News", "a.com", 2) == "menu home news"  # nothing left: the whole page
    with pytest.raises(CurationError, match="after freeze"):
        counts.add(["late page"])
